"""Incidents: the breach register (PDPA s.37(4), PDPC breach notification 2022; TH-BRE-01, EU-04).

Owns: personal-data breaches from the moment the controller is aware of them (``incident``), the
risk assessments with their decision and reasoning, kept also when no notice is due
(``incident_assessment``), and the notices sent, to the regulator (or, in processor mode, the
controller: s.40(2), TH-PRC-01) and to each subject (``incident_notice``). Modules by concept:
``service`` (declare, read with the clock, assess, close), ``clock`` (the 72-hour deadline, the
risk rule; pure), ``blast`` (the blast radius measured from the data, through the door),
``notices`` (drafts in Thai and English, sending), ``export`` (the register for the regulator),
``erasure`` (an erased subject's notices stay, unlinked), ``router`` (``/v1/incidents``).

Does not own: the data a breach touched (events, profiles: read through their ``breach`` modules
behind a ``PermitSet`` for the policy's ``breach_response`` purpose), the channels (the rights
notifier's outbox), who may see or change the register (``staff.PAGES`` / ``staff.WRITERS``
for the console, API-key scopes ``dpo`` / ``admin``; TH-DPO-01).

Free text a DPO types (title, description, measures, reasoning) may name a person: it is marked
personal and never enters an audit entry, a log or an exception message.
"""
