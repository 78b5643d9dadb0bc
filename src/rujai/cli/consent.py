"""``rujai consent``: record grants and withdrawals, show a ledger, verify receipts (TH-CON-04)."""

from __future__ import annotations

import getpass
import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from pydantic import ValidationError
from rich.table import Table

from rujai.cli import consent_at
from rujai.cli._context import console, err_console, exits_on_error, keyring, policy, session
from rujai.consent import history as consent_history, receipts, service as consent_service
from rujai.consent.schemas import ConsentCreate, ConsentRecordRead
from rujai.errors import Invalid
from rujai.kit.time import utcnow
from rujai.policy.schemas import Policy

app = typer.Typer(no_args_is_help=True)

EXIT_INVALID = 1
EXIT_UNREADABLE = 2


class ActorChoice(StrEnum):
    SELF = "self"
    PARENT = "parent"
    GUARDIAN = "guardian"
    CURATOR = "curator"
    STAFF = "staff"


class LangChoice(StrEnum):
    TH = "th"
    EN = "en"


CustomerId = Annotated[str, typer.Argument(help="The brand's customer id.")]
PurposeId = Annotated[str, typer.Argument(help="A consent-based purpose id of the policy.")]
Channel = Annotated[str, typer.Option(help="Where consent was given: store, call_center, ...")]
ActorOpt = Annotated[ActorChoice, typer.Option(help="Who acted (parent/guardian/curator).")]
LangOpt = Annotated[
    LangChoice | None, typer.Option("--lang", help="Language shown; default: the policy's.")
]
ActorRef = Annotated[
    str | None, typer.Option(help="Pseudonymous reference of the staff member or guardian.")
]
NoticeVersion = Annotated[
    int | None, typer.Option(help="Notice version shown; default: the current one.")
]
Explicit = Annotated[bool, typer.Option(help="Explicit consent (sensitive data, TH-SEN-01).")]
AgeBandOpt = Annotated[
    str | None,
    typer.Option(help="Age band declared: under_10, 10_19, adult, under_16, 16_plus (TH-MIN-01)."),
]
BirthDate = Annotated[
    str | None, typer.Option(help="The subject's birth date YYYY-MM-DD (TH-MIN-01).")
]
OPTION_OF = {
    "age_band": "--age-band",
    "birth_date": "--birth-date",
    "channel": "--channel",
    "actor_ref": "--actor-ref",
    "notice_version": "--notice-version",
}


@app.command("grant")
@exits_on_error
def grant(
    customer_id: CustomerId,
    purpose: PurposeId,
    channel: Channel = "call_center",
    actor: ActorOpt = ActorChoice.STAFF,
    lang: LangOpt = None,
    actor_ref: ActorRef = None,
    notice_version: NoticeVersion = None,
    explicit: Explicit = False,
    age_band: AgeBandOpt = None,
    birth_date: BirthDate = None,
) -> None:
    """Record a grant and print its signed receipt as JSON.

    A grant for profiling or marketing needs the subject's age: give ``--age-band`` or
    ``--birth-date`` when it is not on file yet (TH-MIN-01).
    """
    pol = policy()
    version = notice_version or consent_service.consent_purpose(pol, purpose).notice.version
    change = _change(
        purpose=purpose,
        action="grant",
        language=lang.value if lang else pol.default_language,
        channel=channel,
        actor=actor.value,
        actor_ref=actor_ref or (_operator() if actor is ActorChoice.STAFF else None),
        notice_version=version,
        explicit=explicit,
        age_band=age_band,
        birth_date=birth_date,
    )
    _record(pol, customer_id, change)


def _operator() -> str:
    """Who records a staff grant from the CLI: the operating-system account (TH-CON-01)."""
    try:
        return f"cli:{getpass.getuser()}"[:64]
    except (KeyError, OSError):
        return "cli"


