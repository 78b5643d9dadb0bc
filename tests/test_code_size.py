"""Small, plain code (STYLE.md §5): short modules, simple functions, imports that run one way.

Every module under ``src/rujai`` has at most 400 lines, every function a cyclomatic complexity of
at most 10 as radon counts it (``radon cc -n C src/rujai`` prints nothing), and no module of the
audit package can reach itself through its imports. Each checker is also run on planted code, to
show it fails when it should.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import grimp
from radon.complexity import cc_visit
from radon.visitors import Function

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "rujai"
MAX_LINES = 400
MAX_COMPLEXITY = 10


def _modules(root: Path) -> list[Path]:
    return sorted(root.rglob("*.py"))


def _name(path: Path, root: Path) -> str:
    return path.relative_to(root).as_posix()


def long_modules(paths: Iterable[Path], root: Path, limit: int = MAX_LINES) -> list[str]:
    """Return ``file: N lines`` for every module longer than ``limit`` lines."""
    counts = ((path, len(path.read_text(encoding="utf-8").splitlines())) for path in paths)
    return [f"{_name(path, root)}: {n} lines" for path, n in counts if n > limit]


def _blocks(blocks: Iterable[Any]) -> Iterator[Any]:
    """Every block radon found, with the functions nested in functions (closures)."""
    for block in blocks:
        yield block
        if isinstance(block, Function):
            yield from _blocks(block.closures)


def complex_blocks(
    paths: Iterable[Path], root: Path, limit: int = MAX_COMPLEXITY
) -> dict[str, str]:
    """Return ``file:function`` -> ``file:line function complexity`` for blocks over ``limit``."""
    found: dict[str, str] = {}
    for path in paths:
        name = _name(path, root)
        for block in _blocks(cc_visit(path.read_text(encoding="utf-8"))):
            if block.complexity > limit:
                found[f"{name}:{block.fullname}"] = (
                    f"{name}:{block.lineno} {block.fullname} {block.complexity}"
                )
    return found


def import_cycles(package: str, within: str) -> list[str]:
    """Return each import cycle through a module of ``within`` (a subpackage of ``package``).

    Imports inside functions count (a lazy import does not remove a cycle, it only hides it);
    imports under ``TYPE_CHECKING`` do not (they never run).
    """
    graph = grimp.build_graph(package, cache_dir=None, exclude_type_checking_imports=True)
    members = sorted(m for m in graph.modules if m == within or m.startswith(f"{within}."))
    cycles: dict[frozenset[str], str] = {}
    for module in members:
        for imported in sorted(graph.find_modules_directly_imported_by(module)):
            chain = graph.find_shortest_chain(importer=imported, imported=module)
            if chain is not None:
                cycle = (module, *chain)
                cycles.setdefault(frozenset(cycle), " -> ".join(cycle))
    return sorted(cycles.values())


def test_every_module_is_at_most_400_lines():
    long = long_modules(_modules(SRC), SRC)
    assert long == [], "split these by concept (STYLE.md §1):\n" + "\n".join(long)


def test_every_function_has_complexity_at_most_10():
    found = complex_blocks(_modules(SRC), SRC)
    offenders = [line for _where, line in sorted(found.items())]
    assert offenders == [], "split these into helpers or tables of rules:\n" + "\n".join(offenders)


def test_no_module_of_rujai_is_in_an_import_cycle():
    """Lazy imports count: none of rujai's modules (the audit package included) dodges a cycle."""
    cycles = import_cycles("rujai", "rujai")
    assert cycles == [], "move what both sides need into a lower module:\n" + "\n".join(cycles)


def test_the_line_counter_flags_a_long_module(tmp_path):
    (tmp_path / "short.py").write_text("x = 1\n" * 400)
    (tmp_path / "long.py").write_text("x = 1\n" * 401)
    assert long_modules(_modules(tmp_path), tmp_path) == ["long.py: 401 lines"]


def test_the_complexity_checker_flags_a_planted_complex_function(tmp_path):
    branches = "".join(f"    if x == {i}:\n        return {i}\n" for i in range(11))
    (tmp_path / "planted.py").write_text(
        f"def complex_one(x):\n{branches}    return -1\n\n\ndef simple_one(x):\n    return x\n"
    )
    found = complex_blocks(_modules(tmp_path), tmp_path)
    assert list(found.values()) == ["planted.py:1 complex_one 12"]


def test_the_cycle_finder_sees_lazy_imports_but_not_type_checking_ones(tmp_path, monkeypatch):
    package = tmp_path / "planted_cycle"
    package.mkdir()
    files = {
        "__init__.py": "",
        "a.py": "from planted_cycle import b\n",
        "b.py": "def late():\n    from planted_cycle import a  # the dodge\n\n    return a\n",
        "c.py": """
            from typing import TYPE_CHECKING

            if TYPE_CHECKING:
                from planted_cycle import d
        """,
        "d.py": "from planted_cycle import c\n",
    }
    for name, text in files.items():
        (package / name).write_text(textwrap.dedent(text))
    monkeypatch.syspath_prepend(str(tmp_path))
    assert import_cycles("planted_cycle", "planted_cycle") == [
        "planted_cycle.a -> planted_cycle.b -> planted_cycle.a"
    ]
