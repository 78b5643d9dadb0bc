"""A small policy built in code, so the rule tests do not depend on the example file."""

from __future__ import annotations

from rujai.policy.schemas import Policy

TEXT = {"th": "ข้อความ", "en": "text"}


def _purpose(basis: str, categories: list[str], **extra: object) -> dict[str, object]:
    return {
        "title": TEXT,
        "description": TEXT,
        "basis": basis,
        "categories": categories,
        "retention_days": 365,
        **extra,
    }


def make_rules_policy() -> Policy:
    """Purposes on every basis, one sensitive category, notice versions with a material change."""
    return Policy.model_validate(
        {
            "version": "test-1",
            "controller": {
                "name": TEXT,
                "address": TEXT,
                "contact": {"email": "privacy@example.com"},
                "dpo": {"email": "dpo@example.com"},
            },
            "jurisdictions": ["TH"],
            "categories": {
                "browsing": {"title": TEXT},
                "purchase_history": {"title": TEXT},
                "contact": {"title": TEXT},
                "health": {"title": TEXT, "sensitive": True},
            },
            "purposes": {
                "recommendations": _purpose(
                    "consent", ["browsing", "purchase_history"], profiling=True
                ),
                "offers": _purpose(
                    "consent",
                    ["purchase_history", "contact"],
                    direct_marketing=True,
                    profiling=True,
                    notice={"version": 3, "material_version": 2},
                ),
                "analytics": _purpose("consent", ["browsing"], consent_valid_days=365),
                "health_offers": _purpose("explicit_consent", ["health", "purchase_history"]),
                "fulfilment": _purpose("contract", ["contact", "purchase_history"], required=True),
                "requests": _purpose(
                    "legal_obligation", ["contact", "purchase_history", "browsing"], required=True
                ),
                "fraud": _purpose(
                    "legitimate_interest", ["browsing", "contact"], li_balancing="needed"
                ),
            },
        }
    )
