"""``rujai staff``: console accounts (TH-SEC-01: least privilege).

Changing a password or a role and removing an account end that person's console sessions at once.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from pydantic import SecretStr, ValidationError
from rich.table import Table

from rujai.cli._context import console, exits_on_error, session
from rujai.errors import Invalid
from rujai.kit.time import utcnow
from rujai.staff import service as staff_service
from rujai.staff.service import PasswordChange, Role, StaffCreate, StaffRead

app = typer.Typer(no_args_is_help=True)

_OPTION_OF = {"username": "--username", "display_name": "--display-name", "role": "--role"}


@app.command("create")
@exits_on_error
def create(
    username: Annotated[str, typer.Option(help="Login name: 3-32 of a-z, 0-9, '.', '_', '-'.")],
    role: Annotated[str, typer.Option(help="marketer, dpo or admin (least privilege).")],
    display_name: Annotated[str, typer.Option(help="Name shown in the console.")],
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input.")
    ] = False,
) -> None:
    """Create a console account; the password is prompted for (twice) or read from stdin."""
    password = _read_password(password_stdin)
    body = _body(username, role, display_name, password)
    with session() as s:
        created = staff_service.create(s, body=body, now=utcnow(), actor="cli")
    console.print(
        f"created staff user {created.username} ({created.role}) {created.id}", highlight=False
    )


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    value: str = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    return value


def _body(username: str, role: str, display_name: str, password: str) -> StaffCreate:
    try:
        return StaffCreate.model_validate(
            {
                "username": username,
                "role": role,
                "display_name": display_name,
                "password": SecretStr(password),
            }
        )
    except ValidationError as e:
        error = e.errors()[0]
        field = str(error["loc"][0]) if error["loc"] else "body"
        option = _OPTION_OF.get(field, "password")
        raise Invalid(f"{option}: {error['msg']}", field=field) from e


@app.command("set-password")
@exits_on_error
def set_password(
    username: Annotated[str, typer.Option(help="The account's login name.")],
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input.")
    ] = False,
) -> None:
    """Set a new password (prompted for twice, or from stdin); the account's sessions end."""
    password = _read_password(password_stdin)
    try:
        change = PasswordChange.model_validate({"password": SecretStr(password)})
    except ValidationError as e:
        raise Invalid(f"password: {e.errors()[0]['msg']}", field="password") from e
    with session() as s:
        done = staff_service.set_password(
            s, username=username, change=change, now=utcnow(), actor="cli"
        )
    console.print(f"new password for {done.username}; their sessions ended", highlight=False)


@app.command("set-role")
@exits_on_error
def set_role(
    username: Annotated[str, typer.Option(help="The account's login name.")],
    role: Annotated[str, typer.Option(help="marketer, dpo or admin (least privilege).")],
) -> None:
    """Give an account another role; its sessions end (it signs in again with the new role)."""
    if role not in staff_service.ROLES:
        raise Invalid(f"--role: one of {', '.join(staff_service.ROLES)}", field="role")
    new_role: Role = "admin" if role == "admin" else "dpo" if role == "dpo" else "marketer"
    with session() as s:
        done = staff_service.set_role(
            s, username=username, role=new_role, now=utcnow(), actor="cli"
        )
    console.print(f"{done.username} is now {done.role}; their sessions ended", highlight=False)


@app.command("remove")
@exits_on_error
def remove(username: Annotated[str, typer.Option(help="The account's login name.")]) -> None:
    """Delete a console account; its sessions end with it."""
    with session() as s:
        gone = staff_service.remove(s, username=username, now=utcnow(), actor="cli")
    console.print(f"removed staff user {gone.username}", highlight=False)


@app.command("list")
@exits_on_error
def list_staff() -> None:
    """List console accounts with their role and lock state (never a password hash)."""
    with session() as s:
        users = staff_service.list_staff(s)
    console.print(_table(users))


def _table(users: list[StaffRead]) -> Table:
    table = Table()
    for header in ("username", "role", "display name", "last login (UTC)", "locked until (UTC)"):
        table.add_column(header)
    for u in users:
        last = u.last_login_at.strftime("%Y-%m-%d %H:%M") if u.last_login_at else ""
        locked = u.locked_until.strftime("%Y-%m-%d %H:%M") if u.locked_until else ""
        table.add_row(u.username, u.role, u.display_name, last, locked)
    return table
