"""``rujai backup`` and ``rujai restore``: the database alone, with the erasure log replayed.

Register with ``app.command("backup")(backup.backup)`` and ``app.command("restore")(...)``.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import typer

from rujai.cli._context import console, err_console, exits_on_error, keyring, policy, settings
from rujai.kit.time import utcnow
from rujai.ops import backup as ops_backup


@exits_on_error
def backup(
    out: Annotated[
        Path, typer.Argument(help="A new directory for the copy and its manifest.", file_okay=False)
    ],
) -> None:
    """Copy the database (online) to a new directory; never the keys (keep those apart)."""
    cfg = settings()
    manifest = ops_backup.backup(cfg, out=out, keyring=keyring(), now=utcnow())
    console.print(f"backed up the {manifest.backend} database to {out / manifest.database}; "
                  f"it needs master key {', '.join(manifest.master_key_ids)}",
                  highlight=False)  # fmt: skip
    key_dir = cfg.security.master_key_file.resolve().parent
    if out.resolve().is_relative_to(key_dir):
        err_console.print(
            f"warning: {out} is beside the master key ({key_dir}): store backups and keys apart",
            markup=False,
        )


@exits_on_error
def restore(
    source: Annotated[
        Path, typer.Argument(help="A directory made by `rujai backup`.", file_okay=False)
    ],
    yes: Annotated[
        bool, typer.Option("--yes", help="Confirm: the configured database is replaced.")
    ] = False,
) -> None:
    """Replace the database with a backup, then erase again everyone erased since (the log)."""
    report = ops_backup.restore(
        settings(), source=source, keyring=keyring(), policy=policy(), clock=utcnow,
        overwrite=yes,
    )  # fmt: skip
    console.print(f"restored the backup of {report.backup_created_at} "
                  f"({report.audit_entries_restored} audit entries)", highlight=False)  # fmt: skip
    if report.checkpoints_archived:
        console.print(f"audit checkpoints set aside as {report.checkpoints_archived}",
                      highlight=False)  # fmt: skip
    console.print_json(data={"erasure_replay": asdict(report.replay)})
