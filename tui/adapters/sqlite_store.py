"""The SQLite connection both stores share the shape of: one connection used by a pipeline's
threads, serialised by a lock, in WAL mode so the dashboard and a headless run can read
while the other writes."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tui.adapters.private_files import make_private_dir, make_private_file


class SqliteStore:
    def __init__(self, path: Path, schema: str) -> None:
        make_private_dir(path.parent)
        self.path = path
        self._lock = threading.RLock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("PRAGMA foreign_keys=ON")
        self._db.executescript(schema)
        # Mail bodies and transcripts live here: the database and its WAL are the user's alone.
        for suffix in ("", "-wal", "-shm"):
            make_private_file(path.with_name(path.name + suffix))

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")