@app.command("withdraw")
@exits_on_error
def withdraw(
    customer_id: CustomerId,
    purpose: PurposeId,
    channel: Channel = "call_center",
    actor: ActorOpt = ActorChoice.STAFF,
    lang: LangOpt = None,
    actor_ref: ActorRef = None,
) -> None:
    """Record a withdrawal (as easy as a grant, TH-CON-03) and print its signed receipt as JSON."""
    pol = policy()
    change = _change(
        purpose=purpose,
        action="withdraw",
        language=lang.value if lang else pol.default_language,
        channel=channel,
        actor=actor.value,
        actor_ref=actor_ref,
    )
    _record(pol, customer_id, change)


@app.command("history")
@exits_on_error
def history(
    customer_id: Annotated[str | None, typer.Argument(help="The brand's customer id.")] = None,
    customer: Annotated[str | None, typer.Option(help="The brand's customer id.")] = None,
    at: Annotated[
        str | None, typer.Option(help="A past ISO time with offset: the state then (TH-CON-04).")
    ] = None,
    purpose: Annotated[str | None, typer.Option(help="With --at: only this purpose.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """Show a customer's consent ledger, oldest first; with --at, the state at that time."""
    who = customer_id or customer
    if who is None:
        raise Invalid("a customer id is required (argument or --customer)", field="customer")
    if at is not None:
        consent_at.show(who, at, purpose, as_json)
        return
    with session() as s:
        rows = consent_history.history_for_customer(s, keyring=keyring(), customer_id=who)
    if as_json:
        typer.echo(json.dumps([r.model_dump(mode="json") for r in rows], indent=2))
        return
    console.print(_ledger_table(rows))


def _ledger_table(rows: list[ConsentRecordRead]) -> Table:
    table = Table()
    for header in ("recorded (UTC)", "purpose", "action", "actor", "channel", "lang", "notice"):
        table.add_column(header)
    for r in rows:
        when = r.recorded_at.strftime("%Y-%m-%d %H:%M:%S")
        table.add_row(
            when, r.purpose, r.action, r.actor, r.channel, r.language, str(r.notice_version)
        )
    return table


@app.command("verify-receipt")
def verify_receipt(
    file: Annotated[Path, typer.Argument(help="A receipt saved as JSON.")],
) -> None:
    """Check a consent receipt's signature: exit 0 if valid, 1 if not, 2 if unreadable."""
    data = _read_json(file)
    if not receipts.verify_receipt(keyring(), data):
        err_console.print("receipt INVALID: signature does not match", markup=False)
        raise typer.Exit(EXIT_INVALID)
    console.print("receipt valid", markup=False, highlight=False)


def _record(pol: Policy, customer_id: str, change: ConsentCreate) -> None:
    with session() as s:
        receipt = consent_service.record(
            s,
            keyring=keyring(),
            policy=pol,
            customer_id=customer_id,
            change=change,
            now=utcnow(),
            evidence_ip=None,
            evidence_user_agent=None,
            by="cli",
        )
    typer.echo(receipt.model_dump_json(indent=2))


def _change(**fields: Any) -> ConsentCreate:
    """Build the change, turning a validation error into an Invalid naming the option."""
    try:
        return ConsentCreate(**fields)
    except ValidationError as e:
        first = e.errors()[0]
        name = str(first["loc"][0]) if first["loc"] else "input"
        raise Invalid(f"{OPTION_OF.get(name, name)}: {first['msg']}", field=name) from e


def _read_json(file: Path) -> dict[str, Any]:
    """Read a JSON object from ``file``; exit 2 with a message naming the file otherwise."""
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except OSError as e:
        _fail(f"cannot read {file}: {e.strerror or e}")
    except UnicodeDecodeError:
        _fail(f"{file} is not a JSON text file (not UTF-8)")
    except json.JSONDecodeError as e:
        _fail(f"{file} is not valid JSON: line {e.lineno}, column {e.colno}: {e.msg}")
    if not isinstance(data, dict):
        _fail(f"{file} does not hold a receipt (expected a JSON object)")
    return data


def _fail(message: str) -> NoReturn:
    err_console.print(f"error: {message}", markup=False, highlight=False, soft_wrap=True)
    raise typer.Exit(EXIT_UNREADABLE)
