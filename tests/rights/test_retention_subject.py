"""Retention per subject (TH-RET-01): data is kept as long as a purpose that applies to *that*
subject needs it; a withdrawal shortens retention. SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import given, settings, strategies as st
from sqlalchemy import event as sa_event, select

from rujai.events import service as events_service
from rujai.events.models import Event
from rujai.policy.rules import ConsentFact, SubjectFacts
from rujai.rights import retention, retention_subject
from rujai.writer import session_scope
from tests.factories import NOW, make_consent, make_subject, track_event

CONSENT_PURPOSES = ["recommendations", "personalized_offers", "email_marketing", "analytics"]


def _ingest(s, keyring, policy, customer_id, *spec):
    events = [
        track_event(kind, customer_id=customer_id, timestamp=NOW - timedelta(days=days),
                    message_id=f"{customer_id}-{kind}-{days}")
        for kind, days in spec
    ]  # fmt: skip
    summary = events_service.ingest(
        s, keyring=keyring, policy=policy, events=events, source="api",
        is_partner_data=False, now=NOW, actor="test",
    )  # fmt: skip
    assert summary.accepted == len(events), summary


def _people(factory, keyring, policy):
    """Two customers who consented to recommendations; the first then withdraws."""
    with session_scope(factory) as s:
        for customer in ("C-RET-A", "C-RET-B"):
            make_subject(s, keyring, customer)
            make_consent(s, keyring, policy, "recommendations", customer_id=customer,
                         now=NOW - timedelta(days=500))  # fmt: skip
            _ingest(s, keyring, policy, customer, ("page_view", 100), ("page_view", 400),
                    ("purchase", 800))  # fmt: skip
        make_consent(s, keyring, policy, "recommendations", customer_id="C-RET-A",
                     action="withdraw", now=NOW - timedelta(days=1))  # fmt: skip


def _left(factory) -> set[str]:
    with factory() as s:
        return set(s.scalars(select(Event.message_id)))


def test_a_withdrawal_shortens_retention(factory, keyring, policy):
    """TH-RET-01: A withdrew recommendations and has no other purpose for browsing, so all of A's
    browsing goes at the next run; B keeps browsing for recommendations' 365 days, not the
    policy's 730 (personalized_offers, which B never granted); purchases stay under
    accounting_records' legal obligation (5 years) for both."""
    _people(factory, keyring, policy)
    everything = _left(factory)
    dry = retention.run(factory, policy=policy, now=NOW, dry_run=True, keyring=keyring)
    assert _left(factory) == everything  # a dry run changes nothing
    report = retention.run(factory, policy=policy, now=NOW, dry_run=False, keyring=keyring)
    assert _left(factory) == {"C-RET-A-purchase-800", "C-RET-B-purchase-800",
                              "C-RET-B-page_view-100"}  # fmt: skip
    items = {i.what + "|" + i.basis: i.count for i in report.items if i.what.endswith(":subject")}
    assert items == {
        "event:browsing:subject|1 subjects: no purpose applies to them now (TH-RET-01)": 2,
        "event:browsing:subject|1 subjects: recommendations (365 days) (TH-RET-01)": 1,
    }
    assert [i.count for i in dry.items] == [i.count for i in report.items]
    assert "C-RET" not in report.model_dump_json()  # the report holds counts only
    again = retention.run(factory, policy=policy, now=NOW, dry_run=False, keyring=keyring)
    assert again.total == 0


def test_without_the_keyring_only_the_policy_wide_cut_offs_apply(factory, keyring, policy):
    """The per-subject pass needs the subjects' consent facts; without them nothing extra goes."""
    _people(factory, keyring, policy)
    before = _left(factory)
    report = retention.run(factory, policy=policy, now=NOW, dry_run=False)
    assert _left(factory) == before
    assert not [i for i in report.items if i.what.endswith(":subject")]


def test_purge_is_set_based_not_per_event(factory, keyring, policy, engine):
    """TH-RET-01 at scale: one DELETE per group and chunk of subjects, whatever the event count."""
    with session_scope(factory) as s:
        for customer in ("C-SET-1", "C-SET-2", "C-SET-3"):
            make_subject(s, keyring, customer)
            make_consent(s, keyring, policy, "recommendations", customer_id=customer,
                         now=NOW - timedelta(days=90))  # fmt: skip
            _ingest(s, keyring, policy, customer, *[("page_view", d) for d in range(1, 41)])
            make_consent(s, keyring, policy, "recommendations", customer_id=customer,
                         action="withdraw", now=NOW - timedelta(hours=1))  # fmt: skip
    deletes: list[str] = []

    def seen(_conn, _cursor, statement, *_args):
        if statement.lstrip().upper().startswith("DELETE FROM EVENT"):
            deletes.append(statement)

    sa_event.listen(engine, "before_cursor_execute", seen)
    try:
        report = retention.run(factory, policy=policy, now=NOW, dry_run=False, keyring=keyring)
    finally:
        sa_event.remove(engine, "before_cursor_execute", seen)
    [item] = [i for i in report.items if i.what == "event:browsing:subject"]
    assert item.count == 120
    policy_wide = len([i for i in report.items if i.what.startswith("event:")]) - 1
    assert len(deletes) == policy_wide + 1


