"""The rules of the input boundary (rujai.kit.inputs), by example and by property."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from hypothesis import given, settings, strategies as st

from rujai.kit import inputs


@pytest.mark.parametrize(
    ("value", "loc", "kind"),
    [
        ({"a": [1, {"b": "x\x00"}]}, ("a", 1, "b"), "string_nul"),
        ({"a\ud800": 1}, (), "string_surrogate"),
        ({"n": 2**63}, ("n",), "int_range"),
        ({"n": -(2**63) - 1}, ("n",), "int_range"),
        ({"f": math.inf}, ("f",), "float_not_finite"),
        ({"f": math.nan}, ("f",), "float_not_finite"),
        ([[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]], (), "too_deep"),
    ],
)
def test_the_first_bad_value_is_found_with_its_path(value, loc, kind):
    problem = inputs.find_problem(value)
    assert problem is not None
    assert (problem.loc, problem.kind) == (loc, kind)


def test_the_first_problem_is_the_first_in_document_order():
    problem = inputs.find_problem({"a": "ok", "b": ["\x00", "\ud800"], "c": "\x00"})
    assert problem is not None
    assert problem.loc == ("b", 0)


def test_clean_values_and_the_edges_of_64_bits_pass():
    clean = {"t": "ไทย ✓ 🙂", "i": [2**63 - 1, -(2**63)], "b": True, "n": None, "f": 1e308}
    assert inputs.find_problem(clean) is None


def test_skipped_lists_are_left_to_the_caller():
    value = {"events": [{"p": "\x00"}], "other": ["\x00"]}
    problem = inputs.find_problem(value, skip=[("events",)])
    assert problem is not None
    assert problem.loc == ("other", 0)


@pytest.mark.parametrize(
    ("body", "says"),
    [
        (b'{"a": \xff}', "not valid UTF-8"),
        (b'{"a": ' + b"9" * 5000 + b"}", "too many digits"),
        (b'{"a": NaN}', "NaN is not JSON"),
        (b'{"a": -Infinity}', "-Infinity is not JSON"),
        (b"[" * 100_000, "nested deeper"),
        (b'{"a": 1,\n "b": }', "line 2, column 7"),
    ],
)
def test_loads_says_why_a_body_is_unreadable_without_quoting_it(body, says):
    with pytest.raises(inputs.Unreadable) as caught:
        inputs.loads(body)
    assert says in str(caught.value)
    assert caught.value.__cause__ is None


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=30,
)


def _clean(value: Any, depth: int = 0) -> bool:
    """An independent statement of the rules, to check ``find_problem`` against."""
    if depth > inputs.MAX_DEPTH:
        return False
    if isinstance(value, str):
        return "\x00" not in value and not any(0xD800 <= ord(c) <= 0xDFFF for c in value)
    if isinstance(value, bool) or value is None:
        return True
    if isinstance(value, int):
        return -(2**63) <= value < 2**63
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, list):
        return all(_clean(v, depth + 1) for v in value)
    return all(_clean(k) and _clean(v, depth + 1) for k, v in value.items())


@settings(max_examples=300, deadline=None)
@given(json_values)
def test_find_problem_agrees_with_the_rules(value):
    assert (inputs.find_problem(value) is None) == _clean(value)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200) | json_values.map(lambda v: json.dumps(v).encode()))
def test_loads_never_raises_anything_but_unreadable(body):
    why = None
    try:
        inputs.loads(body)
    except inputs.Unreadable as e:
        why = str(e)
    assert why is None or why  # an Unreadable always says why; nothing else escapes
