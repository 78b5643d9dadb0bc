"""``rujai incidents``: the breach register from the command line (TH-BRE-01, EU-04, TH-PRC-01).

``declare`` opens an incident (the 72-hour clock runs from ``--aware-at``); ``list`` shows the
register with each clock, overdue ones flagged; ``show`` prints one as JSON; ``assess`` keeps a
risk assessment with its decision and reasoning (also "no notice"); ``blast-radius`` measures who
and which categories the breach touched (``--subjects`` lists customer ids); ``drafts`` prints the
notices in Thai or English; ``notify`` records the authority's notice or sends the subjects';
``export`` writes the register for the regulator as JSON or CSV (UTF-8 BOM).
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, TypeVar
from uuid import UUID

import typer
from pydantic import BaseModel, ValidationError
from rich.table import Table

from rujai.cli._context import console, err_console, exits_on_error, keyring, policy, session
from rujai.incidents import blast, export, notices, service
from rujai.incidents.schemas import AssessmentCreate, IncidentCreate, IncidentRead
from rujai.kit.time import utcnow

app = typer.Typer(no_args_is_help=True)

ACTOR = "cli"
M = TypeVar("M", bound=BaseModel)
IncidentId = Annotated[UUID, typer.Argument(help="The incident id.")]


class LangChoice(StrEnum):
    TH = "th"
    EN = "en"


class LevelChoice(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


class DecisionChoice(StrEnum):
    NOTIFY = "notify"
    NOTIFY_AND_SUBJECTS = "notify_and_subjects"
    NO_NOTICE = "no_notice"


class AudienceChoice(StrEnum):
    AUTHORITY = "authority"
    SUBJECTS = "subjects"


class FormatChoice(StrEnum):
    JSON = "json"
    CSV = "csv"


def _body(model: type[M], data: dict[str, Any]) -> M:
    """Validate command-line input; a problem names the option (``--field``) and exits 1."""
    try:
        return model.model_validate(data)
    except ValidationError as e:
        for err in e.errors():
            where = "--" + str(err["loc"][0]).replace("_", "-") if err["loc"] else "input"
            err_console.print(f"[red]error:[/red] {where}: {err['msg']}", highlight=False)
        raise typer.Exit(1) from e


@app.command("declare")
@exits_on_error
def declare(
    title: Annotated[str, typer.Option(help="What happened, in a line.")],
    description: Annotated[str, typer.Option(help="What happened; stays out of the audit log.")],
    aware_at: Annotated[str, typer.Option(help="When you became aware (ISO 8601, with zone).")],
    occurred_from: Annotated[str, typer.Option(help="Start of the exposure window (ISO).")],
    occurred_to: Annotated[str, typer.Option(help="End of the exposure window (ISO).")],
    category: Annotated[list[str], typer.Option(help="A data category exposed (repeat).")],
    system: Annotated[list[str] | None, typer.Option(help="A system involved (repeat).")] = None,
) -> None:
    """Declare a breach; the 72-hour notice clock starts at --aware-at."""
    body = _body(IncidentCreate, {
        "title": title, "description": description, "aware_at": aware_at,
        "occurred_from": occurred_from, "occurred_to": occurred_to, "categories": category,
        "systems": system or [],
    })  # fmt: skip
    with session() as s:
        row = service.declare(s, policy=policy(), body=body, now=utcnow(), actor=ACTOR)
    console.print(f"{row.id} {row.reference} due {row.clock.deadline_en} ({row.clock.deadline_th})")


@app.command("list")
@exits_on_error
def list_incidents() -> None:
    """Show the register with each incident's clock; overdue ones are flagged."""
    with session() as s:
        rows = service.list_incidents(s, now=utcnow())
    console.print(_table(rows))


@app.command("show")
@exits_on_error
def show(incident_id: IncidentId) -> None:
    """Show one incident with its clock and assessments as JSON."""
    with session() as s:
        row = service.get(s, incident_id=incident_id, now=utcnow())
    console.print_json(row.model_dump_json())


