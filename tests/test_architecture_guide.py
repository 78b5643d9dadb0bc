"""The guide's example, run: a newcomer adds a purpose end to end (docs/architecture.md).

The YAML block under ``<!-- example: add-a-purpose -->`` is read from the guide itself, merged into
the example policy, validated, then used through the door: refused without consent, permitted
after a grant, refused again on the very next call after a withdrawal (TH-CON-03), listed in the
privacy center and in the record of processing (TH-ROPA-01).
"""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from rujai.cli.policy import app as policy_cli
from rujai.consent import service as consent_service
from rujai.errors import PolicyDenied
from rujai.policy import ropa, service as policy_service
from rujai.policy.loader import load_policy_text
from tests.conftest import EXAMPLE_POLICY
from tests.factories import NOW, consent_change, declare_age, make_subject

GUIDE = Path(__file__).resolve().parents[1] / "docs" / "architecture.md"
MARKER = "<!-- example: add-a-purpose -->"


def _example_yaml() -> str:
    after = GUIDE.read_text().split(MARKER, 1)[1]
    found = re.search(r"```yaml\n(.*?)```", after, flags=re.S)
    assert found, "the guide's example block is missing"
    return found.group(1)


def _policy_with_the_example() -> str:
    indented = "".join(f"  {line}\n" if line else "\n" for line in _example_yaml().splitlines())
    text = EXAMPLE_POLICY.read_text()
    assert "\npurposes:\n" in text
    return text.replace("\npurposes:\n", "\npurposes:\n" + indented + "\n", 1)


def test_the_guides_purpose_is_valid_and_shown_in_the_record_of_processing(tmp_path):
    path = tmp_path / "policy.yaml"
    path.write_text(_policy_with_the_example())
    result = CliRunner().invoke(policy_cli, ["check", str(path)])
    assert result.exit_code == 0, result.output
    policy = load_policy_text(path.read_text(), filename=str(path))
    assert policy.purposes["birthday_offers"].direct_marketing
    record = ropa.render_ropa(ropa.build_ropa(policy, "en"), "csv", "en")
    assert "Birthday offers" in record


def test_the_guides_purpose_goes_through_the_door(session, keyring, tmp_path):
    policy = load_policy_text(_policy_with_the_example(), filename="policy.yaml")
    subject = make_subject(session, keyring, "C-GUIDE-1")

    def authorize(at):
        return policy_service.authorize(
            session, policy=policy, keyring=keyring, subject_id=subject.id,
            purpose="birthday_offers", categories=["contact", "age"], now=at,
            actor="mailer",
        )  # fmt: skip

    def record(action, at):
        declare_age(session, keyring, "C-GUIDE-1", now=at)  # an adult, by their word (TH-MIN-01)
        consent_service.record(
            session, keyring=keyring, policy=policy, customer_id="C-GUIDE-1",
            change=consent_change(policy, "birthday_offers", action), now=at,
            evidence_ip=None, evidence_user_agent=None,
        )  # fmt: skip

    with pytest.raises(PolicyDenied):
        authorize(NOW)  # no consent yet (TH-CON-01)
    record("grant", NOW)
    assert authorize(NOW + timedelta(seconds=1)).covers(subject.id, "contact")
    record("withdraw", NOW + timedelta(seconds=2))
    with pytest.raises(PolicyDenied):
        authorize(NOW + timedelta(seconds=3))  # the very next call (TH-CON-03)
    shown = consent_service.current(
        session, keyring=keyring, policy=policy, customer_id="C-GUIDE-1", now=NOW
    )
    assert "birthday_offers" in {p.purpose for p in shown.purposes}  # the privacy center's list
