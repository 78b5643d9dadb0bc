"""Console pages for marketers: offers with message variants per segment.

The offer form is read into the offers API's own schema (``OfferCreate``, via
``offers.parse_offers`` so that a 422 names the field) and saved through
``rujai.personalize.offers``, which refuses rules that target sensitive data (TH-SEN-01) or data
the purpose does not declare (TH-PUR-01). Decision previews are ``console_preview``.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import Depends, Path, Request
from fastapi.responses import HTMLResponse, Response
from starlette.datastructures import FormData

from rujai.db import SessionDep, WriteSessionDep
from rujai.deps import PolicyDep
from rujai.errors import Invalid
from rujai.kit.time import utcnow
from rujai.personalize import offers as offers_service, offers_rules
from rujai.personalize.rfm import SEGMENT_LABELS, TIER_LABELS
from rujai.personalize.schemas import OfferRead, OfferUpdate
from rujai.policy.schemas import Policy
from rujai.web.i18n import Lang, resolve_lang
from rujai.web.routes.console_auth import StaffDep, console_router, go
from rujai.web.routes.console_view import local_datetime, local_input, show, text

router = console_router()

KINDS = ("coupon", "discount", "message")
AGE_BANDS = ("under_20", "20_29", "30_39", "40_49", "50_59", "60_plus")
NUMBER_RULES = (
    "max_recency_days",
    "max_last_visit_days",
    "min_total_spend",
    "min_monetary",
    "min_orders",
    "min_frequency",
    "min_churn_risk",
    "max_churn_risk",
    "min_expected_purchases_90d",
)
LIST_RULES = ("segments", "tiers", "age_bands")
OfferIdPath = Annotated[str, Path(max_length=63, pattern=r"^[a-z0-9][a-z0-9_-]*$")]


async def form_data(request: Request) -> FormData:
    """Return the parsed form (Starlette caches it, so the CSRF check and the page share it)."""
    return await request.form()


FormDep = Annotated[FormData, Depends(form_data)]


def audiences(lang: Lang) -> list[tuple[str, str, str]]:
    """Return (group, code, label) for every audience a variant can target, default first."""
    found = [("default", offers_rules.DEFAULT_AUDIENCE, "default")]
    found += [("segment", code, getattr(lbl, lang)) for code, lbl in SEGMENT_LABELS.items()]
    found += [("tier", code, getattr(lbl, lang)) for code, lbl in TIER_LABELS.items()]
    found += [("age_band", code, code.replace("_", "-")) for code in AGE_BANDS]
    return found


def offer_fields(form: FormData) -> dict[str, Any]:
    """Read the offer form into the shape of ``OfferCreate`` (without the id)."""
    return {
        "kind": text(form, "kind"),
        "title": {"th": text(form, "title.th"), "en": text(form, "title.en")},
        "purpose": text(form, "purpose") or "personalized_offers",
        "is_generic": "is_generic" in form,
        "is_active": "is_active" in form,
        "eligibility": _eligibility(form),
        "variants": _variants(form),
        "valid_from": local_datetime(form, "valid_from"),
        "valid_until": local_datetime(form, "valid_until"),
        "budget_cap": text(form, "budget_cap") or None,
    }


def _eligibility(form: FormData) -> dict[str, Any]:
    rules: dict[str, Any] = {**_list_rules(form), **_number_rules(form)}
    categories = [c.strip() for c in text(form, "eligibility.categories_any").split(",")]
    if any(categories):
        rules["categories_any"] = [c for c in categories if c]
    if traits := text(form, "eligibility.traits_any"):
        rules["traits_any"] = _traits_json(traits)
    return rules


def _list_rules(form: FormData) -> dict[str, list[str]]:
    """The rules with several values (checkboxes) that have at least one chosen."""
    rules = {}
    for name in LIST_RULES:
        chosen = [v for v in form.getlist(f"eligibility.{name}") if isinstance(v, str) and v]
        if chosen:
            rules[name] = chosen
    return rules


def _number_rules(form: FormData) -> dict[str, str]:
    """The numeric rules that were filled in, as typed (the schema parses them)."""
    filled = ((name, text(form, f"eligibility.{name}")) for name in NUMBER_RULES)
    return {name: value for name, value in filled if value}


def _traits_json(traits: str) -> Any:
    try:
        return json.loads(traits)
    except ValueError as e:
        raise Invalid("traits: not valid JSON", field="eligibility.traits_any") from e


def _variants(form: FormData) -> dict[str, dict[str, str]]:
    variants = {}
    for _, code, _ in audiences("en"):
        th, en = text(form, f"variant.{code}.th"), text(form, f"variant.{code}.en")
        if th or en:
            variants[code] = {"th": th, "en": en}
    return variants


def form_context(policy: Policy, lang: Lang, offer: OfferRead | None) -> dict[str, Any]:
    """Return what the offer form shows: choices, and the offer's current values if editing."""
    rules = offer.eligibility if offer else {}
    return {
        "offer": offer,
        "kinds": KINDS,
        "purposes": [(pid, p.title.get(lang)) for pid, p in policy.purposes.items()],
        "audiences": audiences(lang),
        "more_open": _targets_more(offer),
        "segments": [(c, getattr(lbl, lang)) for c, lbl in SEGMENT_LABELS.items()],
        "tiers": [(c, getattr(lbl, lang)) for c, lbl in TIER_LABELS.items()],
        "age_bands": AGE_BANDS,
        "number_rules": NUMBER_RULES,
        "rules": rules,
        **_rule_texts(rules),
        "valid_from": local_input(offer.valid_from if offer else None),
        "valid_until": local_input(offer.valid_until if offer else None),
    }


