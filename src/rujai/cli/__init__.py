"""The ``rujai`` command line: one Typer sub-app per domain."""

from __future__ import annotations

import typer

import rujai.listeners  # noqa: F401 - registers unlearning on withdrawal/erasure
from rujai.cli import (
    audit,
    backup,
    consent,
    db,
    disclosures,
    imports,
    incidents,
    insights,
    keys,
    offers,
    policy,
    processors,
    profiles,
    recs,
    requests,
    retention,
    rights,
    server,
    staff,
)

app = typer.Typer(no_args_is_help=True, help="rujai (รู้ใจ): personalization under PDPA and GDPR.")
app.add_typer(db.app, name="db", help="Database migrations.")
app.add_typer(policy.app, name="policy", help="Validate and inspect the privacy policy.")
app.add_typer(consent.app, name="consent", help="Consent ledger and receipts.")
app.add_typer(keys.app, name="keys", help="API keys and the master key's rotation.")
app.add_typer(audit.app, name="audit", help="The hash-chained audit log.")
app.add_typer(offers.app, name="offers", help="Offers, variants and the bandit.")
app.add_typer(insights.app, name="insights", help="Derived values: RFM, tiers, churn, affinity.")
app.add_typer(recs.app, name="recs", help="Train and inspect the recommender.")
app.add_typer(imports.app, name="import", help="Import events from files (csv, jsonl, CDNOW).")
app.add_typer(requests.app, name="requests", help="Data subject requests.")
app.add_typer(incidents.app, name="incidents", help="The breach register (TH-BRE-01).")
app.add_typer(retention.app, name="retention", help="Retention purges and reports (TH-RET-01).")
app.add_typer(rights.app, name="rights", help="Subject copies, import, erasure, proof of erasure.")
app.add_typer(staff.app, name="staff", help="Console staff accounts.")
app.add_typer(processors.app, name="processors", help="Processor outbox: notices and acks.")
app.add_typer(
    disclosures.app, name="disclosures", help="Data sent to recipients: exports, the log, s.39."
)
app.add_typer(profiles.app, name="profiles", help="Profile merges and crypto-shredding.")
app.command("ropa")(policy.ropa)
app.command("serve")(server.serve)
app.command("backup")(backup.backup)
app.command("restore")(backup.restore)
app.command("demo")(server.demo)
