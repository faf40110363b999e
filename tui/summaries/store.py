"""Summary state in SQLite, in the state database beside the transcripts: one row per
transcript (keyed by its content hash) and one per planned pass, with each pass's note as
soon as it is validated. A restart resumes at the first pass without a note; a transcript
whose lines changed (a speaker renamed) is planned again.

Tables are created if missing, like the other stores' (`SqliteStore`): a database written
before summaries existed simply gains them.
"""

from __future__ import annotations

import json
import sqlite3
import time
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from tui.adapters.sqlite_store import SqliteStore
from tui.summaries.planner import PlannedPass, SummaryPlan

_SCHEMA = """
CREATE TABLE IF NOT EXISTS summaries (
    content_hash TEXT PRIMARY KEY,
    state TEXT NOT NULL,
    source_digest TEXT NOT NULL DEFAULT '',
    num_ctx INTEGER NOT NULL DEFAULT 0,
    reserve INTEGER NOT NULL DEFAULT 0,
    summary TEXT,
    markdown TEXT,
    outputs TEXT NOT NULL DEFAULT '[]',
    error TEXT,
    raw_reply TEXT,
    failures INTEGER NOT NULL DEFAULT 0,
    retry_at REAL,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS summaries_queue ON summaries (state, created_at);
CREATE TABLE IF NOT EXISTS summary_passes (
    content_hash TEXT NOT NULL REFERENCES summaries (content_hash) ON DELETE CASCADE,
    idx INTEGER NOT NULL,
    kind TEXT NOT NULL,
    level INTEGER NOT NULL,
    first_segment INTEGER NOT NULL DEFAULT 0,
    last_segment INTEGER NOT NULL DEFAULT -1,
    inputs TEXT NOT NULL DEFAULT '[]',
    note TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    estimated_tokens INTEGER,
    prompt_tokens INTEGER,
    PRIMARY KEY (content_hash, idx)
);
"""


class SummaryState(str, Enum):
    PENDING = "pending"    # queued, or part-way: the passes without a note are left
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


@dataclass(frozen=True)
class SummaryJob:
    content_hash: str
    state: SummaryState
    source_digest: str
    num_ctx: int
    reserve: int
    summary: str | None
    markdown: str | None
    outputs: tuple[Path, ...]
    error: str | None
    raw_reply: str | None
    failures: int
    retry_at: float | None


@dataclass(frozen=True)
class StoredPass:
    planned: PlannedPass
    note: str | None
    attempts: int
    estimated_tokens: int | None
    prompt_tokens: int | None

    @property
    def done(self) -> bool:
        return self.note is not None


