"""Thai first, English on request (TH-CON-05): the page language, a message catalogue, dates.

The language comes from ``?lang=`` (remembered in the ``rujai_lang`` cookie), else that cookie,
else Thai. Thai dates use the Buddhist Era (พ.ศ. = ค.ศ. + 543) and Thai month names; times are
shown in Bangkok time (UTC+7, no daylight saving).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from typing import Literal

from fastapi import Request

from rujai.kit.time import as_utc, buddhist_year
from rujai.web.messages import MESSAGES

Lang = Literal["th", "en"]
LANGS: tuple[Lang, ...] = ("th", "en")
DEFAULT_LANG: Lang = "th"
LANG_COOKIE = "rujai_lang"
BANGKOK = timezone(timedelta(hours=7), "ICT")

THAI_MONTHS = (
    "มกราคม",
    "กุมภาพันธ์",
    "มีนาคม",
    "เมษายน",
    "พฤษภาคม",
    "มิถุนายน",
    "กรกฎาคม",
    "สิงหาคม",
    "กันยายน",
    "ตุลาคม",
    "พฤศจิกายน",
    "ธันวาคม",
)
ENGLISH_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


def as_lang(value: str | None) -> Lang | None:
    """Return ``value`` if it names a supported language, else None."""
    if value == "th":
        return "th"
    if value == "en":
        return "en"
    return None


def resolve_lang(request: Request) -> Lang:
    """Return the page language: ``?lang=``, else the remembered cookie, else Thai."""
    return (
        as_lang(request.query_params.get("lang"))
        or as_lang(request.cookies.get(LANG_COOKIE))
        or DEFAULT_LANG
    )


def format_date(value: date | datetime, lang: str) -> str:
    """Format a date: ``29 พฤศจิกายน 2569`` (B.E.) in Thai, ``29 November 2026`` in English."""
    day = as_utc(value).astimezone(BANGKOK).date() if isinstance(value, datetime) else value
    if lang == "th":
        return f"{day.day} {THAI_MONTHS[day.month - 1]} {buddhist_year(day)}"
    return f"{day.day} {ENGLISH_MONTHS[day.month - 1]} {day.year}"


def format_datetime(value: datetime, lang: str) -> str:
    """Format a moment in Bangkok time: the date as ``format_date`` plus ``HH:MM``."""
    local = as_utc(value).astimezone(BANGKOK)
    suffix = " น." if lang == "th" else ""
    return f"{format_date(local.date(), lang)} {local:%H:%M}{suffix}"


_CATALOGUE: dict[str, dict[str, str]] = dict(MESSAGES)


def register_messages(messages: dict[str, dict[str, str]]) -> None:
    """Add a module's ``{key: {"th": ..., "en": ...}}`` texts to the catalogue (the console)."""
    _CATALOGUE.update(messages)


def translate(key: str, lang: str, **values: object) -> str:
    """Return the catalogue text for ``key`` in ``lang`` (falling back to English, then the key)."""
    entry = _CATALOGUE.get(key)
    if entry is None:
        return key
    text = entry.get(lang) or entry.get("en") or key
    return text.format(**values) if values else text
