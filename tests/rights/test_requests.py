"""Rights requests: deadlines per jurisdiction, the life cycle, refusals and extensions (TH-DSR-00).

Also holds the small helpers the other rights-request test modules import.
"""

from __future__ import annotations

import base64
import re
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from rujai.audit.models import AuditEntry
from rujai.config import get_settings
from rujai.errors import Forbidden, Invalid
from rujai.kit.crypto import Keyring
from rujai.policy.schemas import Policy
from rujai.profiles import identities
from rujai.rights import intake, notifier, service, verification
from rujai.rights.errors import RefusalCodeRequired, RequestStateConflict
from rujai.rights.models import RightsRequest, VerificationCode
from rujai.rights.schemas import REQUEST_KINDS, OutboxMessageRead, RequestCreate, RequestRead
from tests.conftest import EXAMPLE_POLICY, TEST_MASTER_KEY
from tests.factories import make_subject

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
CUSTOMER = "C-DSR-0001"
EMAIL = "malee.dsr@example.com"
DETAIL_FOR = {
    "objection": {"objection": "direct_marketing"},
    "objection_lift": {"objection": "direct_marketing"},
    "withdrawal": {"purpose": "recommendations"},
    "rectification": {"traits": {"first_name": "มาลี"}},
}


# --- helpers shared by the rights request tests ---------------------------------------------------


def person(
    session: Session,
    keyring: Keyring,
    customer_id: str = CUSTOMER,
    *,
    email: str | None = EMAIL,
    email_verified: bool = True,
    phone: str | None = None,
    phone_verified: bool = True,
) -> uuid.UUID:
    """A subject with an e-mail (and phone) on file, verified unless told otherwise."""
    subject = make_subject(session, keyring, customer_id, now=NOW)
    given = (("email", email, email_verified), ("phone", phone, phone_verified))
    for kind, value, verified in given:
        if value is not None:
            identities.add_identity(
                session, keyring=keyring, subject_id=subject.id, kind=kind, value=value,
                verified=verified, now=NOW,
            )  # fmt: skip
    return subject.id


def submit(
    session: Session,
    keyring: Keyring,
    policy: Policy,
    kind: str = "access",
    *,
    customer_id: str | None = CUSTOMER,
    channel: str = "api",
    now: datetime = NOW,
    staff: bool = False,
    **fields,
) -> RequestRead:
    """Submit a request through the service, with the detail its kind needs by default."""
    fields.setdefault("detail", DETAIL_FOR.get(kind, {}))
    body = RequestCreate(kind=kind, channel=channel, customer_id=customer_id, **fields)
    return intake.submit(
        session, keyring=keyring, policy=policy, body=body, now=now, actor="test", staff=staff
    )


def outbox(session: Session, keyring: Keyring) -> list[OutboxMessageRead]:
    """Every outbox message, decrypted."""
    return notifier.list_outbox(session, keyring=keyring, limit=500, now=NOW, actor="test")


def last_code(session: Session, keyring: Keyring) -> str:
    """The code in the newest code message of the outbox."""
    codes = [m for m in outbox(session, keyring) if m.template.endswith("_code")]
    assert codes, "no code was sent"
    found = re.search(r"\b(\d{6})\b", codes[0].body or "")
    assert found, codes[0].body
    return found.group(1)


def code_for(session: Session, keyring: Keyring, request_id: uuid.UUID) -> str:
    """The code in the outbox matching the request's pending code (messages may share a time)."""
    pending = session.scalars(
        select(VerificationCode).where(
            VerificationCode.request_id == request_id, VerificationCode.used_at.is_(None)
        )
    ).one()
    for message in outbox(session, keyring):
        for code in re.findall(r"\b\d{6}\b", message.body or ""):
            if verification.code_hash(keyring, pending.id, code) == pending.code_hash:
                return code
    raise AssertionError("no message carries the pending code")


def verified(
    session: Session, keyring: Keyring, policy: Policy, kind: str = "access", **fields
) -> RequestRead:
    """Submit a request and verify it with the code sent to the verified e-mail on file."""
    request = submit(session, keyring, policy, kind, **fields)
    now = fields.get("now", NOW)
    verification.start_verification(
        session, keyring=keyring, policy=policy, request_id=request.id, now=now
    )
    code = code_for(session, keyring, request.id)
    return verification.confirm(session, keyring=keyring, request_id=request.id, code=code, now=now)


# --- deadlines ------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", REQUEST_KINDS)
def test_deadline_is_30_days_for_every_kind_under_the_thai_pdpa(session, keyring, policy, kind):
    """TH-DSR-01: PDPA s.30, 30 days from receipt, whatever the kind."""
    person(session, keyring)
    request = submit(session, keyring, policy, kind, jurisdiction="TH")
    assert request.due_at == NOW + timedelta(days=30)
    assert request.status == "received"


