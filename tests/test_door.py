"""The door, proven by the build (issue: one door for personal data).

Run on rujai itself, and on a planted package that breaks each rule, so that every check is
shown to fail when it should. See ``tests/door_check.py`` for the rules and docs/architecture.md.
"""

from __future__ import annotations

import importlib
import inspect
import sys
import textwrap
from pathlib import Path

import pytest
from sqlalchemy import ForeignKey, LargeBinary, String, Uuid
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

import rujai
from rujai.db import Base
from rujai.policy.permit import Permit, PermitSet
from tests import door_check

SRC = Path(rujai.__file__).parent
# The modules that hold every table by design: the schema's migrations and the registry that
# fills the metadata for them.
# rights.verify is the erasure's independent verifier: it counts what is left of erased subjects
# in every table, the recommender's included, without the domains' own code it checks (counts and
# flags out, never a value).
SCHEMA_OWNERS = ("rujai.migrations", "rujai.models_registry", "rujai.rights.verify")
# The door's own inputs and the write path: what they return is what the door decides on, or
# the key to seal new data with; nothing held is opened for a purpose.
DOOR_INPUTS = {
    "rujai.consent.service.subject_facts": "the door's input: the subject's consent facts",
    "rujai.consent.service.subject_facts_many": "the door's input, for a batch",
    "rujai.profiles.service.facts": "the consent facts' profile part (age, restriction)",
    "rujai.profiles.service.facts_many": "the same, for a batch",
    "rujai.profiles.identity_resolve.resolve_many": "the write path: the key to seal new rows",
    "rujai.profiles.bulk.readable_unrestricted": "feeds events.bulk.purchase_counts (counts only)",
}
# The breach register (TH-BRE-01) is a record staff keep, not a subject's data: its free text
# (title, description, measures, reasoning) is what a DPO typed and may name a person, so it is
# marked personal and kept out of audit entries and logs; no subject's data is read to return
# it, so there is nothing for the door to decide. The console and the API give it to the roles
# and scopes that may see incidents (TH-DPO-01). The blast radius itself goes through the door.
STAFF_RECORDS = {
    "rujai.incidents.service.declare": "the breach register: staff-typed free text",
    "rujai.incidents.service.get": "the breach register: staff-typed free text",
    "rujai.incidents.service.list_incidents": "the breach register: staff-typed free text",
    "rujai.incidents.service.assess": "the breach register: staff-typed free text",
    "rujai.incidents.service.reminders": "the breach register: staff-typed free text",
    "rujai.incidents.export.register": "the register for the regulator: staff-typed free text",
}
EXEMPT = {**DOOR_INPUTS, **STAFF_RECORDS}


def _owners() -> dict[str, str]:
    return {
        m.local_table.name: door_check.domain_of(m.class_.__module__) for m in Base.registry.mappers
    }


def _functions(used):
    found = {}
    for name, callers in used.items():
        module, _, attr = name.rpartition(".")
        try:
            obj = getattr(importlib.import_module(module), attr, None)
        except ImportError:
            continue
        if inspect.isfunction(obj) and obj.__module__.startswith("rujai"):
            found[name] = (obj, callers)
    return found


# --- rujai itself --------------------------------------------------------------------------------


def test_no_module_touches_a_table_outside_its_domain():
    assert door_check.table_access(SRC, "rujai", _owners(), skip=SCHEMA_OWNERS) == []


def test_every_table_names_its_personal_columns():
    assert door_check.marking(m.class_ for m in Base.registry.mappers) == []


def test_every_cross_domain_function_that_returns_personal_data_takes_a_permit():
    functions = _functions(door_check.cross_domain_calls(SRC, "rujai"))
    assert len(functions) > 100  # the scan sees the real call graph
    assert door_check.permit_needed(functions, (Permit, PermitSet), EXEMPT) == []
    # Every exception is still called from another domain and still returns personal data.
    stale = sorted(set(EXEMPT) - set(functions))
    assert stale == [], f"no longer called across domains, remove: {stale}"
    assert len(door_check.permit_needed(functions, (Permit, PermitSet), {})) == len(EXEMPT)


