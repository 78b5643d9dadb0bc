"""Import the modules that listen to ``kit.signals`` so that every process registers them.

``main.create_app`` and the CLI import this module: a withdrawal recorded from either one unlearns
the subject from the recommender, clears derived insights and, on erasure, bandit statistics; a
profile merge moves the subject's consents and events (``profiles.merge`` refuses to run without);
an erasure, withdrawal, restriction or objection queues a notice to each processor that received
the subject's data (``disclosures.outbox``, TH-PRC-01); an erasure unlinks the subject's breach
notices (``incidents.erasure``).
"""

from rujai.consent import merge as consent_merge
from rujai.disclosures import outbox as disclosures_outbox
from rujai.events import service as events_service
from rujai.incidents import erasure as incidents_erasure
from rujai.personalize import insights, offers, recommend

__all__ = [
    "consent_merge",
    "disclosures_outbox",
    "events_service",
    "incidents_erasure",
    "insights",
    "offers",
    "recommend",
]
