"""``rujai requests``: the rights request queue for staff (TH-DSR-00).

``list`` shows open requests soonest deadline first and flags overdue ones; ``verify`` sends a
one-time code to a verified identity on file (or, with ``--code``, checks it); ``process`` carries
a verified request out; ``refuse`` needs a legal reason code; ``grounds`` records compelling
grounds for one purpose of an objection to legitimate interest (TH-DSR-03); ``outbox`` shows the
messages sent (decrypted: an audited read).
"""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Annotated
from uuid import UUID

import typer
from rich.table import Table

from rujai.cli._context import console, exits_on_error, keyring, policy, session
from rujai.kit.time import utcnow
from rujai.rights import (
    grounds as rights_grounds,
    notifier as rights_notifier,
    processing,
    receipts,
    service,
    verification,
)
from rujai.rights.schemas import REFUSAL_CODES, RequestRead

app = typer.Typer(no_args_is_help=True)

ACTOR = "cli"
RequestId = Annotated[UUID, typer.Argument(help="The request id.")]


class StatusChoice(StrEnum):
    RECEIVED = "received"
    VERIFIED = "verified"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    REFUSED = "refused"


class ContactChoice(StrEnum):
    EMAIL = "email"
    PHONE = "phone"


@app.command("list")
@exits_on_error
def list_requests(
    status: Annotated[StatusChoice | None, typer.Option(help="Only this status.")] = None,
    overdue: Annotated[bool, typer.Option(help="Only open requests past their deadline.")] = False,
    limit: Annotated[int, typer.Option(help="How many requests.")] = 100,
) -> None:
    """Show requests, soonest deadline first; overdue ones are flagged."""
    with session() as s:
        rows = service.list_requests(
            s, now=utcnow(), status=status.value if status else None, overdue_only=overdue,
            limit=limit,
        )  # fmt: skip
    console.print(_table(rows))


@app.command("show")
@exits_on_error
def show(request_id: RequestId) -> None:
    """Show one request as JSON."""
    with session() as s:
        row = service.get(s, request_id=request_id, now=utcnow())
    console.print_json(row.model_dump_json())


@app.command("receipt")
@exits_on_error
def receipt(request_id: RequestId) -> None:
    """Print the signed receipt of a request (JSON), with the audit head of now."""
    with session() as s:
        signed = receipts.receipt_for(s, keyring=keyring(), request_id=request_id, now=utcnow())
    typer.echo(signed.model_dump_json(indent=2))


@app.command("verify")
@exits_on_error
def verify(
    request_id: RequestId,
    kind: Annotated[
        ContactChoice, typer.Option(help="Which verified identity on file gets the code.")
    ] = ContactChoice.EMAIL,
    code: Annotated[str | None, typer.Option(help="Check this code instead of sending.")] = None,
) -> None:
    """Send a one-time code to the subject's verified identity, or check the code given."""
    with session() as s:
        if code is None:
            started = verification.start_verification(
                s, keyring=keyring(), policy=policy(), request_id=request_id,
                identity_kind=kind.value, now=utcnow(), actor=ACTOR,
            )  # fmt: skip
            sent = "sent" if started.sent else "NOT sent: no verified identity of this kind"
            console.print(f"code {sent}", highlight=False)
            return
        row = processing.confirm_and_run(
            s, keyring=keyring(), policy=policy(), request_id=request_id, code=code,
            now=utcnow(), actor=ACTOR,
        )  # fmt: skip
    console.print(f"request {row.id}: {row.status}", highlight=False)


@app.command("process")
@exits_on_error
def process(request_id: RequestId) -> None:
    """Carry out a verified request (or record why it is refused)."""
    with session() as s:
        row = processing.process(
            s, keyring=keyring(), policy=policy(), request_id=request_id, now=utcnow(),
            actor=ACTOR,
        )  # fmt: skip
    console.print(f"request {row.id}: {row.status}", highlight=False)
    console.print_json(json.dumps(row.result, ensure_ascii=False))


@app.command("refuse")
@exits_on_error
def refuse(
    request_id: RequestId,
    code: Annotated[
        str | None, typer.Option(help=f"Legal reason: {', '.join(REFUSAL_CODES)}.")
    ] = None,
    note: Annotated[str | None, typer.Option(help="Internal note (not audited).")] = None,
) -> None:
    """Refuse a request; a legal reason code is required (TH-DSR-00, s.39(7))."""
    with session() as s:
        row = service.refuse(
            s, keyring=keyring(), policy=policy(), request_id=request_id, refusal_code=code,
            note=note, now=utcnow(), actor=ACTOR,
        )  # fmt: skip
    console.print(f"request {row.id}: refused ({row.refusal_code})", highlight=False)


@app.command("grounds")
@exits_on_error
def grounds(
    request_id: RequestId,
    purpose: Annotated[str, typer.Argument(help="The objected legitimate-interest purpose.")],
    text: Annotated[str, typer.Option("--grounds", help="The compelling legitimate grounds.")],
) -> None:
    """Record compelling grounds for one purpose of an LI objection; it runs again (TH-DSR-03)."""
    body = rights_grounds.grounds_body(purpose, text)
    with session() as s:
        row = rights_grounds.record_grounds(
            s, request_id=request_id, body=body, now=utcnow(), actor=ACTOR
        )
    console.print(f"request {row.id}: grounds recorded for {purpose}", highlight=False)


@app.command("extend")
@exits_on_error
def extend(
    request_id: RequestId,
    reason: Annotated[str, typer.Option(help="Why more time is needed (told to the subject).")],
    months: Annotated[int, typer.Option(help="1 or 2 more months (GDPR only).")] = 2,
) -> None:
    """Extend a GDPR deadline once, with a reason (EU-01)."""
    with session() as s:
        row = service.extend(
            s, keyring=keyring(), policy=policy(), request_id=request_id, months=months,
            reason=reason, now=utcnow(), actor=ACTOR,
        )  # fmt: skip
    console.print(f"request {row.id}: due {row.effective_due_at:%Y-%m-%d %H:%M} UTC")


@app.command("outbox")
@exits_on_error
def outbox(
    limit: Annotated[int, typer.Option(help="How many messages, newest first.")] = 20,
) -> None:
    """Show the messages sent to subjects, decrypted (an audited read)."""
    with session() as s:
        messages = rights_notifier.list_outbox(
            s, keyring=keyring(), limit=limit, now=utcnow(), actor=ACTOR
        )
    table = Table()
    for header in ("at (UTC)", "channel", "template", "to", "message"):
        table.add_column(header)
    for m in messages:
        to = "(erased)" if m.is_erased else m.recipient or ""
        at = m.created_at.strftime("%Y-%m-%d %H:%M")
        table.add_row(at, m.channel, m.template, to, m.body or "")
    console.print(table)


def _table(rows: list[RequestRead]) -> Table:
    table = Table()
    for header in ("request", "kind", "status", "channel", "law", "due (UTC)", "overdue"):
        table.add_column(header)
    for r in rows:
        table.add_row(
            str(r.id),
            r.kind,
            r.status,
            r.channel,
            r.jurisdiction,
            r.effective_due_at.strftime("%Y-%m-%d %H:%M"),
            "OVERDUE" if r.is_overdue else "",
        )
    return table