class SummaryStore(SqliteStore):
    def __init__(self, path: Path) -> None:
        super().__init__(path, _SCHEMA)

    @staticmethod
    def _job(row: sqlite3.Row) -> SummaryJob:
        return SummaryJob(row["content_hash"], SummaryState(row["state"]),
                          row["source_digest"], row["num_ctx"], row["reserve"],
                          row["summary"], row["markdown"],
                          tuple(Path(p) for p in json.loads(row["outputs"])), row["error"],
                          row["raw_reply"], row["failures"], row["retry_at"])

    def job(self, content_hash: str) -> SummaryJob | None:
        with self._lock:
            row = self._db.execute("SELECT * FROM summaries WHERE content_hash = ?",
                                   (content_hash,)).fetchone()
        return self._job(row) if row else None

    def jobs(self) -> list[SummaryJob]:
        with self._lock:
            rows = self._db.execute("SELECT * FROM summaries ORDER BY created_at").fetchall()
        return [self._job(row) for row in rows]

    def enqueue(self, content_hash: str, *, again: bool = False) -> bool:
        """Queue a summary of the transcript; True when queued. A known one is queued again
        only with `again` (speakers renamed, the user asked): its passes are dropped."""
        now = time.time()
        with self._transaction() as db:
            row = db.execute("SELECT state FROM summaries WHERE content_hash = ?",
                             (content_hash,)).fetchone()
            if row is not None and not again:
                return False
            db.execute("DELETE FROM summary_passes WHERE content_hash = ?", (content_hash,))
            db.execute(
                "INSERT OR REPLACE INTO summaries (content_hash, state, created_at, updated_at)"
                " VALUES (?, ?, ?, ?)", (content_hash, SummaryState.PENDING.value, now, now))
        return True

    def next_due(self, now: float) -> SummaryJob | None:
        with self._lock:
            row = self._db.execute(
                "SELECT * FROM summaries WHERE state = ? AND (retry_at IS NULL OR retry_at <= ?)"
                " ORDER BY created_at, rowid LIMIT 1",
                (SummaryState.PENDING.value, now)).fetchone()
        return self._job(row) if row else None

    def next_retry_at(self) -> float | None:
        with self._lock:
            row = self._db.execute("SELECT MIN(retry_at) AS at FROM summaries WHERE state = ?",
                                   (SummaryState.PENDING.value,)).fetchone()
        return row["at"] if row else None

    def set_plan(self, content_hash: str, plan: SummaryPlan, *, source_digest: str,
                 num_ctx: int, reserve: int,
                 reuse: dict[tuple[int, int], tuple[str, int | None]] | None = None) -> None:
        """Store a fresh plan (the old passes go); a map pass over exactly the segments of a
        note in `reuse` ((first, last) → (note, prompt tokens)) starts done."""
        reuse = reuse or {}
        with self._transaction() as db:
            db.execute("DELETE FROM summary_passes WHERE content_hash = ?", (content_hash,))
            db.execute("UPDATE summaries SET source_digest = ?, num_ctx = ?, reserve = ?,"
                       " updated_at = ? WHERE content_hash = ?",
                       (source_digest, num_ctx, reserve, time.time(), content_hash))
            for planned in plan.passes:
                note, tokens = reuse.get((planned.first, planned.last), (None, None)) \
                    if planned.kind == "map" else (None, None)
                db.execute(
                    "INSERT INTO summary_passes (content_hash, idx, kind, level, first_segment,"
                    " last_segment, inputs, note, prompt_tokens) VALUES (?,?,?,?,?,?,?,?,?)",
                    (content_hash, planned.index, planned.kind, planned.level, planned.first,
                     planned.last, json.dumps(list(planned.inputs)), note, tokens))

    def passes(self, content_hash: str) -> list[StoredPass]:
        with self._lock:
            rows = self._db.execute("SELECT * FROM summary_passes WHERE content_hash = ?"
                                    " ORDER BY idx", (content_hash,)).fetchall()
        return [StoredPass(PlannedPass(row["idx"], row["kind"], row["level"],
                                       first=row["first_segment"], last=row["last_segment"],
                                       inputs=tuple(json.loads(row["inputs"]))),
                           row["note"], row["attempts"], row["estimated_tokens"],
                           row["prompt_tokens"]) for row in rows]

    def count_attempt(self, content_hash: str, index: int) -> int:
        with self._transaction() as db:
            db.execute("UPDATE summary_passes SET attempts = attempts + 1"
                       " WHERE content_hash = ? AND idx = ?", (content_hash, index))
            row = db.execute("SELECT attempts FROM summary_passes WHERE content_hash = ?"
                             " AND idx = ?", (content_hash, index)).fetchone()
        return int(row["attempts"]) if row else 0

    def save_note(self, content_hash: str, index: int, note: str, *, estimated: int,
                  prompt_tokens: int | None) -> None:
        with self._transaction() as db:
            db.execute("UPDATE summary_passes SET note = ?, estimated_tokens = ?,"
                       " prompt_tokens = ? WHERE content_hash = ? AND idx = ?",
                       (note, estimated, prompt_tokens, content_hash, index))

    def set_state(self, content_hash: str, state: SummaryState) -> None:
        with self._transaction() as db:
            db.execute("UPDATE summaries SET state = ?, updated_at = ? WHERE content_hash = ?",
                       (state.value, time.time(), content_hash))

    def finish(self, content_hash: str, summary: str, markdown: str,
               outputs: list[Path]) -> bool:
        """Store the finished summary; False (nothing stored) when the job is no longer
        running: queued again meanwhile (speakers renamed), its result is already stale."""
        with self._transaction() as db:
            cursor = db.execute(
                "UPDATE summaries SET state = ?, summary = ?, markdown = ?, outputs = ?,"
                " error = NULL, raw_reply = NULL, failures = 0, retry_at = NULL,"
                " updated_at = ? WHERE content_hash = ? AND state = ?",
                (SummaryState.DONE.value, summary, markdown,
                 json.dumps([str(p) for p in outputs]), time.time(), content_hash,
                 SummaryState.RUNNING.value))
        return cursor.rowcount == 1

    def fail(self, content_hash: str, reason: str, raw_reply: str | None = None) -> None:
        with self._transaction() as db:
            db.execute("UPDATE summaries SET state = ?, error = ?, raw_reply = ?,"
                       " retry_at = NULL, updated_at = ? WHERE content_hash = ?",
                       (SummaryState.FAILED.value, reason, raw_reply, time.time(),
                        content_hash))

    def defer(self, content_hash: str, retry_at: float, reason: str) -> int:
        """Back to the queue until `retry_at`; the failures in a row so far."""
        with self._transaction() as db:
            db.execute("UPDATE summaries SET state = ?, error = ?, retry_at = ?,"
                       " failures = failures + 1, updated_at = ? WHERE content_hash = ?",
                       (SummaryState.PENDING.value, reason, retry_at, time.time(),
                        content_hash))
            row = db.execute("SELECT failures FROM summaries WHERE content_hash = ?",
                             (content_hash,)).fetchone()
        return int(row["failures"]) if row else 0

    def resume_unfinished(self) -> list[str]:
        """After a crash or restart, a summary that was running goes back to the queue; its
        passes with notes stay done."""
        with self._transaction() as db:
            rows = db.execute("SELECT content_hash FROM summaries WHERE state = ?",
                              (SummaryState.RUNNING.value,)).fetchall()
            db.execute("UPDATE summaries SET state = ? WHERE state = ?",
                       (SummaryState.PENDING.value, SummaryState.RUNNING.value))
        return [row["content_hash"] for row in rows]
