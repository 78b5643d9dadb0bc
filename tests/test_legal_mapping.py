"""Every requirement of the law is mapped to a runtime test (issue 13: the legal mapping).

``docs/legal-mapping.md`` has one row per requirement id of ``PDPA.md`` (the shared rules, kept
beside the checkout in ``../shared/PDPA.md``): the id, the section, what rujai does at runtime and
the tests that prove it, each named ``tests/<path>.py::test_<name>``. The doc is the source this
test reads, so it runs on a checkout without ``../shared``; where ``PDPA.md`` is present its ids and
sections are compared with the doc's rows (and the comparison is skipped, saying so, where not).

For every row, every named test must

1. exist (a ``def test_...`` of that name in that file, found by parsing it, not importing it);
2. cite the id: its source (decorators, docstring or body) holds the id (``TH-DSR-01``), or its
   name holds the snake-case form (``..._th_dsr_01``);
3. exercise runtime, not only the policy file. The heuristic: the test takes a fixture that
   stands for a running part (a database session or engine, a factory writing rows, an HTTP or
   web client, a CLI runner or environment, a browser page, a seeded database, an export built
   from one), or its body calls one (``TestClient(``, ``CliRunner(``, ``session_scope(``,
   ``create_app(``, ``httpx.``). A test taking only ``policy`` (the parsed YAML) does not count.

A row whose test column says ``TBD (issue 13, <part>)`` is a part another branch of issue 13
builds; it fails here, naming the part, until the lead fills it in after the merge.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MAPPING = ROOT / "docs" / "legal-mapping.md"
PDPA_CANDIDATES = (ROOT.parent / "shared" / "PDPA.md", Path("/work/shared/PDPA.md"))
PDPA = next((p for p in PDPA_CANDIDATES if p.is_file()), None)

ID = r"(?:TH|EU|APAC)-[A-Z0-9]+(?:-[0-9]+)?"
ROW = re.compile(rf"^\| ({ID}) \| ([^|]+) \|(.*)\|$", re.M)
TEST_REF = re.compile(r"`(tests/[\w/]+\.py)::(test_\w+)`")
TBD = re.compile(r"TBD \(issue 13, [^)]+\)")
FINDINGS = "\n## Findings of the walk"  # the walk's log after the mapping: not rows of it

# Fixtures that stand for a running part of rujai (see tests/conftest.py and the area conftests).
RUNTIME_FIXTURES = frozenset(
    {
        "api", "app", "client", "cli_env", "copy", "db_url", "engine", "factory", "matrix_app",
        "other_db", "own_db_url", "page", "person", "recorder", "runner", "seeded_db", "session",
        "shop", "signed_chain", "signed_in", "storage", "team", "web_client", "writer",
    }
)  # fmt: skip
RUNTIME_CALLS = ("TestClient(", "CliRunner(", "session_scope(", "create_app(", "httpx.")


@dataclass(frozen=True)
class Row:
    """One requirement's row of the mapping."""

    id: str
    section: str
    does: str
    tests: tuple[tuple[str, str], ...]
    tbd: str | None


def parse_rows(text: str) -> dict[str, Row]:
    """Return the mapping's rows by id (the tables before ``FINDINGS``); a second row for an id
    is an error."""
    rows: dict[str, Row] = {}
    for found in ROW.finditer(text.split(FINDINGS, 1)[0]):
        rid, section, rest = found.group(1), found.group(2).strip(), found.group(3)
        does, _, tests = rest.rpartition("|")
        assert rid not in rows, f"{MAPPING.name}: {rid} has two rows"
        tbd = TBD.search(tests)
        refs = tuple(TEST_REF.findall(tests))
        rows[rid] = Row(rid, section, does.strip(), refs, tbd.group(0) if tbd else None)
    return rows


def pdpa_ids(text: str) -> dict[str, str]:
    """Return the requirement ids of PDPA.md with their section (its tables' first two cells)."""
    return {m.group(1): m.group(2).strip() for m in ROW.finditer(text)}


def find_test(source: str, name: str) -> ast.FunctionDef | None:
    """Return the test function ``name`` of ``source`` (module or class level)."""
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.FunctionDef) and node.name == name:
            return node
    return None


def cites(source: str, node: ast.FunctionDef, rid: str) -> bool:
    """Say whether the test's source (decorators, name, docstring, body) cites ``rid``."""
    segment = ast.get_source_segment(source, node) or ""
    start = min([d.lineno for d in node.decorator_list] + [node.lineno]) - 1
    decorated = "\n".join(source.splitlines()[start : node.end_lineno])
    exact = re.compile(re.escape(rid) + r"(?![0-9])")
    snake = rid.lower().replace("-", "_")
    return bool(exact.search(segment) or exact.search(decorated) or snake in node.name)


