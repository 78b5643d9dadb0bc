"""Consent: the append-only ledger of grants and withdrawals, its projection, and receipts.

Owns ``consent_record`` (one row per grant or withdrawal, never updated: TH-CON-04) and
``consent_state`` (the latest record per subject, purpose and role), the signed consent receipts,
the consent status shown to subjects, and the state at any past time with the records it rests on
(``at``, TH-CON-04). Does not own the decision (``policy.rules.evaluate``
decides, including the minors' rules of TH-MIN-01), the notice texts (``policy.notice``) or the
subject row (``profiles``).
"""
