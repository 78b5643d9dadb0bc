"""Rules of the code base that a reviewer would otherwise have to remember (STYLE.md §1, §3, §7)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from rujai.config import Settings

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "rujai"


def test_only_the_policy_service_constructs_a_permit():
    offenders = [
        str(path.relative_to(ROOT))
        for path in SRC.rglob("*.py")
        if re.search(r"\bPermit\(", path.read_text()) and path != SRC / "policy" / "service.py"
    ]
    assert offenders == []


def test_only_the_door_holds_the_permit_issuer():
    """``PERMIT_SEAL`` makes a Permit or PermitSet: the door (policy.service) and the types' own
    module (a permit as a set, the union of two sets) hold it, nothing else."""
    allowed = {SRC / "policy" / "service.py", SRC / "policy" / "permit.py"}
    offenders = [
        str(path.relative_to(ROOT))
        for path in SRC.rglob("*.py")
        if path not in allowed and re.search(r"\bPERMIT_SEAL\b|\bPermitSet\(", path.read_text())
    ]
    assert offenders == []


def test_import_contracts_hold():
    result = subprocess.run(  # noqa: S603 - our own venv's lint-imports, fixed arguments
        [
            str(Path(sys.executable).parent / "lint-imports"),
            "--config",
            str(ROOT / "pyproject.toml"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_setting_is_documented():
    doc = (ROOT / "docs" / "settings.md").read_text()
    names = []
    for name, field in Settings.model_fields.items():
        nested = getattr(field.annotation, "model_fields", None)
        if nested:
            names += [f"RUJAI_{name.upper()}__{sub.upper()}" for sub in nested]
        else:
            names.append(f"RUJAI_{name.upper()}")
    missing = [n for n in names if f"`{n}`" not in doc]
    assert missing == []


def test_no_print_or_logging_of_raw_request_bodies():
    offenders = [
        str(path.relative_to(ROOT))
        for path in SRC.rglob("*.py")
        if re.search(r"log\w*\.(info|debug|warning|error)\(.*(body|email|phone)", path.read_text())
    ]
    assert offenders == []


def test_only_the_writer_commits():
    """The write path has one owner: every commit in rujai is in ``rujai/writer.py``."""
    pattern = re.compile(r"\.commit\(\)|\.begin_nested\(\)|engine\.begin\(\)")
    offenders = [
        str(path.relative_to(ROOT))
        for path in SRC.rglob("*.py")
        if path != SRC / "writer.py" and pattern.search(path.read_text())
    ]
    assert offenders == []


def test_request_handlers_never_open_their_own_database_access():
    """Routers and web routes read through the request's read-only session and write through the
    writer; none builds an engine, a session factory or a unit of work of its own."""
    handlers = [
        *SRC.rglob("router.py"),
        *SRC.rglob("*_router.py"),
        *(SRC / "web" / "routes").glob("*.py"),
    ]
    forbidden = re.compile(r"\b(session_scope|make_engine|make_session_factory|sessionmaker)\b")
    offenders = [str(p.relative_to(ROOT)) for p in handlers if forbidden.search(p.read_text())]
    assert handlers
    assert offenders == []
