"""Loading a policy file: a line for every problem, duplicate keys, syntax errors, all at once."""

from __future__ import annotations

from pathlib import Path

import pytest

from rujai.errors import Invalid
from rujai.policy.errors import PolicyInvalid, PolicyProblem
from rujai.policy.loader import load_policy_file, load_policy_text, policy_hash
from rujai.policy.schemas import Policy
from tests.policy.broken_cases import (
    BROKEN,
    EXAMPLE,
    EXAMPLE_TEXT,
    Broken,
    line_of,
    replace_after,
)


def _problems(text: str, filename: str = "policy.yaml") -> list[PolicyProblem]:
    with pytest.raises(PolicyInvalid) as caught:
        load_policy_text(text, filename=filename)
    return caught.value.problems


def test_example_policy_loads_cleanly() -> None:
    policy = load_policy_file(EXAMPLE)
    assert isinstance(policy, Policy)
    assert len(policy.categories) >= 9
    assert len(policy.purposes) >= 7
    assert any(c.sensitive for c in policy.categories.values())


@pytest.mark.parametrize("case", BROKEN, ids=[c.id for c in BROKEN])
def test_broken_policy_reports_field_line_rule_and_ref(case: Broken) -> None:
    problems = _problems(case.text(), filename="broken.yaml")
    found = [(p.line, p.field, p.rule, p.ref) for p in problems]
    assert (case.line(), case.field, case.rule, case.ref) in found
    assert all(p.file == "broken.yaml" for p in problems)


def test_missing_file_is_policy_invalid_naming_the_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.yaml"
    with pytest.raises(PolicyInvalid) as caught:
        load_policy_file(path)
    (problem,) = caught.value.problems
    assert problem.rule == "file-not-found"
    assert problem.file == str(path)
    assert "not found" in str(caught.value)
    assert isinstance(caught.value, Invalid)


def test_non_utf8_file_is_policy_invalid(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes("version: \u00e9".encode("latin-1"))
    with pytest.raises(PolicyInvalid) as caught:
        load_policy_file(path)
    assert caught.value.problems[0].rule == "file-unreadable"


def test_empty_file_is_a_problem() -> None:
    assert [p.rule for p in _problems("# only a comment\n")] == ["empty-file"]


def test_top_level_list_is_a_structural_problem_on_line_1() -> None:
    (problem,) = _problems("- a\n- b\n")
    assert (problem.line, problem.field, problem.rule) == (1, "(root)", "model_type")


def test_multiple_documents_are_a_syntax_problem() -> None:
    (problem,) = _problems("version: '1'\n---\nversion: '2'\n")
    assert problem.rule == "yaml-syntax"
    assert problem.line == 2


def test_duplicate_key_names_the_first_line() -> None:
    text = replace_after(
        "\n  analytics:",
        old="retention_days: 180\n",
        new="retention_days: 180\n    retention_days: 90\n",
    )(EXAMPLE_TEXT)
    (dup,) = [p for p in _problems(text) if p.rule == "duplicate-key"]
    first = line_of(text, "\n  analytics:", "retention_days: 180")
    assert f"first on line {first}" in dup.message
    assert dup.line == first + 1


def test_all_problems_are_reported_sorted_by_line() -> None:
    text = replace_after("\n  store_visit:", old="category: location", new="category: locaton")(
        EXAMPLE_TEXT
    )
    text = replace_after("\n  dpo:", old="    email: dpo@example.com\n", new="")(text)
    problems = _problems(text)
    assert {p.rule for p in problems} >= {"unknown-category", "dpo-contact-missing"}
    lines = [p.line or 0 for p in problems]
    assert lines == sorted(lines)


def test_structural_and_duplicate_problems_come_together() -> None:
    text = replace_after("\n  analytics:", old="basis: consent", new="basis: consnet")(EXAMPLE_TEXT)
    text = replace_after(
        "\n  analytics:",
        old="retention_days: 180\n",
        new="retention_days: 180\n    retention_days: 9\n",
    )(text)
    assert {p.rule for p in _problems(text)} == {"enum", "duplicate-key"}


def test_missing_required_field_points_at_the_parent_key() -> None:
    text = replace_after("\n  analytics:", old="    retention_days: 180\n", new="")(EXAMPLE_TEXT)
    (problem,) = _problems(text)
    assert problem.field == "purposes.analytics.retention_days"
    assert problem.rule == "missing"
    assert problem.line == line_of(text, "\n  analytics:")
    assert problem.message == "required field is missing"


def test_bad_id_key_gets_an_actionable_message() -> None:
    text = replace_after("\ncategories:", old="\n  device:", new="\n  Device:")(EXAMPLE_TEXT)
    problems = _problems(text)
    key = [p for p in problems if p.field == "categories.Device"]
    assert key, problems
    assert "lowercase" in key[0].message
    assert key[0].line == line_of(text, "\n  Device:")


def test_alias_bomb_is_refused_without_expanding() -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 9)]
    (problem,) = _problems("\n".join(lines) + "\n")
    assert problem.rule == "too-large"


def test_problem_str_has_file_line_field_message_rule_and_ref() -> None:
    problem = PolicyProblem(
        "p.yaml",
        7,
        3,
        "purposes.x.basis",
        "sensitive-needs-explicit-consent",
        "fix it",
        "TH-SEN-01",
    )
    assert str(problem) == (
        "p.yaml:7: purposes.x.basis: fix it [rule sensitive-needs-explicit-consent, TH-SEN-01]"
    )
    no_line = PolicyProblem("p.yaml", None, None, "(file)", "empty-file", "empty")
    assert str(no_line) == "p.yaml: (file): empty [rule empty-file]"


def test_policy_invalid_renders_every_problem_as_problem_json() -> None:
    problems = _problems(BROKEN[0].text())
    error = PolicyInvalid(problems)
    body = error.problem()
    assert body["status"] == 422
    assert body["field"] == problems[0].field
    assert [p["rule"] for p in body["problems"]] == [p.rule for p in problems]
    assert str(problems[0]) in error.message


def test_policy_hash_is_stable_and_changes_with_content(policy: Policy) -> None:
    again = load_policy_text(EXAMPLE_TEXT, filename="again.yaml")
    assert policy_hash(policy) == policy_hash(again)
    assert len(policy_hash(policy)) == 64
    changed = replace_after("\n  analytics:", old="retention_days: 180", new="retention_days: 90")
    other = load_policy_text(changed(EXAMPLE_TEXT), filename="x.yaml")
    assert policy_hash(other) != policy_hash(policy)
