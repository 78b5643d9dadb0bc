"""Audit: the append-only, hash-chained log of operations on personal data and access (TH-SEC-01).

Owns: the ``audit_entry`` and ``audit_head`` tables, appending entries (``service.record`` in
the caller's transaction; in the server, deferred to the writer's batch), listing them, verifying
the chain (``service.verify``, ``rujai audit verify``, ``GET /v1/audit/verify``), and signing its
head into checkpoints kept outside the database (``anchor``, ``signing``, ``anchor_check``; see
README.md).

Does not own: deciding what is allowed (``policy``), API keys (``apikeys``), or personal data.
Entries name subjects only by their internal pseudonymous UUID and ``detail`` refuses keys that look
like personal data, so the log is not erased by subject: erasure (TH-DSR-04) happens in the domains
that hold the data, and the accountability record stays verifiable.
"""
