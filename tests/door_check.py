"""The checks behind ``tests/test_door.py``: who may touch a personal table, what needs a Permit.

Each check takes what it looks at as arguments (a source tree, mapped classes, functions), so the
tests run it on rujai itself and on a planted package that breaks the rule on purpose.

1. ``table_access``: a module outside a table's domain imports that domain's ``models`` or names
   the table in SQL (``FROM event``, ``table("event")``, ``metadata.tables["event"]``).
2. ``marking``: every mapped class says which of its columns hold personal data
   (``__personal__``), and a column that plainly does (a subject id, a sealed value, a blind
   index) is among them.
3. ``permit_needed``: a function that another domain calls and that returns a person's data
   (a personal row or a class marked ``__personal__ = True``, also inside lists and models) takes a
   ``Permit`` or ``PermitSet``, or asks the door itself, unless it is one of the door's own inputs.
"""

from __future__ import annotations

import ast
import dataclasses
import inspect
import re
import textwrap
import typing
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel

DOOR = "docs/architecture.md#the-door"
SQL_TABLE = re.compile(r"\b(?:FROM|JOIN|INTO|UPDATE|TABLE)\s+\"?([a-z_][a-z0-9_]*)\b")
SUBJECT_LIKE = re.compile(r"^(?:\w+_)?subject_id$|_sealed$|^blind$|^customer_ref$")
DOOR_CALLS = frozenset({"authorize", "authorize_many", "check", "check_facts", "rights_permit"})


def module_name(path: Path, root: Path, package: str) -> str:
    """Return the dotted name of ``path`` in ``package`` rooted at ``root``."""
    parts = path.relative_to(root).with_suffix("").parts
    name = ".".join((package, *parts))
    return name.removesuffix(".__init__")


def domain_of(module: str) -> str:
    """Return the top package under the root (``rujai.events.bulk`` -> ``events``)."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


# --- 1. table access -----------------------------------------------------------------------------


def table_access(
    root: Path, package: str, owners: Mapping[str, str], skip: Iterable[str] = ()
) -> list[str]:
    """Return ``file:line`` violations of the rule "only a table's domain touches it"."""
    skipped = set(skip)
    found: list[str] = []
    for path in sorted(root.rglob("*.py")):
        module = module_name(path, root, package)
        if module in skipped or any(module.startswith(f"{s}.") for s in skipped):
            continue
        rel = path.relative_to(root.parent).as_posix()
        for line, table, how in _touches(path, package, owners):
            owner = owners[table]
            if owner != domain_of(module):
                found.append(
                    f"{rel}:{line}: {module} {how} table {table!r} of the {owner} domain; "
                    f"use the door instead: {package}.{owner}'s service functions, which take a "
                    f"Permit (or return counts only) ({DOOR})"
                )
    return found


def _touches(path: Path, package: str, owners: Mapping[str, str]) -> list[tuple[int, str, str]]:
    tree = ast.parse(path.read_text())
    docstrings = _docstrings(tree)
    by_domain: dict[str, list[str]] = {}
    for table, owner in owners.items():
        by_domain.setdefault(owner, []).append(table)
    hits: list[tuple[int, str, str]] = []
    for node in ast.walk(tree):
        for owner in _models_imported(node, package):
            hits += [(node.lineno, t, f"imports {package}.{owner}.models, the home of") for t in
                     sorted(by_domain.get(owner, []))[:1]]  # fmt: skip
        if (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and node not in docstrings
        ):
            hits += [(node.lineno, t, "names in SQL") for t in _sql_tables(node.value, owners)]
        if _names_table(node) in owners:
            hits.append((node.lineno, _names_table(node) or "", "names through the metadata"))
    return hits


def _docstrings(tree: ast.Module) -> set[ast.AST]:
    nodes: set[ast.AST] = set()
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr):
            value = body[0].value
            if isinstance(value, ast.Constant) and isinstance(value.value, str):
                nodes.add(value)
    return nodes


def _models_imported(node: ast.AST, package: str) -> list[str]:
    if isinstance(node, ast.ImportFrom) and node.module:
        parts = node.module.split(".")
        if parts[0] == package and len(parts) == 3 and parts[2] == "models":
            return [parts[1]]
        if parts[0] == package and len(parts) == 2:
            return [parts[1] for alias in node.names if alias.name == "models"]
    if isinstance(node, ast.Import):
        return [
            a.name.split(".")[1]
            for a in node.names
            if a.name.startswith(f"{package}.") and a.name.endswith(".models")
        ]
    return []


def _sql_tables(text: str, owners: Mapping[str, str]) -> list[str]:
    return [m.group(1) for m in SQL_TABLE.finditer(text) if m.group(1) in owners]


def _names_table(node: ast.AST) -> str | None:
    """``table("x")`` / ``Table("x", ...)`` / ``metadata.tables["x"]``: the name, else None."""
    if isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        if name in ("table", "Table") and isinstance(node.args[0].value, str):
            return node.args[0].value
    if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Attribute):
        key = node.slice
        if node.value.attr == "tables" and isinstance(key, ast.Constant):
            return str(key.value)
    return None


# --- 2. marking ----------------------------------------------------------------------------------


def marking(classes: Iterable[type]) -> list[str]:
    """Return what is wrong with the ``__personal__`` marking of these mapped classes."""
    found: list[str] = []
    for cls in classes:
        where = f"{inspect.getsourcefile(cls)}:{inspect.getsourcelines(cls)[1]} {cls.__name__}"
        declared = cls.__dict__.get("__personal__")
        table = cls.__table__  # type: ignore[attr-defined]
        if not isinstance(declared, tuple):
            found.append(f"{where}: no __personal__ = (...) naming its personal columns (or ())")
            continue
        columns = {c.name for c in table.columns}
        unknown = sorted(set(declared) - columns)
        if unknown:
            found.append(f"{where}: __personal__ names no such column: {', '.join(unknown)}")
        plain = sorted(
            c.name for c in table.columns if _plainly_personal(c) and c.name not in declared
        )
        if plain:
            found.append(f"{where}: personal columns missing from __personal__: {', '.join(plain)}")
    return found


def _plainly_personal(column: Any) -> bool:
    if SUBJECT_LIKE.search(column.name):
        return True
    return any(fk.target_fullname == "subject.id" for fk in column.foreign_keys)


# --- 3. permits ----------------------------------------------------------------------------------


def personal_type(annotation: Any, seen: set[int] | None = None) -> bool:
    """Return True if ``annotation`` holds a person's data (a marked class, at any depth)."""
    seen = set() if seen is None else seen
    if id(annotation) in seen:
        return False
    seen.add(id(annotation))
    if isinstance(annotation, type):
        marked = annotation.__dict__.get("__personal__")
        if marked is True or (isinstance(marked, tuple) and marked):
            return True
        if issubclass(annotation, BaseModel):
            return any(personal_type(f.annotation, seen) for f in annotation.model_fields.values())
        if dataclasses.is_dataclass(annotation):
            hints = typing.get_type_hints(annotation)
            return any(personal_type(h, seen) for h in hints.values())
        return False
    return any(personal_type(a, seen) for a in typing.get_args(annotation))


