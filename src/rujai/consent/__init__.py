"""Consent: the append-only ledger of grants and withdrawals, its projection, and receipts.

Owns ``consent_record`` (one row per grant or withdrawal, never updated: TH-CON-04) and
``consent_state`` (the latest record per subject, purpose and role), the signed consent receipts,
and the consent status shown to subjects. Does not own the decision (``policy.rules.evaluate``
decides, including the minors' rules of TH-MIN-01), the notice texts (``policy.notice``) or the
subject row (``profiles``).
"""