@pytest.mark.parametrize(
    ("received", "due"),
    [
        (datetime(2027, 1, 31, 10, tzinfo=UTC), datetime(2027, 2, 28, 10, tzinfo=UTC)),
        (datetime(2027, 3, 15, 10, tzinfo=UTC), datetime(2027, 4, 15, 10, tzinfo=UTC)),
        (datetime(2027, 12, 20, 10, tzinfo=UTC), datetime(2028, 1, 20, 10, tzinfo=UTC)),
    ],
)
def test_deadline_is_one_calendar_month_under_the_gdpr(session, keyring, policy, received, due):
    """EU-01: GDPR Art. 12(3), one month; a day the month lacks is its last day."""
    person(session, keyring)
    request = submit(session, keyring, policy, "erasure", jurisdiction="EU", now=received)
    assert request.due_at == due


def test_deadline_counts_in_hours_where_the_law_does(session, keyring, policy):
    """APAC-01: a per-kind clock in hours (Indonesia, 3 x 24 hours for access)."""
    person(session, keyring)
    access = submit(session, keyring, policy, "access", jurisdiction="ID")
    erasure = submit(session, keyring, policy, "erasure", jurisdiction="ID")
    assert access.due_at == NOW + timedelta(hours=72)
    assert erasure.due_at == NOW + timedelta(days=30)


def test_extension_once_with_a_reason_adds_up_to_two_months(session, keyring, policy):
    """EU-01: extendable by two more months, once, with a recorded reason told to the subject."""
    person(session, keyring)
    request = submit(session, keyring, policy, "access", jurisdiction="EU", language="en")
    extended = service.extend(
        session, keyring=keyring, policy=policy, request_id=request.id, months=2,
        reason="Many complex requests this month", now=NOW + timedelta(days=3), actor="test",
    )  # fmt: skip
    assert extended.extended_until == datetime(2027, 3, 1, 9, tzinfo=UTC)
    assert extended.effective_due_at == extended.extended_until
    assert extended.extension_reason == "Many complex requests this month"
    message = outbox(session, keyring)[0]
    assert message.template == "request_extended"
    assert "Many complex requests this month" in (message.body or "")
    with pytest.raises(Exception, match="only once") as again:
        service.extend(
            session, keyring=keyring, request_id=request.id, months=1, reason="again",
            policy=policy, now=NOW + timedelta(days=4), actor="test",
        )  # fmt: skip
    assert again.value.field == "extended_until"  # type: ignore[attr-defined]


def test_extension_without_a_reason_is_rejected_naming_reason(session, keyring, policy):
    person(session, keyring)
    request = submit(session, keyring, policy, "access", jurisdiction="EU")
    with pytest.raises(Invalid) as error:
        service.extend(
            session, keyring=keyring, request_id=request.id, months=1, reason="  ", now=NOW,
            policy=policy, actor="test",
        )  # fmt: skip
    assert error.value.field == "reason"


@pytest.mark.parametrize(
    ("jurisdiction", "when", "field"),
    [("TH", NOW, "jurisdiction"), ("EU", NOW + timedelta(days=40), "due_at")],
)
def test_extension_is_refused_under_the_pdpa_and_after_the_first_month(
    session, keyring, policy, jurisdiction, when, field
):
    """PDPA s.30 has no extension; GDPR Art. 12(3) wants it decided within the first month."""
    person(session, keyring)
    request = submit(session, keyring, policy, "access", jurisdiction=jurisdiction)
    with pytest.raises(Exception, match=r"\w") as error:
        service.extend(
            session, keyring=keyring, policy=policy, request_id=request.id, months=1, reason="busy",
            now=when, actor="test",
        )  # fmt: skip
    assert error.value.field == field  # type: ignore[attr-defined]


def test_request_past_its_deadline_shows_as_overdue(session, keyring, policy):
    """Acceptance (TH-DSR-00): the queue is sorted by deadline and flags what is overdue."""
    person(session, keyring)
    old = submit(session, keyring, policy, "access", now=NOW - timedelta(days=31))
    done = submit(session, keyring, policy, "access", now=NOW - timedelta(days=40))
    service.refuse(
        session, keyring=keyring, request_id=done.id, refusal_code="excessive", note=None,
        policy=policy, now=NOW - timedelta(days=35), actor="test",
    )  # fmt: skip
    fresh = submit(session, keyring, policy, "erasure", now=NOW - timedelta(days=1))
    queue = service.list_requests(session, now=NOW)
    assert [r.id for r in queue] == [done.id, old.id, fresh.id]
    assert [r.is_overdue for r in queue] == [False, True, False]
    overdue = service.list_requests(session, now=NOW, overdue_only=True)
    assert [r.id for r in overdue] == [old.id]
    assert service.get(session, request_id=old.id, now=NOW).is_overdue