def test_the_aggregate_feeder_is_used_by_the_aggregate_only():
    """``profiles.bulk.readable_unrestricted`` hands out data keys for counting: only
    ``events.bulk.purchase_counts`` may call it."""
    callers = [
        p.relative_to(SRC).as_posix()
        for p in SRC.rglob("*.py")
        if "readable_unrestricted(" in p.read_text() and p.name != "bulk.py"
    ]
    assert callers == []
    events_bulk = (SRC / "events" / "bulk.py").read_text()
    assert events_bulk.count("readable_unrestricted(") == 1


# --- a planted package breaks each rule ----------------------------------------------------------


@pytest.fixture
def planted(tmp_path, monkeypatch):
    """A package ``plant`` with an events domain and a personalize module reading around it."""
    root = tmp_path / "plant"

    def write(name: str, text: str) -> None:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))

    write("__init__.py", "")
    write("events/__init__.py", "")
    write("events/models.py", '"""Tables of events."""\n')
    write(
        "events/service.py",
        '''
        from dataclasses import dataclass
        from typing import ClassVar

        from rujai.policy.permit import Permit


        @dataclass
        class EventRead:
            __personal__: ClassVar[bool] = True
            properties: dict


        def read_events(subject_id: str) -> list[EventRead]:
            """Return a person's events: no permit, the violation."""
            return []


        def read_events_with_permit(permit: Permit, subject_id: str) -> list[EventRead]:
            """Return a person's events behind a permit."""
            return []
        ''',
    )
    write("personalize/__init__.py", "")
    write(
        "personalize/spy.py",
        '''
        """Reads around the door (on purpose)."""

        from plant.events import service as events_service
        from plant.events.models import Event

        SQL = "SELECT properties_sealed FROM event WHERE subject_id = ?"


        def peek(subject_id):
            return events_service.read_events(subject_id), events_service.read_events_with_permit
        ''',
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    yield root
    for name in [m for m in sys.modules if m == "plant" or m.startswith("plant.")]:
        del sys.modules[name]


def test_a_planted_read_around_the_door_is_found_with_file_line_and_door(planted):
    found = door_check.table_access(planted, "plant", {"event": "events"})
    assert len(found) == 2
    imported, sql = found
    assert imported.startswith("plant/personalize/spy.py:5: plant.personalize.spy imports")
    assert sql.startswith("plant/personalize/spy.py:7: plant.personalize.spy names in SQL")
    assert "use the door instead: plant.events's service functions" in sql
    # The owning domain itself may touch its table.
    assert door_check.table_access(planted, "plant", {"event": "personalize"}) == []


def test_a_planted_function_handing_out_data_without_a_permit_is_found(planted):
    used = door_check.cross_domain_calls(planted, "plant")
    assert used["plant.events.service.read_events"] == {"personalize"}
    functions = {
        name: (getattr(importlib.import_module(name.rpartition(".")[0]), name.rpartition(".")[2]),
               callers)
        for name, callers in used.items()
        if name.endswith(("read_events", "read_events_with_permit"))
    }  # fmt: skip
    found = door_check.permit_needed(functions, (Permit, PermitSet), {})
    assert len(found) == 1
    assert "plant.events.service.read_events returns a person's data to personalize" in found[0]
    assert "take `permit: Permit`" in found[0]
    exempt = {"plant.events.service.read_events": "a stated reason"}
    assert door_check.permit_needed(functions, (Permit, PermitSet), exempt) == []


def test_a_new_table_without_its_marking_is_found():
    class PlantBase(DeclarativeBase):
        pass

    class Unmarked(PlantBase):
        __tablename__ = "unmarked"
        id: Mapped[str] = mapped_column(String, primary_key=True)
        subject_id: Mapped[str] = mapped_column(Uuid)

    class Forgetful(PlantBase):
        __tablename__ = "forgetful"
        __personal__ = ("note",)
        id: Mapped[str] = mapped_column(String, primary_key=True)
        note: Mapped[str] = mapped_column(String)
        owner: Mapped[str] = mapped_column(Uuid, ForeignKey("subject.id"))
        card_sealed: Mapped[bytes] = mapped_column(LargeBinary)

    class Clean(PlantBase):
        __tablename__ = "clean"
        __personal__ = ()
        id: Mapped[str] = mapped_column(String, primary_key=True)

    found = door_check.marking([Unmarked, Forgetful, Clean])
    assert len(found) == 2
    assert "Unmarked: no __personal__" in found[0]
    assert found[1].endswith("personal columns missing from __personal__: card_sealed, owner")
