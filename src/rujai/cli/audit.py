"""``rujai audit``: verify, checkpoint and list the hash-chained audit log (TH-SEC-01).

``verify`` checks the chain against the signed checkpoints and any receipts given; ``public-key``
prints what an auditor needs to do the same without the private key.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated
from uuid import UUID

import typer
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from rich.table import Table

from rujai.audit import anchor, service as audit_service
from rujai.audit.anchor_check import Anchors, receipt_head
from rujai.audit.schemas import AuditEntryRead, AuditVerifyReport, SignedHead
from rujai.audit.signing import load_or_create_signer, load_public_key, public_key_pem
from rujai.cli._context import console, err_console, exits_on_error, session, settings
from rujai.kit.time import utcnow

app = typer.Typer(no_args_is_help=True)


@app.command("verify")
@exits_on_error
def verify(
    checkpoints: Annotated[
        Path | None,
        typer.Option(help="Checkpoint file to check against (default: the configured one)."),
    ] = None,
    receipt: Annotated[
        list[Path] | None,
        typer.Option(help="A consent or request receipt (JSON) whose signed head to check."),
    ] = None,
    public_key: Annotated[
        Path | None,
        typer.Option(help="Public key PEM (default: derived from the configured signing key)."),
    ] = None,
) -> None:
    """Recompute every hash and check signed heads; exit 1 naming the first problem."""
    anchors = Anchors(
        public_key=_public_key(public_key),
        checkpoint_file=checkpoints or settings().audit.checkpoint_file,
        receipts=[(str(path), _receipt_head(path)) for path in receipt or []],
    )
    with session() as s:
        report = audit_service.verify(s, anchors=anchors)
    for warning in report.warnings:
        err_console.print(f"warning: {warning}", markup=False, highlight=False, soft_wrap=True)
    if not report.ok:
        err_console.print(
            f"audit chain broken at entry #{report.first_bad_seq}: {report.problem}",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )
        raise typer.Exit(1)
    console.print(_intact(report), highlight=False, markup=False)


@app.command("checkpoint")
@exits_on_error
def write_checkpoint() -> None:
    """Sign the current head and append it to the checkpoint file if the log grew."""
    cfg = settings().audit
    signer = load_or_create_signer(cfg.signing_key_file)
    with session() as s:
        head = anchor.checkpoint(s, signer, cfg.checkpoint_file, utcnow())
    if head is None:
        console.print("audit log is empty: nothing to checkpoint", highlight=False)
        return
    console.print(f"checkpoint #{head.seq} signed at {head.at.isoformat()}", highlight=False)


@app.command("public-key")
@exits_on_error
def public_key() -> None:
    """Print the public key (PEM) that checks checkpoints; creates the signing key if absent."""
    signer = load_or_create_signer(settings().audit.signing_key_file)
    typer.echo(public_key_pem(signer.public_key), nl=False)


def _public_key(path: Path | None) -> Ed25519PublicKey | None:
    key_file = path or settings().audit.signing_key_file
    if path is None and not key_file.exists():
        return None
    return load_public_key(key_file)


def _receipt_head(path: Path) -> SignedHead | None:
    """Return a receipt file's signed head; exit 2 if the file is not a receipt."""
    try:
        return receipt_head(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError) as e:
        err_console.print(f"cannot read receipt {path}: {e}", markup=False, highlight=False)
        raise typer.Exit(2) from e


def _intact(report: AuditVerifyReport) -> str:
    text = f"audit chain intact: {report.checked} entries"
    head = report.checkpoint
    if head is not None:
        text += f"; matches checkpoint #{head.seq} signed at {head.at.isoformat()}"
        if report.checked > head.seq:
            text += f" ({report.checked - head.seq} newer entries not yet checkpointed)"
    if report.receipts_checked:
        text += f"; {report.receipts_checked} receipt(s) match"
    return text


@app.command("list")
@exits_on_error
def list_entries(
    subject: Annotated[
        UUID | None, typer.Option(help="Only entries about this subject UUID.")
    ] = None,
    limit: Annotated[int, typer.Option(help="How many entries, newest first.")] = 50,
) -> None:
    """Show the newest audit entries."""
    with session() as s:
        entries = audit_service.list_entries(s, subject_id=subject, limit=limit)
    console.print(_entries_table(entries))


def _entries_table(entries: list[AuditEntryRead]) -> Table:
    table = Table()
    table.add_column("seq", no_wrap=True, justify="right")
    table.add_column("at (UTC)", no_wrap=True)
    for header in ("actor", "action", "subject", "purpose", "outcome", "hash"):
        table.add_column(header)
    for e in entries:
        at = e.at.strftime("%Y-%m-%d %H:%M:%S")
        subject_text = str(e.subject_id) if e.subject_id else ""
        table.add_row(
            str(e.seq),
            at,
            e.actor,
            e.action,
            subject_text,
            e.purpose or "",
            e.outcome or "",
            e.hash[:12],
        )
    return table