def test_list_for_subject_returns_only_their_requests_newest_first(session, keyring, policy):
    """The privacy center lists the subject's own requests, found by subject, not by scanning."""
    mine = person(session, keyring)
    person(session, keyring, "C-DSR-OTHER", email="other.dsr@example.com")
    first = submit(session, keyring, policy, "access", now=NOW - timedelta(days=3))
    submit(session, keyring, policy, "access", customer_id="C-DSR-OTHER", now=NOW)
    second = submit(session, keyring, policy, "erasure", now=NOW - timedelta(days=1))
    listed = service.list_for_subject(session, subject_id=mine, now=NOW)
    assert [r.id for r in listed] == [second.id, first.id]
    assert service.list_for_subject(session, subject_id=uuid.uuid4(), now=NOW) == []


# --- refusals and the life cycle ------------------------------------------------------------------


@pytest.mark.parametrize("code", [None, "", "because"])
def test_refusal_without_a_legal_reason_code_is_rejected(session, keyring, policy, code):
    """Acceptance (TH-DSR-00): a refusal needs a reason code from the fixed list."""
    person(session, keyring)
    request = submit(session, keyring, policy, "erasure")
    with pytest.raises(RefusalCodeRequired) as error:
        service.refuse(
            session, keyring=keyring, request_id=request.id, refusal_code=code, note="x",
            policy=policy, now=NOW, actor="test",
        )  # fmt: skip
    assert error.value.field == "refusal_code"
    assert error.value.status == 422
    assert service.get(session, request_id=request.id, now=NOW).status == "received"


def test_refusal_with_a_code_is_recorded_told_and_listed_for_the_ropa(session, keyring, policy):
    """TH-DSR-00, TH-ROPA-01 (s.39(7)): kept with its reason; the subject is told, in Thai."""
    person(session, keyring)
    request = submit(session, keyring, policy, "erasure")
    refused = service.refuse(
        session, keyring=keyring, policy=policy, request_id=request.id, refusal_code="legal_hold",
        note="tax invoices", now=NOW + timedelta(days=2), actor="test",
    )  # fmt: skip
    assert (refused.status, refused.refusal_code) == ("refused", "legal_hold")
    assert refused.completed_at == NOW + timedelta(days=2)
    rows = service.refusals_for_ropa(session, since=NOW)
    assert [(r.request_id, r.refusal_code) for r in rows] == [(request.id, "legal_hold")]
    assert "s.33" in rows[0].provision
    assert service.refusals_for_ropa(session, since=NOW + timedelta(days=3)) == []
    message = outbox(session, keyring)[0]
    assert message.template == "request_refused"
    assert "กฎหมายกำหนดให้ต้องเก็บรักษาข้อมูลนี้ไว้" in (message.body or "")


def test_illegal_step_is_a_conflict_naming_status(session, keyring, policy):
    """TH-DSR-00: an unverified request cannot be confirmed twice or refused once closed."""
    person(session, keyring)
    request = verified(session, keyring, policy, "access")
    with pytest.raises(RequestStateConflict) as error:
        verification.confirm(session, keyring=keyring, request_id=request.id, code="1", now=NOW)
    assert error.value.field == "status"
    service.refuse(
        session, keyring=keyring, request_id=request.id, refusal_code="excessive", note=None,
        policy=policy, now=NOW, actor="test",
    )  # fmt: skip
    with pytest.raises(RequestStateConflict):
        service.refuse(
            session, keyring=keyring, request_id=request.id, refusal_code="excessive",
            policy=policy, note=None, now=NOW, actor="test",
        )  # fmt: skip


def test_compelling_grounds_never_refuse_an_objection_to_direct_marketing(session, keyring, policy):
    """TH-DSR-03: an objection to direct marketing is always honoured."""
    person(session, keyring)
    request = submit(session, keyring, policy, "objection")
    with pytest.raises(RefusalCodeRequired, match="TH-DSR-03"):
        service.refuse(
            session, keyring=keyring, request_id=request.id, refusal_code="compelling_grounds",
            policy=policy, note=None, now=NOW, actor="test",
        )  # fmt: skip


# --- submission -----------------------------------------------------------------------------------


def test_staff_channels_need_the_admin_scope_and_a_staff_reference(session, keyring, policy):
    person(session, keyring)
    with pytest.raises(Forbidden) as forbidden:
        submit(session, keyring, policy, channel="call_center", staff_ref="agent-17")
    assert forbidden.value.field == "channel"
    with pytest.raises(Invalid) as missing:
        submit(session, keyring, policy, channel="call_center", staff=True)
    assert missing.value.field == "staff_ref"
    request = submit(session, keyring, policy, channel="store", staff=True, staff_ref="agent-17")
    assert (request.channel, request.submitted_by, request.staff_ref) == (
        "store",
        "staff",
        "agent-17",
    )


