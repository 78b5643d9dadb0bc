"""Load a policy YAML file: structure (pydantic), then the legal rules, every problem with its line.

The YAML is composed into nodes first, so that every key and list item keeps its line; pydantic
error locations and rule field paths are mapped back to the nearest node that exists in the file.
Duplicate keys, which plain YAML silently collapses, are reported as problems.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from datetime import date
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from rujai.policy.errors import PolicyInvalid, PolicyProblem
from rujai.policy.schemas import Policy
from rujai.policy.validate import FieldPath, check_rules

MAX_NODES = 50_000  # aliases are not expanded by compose; this bounds the walk and the build
MAX_DEPTH = 64  # and this a walk down an alias that refers to itself (``a: &x [*x]``)
_ID_PATTERN = r"^[a-z][a-z0-9_]{0,62}$"
Marks = dict[FieldPath, yaml.Mark]


def load_policy_file(path: Path | str, *, today: date | None = None) -> Policy:
    """Read and validate the policy in ``path``; raise PolicyInvalid listing every problem.

    ``today``: also refuse transfer mechanisms and processor agreements expired by then.
    """
    name = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except FileNotFoundError as e:
        message = "policy file not found; pass an existing file or set RUJAI_POLICY__PATH"
        raise PolicyInvalid([_file_problem(name, "file-not-found", message)]) from e
    except (OSError, UnicodeDecodeError) as e:
        message = f"cannot read the policy file as UTF-8 text ({type(e).__name__})"
        raise PolicyInvalid([_file_problem(name, "file-unreadable", message)]) from e
    return load_policy_text(text, filename=name, today=today)


def load_policy_text(text: str, *, filename: str, today: date | None = None) -> Policy:
    """Validate the policy YAML ``text``; problems name ``filename`` and the line."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as e:
        raise PolicyInvalid([_syntax_problem(filename, e)]) from e
    if root is None:
        raise PolicyInvalid([_file_problem(filename, "empty-file", "the policy file is empty")])
    marks, problems = _walk(root, filename)
    data = _construct(root, filename)
    policy: Policy | None = None
    try:
        policy = Policy.model_validate(data)
    except ValidationError as e:
        problems += [_structural(filename, marks, err) for err in e.errors()]
    if policy is not None:
        for found in check_rules(policy, today=today):
            problems.append(
                _located(filename, marks, found.path, found.rule, found.message, found.ref)
            )
    if problems or policy is None:
        raise PolicyInvalid(sorted(problems, key=_order))
    return policy


