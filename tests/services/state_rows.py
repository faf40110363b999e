"""Reading another process's state database from a test, while it writes."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any


def state_rows(database: Path, query: str) -> list[tuple[Any, ...]]:
    """The query's rows, read-only (the test never takes a write lock beside the process it
    watches); none while the database or its table is not made yet."""
    if not database.exists():
        return []
    try:
        with sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=5) as db:
            return list(db.execute(query))
    except sqlite3.OperationalError:  # the owner is still creating the schema
        return []