@pytest.mark.parametrize(
    ("kind", "detail", "field"),
    [
        ("withdrawal", {"purpose": "order_fulfilment"}, "detail.purpose"),
        ("withdrawal", {}, "detail.purpose"),
        ("objection", {}, "detail.objection"),
        ("rectification", {}, "detail"),
    ],
)
def test_request_detail_is_checked_naming_the_field(session, keyring, policy, kind, detail, field):
    person(session, keyring)
    with pytest.raises(Invalid) as error:
        submit(session, keyring, policy, kind, detail=detail)
    assert error.value.field == field


def test_rectification_values_are_kept_sealed_not_in_plain_detail(session, keyring, policy):
    """TH-SEC-01: the new value is personal data; only trait names stay readable."""
    person(session, keyring)
    request = submit(session, keyring, policy, "rectification",
                     detail={"traits": {"first_name": "ประภาพร", "nickname": "x"}})  # fmt: skip
    row = session.get(RightsRequest, request.id)
    assert "ประภาพร" not in str(row.detail)
    assert row.detail["trait_names"] == ["first_name"]
    assert row.detail["undeclared_count"] == 1
    assert base64.b64decode(row.detail["sealed"])
    assert "sealed" not in request.detail


def test_unknown_customer_leaves_the_request_unlinked_and_sends_nothing(session, keyring, policy):
    request = submit(session, keyring, policy, "access", customer_id="C-NOBODY-9")
    assert request.subject_id is None
    assert outbox(session, keyring) == []


def test_receipt_message_gives_the_deadline_in_the_buddhist_era(session, keyring, policy):
    """TH-CON-05: Thai by default, dates in พ.ศ. (C.E. + 543); English on request."""
    person(session, keyring)
    person(session, keyring, "C-DSR-0002", email="john.dsr@example.com")
    submit(session, keyring, policy, "access")
    submit(session, keyring, policy, "access", customer_id="C-DSR-0002", language="en")
    bodies = {m.recipient: m.body or "" for m in outbox(session, keyring)}
    assert "31 ธันวาคม พ.ศ. 2569" in bodies[EMAIL]
    assert "31 December 2026" in bodies["john.dsr@example.com"]


def test_every_step_is_audited_without_personal_data(session, keyring, policy):
    """TH-DSR-00: each step leaves an audit entry naming the request, never the person."""
    subject_id = person(session, keyring)
    request = verified(session, keyring, policy, "access")
    entries = session.scalars(
        select(AuditEntry).where(AuditEntry.action.like("rights.%")).order_by(AuditEntry.seq)
    ).all()
    actions = {e.action for e in entries}
    assert {
        "rights.request.received",
        "rights.verification.read_identity",
        "rights.verification.started",
        "rights.request.verified",
    } <= actions
    text = " ".join(str(e.detail) for e in entries)
    assert EMAIL not in text
    assert CUSTOMER not in text
    assert str(request.id) in text
    about_subject = {e.subject_id for e in entries if e.action != "rights.outbox.read"}
    assert about_subject == {subject_id}


# --- the CLI --------------------------------------------------------------------------------------


@pytest.fixture
def cli_env(db_url, factory, monkeypatch):
    monkeypatch.setenv("RUJAI_SECURITY__MASTER_KEY", base64.b64encode(TEST_MASTER_KEY).decode())
    monkeypatch.setenv("RUJAI_POLICY__PATH", str(EXAMPLE_POLICY))
    monkeypatch.setenv("RUJAI_DATABASE_URL", db_url)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_cli_lists_overdue_requests_and_refuses_only_with_a_code(
    cli_env, factory, keyring, policy, monkeypatch
):
    from rujai.cli._context import console
    from rujai.cli.requests import app

    monkeypatch.setattr(console, "_width", 400)  # no wrapping in the tables

    with factory() as s, s.begin():
        person(s, keyring)
        request = submit(s, keyring, policy, "access", now=datetime.now(UTC) - timedelta(days=31))
    runner = CliRunner()
    listed = runner.invoke(app, ["list", "--overdue"])
    assert listed.exit_code == 0, listed.output
    assert "OVERDUE" in listed.output
    refused = runner.invoke(app, ["refuse", str(request.id)])
    assert refused.exit_code == 1
    assert "refusal" in refused.output or "reason code" in refused.output
    ok = runner.invoke(app, ["refuse", str(request.id), "--code", "manifestly_unfounded"])
    assert ok.exit_code == 0, ok.output
    shown = runner.invoke(app, ["show", str(request.id)])
    assert '"refusal_code": "manifestly_unfounded"' in shown.output
    box = runner.invoke(app, ["outbox"])
    assert box.exit_code == 0
    assert "request_refused" in box.output
