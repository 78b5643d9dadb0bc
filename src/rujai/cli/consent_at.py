"""``rujai consent history --at T``: the consent state the ledger proves at a past time.

TH-CON-04: reconstruct the state at any past time, with the records it rests on.
"""

from __future__ import annotations

from datetime import datetime

import typer
from pydantic import AwareDatetime, TypeAdapter, ValidationError
from rich.table import Table

from rujai.cli._context import console, keyring, policy, session
from rujai.consent import at as consent_at
from rujai.consent.schemas import ConsentsAtRead
from rujai.errors import Invalid
from rujai.kit.time import utcnow

_AWARE = TypeAdapter(AwareDatetime)


def parse_at(text: str) -> datetime:
    """Read ``--at`` as an ISO time with a UTC offset; raise Invalid naming the option."""
    try:
        return _AWARE.validate_python(text)
    except ValidationError as e:
        raise Invalid(f"--at: {e.errors()[0]['msg']}", field="at") from e


def show(customer_id: str, at_text: str, purpose: str | None, as_json: bool) -> None:
    """Print the state at ``--at`` per purpose, as a table or JSON."""
    at = parse_at(at_text)
    with session() as s:
        state = consent_at.state_at(
            s, keyring=keyring(), policy=policy(), customer_id=customer_id, at=at,
            now=utcnow(), purpose=purpose,
        )  # fmt: skip
    if as_json:
        typer.echo(state.model_dump_json(indent=2))
        return
    console.print(table(state))


def table(state: ConsentsAtRead) -> Table:
    """The state per purpose with the ledger records it rests on."""
    out = Table(title=f"consent at {state.at.isoformat()} (policy {state.policy_version})")
    for header in ("purpose", "state", "by", "notice", "lang", "door", "records"):
        out.add_column(header)
    for p in state.purposes:
        records = ", ".join(f"{r.record_id} ({r.role} {r.action})" for r in p.records)
        out.add_row(
            p.purpose, p.state, p.by or "", str(p.notice_version or ""), p.language or "",
            p.reason, records or "-",
        )  # fmt: skip
    return out