def policy_hash(policy: Policy) -> str:
    """Return the sha256 hex digest of the policy's canonical JSON."""
    canonical = json.dumps(
        policy.model_dump(mode="json"), sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _walk(root: yaml.Node, filename: str) -> tuple[Marks, list[PolicyProblem]]:
    """Index every key and item by field path and report duplicate keys; refuse huge documents."""
    marks: Marks = {(): root.start_mark}
    duplicates: list[PolicyProblem] = []
    stack: list[tuple[FieldPath, yaml.Node]] = [((), root)]
    visited = 0
    while stack:
        path, node = stack.pop()
        visited += 1
        if visited > MAX_NODES:
            message = f"the document expands to more than {MAX_NODES} nodes (aliases?)"
            raise PolicyInvalid([_file_problem(filename, "too-large", message)])
        if len(path) > MAX_DEPTH:
            raise PolicyInvalid([_too_deep(filename, node.start_mark, path)])
        if isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                marks[(*path, i)] = item.start_mark
                stack.append(((*path, i), item))
        elif isinstance(node, yaml.MappingNode):
            duplicates += _map_keys(node, path, marks, stack, filename)
    return marks, duplicates


def _map_keys(
    node: yaml.MappingNode,
    path: FieldPath,
    marks: Marks,
    stack: list[tuple[FieldPath, yaml.Node]],
    filename: str,
) -> list[PolicyProblem]:
    first: dict[str, int] = {}
    duplicates: list[PolicyProblem] = []
    for key, value in node.value:
        name = str(key.value) if isinstance(key, yaml.ScalarNode) else f"<{key.id}>"
        child = (*path, name)
        line = key.start_mark.line + 1
        if name in first and name != "<<":
            duplicates.append(_duplicate(filename, key.start_mark, child, first[name]))
        first.setdefault(name, line)
        marks[child] = key.start_mark
        stack.append((child, value))
    return duplicates


def _too_deep(filename: str, mark: yaml.Mark, path: FieldPath) -> PolicyProblem:
    message = f"nested deeper than {MAX_DEPTH} levels (an alias that contains itself?)"
    field = _dotted(path[:3]) + "..."
    return PolicyProblem(filename, mark.line + 1, mark.column + 1, field, "too-deep", message)


def _duplicate(filename: str, mark: yaml.Mark, path: FieldPath, first_line: int) -> PolicyProblem:
    message = (
        f"key {path[-1]!r} appears more than once (first on line {first_line}); "
        "YAML keeps only the last one"
    )
    return PolicyProblem(
        filename, mark.line + 1, mark.column + 1, _dotted(path), "duplicate-key", message
    )


def _construct(root: yaml.Node, filename: str) -> Any:
    """Build Python values from the nodes; an unknown tag (``!!python/...``) or a value that
    cannot be built (``2001-13-45`` looks like a date) is a problem at its line."""
    loader = yaml.SafeLoader("")
    try:
        return loader.construct_document(root)
    except yaml.YAMLError as e:
        raise PolicyInvalid([_syntax_problem(filename, e)]) from e
    except (ValueError, TypeError) as e:
        mark = _unbuildable(root) or root.start_mark
        message = f"this value cannot be read: {e} (quote it to keep it as text)"
        line, column = mark.line + 1, mark.column + 1
        problem = PolicyProblem(filename, line, column, "(value)", "yaml-value", message)
        raise PolicyInvalid([problem]) from e
    finally:
        loader.dispose()


def _unbuildable(root: yaml.Node) -> yaml.Mark | None:
    """The mark of the first scalar that cannot be built into a value, if any."""
    loader = yaml.SafeLoader("")
    stack, seen = [root], set()
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, yaml.ScalarNode):
            try:
                loader.construct_object(node)
            except (ValueError, TypeError):
                return node.start_mark
        elif isinstance(node, yaml.MappingNode):
            stack.extend(part for pair in node.value for part in pair)
        elif isinstance(node, yaml.SequenceNode):
            stack.extend(node.value)
    loader.dispose()
    return None


def _structural(filename: str, marks: Marks, err: Mapping[str, Any]) -> PolicyProblem:
    loc: Sequence[str | int] = err.get("loc", ())
    path = tuple(p for p in loc if p != "[key]")
    kind = str(err.get("type", "invalid"))
    return _located(filename, marks, path, kind, _friendly(kind, err), None)


def _friendly(kind: str, err: Mapping[str, Any]) -> str:
    if kind == "missing":
        return "required field is missing"
    if kind == "extra_forbidden":
        return "unknown field; check its spelling against policy/schemas.py"
    ctx = err.get("ctx") or {}
    if kind == "string_pattern_mismatch" and ctx.get("pattern") == _ID_PATTERN:
        return "must be an id: a lowercase letter, then lowercase letters, digits or _ (max 63)"
    return str(err.get("msg", "invalid value"))


def _located(
    filename: str, marks: Marks, path: FieldPath, rule: str, message: str, ref: str | None
) -> PolicyProblem:
    mark = marks[()]
    for depth in range(len(path), 0, -1):
        found = marks.get(path[:depth])
        if found is not None:
            mark = found
            break
    return PolicyProblem(
        filename, mark.line + 1, mark.column + 1, _dotted(path), rule, message, ref
    )


def _syntax_problem(filename: str, error: yaml.YAMLError) -> PolicyProblem:
    mark = getattr(error, "problem_mark", None)
    reason = getattr(error, "problem", None) or str(error)
    context = getattr(error, "context", None)
    message = f"YAML syntax error: {reason}" + (f" ({context})" if context else "")
    line = mark.line + 1 if mark is not None else None
    column = mark.column + 1 if mark is not None else None
    return PolicyProblem(filename, line, column, "(file)", "yaml-syntax", message)


def _file_problem(filename: str, rule: str, message: str) -> PolicyProblem:
    return PolicyProblem(filename, None, None, "(file)", rule, message)


def _dotted(path: FieldPath) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(root)"


def _order(problem: PolicyProblem) -> tuple[int, int, str, str]:
    return (problem.line or 0, problem.column or 0, problem.field, problem.rule)
