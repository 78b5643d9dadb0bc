"""Policy rules about recipients: transfers abroad and processor agreements (TH-USE-01, TH-XB-01,
TH-PRC-01). Part of ``validate.RULES``; split out to keep modules small."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

from rujai.policy.rule_problem import FieldPath, RuleProblem
from rujai.policy.schemas import (
    MECHANISMS_WITH_EXPIRY,
    Policy,
    Recipient,
    TransferMechanism,
)


def _recipients(policy: Policy) -> Iterator[RuleProblem]:
    home = policy.controller.country
    for rid, recipient in policy.recipients.items():
        at = ("recipients", rid)
        abroad = recipient.country != home
        if abroad and recipient.mechanism is TransferMechanism.NONE:
            yield RuleProblem(
                (*at, "mechanism"),
                "transfer-without-mechanism",
                f"recipient is in {recipient.country}, outside {home}: set mechanism to adequacy, "
                "consent, standard_clauses or binding_corporate_rules",
                "TH-XB-01",
            )
        if abroad and recipient.mechanism in MECHANISMS_WITH_EXPIRY:
            yield from _instrument_on_file(at, recipient)
        for i, pid in enumerate(recipient.purposes):
            if pid not in policy.purposes:
                yield RuleProblem(
                    (*at, "purposes", i),
                    "unknown-purpose",
                    f"purpose {pid!r} is not declared under purposes",
                    "TH-USE-01",
                )


def _instrument_on_file(at: FieldPath, recipient: Recipient) -> Iterator[RuleProblem]:
    mechanism = recipient.mechanism.value
    if not (recipient.mechanism_reference or "").strip():
        yield RuleProblem(
            (*at, "mechanism_reference"),
            "mechanism-reference-missing",
            f"{mechanism} must be on file: set mechanism_reference to the signed instrument",
            "TH-XB-01",
        )
    if recipient.mechanism_expires is None:
        yield RuleProblem(
            (*at, "mechanism_expires"),
            "mechanism-expiry-missing",
            f"{mechanism} lapse: set mechanism_expires to the last day they are in force",
            "TH-XB-01",
        )


def _agreements(policy: Policy) -> Iterator[RuleProblem]:
    for rid, recipient in policy.recipients.items():
        at = ("recipients", rid)
        agreement = recipient.agreement
        if not recipient.processor:
            continue
        if agreement is None:
            yield RuleProblem(
                (*at, "agreement"),
                "processor-without-agreement",
                "a processor needs a data processing agreement: add agreement with its "
                "reference, signed date, expiry and the purposes it permits",
                "TH-PRC-01",
            )
            continue
        if agreement.signed is None:
            yield RuleProblem(
                (*at, "agreement", "signed"),
                "agreement-not-signed",
                "set agreement.signed to the date the agreement was signed",
                "TH-PRC-01",
            )
        permitted = set(agreement.purposes)
        for pid in recipients_purposes(policy, rid):
            if pid not in permitted:
                yield RuleProblem(
                    (*at, "agreement", "purposes"),
                    "purpose-not-in-agreement",
                    f"the recipient gets data for {pid!r}, which its agreement does not permit: "
                    "add it to agreement.purposes or stop sending data for it",
                    "TH-PRC-01",
                )


def recipients_purposes(policy: Policy, recipient_id: str) -> list[str]:
    """Return the purposes ``recipient_id`` gets data for, declared on either side."""
    recipient = policy.recipients[recipient_id]
    return [
        pid
        for pid, purpose in policy.purposes.items()
        if recipient_id in purpose.recipients or pid in recipient.purposes
    ]


def _expired(policy: Policy, today: date) -> Iterator[RuleProblem]:
    home = policy.controller.country
    for rid, recipient in policy.recipients.items():
        at = ("recipients", rid)
        expires = recipient.mechanism_expires
        if recipient.country != home and expires is not None and expires < today:
            yield RuleProblem(
                (*at, "mechanism_expires"),
                "transfer-mechanism-expired",
                f"the {recipient.mechanism.value} expired on {expires.isoformat()}: renew them "
                "and update mechanism_expires, or stop sending data abroad to this recipient",
                "TH-XB-01",
            )
        agreement = recipient.agreement
        if agreement is not None and agreement.expires is not None and agreement.expires < today:
            yield RuleProblem(
                (*at, "agreement", "expires"),
                "processor-agreement-expired",
                f"the processing agreement expired on {agreement.expires.isoformat()}: renew it "
                "and update agreement.expires, or stop sending data to this processor",
                "TH-PRC-01",
            )


def _purpose_recipients(policy: Policy) -> Iterator[RuleProblem]:
    for pid, purpose in policy.purposes.items():
        for i, rid in enumerate(purpose.recipients):
            recipient = policy.recipients.get(rid)
            path = ("purposes", pid, "recipients", i)
            if recipient is None:
                yield RuleProblem(
                    path,
                    "unknown-recipient",
                    f"recipient {rid!r} is not declared under recipients",
                    "TH-USE-01",
                )
            elif recipient.mechanism is TransferMechanism.CONSENT and not purpose.basis.is_consent:
                yield RuleProblem(
                    path,
                    "transfer-consent-needs-consent-basis",
                    f"recipient {rid!r} relies on consent for the transfer abroad, so this purpose "
                    "must be consent-based; or give the recipient another mechanism",
                    "TH-XB-01",
                )
