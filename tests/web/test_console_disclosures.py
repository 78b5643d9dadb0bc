"""The DPO's record of processing in the console shows the live disclosures (TH-ROPA-01)."""

from __future__ import annotations

import json

import pytest

from rujai.disclosures import service as disclosures_service
from rujai.kit.time import utcnow
from rujai.writer import session_scope
from tests.disclosures.helpers import customer
from tests.web.test_console import sign_in

pytestmark = pytest.mark.usefixtures("cheap_hashing")


def test_the_dpo_sees_disclosures_made_without_consent_th_ropa_01(
    web_client, team, factory, keyring, policy
):
    with session_scope(factory) as s:
        sid = customer(s, keyring, policy, "C-ROPA-1", now=utcnow())
        disclosures_service.disclose(
            s, policy=policy, keyring=keyring, subject_ids=[sid], recipient="swift_delivery",
            purpose="order_fulfilment", categories=["contact"], channel="processor_sync",
            now=utcnow(), actor="test",
        )  # fmt: skip
    sign_in(web_client, "dpo")
    page = web_client.get("/console/policy?lang=en").text
    assert "Disclosed without consent (s.27)" in page
    assert "Siam Swift Delivery Co., Ltd. (TH): 1 times, 1 people" in page
    assert "DPA-2025-014" in page  # the processor's agreement (TH-PRC-01)
    ropa = web_client.get("/console/policy/ropa.json?lang=th")
    rows = {r["purpose_id"]: r for r in json.loads(ropa.text)["rows"]}
    assert rows["order_fulfilment"]["disclosures_without_consent"] == 1
    assert "C-ROPA-1" not in ropa.text
