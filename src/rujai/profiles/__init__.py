"""Profiles: the subject (a customer) and the facts about them that decisions need.

Owns the ``subject`` table: the sealed customer id and its blind index, the per-subject data key,
the sealed birth date or age band (TH-MIN-01), restriction (TH-DSR-05) and objections (TH-DSR-03);
and a subject's identities, traits, trait revisions and merges. Other domains reach them only
through its services (``service``, ``identities``, ``traits``, ``merge``, ``contacts`` for a
verified contact to write to, ``verified`` / ``verified_import`` for identities the brand verified
itself, with their evidence (TH-SEC-01), ``erasure`` for the erasure cascade's profile steps);
whatever returns a value in the clear takes a ``Permit``. Does not own consent (``consent``), events
(``events``), nor the decision itself (``policy.rules``).
"""