def _targets_more(offer: OfferRead | None) -> bool:
    """Whether the offer has a variant for a tier or age band (the form opens that section)."""
    variants = offer.variants if offer else {}
    return any(k in TIER_LABELS or k in AGE_BANDS for k in variants)


def _rule_texts(rules: dict[str, Any]) -> dict[str, str]:
    """The free-text rules as the form's inputs show them."""
    traits = rules.get("traits_any")
    return {
        "categories_any": ", ".join(rules.get("categories_any") or []),
        "traits_any": json.dumps(traits, ensure_ascii=False) if traits else "",
    }


@router.get("/offers", response_class=HTMLResponse)
def list_offers(request: Request, session: SessionDep, staff: StaffDep) -> HTMLResponse:
    """List every offer with its variants."""
    offers = offers_service.list_offers(session)
    return show(request, "offers.html", staff=staff, page="offers", context={"offers": offers})


@router.get("/offers/new", response_class=HTMLResponse)
def new_offer(request: Request, policy: PolicyDep, staff: StaffDep) -> HTMLResponse:
    """Show an empty offer form."""
    context = form_context(policy, resolve_lang(request), None)
    return show(request, "offer_form.html", staff=staff, page="offers", context=context)


@router.post("/offers/new")
def create_offer(
    request: Request, session: WriteSessionDep, policy: PolicyDep, staff: StaffDep, form: FormDep
) -> Response:
    """Create an offer from the form (validated as ``OfferCreate``, TH-SEN-01, TH-PUR-01)."""
    offer = offers_service.parse_offers({"id": text(form, "id"), **offer_fields(form)})[0]
    offers_service.create(session, policy=policy, offer=offer, now=utcnow(), actor=staff.actor)
    return go(request, f"/console/offers/{offer.id}?saved=1")


@router.get("/offers/{offer_id}", response_class=HTMLResponse)
def edit_offer(
    request: Request, session: SessionDep, policy: PolicyDep, staff: StaffDep, offer_id: OfferIdPath
) -> HTMLResponse:
    """Show an offer's form filled in."""
    offer = offers_service.get(session, offer_id=offer_id)
    context = form_context(policy, resolve_lang(request), offer)
    context["saved"] = request.query_params.get("saved") == "1"
    return show(request, "offer_form.html", staff=staff, page="offers", context=context)


@router.post("/offers/{offer_id}")
def update_offer(
    request: Request,
    session: WriteSessionDep,
    policy: PolicyDep,
    staff: StaffDep,
    form: FormDep,
    offer_id: OfferIdPath,
) -> Response:
    """Replace an offer's fields with the form's (validated as a whole, then ``OfferUpdate``)."""
    whole = offers_service.parse_offers({"id": offer_id, **offer_fields(form)})[0]
    change = OfferUpdate.model_validate(whole.model_dump(exclude={"id"}))
    offers_service.update(
        session, policy=policy, offer_id=offer_id, change=change, now=utcnow(), actor=staff.actor
    )
    return go(request, f"/console/offers/{offer_id}?saved=1")
