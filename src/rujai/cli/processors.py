"""``rujai processors``: the processor outbox (TH-PRC-01, TH-DSR-04, TH-CON-03).

``outbox`` lists the notices queued for processors (erase, withdraw, restrict, object, lift) by
recipient and status; ``deliver`` runs one delivery pass to the webhooks the policy declares;
``ack`` records an acknowledgement received another way (a letter, an e-mail) with the
processor's reference. Every step is audited; nothing printed names a person.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated
from uuid import UUID

import typer
from pydantic import ValidationError
from rich.table import Table

from rujai.cli._context import (
    console,
    err_console,
    exits_on_error,
    keyring,
    policy,
    session,
    session_factory,
    settings,
)
from rujai.disclosures import outbox, outbox_delivery
from rujai.disclosures.outbox_schemas import AckCreate, NoticeRead
from rujai.kit.time import utcnow

app = typer.Typer(no_args_is_help=True)
ACTOR = "cli"


class StatusChoice(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    OVERDUE = "overdue"
    ACKNOWLEDGED = "acknowledged"


@app.command("outbox")
@exits_on_error
def list_outbox(
    recipient: Annotated[str | None, typer.Option(help="Only this recipient's notices.")] = None,
    status: Annotated[
        StatusChoice | None, typer.Option(help="Only notices in this status.")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=500, help="How many, newest first.")] = 100,
) -> None:
    """Show the processor notices, newest first, with their status (audited read)."""
    with session() as s:
        notices = outbox.list_notices(
            s, now=utcnow(), overdue_days=settings().rights.processor_ack_days,
            recipient=recipient, status=status.value if status else None, limit=limit, actor=ACTOR,
        )  # fmt: skip
    console.print(_table(notices))
    console.print(f"{len(notices)} notices", highlight=False)


@app.command("deliver")
@exits_on_error
def deliver() -> None:
    """POST every due notice to its processor's webhook once; failures are retried later."""
    cfg = settings().rights
    with session_factory() as factory:
        run = outbox_delivery.scoped(factory)
        report = outbox_delivery.deliver(
            run, run, policy=policy(), keyring=keyring(), now=utcnow(),
            timeout=cfg.processor_timeout_s, actor=ACTOR,
        )  # fmt: skip
    console.print(
        f"sent {len(report.sent)}, failed {len(report.failed)} (retried later), "
        f"{report.no_webhook} without a webhook",
        highlight=False,
    )


@app.command("key")
@exits_on_error
def key(recipient: Annotated[str, typer.Argument(help="A processor recipient id.")]) -> None:
    """Print the key (hex) that signs this processor's notices; hand it over a secure channel."""
    if recipient not in policy().recipients:
        err_console.print(f"error: recipient: {recipient!r} is not declared", highlight=False)
        raise typer.Exit(2)
    console.print(keyring().recipient_key(recipient).hex(), highlight=False)


@app.command("ack")
@exits_on_error
def ack(
    notice_id: Annotated[UUID, typer.Argument(help="The notice id.")],
    reference: Annotated[str, typer.Option(help="The processor's reference for the change.")],
) -> None:
    """Record a processor's acknowledgement received another way (staff; idempotent)."""
    try:
        body = AckCreate(reference=reference)
    except ValidationError as e:
        err_console.print(f"error: --reference: {e.errors()[0]['msg']}", highlight=False)
        raise typer.Exit(2) from e
    with session() as s:
        notice = outbox.acknowledge(
            s, notice_id=notice_id, reference=body.reference, recipients=None, actor=ACTOR,
            now=utcnow(), overdue_days=settings().rights.processor_ack_days,
        )  # fmt: skip
    console.print(
        f"notice {notice.id} ({notice.recipient}, {notice.kind}) acknowledged "
        f"{notice.acknowledged_at:%Y-%m-%d %H:%M} UTC, reference {notice.ack_reference}",
        highlight=False,
    )


def _table(notices: list[NoticeRead]) -> Table:
    table = Table()
    table.add_column("notice", no_wrap=True, min_width=36)
    for header in ("recipient", "kind", "purpose", "status", "created (UTC)",
                   "attempts", "last error", "acknowledged (UTC)", "reference"):  # fmt: skip
        table.add_column(header)
    for n in notices:
        acked = f"{n.acknowledged_at:%Y-%m-%d %H:%M}" if n.acknowledged_at else ""
        table.add_row(
            str(n.id), n.recipient, n.kind, n.purpose or "", n.status,
            f"{n.created_at:%Y-%m-%d %H:%M}", str(n.attempts), n.last_error or "", acked,
            n.ack_reference or "",
        )  # fmt: skip
    return table
