"""Fuzzing the policy loader: any text, and any small edit of the example policy, either loads or
raises ``PolicyInvalid`` whose every problem names the file and (but for whole-file problems) the
line; never another exception."""

from __future__ import annotations

import time

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from rujai.policy.errors import PolicyInvalid
from rujai.policy.loader import load_policy_text
from rujai.policy.schemas import Policy
from tests.policy.broken_cases import EXAMPLE_TEXT

# What fuzzing found (each was an unhandled exception or a minute-long walk before the fix).
FOUND = [
    "!!python/object:os.system",
    "x: 2001-13-45",
    "a: !!float x",
    "a: &x [*x]",
    "a: &x {b: *x}",
]
pytestmark = pytest.mark.fuzz
FILE = "fuzz.yaml"
WHOLE_FILE = {"empty-file", "too-large"}
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
LINES = EXAMPLE_TEXT.splitlines(keepends=True)

yaml_ish = st.text(
    st.sampled_from(list(" \n\t:-[]{},'\"#&*!|>%@`?ab1_\x00\ufeffก")), max_size=80
) | st.sampled_from([*FOUND, "", "~", "- - -", "a: b: c", "a: !!binary zz", "? [a]\n: 1"])


def _outcome(text: str) -> Policy | PolicyInvalid:
    try:
        return load_policy_text(text, filename=FILE)
    except PolicyInvalid as e:
        return e


def _located(outcome: Policy | PolicyInvalid) -> None:
    if isinstance(outcome, Policy):
        return
    assert outcome.problems
    for problem in outcome.problems:
        assert problem.file == FILE
        assert problem.line is not None or problem.rule in WHOLE_FILE | {"yaml-syntax"}, problem
        assert problem.line is None or problem.line >= 1
        assert problem.field
        assert problem.rule
        assert problem.message


@FUZZ
@given(yaml_ish)
def test_any_text_loads_or_is_policy_invalid_with_file_and_line(text):
    _located(_outcome(text))


@st.composite
def edited_example(draw: st.DrawFn) -> str:
    """The example policy with a few lines dropped, duplicated or overwritten with YAML-ish text."""
    lines = list(LINES)
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(lines) - 1))
        how = draw(st.sampled_from(["drop", "twice", "replace", "indent"]))
        if how == "drop":
            del lines[at]
        elif how == "twice":
            lines.insert(at, lines[at])
        elif how == "replace":
            lines[at] = draw(yaml_ish) + "\n"
        else:
            lines[at] = "  " + lines[at]
    return "".join(lines)


@FUZZ
@given(edited_example())
def test_any_edit_of_the_example_loads_or_is_policy_invalid_with_file_and_line(text):
    _located(_outcome(text))


@pytest.mark.parametrize("text", FOUND)
def test_what_fuzzing_found_is_policy_invalid_at_line_1_at_once(text):
    started = time.monotonic()
    outcome = _outcome(text)
    assert time.monotonic() - started < 1  # a self-referring alias once took 65 seconds
    assert isinstance(outcome, PolicyInvalid)
    _located(outcome)
    assert outcome.problems[0].line == 1
