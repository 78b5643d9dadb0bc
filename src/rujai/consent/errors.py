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
