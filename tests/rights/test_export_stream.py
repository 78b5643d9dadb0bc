"""The streamed access copy (TH-DSR-01, TH-DSR-02): the same document as built in memory, memory
flat in the length of the history, and a streamed HTTP response (a refusal still problem+json)."""

from __future__ import annotations

import csv
import io
import json
import tempfile
import tracemalloc
import uuid
import zipfile
from datetime import timedelta
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings as hypothesis_settings, strategies as st

from rujai.config import Settings
from rujai.errors import PROBLEM_JSON
from rujai.events import service as events_service
from rujai.policy.loader import load_policy_file
from rujai.rights import export, export_format, export_html, export_stream, processing
from rujai.writer import session_scope
from tests.conftest import EXAMPLE_POLICY
from tests.factories import make_consent, rights_permit, track_event
from tests.rights.test_erasure import NOW, build_person
from tests.rights.test_requests import CUSTOMER as REQUESTER, person as requester, verified

HISTORY = 1_234  # more than one batch of the writer (500) and of the events reader (1,000)


def _history(factory, keyring, policy, customer_id: str, count: int) -> None:
    """``count`` events of a few shapes, so columns of the events table appear late."""
    kinds = [
        ("page_view", {"path": "/th/c/1"}),
        ("search", {"query": "หมอนอิง =SUM(A1)"}),
        ("product_view", {"item_id": "SKU-7"}),
        ("purchase", {"order_id": "O-9", "item_id": "SKU-7", "quantity": 2, "amount": 99.5}),
    ]
    events = [
        track_event(
            kinds[min(n * 4 // count, 3)][0], customer_id=customer_id,
            timestamp=NOW - timedelta(minutes=count - n), message_id=f"m-{customer_id}-{n}",
            **kinds[min(n * 4 // count, 3)][1],
        )
        for n in range(count)
    ]  # fmt: skip
    with session_scope(factory) as s:
        make_consent(s, keyring, policy, "recommendations", customer_id=customer_id, now=NOW)
        make_consent(s, keyring, policy, "analytics", customer_id=customer_id, now=NOW)
    for start in range(0, count, 1000):
        with session_scope(factory) as s:
            summary = events_service.ingest(
                s, keyring=keyring, policy=policy, events=events[start : start + 1000],
                source="api", is_partner_data=False, now=NOW, actor="test",
            )  # fmt: skip
            assert summary.accepted == len(events[start : start + 1000]), summary


@pytest.fixture
def heavy(factory, keyring, policy):
    built = build_person(factory, keyring, policy)
    _history(factory, keyring, policy, built.customer_id, HISTORY)
    return built


def _without_receipts(document: dict[str, Any]) -> dict[str, Any]:
    """Receipts carry the audit head at the time they are issued: equal only per copy."""
    return {
        **document,
        "consents": [{k: v for k, v in c.items() if k != "receipt"} for c in document["consents"]],
    }


def _rows(body: bytes) -> list[list[str]]:
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    keep = [i for i, name in enumerate(rows[0]) if not name.startswith("receipt")]
    return [[row[i] for i in keep] for row in rows]


def test_streamed_copy_equals_the_in_memory_document_th_dsr_02(factory, keyring, policy, heavy):
    """TH-DSR-02: the streamed export.json, CSVs and summary are those of the whole document."""
    with session_scope(factory) as s:
        data = export.build_export(
            s, keyring=keyring, policy=policy, subject_id=heavy.subject_id, now=NOW
        )
        permit = rights_permit(s, keyring, policy, heavy.subject_id)
        document = export.collect(
            s, keyring=keyring, policy=policy, permit=permit, subject_id=heavy.subject_id, now=NOW
        )
    copy = zipfile.ZipFile(io.BytesIO(data))
    whole = document.model_dump(mode="json")
    streamed = json.loads(copy.read("export.json"))
    assert len(streamed["events"]) == HISTORY + 5
    assert _without_receipts(streamed) == _without_receipts(whole)
    assert list(streamed) == list(whole)  # the fields in the documented order
    assert copy.read("export.json").decode() == json.dumps(
        {**whole, "consents": streamed["consents"]}, ensure_ascii=False, indent=2
    )  # laid out as before, byte for byte
    tables = export_format.csv_tables(whole)
    for name in export_format.TABLES:
        assert _rows(copy.read(f"csv/{name}.csv")) == _rows(tables[f"{name}.csv"]), name
    assert copy.read("csv/events.csv").startswith(b"\xef\xbb\xbf")
    assert copy.read("summary.html").decode() == export_html.render(document, policy=policy)


def test_every_document_field_is_a_registered_section():
    """A section is one line in ``export.SECTIONS`` plus its field in ``ExportDocument``."""
    fields = [n for n in export_format.ExportDocument.model_fields if n not in export.HEAD]
    assert set(export.SECTIONS) == set(fields)
    assert list(export_format.TABLES) == fields


def test_the_audit_entry_counts_what_the_streamed_copy_holds(factory, keyring, policy, heavy):
    """Counts only, with the keys they had before streaming: no personal data in the detail."""
    from sqlalchemy import select

    from rujai.audit.models import AuditEntry

    with session_scope(factory) as s:
        data = export.build_export(
            s, keyring=keyring, policy=policy, subject_id=heavy.subject_id, now=NOW
        )
    with session_scope(factory) as s:
        (entry,) = s.scalars(select(AuditEntry).where(AuditEntry.action == "rights.export")).all()
    document = json.loads(zipfile.ZipFile(io.BytesIO(data)).read("export.json"))
    listed = [n for n in export.SECTIONS if isinstance(document[n], list)]
    expected = {n: len(document[n]) for n in listed if n not in export_stream.UNCOUNTED}
    assert entry.detail == {**expected, "model_member": 1}
    assert {"identities", "traits", "consents", "events", "insights", "decisions",
            "rights_requests", "model_member"} <= set(entry.detail)  # fmt: skip
    assert entry.detail["events"] == HISTORY + 5
    assert all(isinstance(v, int) for v in entry.detail.values())


def _events(subject_id, count: int):
    """``count`` events made on the fly (the writer's input; never held all at once)."""
    from rujai.events.schemas import EventRead

    for n in range(count):
        yield EventRead.model_construct(
            id=uuid.UUID(int=n), subject_id=subject_id, type="page_view", category="browsing",
            message_id=f"m-{n}", occurred_at=NOW - timedelta(seconds=count - n),
            received_at=NOW, properties={"path": f"/th/c/{n % 40}/p/SKU-{n % 500:03d}"},
            source="api", is_partner_data=False,
        )  # fmt: skip


def _peak(document, count: int) -> int:
    head = {name: getattr(document, name) for name in export.HEAD}
    sections = [
        (name, _events(document.subject.subject_id, count) if name == "events" else value)
        for name, value in document
        if name not in export.HEAD
    ]
    with tempfile.TemporaryFile() as target:
        tracemalloc.start()
        try:
            export_stream.write_zip(
                target, head=head, sections=sections, policy=_POLICY, spool_bytes=16 * 1024
            )
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()


_POLICY = load_policy_file(EXAMPLE_POLICY)


def test_memory_does_not_grow_with_the_history(factory, keyring, policy):
    """Streamed: ten times the events, about the same peak (the in-memory copy grew ~10x)."""
    person = build_person(factory, keyring, policy)
    with session_scope(factory) as s:
        permit = rights_permit(s, keyring, policy, person.subject_id)
        document = export.collect(
            s, keyring=keyring, policy=policy, permit=permit, subject_id=person.subject_id, now=NOW
        )
    _peak(document, 2_000)  # warm-up: templates, schema, compiled serialisers
    small, large = _peak(document, 2_000), _peak(document, 20_000)
    assert large < 1.3 * small, (small, large)


def test_a_copy_is_read_out_in_chunks_and_closed():
    """The body of a streamed response: fixed-size chunks, the spool closed at the end."""
    spool = tempfile.SpooledTemporaryFile()  # noqa: SIM115 - iter_file closes it (checked below)
    spool.write(b"x" * (2 * export.CHUNK + 5))
    spool.seek(0)
    assert [len(c) for c in export.iter_file(spool)] == [export.CHUNK, export.CHUNK, 5]
    assert spool.closed


_CELL = st.one_of(
    st.none(), st.booleans(), st.integers(-(10**6), 10**6), st.text(max_size=8),
    st.sampled_from(["=1+1", "-2", "@x", "a\r\nb", 'q"q', "สมชาย", ""]),
    st.dictionaries(st.sampled_from(["th", "en"]), st.text(max_size=4), max_size=2),
    st.lists(st.integers(0, 9), max_size=2),
)  # fmt: skip
_ROWS = st.lists(st.dictionaries(st.sampled_from("abcdef"), _CELL, max_size=5), max_size=12)


@given(rows=_ROWS, batch=st.integers(1, 5))
@hypothesis_settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
def test_a_spooled_csv_is_the_whole_table(rows, batch):
    """TH-DSR-02: rows written in batches, columns appearing late, give the table written whole."""
    spool = export_stream.CsvSpool(max_size=64)  # tiny: rolled over to disk at once
    for start in range(0, len(rows), batch):
        spool.add_many(rows[start : start + batch])
    out = io.BytesIO()
    spool.write_to(out)
    whole = export_format.csv_tables({"traits": rows})["traits.csv"]
    assert out.getvalue().startswith(b"\xef\xbb\xbf")
    assert _rows(out.getvalue()) == _rows(whole)


# --- over HTTP ------------------------------------------------------------------------------------


@pytest.fixture
def api(settings: Settings):
    from rujai.main import create_app

    with TestClient(create_app(settings)) as client:
        yield client


def _consent_key(factory) -> dict[str, str]:
    from rujai.apikeys import service as apikeys_service

    with session_scope(factory) as s:
        created = apikeys_service.create(s, name="test shop", scopes=["consent"], now=NOW)
    return {"Authorization": f"Bearer {created.key}"}


def _completed_access(factory, keyring, policy, events: int = 0):
    with session_scope(factory) as s:
        requester(s, keyring)
        request = verified(s, keyring, policy, "access")
    if events:
        _history(factory, keyring, policy, REQUESTER, events)
    with session_scope(factory) as s:
        processing.process(
            s, keyring=keyring, policy=policy, request_id=request.id, now=NOW, actor="staff-1"
        )
    return request


def test_the_api_streams_the_copy_in_chunks_th_dsr_01(api, factory, keyring, policy):
    """TH-DSR-01: the ZIP is sent as a stream (no Content-Length: chunked over HTTP/1.1)."""
    request = _completed_access(factory, keyring, policy, events=1_500)
    with api.stream("GET", f"/v1/requests/{request.id}/export", headers=_consent_key(factory)) as r:
        assert r.status_code == 200
        assert r.headers["content-type"] == "application/zip"
        assert "content-length" not in r.headers  # streamed: sent chunked, never held whole
        body = r.read()
    copy = zipfile.ZipFile(io.BytesIO(body))
    assert len(json.loads(copy.read("export.json"))["events"]) == 1_500


def test_a_refused_copy_is_still_problem_json_th_dsr_01(
    factory, keyring, policy, settings, tmp_path
):
    """TH-DSR-01: without a rights purpose the door refuses the copy: a 403 problem, no ZIP."""
    request = _completed_access(factory, keyring, policy)
    bare = yaml.safe_load(EXAMPLE_POLICY.read_text(encoding="utf-8"))
    del bare["purposes"]["rights_requests"]
    path = tmp_path / "bare-policy.yaml"
    path.write_text(yaml.safe_dump(bare, allow_unicode=True), encoding="utf-8")
    from rujai.main import create_app

    refusing = settings.model_copy(
        update={"policy": settings.policy.model_copy(update={"path": path})}
    )
    with TestClient(create_app(refusing)) as client:
        response = client.get(f"/v1/requests/{request.id}/export", headers=_consent_key(factory))
    assert response.status_code == 403, response.text
    assert response.headers["content-type"].startswith(PROBLEM_JSON)
    assert response.json()["reason"] == "unknown_purpose"