@app.command("assess")
@exits_on_error
def assess(
    incident_id: IncidentId,
    data_kind: Annotated[list[str], typer.Option(help="A data category involved (repeat).")],
    subject_count: Annotated[int, typer.Option(help="Approximate number of subjects.")],
    record_count: Annotated[int, typer.Option(help="Approximate number of records.")],
    likelihood: Annotated[LevelChoice, typer.Option(help="Likelihood of harm.")],
    severity: Annotated[LevelChoice, typer.Option(help="Severity of harm.")],
    measures: Annotated[str, typer.Option(help="Measures taken or proposed.")],
    decision: Annotated[DecisionChoice, typer.Option(help="Who is to be notified.")],
    reasoning: Annotated[str, typer.Option(help="Why (kept even for no_notice).")],
    sensitive: Annotated[bool, typer.Option(help="Sensitive data (s.26) involved.")] = False,
    minors: Annotated[bool, typer.Option(help="Minors involved.")] = False,
) -> None:
    """Keep a risk assessment with the PDPC's factors and the decision with its reasoning."""
    body = _body(AssessmentCreate, {
        "data_kinds": data_kind, "subject_count": subject_count, "record_count": record_count,
        "is_sensitive": sensitive, "has_minors": minors, "likelihood": likelihood.value,
        "severity": severity.value, "measures": measures, "decision": decision.value,
        "reasoning": reasoning,
    })  # fmt: skip
    with session() as s:
        row = service.assess(
            s, policy=policy(), incident_id=incident_id, body=body, now=utcnow(), actor=ACTOR
        )
    latest = row.assessments[0]
    console.print(f"{row.reference}: {row.status}; risk {latest.risk}, decision {latest.decision}")


@app.command("blast-radius")
@exits_on_error
def blast_radius(
    incident_id: IncidentId,
    subjects: Annotated[bool, typer.Option(help="List affected customer ids too.")] = False,
) -> None:
    """Measure who and which categories the breach touched, from the data, as JSON."""
    with session() as s:
        row = service.get(s, incident_id=incident_id, now=utcnow())
        window = blast.window_of(row.id, row.categories, row.occurred_from, row.occurred_to)
        radius = blast.measure(
            s, keyring=keyring(), policy=policy(), window=window, with_subjects=subjects,
            now=utcnow(), actor=ACTOR,
        )  # fmt: skip
    console.print_json(radius.model_dump_json())


@app.command("drafts")
@exits_on_error
def drafts(
    incident_id: IncidentId,
    lang: Annotated[LangChoice, typer.Option(help="th or en.")] = LangChoice.TH,
) -> None:
    """Print the notice drafts: to the PDPC (or the controller) and, if high risk, to subjects."""
    with session() as s:
        found = notices.drafts(
            s, keyring=keyring(), policy=policy(), incident_id=incident_id, lang=lang.value,
            now=utcnow(), actor=ACTOR,
        )  # fmt: skip
    for draft in (found.to_authority, found.to_subjects):
        if draft is not None:
            typer.echo(f"== {draft.audience}: {draft.subject}\n{draft.body}\n")


@app.command("notify")
@exits_on_error
def notify(
    incident_id: IncidentId,
    audience: Annotated[AudienceChoice, typer.Option(help="authority or subjects.")],
    reference: Annotated[str | None, typer.Option(help="The regulator's reference.")] = None,
    lang: Annotated[LangChoice, typer.Option(help="Language of the notice.")] = LangChoice.TH,
) -> None:
    """Record the notice to the authority as sent, or send the subjects' notice."""
    with session() as s:
        if audience is AudienceChoice.AUTHORITY:
            result = notices.record_authority(
                s, incident_id=incident_id, reference=reference, lang=lang.value, now=utcnow(),
                actor=ACTOR,
            )  # fmt: skip
        else:
            result = notices.notify_subjects(
                s, keyring=keyring(), policy=policy(), incident_id=incident_id, lang=lang.value,
                now=utcnow(), actor=ACTOR,
            )  # fmt: skip
    console.print(f"{result.status}: sent {result.sent}, without contact {result.without_contact}")


@app.command("export")
@exits_on_error
def export_register(
    fmt: Annotated[FormatChoice, typer.Option("--format", "-f", help="json or csv.")] = (
        FormatChoice.JSON
    ),
    out: Annotated[Path | None, typer.Option(help="Write to this file (default: stdout).")] = None,
) -> None:
    """Export the register for the regulator (JSON, or CSV with a UTF-8 BOM)."""
    with session() as s:
        document = export.register(s, policy=policy(), now=utcnow(), actor=ACTOR)
    text = export.render(document, fmt.value)
    if out is None:
        typer.echo(text, nl=False)
    else:
        out.write_text(text, encoding="utf-8")
        console.print(f"wrote {len(document.incidents)} incidents to {out}")


def _table(rows: list[IncidentRead]) -> Table:
    table = Table("reference", "status", "aware at", "deadline", "hours left", "flag", "id")
    for row in rows:
        c = row.clock
        flag = "OVERDUE" if c.is_overdue else ("due soon" if c.is_due_soon else "")
        table.add_row(
            row.reference, row.status, row.aware_at.isoformat(timespec="minutes"),
            c.deadline_en, f"{c.hours_left:.1f}", flag, str(row.id),
        )  # fmt: skip
    return table
