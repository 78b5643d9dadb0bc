"""Time helpers: everything is UTC and timezone-aware."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

BANGKOK = timezone(timedelta(hours=7), "ICT")  # Thailand keeps no daylight saving


def utcnow() -> datetime:
    """Return the current time in UTC."""
    return datetime.now(UTC)


def as_utc(value: datetime) -> datetime:
    """Return ``value`` in UTC; naive values (as SQLite returns them) are taken to be UTC."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def age_on(birth_date: date, day: date) -> int:
    """Return the age in whole years on ``day`` of someone born on ``birth_date``."""
    before_birthday = (day.month, day.day) < (birth_date.month, birth_date.day)
    return day.year - birth_date.year - int(before_birthday)


def buddhist_year(value: date) -> int:
    """Return the Buddhist Era year (พ.ศ. = C.E. + 543)."""
    return value.year + 543


def bangkok_date(value: datetime) -> date:
    """Return the calendar day in Bangkok at ``value`` (dates in a Thai policy are Thai days)."""
    return as_utc(value).astimezone(BANGKOK).date()


def bangkok_today() -> date:
    """Return today's date in Bangkok."""
    return bangkok_date(utcnow())
