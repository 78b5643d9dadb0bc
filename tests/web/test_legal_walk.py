"""The legal walk through the console and the privacy center (issue 13, item 7; TestClient on
SQLite and PostgreSQL): what the DPO can read and do, the record of processing the console gives
out, and the objection to profiling shown on its own."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import UTC, datetime

import pytest

from rujai.rights import service as rights_service
from rujai.writer import session_scope
from tests.rights.test_requests import person, submit
from tests.web.conftest import csrf_of
from tests.web.test_authorization_matrix import MATRIX
from tests.web.test_console import post, sign_in

pytestmark = pytest.mark.usefixtures("cheap_hashing")

DPO_READS = ("/console/requests", "/console/policy", "/console/policy/ropa.json", "/console/audit")


def _refuse_an_erasure(factory, keyring, policy):
    with session_scope(factory) as s:
        person(s, keyring, "C-WALK-ROPA", email="walk.ropa@example.com")
        request = submit(s, keyring, policy, "erasure", customer_id="C-WALK-ROPA")
        rights_service.refuse(
            s, keyring=keyring, policy=policy, request_id=request.id, refusal_code="legal_hold",
            note=None, now=datetime.now(UTC), actor="test",
        )  # fmt: skip
    return request.id


def test_the_dpo_reads_requests_records_and_audit_and_changes_nothing_th_dpo_01(
    web_client, team, factory
):
    """TH-DPO-01: the DPO reads the request queue, the policy with the record of processing and
    the audit log (and verifies its chain); offers and the preview are not theirs, and no console
    route lets anyone change the policy or the audit log."""
    sign_in(web_client, "dpo")
    for path in DPO_READS:
        assert web_client.get(path).status_code == 200, path
    verified = post(web_client, "/console/audit/verify")
    assert verified.status_code == 200
    for path in ("/console/offers", "/console/offers/new", "/console/preview"):
        assert web_client.get(path).status_code == 403, path
    writes = {
        path
        for (method, path), row in MATRIX.items()
        if method != "GET" and row["dpo"] == "allowed"
    }
    assert not {p for p in writes if p.startswith(("/console/policy", "/console/audit/"))} - {
        "/console/audit/verify"
    }


def test_console_download_lists_refused_requests_in_thai_and_english_th_ropa_01(
    web_client, team, factory, keyring, policy
):
    """TH-ROPA-01 (s.39(7)): the record the console downloads holds the refused requests with their
    reason, in the page's language: Thai by default, English on request."""
    refused = _refuse_an_erasure(factory, keyring, policy)
    sign_in(web_client, "dpo")
    english = web_client.get("/console/policy/ropa.json", params={"lang": "en"})
    assert english.status_code == 200
    body = json.loads(english.text)
    (row,) = body["refused_requests"]["rows"]
    assert (row["request_id"], row["refusal_code"]) == (str(refused), "legal_hold")
    assert row["reason"] == "A law requires us to keep this data."
    thai = web_client.get("/console/policy/ropa.csv", params={"lang": "th"})
    lines = list(csv.reader(io.StringIO(thai.text)))
    assert ["คำขอใช้สิทธิที่ถูกปฏิเสธพร้อมเหตุผล (มาตรา 39(7))"] in lines
    assert any(str(refused) in line and "กฎหมายกำหนดให้ต้องเก็บรักษาข้อมูลนี้ไว้" in line for line in lines)
    assert "พ.ศ." in thai.text
    assert "walk.ropa@example.com" not in thai.text


def test_the_privacy_center_offers_the_objection_to_profiling_on_its_own_eu_02(signed_in):
    """EU-02 (GDPR Art. 21(4)): the right to object to profiling has its own form and words,
    apart from the other objections, and asking for it opens a request."""
    page = signed_in.get("/privacy/data").text
    own = re.search(r'<form[^>]*id="object-profiling".*?</form>', page, re.S)
    assert own
    assert 'name="objection" value="profiling"' in own.group(0)
    assert "การวิเคราะห์ความสนใจ" in own.group(0)
    others = re.search(r'<select id="objection-to".*?</select>', page, re.S)
    assert others
    assert 'value="profiling"' not in others.group(0)
    data = {"kind": "objection", "objection": "profiling", "csrf_token": csrf_of(page)}
    asked = signed_in.post("/privacy/requests", data=data)
    assert asked.status_code == 200
    assert re.search(r"/privacy/requests/[0-9a-f-]{36}", asked.text)
