"""Property: rewriting history a checkpoint covers is detected; appending after it is not flagged.

TH-SEC-01. For a random chain with a signed checkpoint, any truncation, edit-and-rehash, delete-and-
renumber or insert-and-renumber at or before the checkpoint makes ``verify`` fail (whatever is
appended afterwards), and honest appends after the checkpoint leave it intact.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from hypothesis import HealthCheck, given, settings, strategies as st
from sqlalchemy import delete
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from rujai.audit import anchor, service as audit_service
from rujai.audit.anchor_check import Anchors
from rujai.audit.models import AuditEntry, AuditHead
from rujai.audit.signing import Signer, load_or_create_signer
from tests.audit.chain import T0, build_chain
from tests.audit.rewrite import Row, drop, edit, insert_at, keep_first, rewrite

LATER = T0 + timedelta(days=1)
_SETTINGS = settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def _rewrites(length: int) -> st.SearchStrategy[Callable[[list[Row]], list[Row]]]:
    """Changes to history at or before entry ``length`` (the checkpointed head)."""
    index = st.integers(1, length)
    return st.one_of(
        st.integers(0, length - 1).map(keep_first),
        index.map(lambda i: edit(i, detail={"i": -1, "rewritten": True})),
        index.map(lambda i: edit(i, outcome="forged")),
        index.map(drop),
        index.map(insert_at),
    )


def _fresh(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(delete(AuditEntry))
        conn.execute(delete(AuditHead))


def _signed_chain(factory: sessionmaker[Session], signer: Signer, path: Path, length: int) -> None:
    path.unlink(missing_ok=True)
    with factory() as s, s.begin():
        build_chain(s, length)
    with factory() as s:
        assert anchor.checkpoint(s, signer, path, LATER) is not None


def _verify(factory: sessionmaker[Session], signer: Signer, path: Path) -> bool:
    with factory() as s:
        anchors = Anchors(public_key=signer.public_key, checkpoint_file=path)
        return audit_service.verify(s, anchors=anchors).ok


@_SETTINGS
@given(length=st.integers(1, 12), data=st.data(), appended=st.integers(0, 3))
def test_any_rewrite_of_checkpointed_history_is_detected(
    engine: Engine,
    factory: sessionmaker[Session],
    tmp_path: Path,
    length: int,
    data: st.DataObject,
    appended: int,
) -> None:
    signer = load_or_create_signer(tmp_path / "k.pem")
    path = tmp_path / "cp.jsonl"
    _fresh(engine)
    _signed_chain(factory, signer, path, length)
    rewrite(engine, data.draw(_rewrites(length), label="rewrite"))
    if appended:
        with factory() as s, s.begin():
            build_chain(s, appended, start=LATER)
    assert not _verify(factory, signer, path)


@_SETTINGS
@given(length=st.integers(1, 12), appended=st.integers(0, 6), checkpoint_again=st.booleans())
def test_appends_after_the_checkpoint_are_not_flagged(
    engine: Engine,
    factory: sessionmaker[Session],
    tmp_path: Path,
    length: int,
    appended: int,
    checkpoint_again: bool,
) -> None:
    signer = load_or_create_signer(tmp_path / "k.pem")
    path = tmp_path / "cp.jsonl"
    _fresh(engine)
    _signed_chain(factory, signer, path, length)
    if appended:
        with factory() as s, s.begin():
            build_chain(s, appended, start=LATER)
    if checkpoint_again:
        with factory() as s:
            anchor.checkpoint(s, signer, path, LATER + timedelta(hours=1))
    assert _verify(factory, signer, path)
