"""``rujai keys``: API keys (``rujai.cli.apikeys``) and the master key's rotation.

Rotating the master key, with the server running (``docs/security.md``, "Keys"):

1. ``rujai keys new-master``: the key file becomes a key set (new master key, old one kept);
2. restart the server(s) on it: new data keys are wrapped under the new key, old ones still open;
3. ``rujai keys rotate-master``: re-wraps every data key, in chunks; run it again if it stopped;
4. ``rujai keys destroy-old-master``: removes the old key, refused while any data key needs it;
   then destroy every other copy of the old key file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from rujai.cli import apikeys
from rujai.cli._context import (
    console,
    err_console,
    exits_on_error,
    keyring,
    session_factory,
    settings,
)
from rujai.errors import Invalid
from rujai.kit.time import utcnow
from rujai.ops import keys as ops_keys
from rujai.profiles.rewrap import CHUNK

app = typer.Typer(no_args_is_help=True)
app.add_typer(apikeys.app)  # create, list, revoke

ACTOR = "cli"
Out = Annotated[
    Path | None,
    typer.Option("--out", help="Key set file to write (default: the configured key file).",
                 dir_okay=False),
]  # fmt: skip


def _key_file(out: Path | None) -> Path:
    cfg = settings().security
    if out is not None:
        return out
    if cfg.master_key is not None:
        raise Invalid(
            "the master key is set inline (RUJAI_SECURITY__MASTER_KEY): give --out, then move "
            "the key set into the secret store that sets it",
            field="out",
        )
    return cfg.master_key_file


@app.command("master-status")
@exits_on_error
def master_status() -> None:
    """Show the master key ids and how many data keys each wraps (counts only)."""
    ring = keyring()
    with session_factory() as factory:
        counted = ops_keys.census(factory, keyring=ring)
    console.print(f"master key {ring.key_id}: {counted.current} data key(s)", highlight=False)
    for old in ring.previous_ids:
        console.print(f"previous key {old} (unwrap only)", highlight=False)
    console.print(f"under an older key: {counted.other}; destroyed (erased): {counted.destroyed}")


@app.command("new-master")
@exits_on_error
def new_master(out: Out = None) -> None:
    """Write a key set with a new master key; the current key stays, for unwrapping only."""
    path = _key_file(out)
    with session_factory() as factory:
        fresh = ops_keys.new_master(factory, keyring=keyring(), out=path, now=utcnow(), actor=ACTOR)
    console.print(f"wrote {path}: master key {fresh.key_id}, previous "
                  f"{', '.join(fresh.previous_ids)}", highlight=False)  # fmt: skip
    console.print("next: restart every server on this key set, then `rujai keys rotate-master`")


@app.command("rotate-master")
@exits_on_error
def rotate_master(
    chunk: Annotated[
        int, typer.Option(min=1, max=10_000, help="Data keys per transaction.")
    ] = CHUNK,
    max_chunks: Annotated[
        int | None, typer.Option(min=1, help="Stop after this many chunks (run again to go on).")
    ] = None,
) -> None:
    """Re-wrap every data key under the current master key, online and resumable."""
    with session_factory() as factory:
        report = ops_keys.rotate(
            factory, keyring=keyring(), clock=utcnow, actor=ACTOR, chunk=chunk,
            max_chunks=max_chunks,
        )  # fmt: skip
    console.print(
        f"re-wrapped {report.rewrapped} data key(s) under {report.master_key_id} in "
        f"{report.chunks} chunk(s); {report.remaining} left",
        highlight=False,
    )
    if not report.is_done:
        err_console.print("not done: run `rujai keys rotate-master` again", markup=False)
        raise typer.Exit(1)
    console.print("done: `rujai keys destroy-old-master` may now remove the old key")


@app.command("destroy-old-master")
@exits_on_error
def destroy_old_master(out: Out = None) -> None:
    """Remove the old master key from the key set; refused while any data key needs it."""
    path, ring = _key_file(out), keyring()
    if not ring.previous:
        console.print(f"master key {ring.key_id} has no previous key: nothing to destroy")
        return
    with session_factory() as factory:
        kept = ops_keys.retire(factory, keyring=ring, out=path, now=utcnow(), actor=ACTOR)
    console.print(f"wrote {path}: master key {kept.key_id} only; destroyed "
                  f"{', '.join(ring.previous_ids)}", highlight=False)  # fmt: skip
    console.print("destroy every other copy of the old key (backups of the key file, vaults)")
