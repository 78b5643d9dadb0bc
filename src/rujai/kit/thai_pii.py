"""Thai personal identifiers: national ID check digits, detection, masking and normalisation.

Used to keep direct identifiers out of free-text properties (TH-MIN-02: data minimisation, s.22) and
to normalise e-mail addresses and phone numbers before they are blind-indexed, so the same person
always maps to the same index while the plaintext is stored only encrypted (TH-SEC-01, s.37(1)).

Detection is pragmatic, not exhaustive. It finds:

- national ID numbers: 13 digits, plain or grouped ``1-2345-67890-12-1`` / ``1 2345 67890 12 1``
  (one separator used throughout), only when the check digit is valid;
- phone numbers: mobile ``06``/``08``/``09`` + 8 digits, landline ``02``-``07`` + 7 digits (9 digits
  in all, e.g. ``02-123-4567``, ``053-123-456``), with optional single spaces or dashes between
  digits, and the international forms ``+66``/``66`` that drop the leading 0;
- e-mail addresses (ASCII, ``local@domain.tld``).

Thai digits (U+0E50 to U+0E59) count as digits. A number must stand on its own: it may not touch a
Latin letter, a digit or ``_``, may not follow ``X-`` / ``X/`` (``ORD-...``) or a decimal point, and
may not be followed by ``-X`` / ``/X`` or a decimal part. This keeps order ids
(``ORD-20240115-0042``), prices (``1,299.00``) and dates (``2024-01-15``) out. Thai script may touch
a number (``โทร0812345678``): Thai is written without spaces.
"""

from __future__ import annotations

import operator
import re
from typing import Literal, NamedTuple

PiiKind = Literal["national_id", "phone", "email"]

_WEIGHTS = tuple(range(13, 1, -1))
_THAI_DIGITS = str.maketrans({0x0E50 + i: str(i) for i in range(10)})
_D = "[0-9\u0e50-\u0e59]"
_ALNUM = "[0-9\u0e50-\u0e59A-Za-z_]"
# Checked right after a number's first character (so the scan can skip to candidate characters):
# that character must not follow a letter, digit or "_", "X-", "X/" or a decimal point.
_EDGE = rf"(?<!{_ALNUM}.)(?<!{_ALNUM}[-/].)(?<!{_D}\..)"
_AFTER = rf"(?!{_ALNUM}|@)(?![-/]{_ALNUM})(?!\.{_D})"

_GROUPED_ID = rf"(?P<sep>[- ]){_D}{{4}}(?P=sep){_D}{{5}}(?P=sep){_D}{{2}}(?P=sep){_D}"
_NATIONAL_ID_RE = re.compile(rf"{_D}{_EDGE}(?:{_D}{{12}}|{_GROUPED_ID}){_AFTER}")
_SEP_D = rf"[- ]?{_D}"
_PHONE_NSN = rf"(?:[689\u0e56\u0e58\u0e59](?:{_SEP_D}){{8}}|[2-7\u0e52-\u0e57](?:{_SEP_D}){{7}})"
_PHONE_RE = re.compile(
    rf"(?:\+(?<!{_ALNUM}.)66[- ]?|6{_EDGE}6[- ]?|[0\u0e50]{_EDGE}){_PHONE_NSN}{_AFTER}"
)
_LOCAL = "[A-Za-z0-9._%+-]"
_LABEL = "[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
_DOMAIN = rf"{_LABEL}(?:\.{_LABEL})*\.[A-Za-z]{{2,}}"
# The look-behind after the first character makes the scan try word starts only.
_EMAIL_RE = re.compile(rf"{_LOCAL}(?<!{_LOCAL}.){_LOCAL}*@{_DOMAIN}(?![A-Za-z0-9-])")
_EMAIL_FULL_RE = re.compile(rf"{_LOCAL}+@{_DOMAIN}")
_NSN_FULL_RE = re.compile(r"[689][0-9]{8}|[2-7][0-9]{7}")
_PHONE_JUNK_RE = re.compile(r"[\s().-]")


class PiiMatch(NamedTuple):
    """One identifier found in a text: its kind and the half-open span ``text[start:end]``."""

    kind: PiiKind
    start: int
    end: int


