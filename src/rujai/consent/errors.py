"""Errors of the consent domain. Messages never carry a customer id or other personal data."""

from __future__ import annotations

from rujai.errors import Conflict, Invalid


class PurposeUnknown(Invalid):
    """The purpose is not in the policy (TH-LB-01: no processing without a registered purpose)."""


class ConsentNotApplicable(Invalid):
    """The purpose rests on a lawful basis other than consent (TH-LB-01)."""


class ExplicitConsentRequired(Invalid):
    """A grant for an ``explicit_consent`` purpose was not explicit (TH-SEN-01)."""


class NoticeNotCurrent(Conflict):
    """A grant was made against a notice version that is not the current one (TH-CON-04)."""


class AgeRequired(Invalid):
    """A profiling or marketing grant from a subject whose age is unknown (TH-MIN-01, EU-03).

    The problem names the field to ask for (``field``), every field accepted (``accepts``) and the
    age bands (``age_bands``): what the privacy center and the website banner need to ask.
    """

    code = "age_required"
    title = "The subject's age is needed before this consent"