def permit_needed(
    functions: Mapping[str, tuple[Callable[..., Any], set[str]]],
    permit_types: tuple[type, ...],
    exempt: Mapping[str, str],
) -> list[str]:
    """Return the cross-domain functions that hand out a person's data without a permit.

    ``functions``: dotted name -> (function, the domains that call it).
    """
    found: list[str] = []
    for name, (function, callers) in sorted(functions.items()):
        hints = typing.get_type_hints(function)
        if name in exempt or not personal_type(hints.get("return")):
            continue
        params = [h for key, h in hints.items() if key != "return"]
        takes = any(_mentions(h, permit_types) for h in params)
        if takes or _asks_the_door(function):
            continue
        line = inspect.getsourcelines(function)[1]
        found.append(
            f"{inspect.getsourcefile(function)}:{line}: {name} returns a person's data to "
            f"{', '.join(sorted(callers))} without a Permit; take `permit: Permit` (or a "
            f"PermitSet for bulk work) from the door ({DOOR})"
        )
    return found


def _mentions(annotation: Any, types: tuple[type, ...]) -> bool:
    if annotation in types:
        return True
    return any(_mentions(a, types) for a in typing.get_args(annotation))


def _asks_the_door(function: Callable[..., Any]) -> bool:
    tree = ast.parse(textwrap.dedent(inspect.getsource(function)))
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if name in DOOR_CALLS:
                return True
    return False


def cross_domain_calls(root: Path, package: str) -> dict[str, set[str]]:
    """Return dotted names of functions used from another domain, with the calling domains."""
    used: dict[str, set[str]] = {}
    for path in sorted(root.rglob("*.py")):
        module = module_name(path, root, package)
        tree = ast.parse(path.read_text())
        alias: dict[str, str] = {}
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith(package):
                alias.update({a.asname or a.name: f"{node.module}.{a.name}" for a in node.names})
        for node in ast.walk(tree):
            target = None
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
                base = alias.get(node.value.id)
                target = f"{base}.{node.attr}" if base else None
            elif isinstance(node, ast.Name):
                target = alias.get(node.id)
            if target and target.count(".") >= 2 and domain_of(target) != domain_of(module):
                used.setdefault(target, set()).add(domain_of(module))
    return used
