"""SQLite's WAL stays bounded under steady reads and writes (``db.WalCheckpointer``)."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

from rujai.db import WalCheckpointer, make_engine


def test_the_wal_starts_over_past_its_limit_while_readers_keep_reading(tmp_path: Path):
    path = tmp_path / "wal.db"
    engine = make_engine(f"sqlite:///{path}", role="writer")
    writer = sqlite3.connect(path, isolation_level=None)
    writer.execute("PRAGMA journal_mode=WAL")
    writer.execute("PRAGMA wal_autocheckpoint=0")  # as the product's writer: no inline checkpoint
    writer.execute("CREATE TABLE t (x BLOB)")
    stop = threading.Event()

    def read_forever() -> None:  # a steady stream of short read transactions, as requests make
        reader = sqlite3.connect(path)
        while not stop.is_set():
            reader.execute("SELECT count(*) FROM t").fetchone()
        reader.close()

    readers = [threading.Thread(target=read_forever) for _ in range(2)]
    for thread in readers:
        thread.start()
    limit = 2 * 1024 * 1024
    checkpointer = WalCheckpointer(engine, every_s=0.05, max_wal_bytes=limit)
    checkpointer.start()
    try:
        for _ in range(400):  # ~8 MB written, four times the limit
            writer.execute("INSERT INTO t VALUES (?)", (b"x" * 20_000,))
        deadline = time.monotonic() + 20
        while (path.parent / "wal.db-wal").stat().st_size > limit and time.monotonic() < deadline:
            writer.execute("INSERT INTO t VALUES (?)", (b"y",))
            time.sleep(0.05)
        assert (path.parent / "wal.db-wal").stat().st_size <= limit
    finally:
        stop.set()
        for thread in readers:
            thread.join()
        checkpointer.stop()
        writer.close()
        engine.dispose()
    assert sqlite3.connect(path).execute("SELECT count(*) FROM t").fetchone()[0] >= 400