def national_id_check_digit(first12: str) -> int:
    """Return the check digit for the first 12 (ASCII) digits of a Thai national ID.

    ``s = sum(d[i] * (13 - i) for i in 0..11)``; ``check = (11 - s % 11) % 10``. The ``% 10`` folds
    ``s % 11 == 0`` (11) and ``s % 11 == 10`` (1) onto the same digit 1.
    """
    if len(first12) != 12 or not (first12.isascii() and first12.isdigit()):
        raise ValueError("expected 12 ASCII digits")
    # Byte values are digit + 48 and the weights sum to 90: subtract 48 * 90 once (3x faster).
    total: int = sum(map(operator.mul, first12.encode("ascii"), _WEIGHTS)) - 48 * 90
    return (11 - total % 11) % 10


def is_valid_thai_national_id(digits: str) -> bool:
    """Return whether ``digits`` (plain, dashed or spaced) is a national ID with a valid check."""
    plain = digits.replace("-", "").replace(" ", "")
    if not plain.isascii():
        plain = plain.translate(_THAI_DIGITS)
    if len(plain) != 13 or not (plain.isascii() and plain.isdigit()):
        return False
    return national_id_check_digit(plain[:12]) == ord(plain[12]) - 48


def _candidates(text: str) -> list[PiiMatch]:
    found: list[PiiMatch] = []
    if "@" in text:
        found += [PiiMatch("email", m.start(), m.end()) for m in _EMAIL_RE.finditer(text)]
    found += [
        PiiMatch("national_id", m.start(), m.end())
        for m in _NATIONAL_ID_RE.finditer(text)
        if is_valid_thai_national_id(m.group())
    ]
    found += [PiiMatch("phone", m.start(), m.end()) for m in _PHONE_RE.finditer(text)]
    return found


def find_pii(text: str) -> list[PiiMatch]:
    """Return the national IDs, phone numbers and e-mail addresses in ``text``, in text order.

    Overlaps are resolved by priority e-mail > national ID > phone (a phone number can be the local
    part of an address). TH-MIN-02.
    """
    kept: list[PiiMatch] = []
    for match in _candidates(text):
        if all(match.end <= k.start or match.start >= k.end for k in kept):
            kept.append(match)
    kept.sort(key=lambda m: m.start)
    return kept


def mask_pii(text: str) -> tuple[str, list[PiiMatch]]:
    """Replace every identifier in ``text`` by ``[national_id]``, ``[phone]`` or ``[email]``.

    Returns the masked text and the matches (spans refer to the original text). TH-MIN-02.
    """
    matches = find_pii(text)
    if not matches:
        return text, matches
    parts: list[str] = []
    pos = 0
    for match in matches:
        parts.append(text[pos : match.start])
        parts.append(f"[{match.kind}]")
        pos = match.end
    parts.append(text[pos:])
    return "".join(parts), matches


def normalise_phone(raw: str) -> str:
    """Return a Thai phone number in E.164 (``+66812345678``) or raise ``ValueError``.

    Accepts ``0812345678``, ``081-234-5678``, ``+66 81 234 5678``, ``+66 (0)81 234 5678``,
    ``66812345678`` and ``0066812345678``. Used before blind indexing (TH-SEC-01).
    """
    plain = _PHONE_JUNK_RE.sub("", raw.translate(_THAI_DIGITS))
    for prefix in ("+66", "0066", "0", "66"):
        if plain.startswith(prefix):
            nsn = plain[len(prefix) :]
            break
    else:
        raise ValueError("not a Thai phone number: unknown prefix")
    if prefix != "0" and nsn.startswith("0"):
        nsn = nsn[1:]  # the "(0)" some write after the country code
    if not _NSN_FULL_RE.fullmatch(nsn):
        raise ValueError("not a Thai phone number: wrong digits or length")
    return f"+66{nsn}"


def normalise_email(raw: str) -> str:
    """Return ``raw`` stripped and lower-cased (local part too), or raise ``ValueError``.

    RFC 5321 lets a server treat the local part case-sensitively, but no mainstream provider does,
    and people type their address in any case. For the blind index (TH-SEC-01) a split identity is
    worse than the theoretical merge of ``A@x`` and ``a@x``, so the whole address is lower-cased.
    Nothing else is rewritten (no Gmail dot or ``+tag`` folding: that is provider-specific).
    """
    value = raw.strip().lower()
    if not _EMAIL_FULL_RE.fullmatch(value):
        raise ValueError("not an e-mail address")
    return value
