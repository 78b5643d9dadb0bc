"""Profiles: the subject (a customer) and the facts about them that decisions need.

Owns the ``subject`` table: the sealed customer id and its blind index, the per-subject data key,
the sealed birth date or age band (TH-MIN-01), restriction (TH-DSR-05) and objections (TH-DSR-03).
Does not own consent (``consent``), identities, traits or events (later issues), nor the decision
itself (``policy.rules``).
"""