def exercises_runtime(source: str, node: ast.FunctionDef) -> bool:
    """Say whether the test runs a part of rujai (the heuristic in the module docstring)."""
    params = {a.arg for a in node.args.args + node.args.kwonlyargs}
    if params & RUNTIME_FIXTURES:
        return True
    for deco in node.decorator_list:  # @pytest.mark.usefixtures("session", ...)
        text = ast.get_source_segment(source, deco) or ""
        if "usefixtures" in text and any(f'"{f}"' in text for f in RUNTIME_FIXTURES):
            return True
    body = ast.get_source_segment(source, node) or ""
    return any(call in body for call in RUNTIME_CALLS)


def problems_of(row: Row, root: Path = ROOT) -> list[str]:
    """Return what is wrong with ``row``: no test, a missing test, one not citing or not running."""
    if not row.tests:
        return [f"{row.id}: {row.tbd or 'no test named'}"]
    found: list[str] = []
    for path, name in row.tests:
        file = root / path
        if not file.is_file():
            found.append(f"{row.id}: {path} does not exist")
            continue
        source = file.read_text(encoding="utf-8")
        node = find_test(source, name)
        if node is None:
            found.append(f"{row.id}: {path}::{name} does not exist")
        elif not cites(source, node, row.id):
            found.append(f"{row.id}: {path}::{name} does not cite {row.id}")
        elif not exercises_runtime(source, node):
            found.append(f"{row.id}: {path}::{name} tests the policy file only, not runtime")
    return found


ROWS = parse_rows(MAPPING.read_text(encoding="utf-8"))


def test_the_mapping_has_a_row_for_every_requirement_id_of_pdpa_md():
    if PDPA is None:
        pytest.skip(
            "../shared/PDPA.md is not beside this checkout; the doc's rows are checked alone"
        )
    expected = pdpa_ids(PDPA.read_text(encoding="utf-8"))
    assert expected, f"no requirement ids found in {PDPA}"
    assert sorted(set(expected) - set(ROWS)) == [], "ids of PDPA.md without a row"
    assert sorted(set(ROWS) - set(expected)) == [], "rows for ids PDPA.md does not have"
    wrong = {
        rid: (ROWS[rid].section, sec) for rid, sec in expected.items() if ROWS[rid].section != sec
    }
    assert wrong == {}, "sections differ from PDPA.md (row, PDPA.md)"


def test_every_row_says_what_rujai_does():
    assert len(ROWS) >= 30, f"{MAPPING.name} lost rows: {sorted(ROWS)}"
    assert [rid for rid, row in ROWS.items() if len(row.does) < 40] == []


@pytest.mark.parametrize("rid", sorted(ROWS))
def test_each_requirement_is_proved_by_a_runtime_test_that_cites_it(rid):
    assert problems_of(ROWS[rid]) == []


# --- the checker itself can fail ---------------------------------------------------------------

PLANTED = '''
import pytest

def test_pure(policy):
    """TH-NOT-01: the notice lists purposes."""
    assert policy

def test_silent(session):
    assert session

@pytest.mark.parametrize("x", [1])
def test_runs_th_not_01(x, client):
    assert client.get("/v1/notice")

def test_called():
    """EU-01."""
    with session_scope(None):
        pass
'''


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("test_pure", "tests the policy file only"),
        ("test_silent", "does not cite TH-NOT-01"),
        ("test_absent", "does not exist"),
        ("test_runs_th_not_01", None),
    ],
)
def test_checker_refuses_a_missing_silent_or_policy_only_test(tmp_path, name, expected):
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_planted.py").write_text(PLANTED)
    row = Row("TH-NOT-01", "s.23", "the notice", (("tests/test_planted.py", name),), None)
    found = problems_of(row, root=tmp_path)
    if expected is None:
        assert found == []
    else:
        assert len(found) == 1
        assert expected in found[0]


def test_checker_sees_a_runtime_call_in_the_body_and_refuses_a_tbd_row(tmp_path):
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_planted.py").write_text(PLANTED)
    called = Row(
        "EU-01", "Art. 12(3)", "deadlines", (("tests/test_planted.py", "test_called"),), None
    )
    assert problems_of(called, root=tmp_path) == []
    text = "| TH-BRE-01 | s.37(4) | a breach register | TBD (issue 13, breach register) |\n"
    row = parse_rows(text)["TH-BRE-01"]
    assert problems_of(row) == ["TH-BRE-01: TBD (issue 13, breach register)"]


def test_ids_and_sections_are_read_from_pdpa_tables():
    text = "| id | section | the system must |\n| --- | --- | --- |\n| TH-SEC-01 | s.37(1) | x |\n"
    assert pdpa_ids(text) == {"TH-SEC-01": "s.37(1)"}
