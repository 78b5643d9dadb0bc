"""The 72-hour clock and the risk rule: pure functions, no I/O, no clock of their own.

TH-BRE-01 (PDPA s.37(4), PDPC breach notification 2022) and EU-04 (GDPR Art. 33) both give the
controller 72 hours from becoming aware of a breach to notify the regulator. A processor tells
its controller "without delay" (PDPA s.40(2), GDPR Art. 33(2), TH-PRC-01); rujai holds it to the
same 72 hours at most and says so. Thai readers see the deadline in Bangkok time with the Buddhist
Era; English readers see ISO 8601.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from rujai.kit.time import as_utc, buddhist_year

NOTICE_WINDOW = timedelta(hours=72)  # TH-BRE-01, EU-04
REMIND_WITHIN = timedelta(hours=24)  # the console's banner: due within a day, or overdue
BANGKOK = ZoneInfo("Asia/Bangkok")

Level = Literal["low", "medium", "high"]
Risk = Literal["none", "risk", "high"]
LEVELS: tuple[Level, ...] = ("low", "medium", "high")

_THAI_MONTHS = (
    "มกราคม", "กุมภาพันธ์", "มีนาคม", "เมษายน", "พฤษภาคม", "มิถุนายน",
    "กรกฎาคม", "สิงหาคม", "กันยายน", "ตุลาคม", "พฤศจิกายน", "ธันวาคม",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Clock:
    """Where an incident stands against its deadline at ``now``."""

    deadline: datetime
    hours_left: float
    is_overdue: bool
    is_due_soon: bool
    is_stopped: bool  # the notice went out (or no notice is due): the clock no longer runs


def deadline_of(aware_at: datetime) -> datetime:
    """Return the notice deadline: 72 hours after the controller became aware (TH-BRE-01)."""
    return as_utc(aware_at) + NOTICE_WINDOW


def clock(aware_at: datetime, now: datetime, *, stopped: bool) -> Clock:
    """Return the deadline, the hours left (negative when overdue) and the flags at ``now``."""
    deadline = deadline_of(aware_at)
    left = (deadline - as_utc(now)).total_seconds() / 3600
    overdue = left < 0 and not stopped
    return Clock(
        deadline=deadline,
        hours_left=round(left, 1),
        is_overdue=overdue,
        is_due_soon=not stopped and not overdue and left <= REMIND_WITHIN.total_seconds() / 3600,
        is_stopped=stopped,
    )


def thai_datetime(moment: datetime) -> str:
    """Format a moment for Thai readers in Bangkok time, Buddhist Era (พ.ศ.), with "น."."""
    local = as_utc(moment).astimezone(BANGKOK)
    month = _THAI_MONTHS[local.month - 1]
    return f"{local.day} {month} พ.ศ. {buddhist_year(local.date())} {local:%H:%M} น."


def english_datetime(moment: datetime) -> str:
    """Format a moment for English readers: ISO 8601 in Bangkok time with its offset."""
    return as_utc(moment).astimezone(BANGKOK).isoformat(timespec="minutes")


def risk_of(likelihood: Level, severity: Level, *, sensitive: bool, minors: bool) -> Risk:
    """Return the risk to the subjects' rights and freedoms (PDPC breach notification 2022).

    Likelihood and severity of harm are scored 0-2 and added; sensitive data (PDPA s.26) or
    minors raise the score by one. 0-1: no risk (no notice due, the assessment is still kept);
    2-3: a risk (notify the regulator); 4 and more: a high risk (notify the subjects too).
    """
    score = LEVELS.index(likelihood) + LEVELS.index(severity) + int(sensitive or minors)
    if score >= 4:
        return "high"
    return "risk" if score >= 2 else "none"
