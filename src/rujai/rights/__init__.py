"""Rights: data subject requests (access, portability, rectification, erasure, restriction,
objection, withdrawal) with identity verification, deadlines and an audited life cycle; the
erasure cascade, suppression, legal holds and retention.

Owns: rights_request, verification_code, outbox_message, suppression, legal_hold, retention_run.
Does not own: the data it exports or erases — each domain's ``export_subject`` / ``erase_subject``
does that; rights only orchestrates them (STYLE.md §3.4). It reads other domains' data only
through their service functions, with a permit for the policy's ``rights_requests`` purpose
(``rights.permits``: ``Action.ANSWER_RIGHTS``, not stopped by a restriction or an objection).
"""
