"""Disclosures: personal data leaving rujai for a recipient (PDPA ss.27-29, s.40).

TH-USE-01, TH-XB-01 and TH-PRC-01.

Owns: the per-subject disclosure log (``disclosure``: who received which categories of whose data,
for which purpose, on which lawful basis, in which country under which transfer mechanism, when and
through which flow), and the processor outbox (``processor_notice``: an erasure, withdrawal,
restriction or objection to pass on to each processor that received the subject's data, with its
acknowledgement).

Does not own: whether a disclosure may happen (the door, ``policy.service``, decides it per subject
with ``Action.DISCLOSE``), the recipients and their agreements (declared in the policy file).
"""
