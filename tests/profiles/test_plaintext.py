"""No identifier or name is stored in plaintext anywhere in the database (TH-SEC-01).

Customers are created through ``POST /v1/identify`` with e-mail, phone and Thai names; then the
raw SQLite file (and its WAL) or a ``pg_dump`` of the PostgreSQL database is searched for every
form of every value. The values are used by no other test, so rows other tests deleted (whose
bytes may linger in free pages) cannot cause a false alarm.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine, make_url

from rujai.apikeys import service as apikeys_service
from rujai.config import Settings
from rujai.kit.thai_pii import normalise_phone
from rujai.profiles.router import router as profiles_router
from tests.factories import NOW

PG_DUMP = "/usr/bin/pg_dump"
CONTROL = "plaintext-scan-control-key"  # an API key name: stored as is, on purpose
PEOPLE = [
    # customer id, e-mail as typed, phone as typed, first name, last name (all fictional)
    ("CUST-PLAIN-8101", "Ratchanee.Boonmee@Example.com", "+66 81 234 5678", "รัชนี", "บุญมีทวีสุข"),
    ("CUST-PLAIN-8102", "thanakorn.s@example.com", "089-765-4321", "ธนากรณ์", "แสงอรุณรุ่ง"),
    ("CUST-PLAIN-8103", "PIMCHANOK@example.com", "0625551234", "พิมพ์ชนก", "วงศ์ไพศาลกุล"),
]


@pytest.fixture
def api(settings: Settings) -> Iterator[TestClient]:
    from rujai.main import create_app

    app = create_app(settings)
    if not any(getattr(route, "path", "") == "/v1/identify" for route in app.routes):
        app.include_router(profiles_router, prefix="/v1")
    with TestClient(app) as client:
        yield client


def _needles() -> set[str]:
    needles: set[str] = set()
    for customer_id, email, phone, first, last in PEOPLE:
        e164 = normalise_phone(phone)
        needles |= {customer_id, email, email.lower(), first, last}
        needles |= {phone, e164, "0" + e164[3:], e164[1:], phone.replace(" ", "")}
    return needles


def _identify_everyone(api: TestClient, factory) -> None:
    with factory() as s, s.begin():
        key = apikeys_service.create(s, name=CONTROL, scopes=["track"], now=NOW).key
    for customer_id, email, phone, first, last in PEOPLE:
        body = {
            "customer_id": customer_id,
            "anonymous_id": f"device-{customer_id}",
            "traits": {"email": email, "phone": phone, "first_name": first, "last_name": last},
        }
        response = api.post("/v1/identify", json=body, headers={"Authorization": f"Bearer {key}"})
        assert response.status_code == 200, response.text
        assert response.json()["stored"] == ["email", "first_name", "last_name", "phone"]


def _sqlite_bytes(engine: Engine, db_url: str) -> bytes:
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    path = Path(str(make_url(db_url).database))
    files = [str(f) for f in (path, path.with_name(path.name + "-wal")) if f.exists()]
    # Read in another process: closing a descriptor of the database file here would drop every
    # POSIX lock this process's SQLite connections hold on it, and a later connection elsewhere
    # could then take itself for the last one and reset the WAL under them (a later test then
    # read a stale database: tests/serving/test_crash_erasure.py).
    return subprocess.run(["/bin/cat", *files], capture_output=True, check=True).stdout  # noqa: S603


def _pg_dump_bytes(db_url: str) -> bytes:
    if not Path(PG_DUMP).exists() and not shutil.which("pg_dump"):
        if os.environ.get("CI"):
            pytest.fail("pg_dump is needed for the plaintext scan under CI")
        pytest.skip("pg_dump not installed")
    libpq = make_url(db_url).set(drivername="postgresql").render_as_string(hide_password=False)
    dump = subprocess.run(  # noqa: S603 - fixed executable, URL of the test database
        [PG_DUMP if Path(PG_DUMP).exists() else "pg_dump", "--no-owner", "--dbname", libpq],
        capture_output=True,
        check=True,
        timeout=120,
    )
    return dump.stdout


def test_no_identifier_or_name_is_stored_in_plaintext_th_sec_01(api, factory, engine, db_url):
    _identify_everyone(api, factory)
    if engine.dialect.name == "sqlite":
        raw = _sqlite_bytes(engine, db_url)
    else:
        raw = _pg_dump_bytes(db_url)
    assert CONTROL.encode() in raw  # the scan sees what is stored in plaintext (the key's name)
    found = sorted(n for n in _needles() if n.encode() in raw)
    assert found == []
