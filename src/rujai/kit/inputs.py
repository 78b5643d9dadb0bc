"""What any input value may be: the rules of the one input boundary, free of any schema.

A string holds no NUL (PostgreSQL cannot store it) and no lone surrogate (it cannot be encoded as
UTF-8, so it could be neither sealed nor stored); an integer fits in 64 signed bits; a float is
finite; a document nests at most ``MAX_DEPTH`` levels. ``find_problem`` walks a parsed JSON
document (or any tree of dicts, lists and scalars: a form, a query string, an import row) and
returns the first value that breaks a rule with its path, never the value itself. ``loads`` parses
a JSON body strictly: UTF-8 only, no ``NaN``/``Infinity``, and every failure says why without a
character offset posing as a field.

Used by ``rujai.boundary`` (every API and web route) and by the importers, so that a request, a
form and a file line are held to the same rules.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from typing import Any, NamedTuple

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1
INT32_MAX = 2**31 - 1  # the largest value of an ``Integer`` column on PostgreSQL
MAX_DEPTH = 32

Loc = tuple[str | int, ...]

NUL = "must not contain a NUL character (U+0000)"
SURROGATE = "must not contain a lone surrogate (U+D800 to U+DFFF); send valid Unicode"
OUT_OF_RANGE = f"must be an integer from {INT64_MIN} to {INT64_MAX}"
NOT_FINITE = "must be a finite number"
TOO_DEEP = f"nested deeper than {MAX_DEPTH} levels"


class Problem(NamedTuple):
    """The first bad value of an input: where it is (no value) and what is wrong with it."""

    loc: Loc
    message: str
    kind: str

    @property
    def field(self) -> str:
        """The dotted path, as the API's problem documents name fields (``events.3.type``)."""
        return ".".join(str(part) for part in self.loc) or "body"


class Unreadable(ValueError):
    """A body that is not JSON at all (syntax, encoding, a number too long to convert)."""


def text_problem(value: str) -> str | None:
    """Return why ``value`` cannot be stored as text, or None."""
    if "\x00" in value:
        return NUL
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return SURROGATE
    return None


def scalar_problem(value: object) -> tuple[str, str] | None:
    """Return ``(kind, message)`` for a bad string, integer or float; None for anything else."""
    if isinstance(value, str):
        message = text_problem(value)
        if message is None:
            return None
        return ("string_nul" if message is NUL else "string_surrogate"), message
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return None if INT64_MIN <= value <= INT64_MAX else ("int_range", OUT_OF_RANGE)
    if isinstance(value, float) and not math.isfinite(value):
        return "float_not_finite", NOT_FINITE
    return None


def find_problem(value: Any, *, skip: Iterable[Loc] = ()) -> Problem | None:
    """Return the first value (in document order) that breaks a rule, or None.

    Lists at a path in ``skip`` are not entered: their items are checked one by one by the caller
    (a batch reports a bad event per event instead of refusing the batch).
    """
    skipped = frozenset(skip)
    stack: list[tuple[Loc, Any]] = [((), value)]
    while stack:
        loc, node = stack.pop()
        if len(loc) > MAX_DEPTH:
            return Problem((), TOO_DEEP, "too_deep")
        children = _children(loc, node, skipped)
        if children is None:
            found = scalar_problem(node)
            if found is not None:
                return Problem(loc, found[1], found[0])
            continue
        for key, _ in children:
            bad_key = scalar_problem(key) if isinstance(key, str) else None
            if bad_key is not None:
                return Problem(loc, f"a key {bad_key[1]}", bad_key[0])
        stack.extend(((*loc, key), child) for key, child in reversed(children))
    return None


def _children(loc: Loc, node: Any, skipped: frozenset[Loc]) -> list[tuple[Any, Any]] | None:
    """The ``(key, value)`` pairs of a dict or list (none for a skipped list); None for a leaf."""
    if isinstance(node, dict):
        return list(node.items())
    if isinstance(node, list | tuple):
        return [] if loc in skipped else list(enumerate(node))
    return None


def _reject_constant(name: str) -> None:
    raise Unreadable(f"{name} is not JSON; send a finite number")


def loads(body: bytes) -> Any:
    """Parse a JSON body strictly; raise ``Unreadable`` saying why (never quoting the body)."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as e:
        raise Unreadable(f"not valid UTF-8 (byte {e.start})") from None
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as e:
        problem = f"malformed JSON: {e.msg} (line {e.lineno}, column {e.colno})"
    except RecursionError:
        problem = TOO_DEEP
    except Unreadable:
        raise
    except ValueError:  # an integer of more than 4300 digits (sys.get_int_max_str_digits)
        problem = "a number has too many digits"
    raise Unreadable(problem)  # outside the except: the parser's message quotes the body