def _facts(policy, granted):
    consents = {
        pid: {"subject": ConsentFact(record_id=__import__("uuid").uuid4(), action="grant",
                                     notice_version=policy.purposes[pid].notice.version,
                                     recorded_at=NOW - timedelta(days=1))}
        for pid in granted
    }  # fmt: skip
    return SubjectFacts(subject_id=None, consents=consents, is_of_age=True)  # TH-MIN-01


@settings(max_examples=60, deadline=None)
@given(granted=st.sets(st.sampled_from(CONSENT_PURPOSES)))
def test_effective_retention_is_the_longest_purpose_that_applies(policy, granted):
    """TH-RET-01: per category, the longest retention among granted consent purposes and the
    purposes on another basis (contract, legal obligation, LI not objected); 0 when none."""
    categories = {c for p in policy.purposes.values() for c in p.categories}
    kept = retention_subject.effective_retention(
        policy, _facts(policy, granted), categories=categories, now=NOW
    )
    for category in categories:
        applying = [
            p.retention_days for pid, p in retention_subject.keeping_purposes(policy).items()
            if category in p.categories and (pid in granted or not p.basis.is_consent)
            and p.basis.value != "explicit_consent"
        ]  # fmt: skip
        assert kept[category].days == max(applying, default=0), category


def test_an_objection_to_legitimate_interest_shortens_retention(policy):
    """TH-RET-01 with TH-DSR-03: fraud_prevention (LI) no longer keeps device data once objected."""
    facts = SubjectFacts(subject_id=None, objections=frozenset({"legitimate_interest"}))
    kept = retention_subject.effective_retention(policy, facts, categories={"device"}, now=NOW)
    assert kept["device"] == retention_subject.Kept(0, None)
    plain = retention_subject.effective_retention(
        policy, SubjectFacts(subject_id=None), categories={"device"}, now=NOW
    )
    assert plain["device"] == retention_subject.Kept(365, "fraud_prevention")


def test_retention_text_is_thai_first_with_a_buddhist_era_date(policy):
    text = retention_subject.retention_text(policy, retention_subject.Kept(365, "recommendations"),
                                            NOW)  # fmt: skip
    assert "พ.ศ. 2570" in text.th  # 1 December 2027 in Bangkok, B.E. 2570
    assert "1 December 2027" in text.en


def _export_retention(factory, keyring, policy, customer_id):
    import io
    import json
    import zipfile

    from rujai.profiles import service as profiles_service
    from rujai.rights import export

    with session_scope(factory) as s:
        sid = profiles_service.find_id(s, keyring=keyring, customer_id=customer_id)
        data = export.build_export(s, keyring=keyring, policy=policy, subject_id=sid, now=NOW)
    archive = zipfile.ZipFile(io.BytesIO(data))
    document = json.loads(archive.read("export.json"))
    summary = archive.read("summary.html").decode()
    assert "เราเก็บข้อมูลของคุณนานเท่าใด" in summary  # the HTML summary shows it too, Thai first
    assert "csv/retention.csv" in archive.namelist()
    return {r["category"]: r for r in document["retention"]}


def test_access_export_shows_the_effective_period_per_category(factory, keyring, policy):
    """TH-RET-01, TH-DSR-01: the copy says per category how long it is kept, for which purpose,
    and by when data from now is purged; after a withdrawal the period is shorter."""
    _people(factory, keyring, policy)
    kept = _export_retention(factory, keyring, policy, "C-RET-B")
    assert (kept["browsing"]["purpose"], kept["browsing"]["days"]) == ("recommendations", 365)
    assert kept["browsing"]["purge_after"] == "2027-12-01"
    assert "พ.ศ. 2570" in kept["browsing"]["text"]["th"]
    assert (kept["purchase_history"]["purpose"], kept["purchase_history"]["days"]) == (
        "accounting_records", 1825,
    )  # fmt: skip
    withdrawn = _export_retention(factory, keyring, policy, "C-RET-A")
    assert (withdrawn["browsing"]["purpose"], withdrawn["browsing"]["days"]) == (None, 0)
    assert withdrawn["purchase_history"]["days"] == 1825
