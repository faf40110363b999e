"""Transcript state in SQLite: the queue, each file's stage, and its segments.

Everything the pipeline knows lives here, so a crash or restart loses nothing: files that
were mid-way are queued again, finished ones are never redone. Only the SQLite side: the
types it reads and writes (`FileState`, `AudioFileRecord`, `StoredSegment`, `AddResult`)
are in `tui.transcripts.records`.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Collection
from pathlib import Path

from tui.adapters.sqlite_store import SqliteStore
from tui.search.index import ROWID_SPAN, IndexSource, install_source
from tui.search.records import SEGMENT
from tui.transcripts.records import (
    ACTIVE_STATES,
    AddResult,
    AudioFileRecord,
    FileState,
    StoredSegment,
)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS audio_files (
    content_hash TEXT PRIMARY KEY,
    path TEXT NOT NULL,
    size INTEGER NOT NULL,
    state TEXT NOT NULL,
    detail TEXT NOT NULL DEFAULT '',
    error TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    language TEXT,
    outputs TEXT NOT NULL DEFAULT '[]',
    added_at REAL NOT NULL,
    updated_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS audio_files_queue ON audio_files (state, added_at);
CREATE TABLE IF NOT EXISTS segments (
    content_hash TEXT NOT NULL REFERENCES audio_files (content_hash) ON DELETE CASCADE,
    idx INTEGER NOT NULL,
    start REAL NOT NULL,
    "end" REAL NOT NULL,
    text TEXT NOT NULL,
    speaker TEXT,
    words TEXT NOT NULL DEFAULT '[]',
    PRIMARY KEY (content_hash, idx)
);
CREATE TABLE IF NOT EXISTS speaker_names (
    content_hash TEXT NOT NULL REFERENCES audio_files (content_hash) ON DELETE CASCADE,
    speaker TEXT NOT NULL,
    name TEXT NOT NULL,
    PRIMARY KEY (content_hash, speaker)
);
"""
_SCHEMA_VERSION = 1

# The search index's rows for segments (tui.search.index): kept by triggers, so that every
# path that writes segments — put_segment, replace_segments after alignment or diarization,
# supersede, a cascade — and every speaker renamed updates the index in its own transaction.
_SEGMENT_ROW = f"rowid * {ROWID_SPAN} + 1"
_SEGMENT_VALUES = f"""(NEW.rowid * {ROWID_SPAN} + 1,
    COALESCE((SELECT name FROM speaker_names
              WHERE content_hash = NEW.content_hash AND speaker = NEW.speaker),
             NEW.speaker, ''),
    '', NEW.text, '', '{SEGMENT}', NEW.content_hash, NEW.idx, NEW.start,
    COALESCE((SELECT path FROM audio_files WHERE content_hash = NEW.content_hash), ''))"""
_INDEX_COLUMNS = "(rowid, who, title, body, note, kind, ref, pos, at, label)"
_RENAMED = f"""UPDATE search_index SET who = {{name}} WHERE rowid IN (
    SELECT {_SEGMENT_ROW} FROM segments
    WHERE content_hash = {{row}}.content_hash AND speaker = {{row}}.speaker)"""
SEARCH_SOURCE = IndexSource(
    kind=SEGMENT, code=1, version=1,
    triggers={
        # INSERT OR REPLACE drops the old row without a DELETE trigger: drop its index row
        # here, while the old row is still there to be found.
        "search_segment_replaced": f"""CREATE TRIGGER search_segment_replaced
            BEFORE INSERT ON segments BEGIN
            DELETE FROM search_index WHERE rowid = (SELECT {_SEGMENT_ROW} FROM segments
                WHERE content_hash = NEW.content_hash AND idx = NEW.idx);
            END""",
        "search_segment_added": f"""CREATE TRIGGER search_segment_added
            AFTER INSERT ON segments BEGIN
            INSERT INTO search_index {_INDEX_COLUMNS} VALUES {_SEGMENT_VALUES};
            END""",
        "search_segment_changed": f"""CREATE TRIGGER search_segment_changed
            AFTER UPDATE ON segments BEGIN
            DELETE FROM search_index WHERE rowid = OLD.rowid * {ROWID_SPAN} + 1;
            INSERT INTO search_index {_INDEX_COLUMNS} VALUES {_SEGMENT_VALUES};
            END""",
        "search_segment_removed": f"""CREATE TRIGGER search_segment_removed
            AFTER DELETE ON segments BEGIN
            DELETE FROM search_index WHERE rowid = OLD.rowid * {ROWID_SPAN} + 1;
            END""",
        "search_speaker_named": f"""CREATE TRIGGER search_speaker_named
            AFTER INSERT ON speaker_names BEGIN
            {_RENAMED.format(name="NEW.name", row="NEW")};
            END""",
        "search_speaker_renamed": f"""CREATE TRIGGER search_speaker_renamed
            AFTER UPDATE ON speaker_names BEGIN
            {_RENAMED.format(name="NEW.name", row="NEW")};
            END""",
        "search_speaker_unnamed": f"""CREATE TRIGGER search_speaker_unnamed
            AFTER DELETE ON speaker_names BEGIN
            {_RENAMED.format(name="OLD.speaker", row="OLD")};
            END""",
        "search_recording_moved": f"""CREATE TRIGGER search_recording_moved
            AFTER UPDATE OF path ON audio_files BEGIN
            UPDATE search_index SET label = NEW.path WHERE rowid IN (
                SELECT {_SEGMENT_ROW} FROM segments WHERE content_hash = NEW.content_hash);
            END""",
    },
    fill=f"""INSERT INTO search_index {_INDEX_COLUMNS}
        SELECT s.rowid * {ROWID_SPAN} + 1, COALESCE(n.name, s.speaker, ''), '', s.text, '',
               '{SEGMENT}', s.content_hash, s.idx, s.start, COALESCE(a.path, '')
        FROM segments s
        LEFT JOIN speaker_names n ON n.content_hash = s.content_hash AND n.speaker = s.speaker
        LEFT JOIN audio_files a ON a.content_hash = s.content_hash""",
)


class TranscriptStore(SqliteStore):
    def __init__(self, path: Path) -> None:
        super().__init__(path, _SCHEMA)
        self._db.execute(f"PRAGMA user_version={_SCHEMA_VERSION}")
        with self._transaction() as db:
            install_source(db, SEARCH_SOURCE)  # a database from before search: indexed now

    @staticmethod
    def _record(row: sqlite3.Row) -> AudioFileRecord:
        return AudioFileRecord(
            content_hash=row["content_hash"],
            path=Path(row["path"]),
            size=row["size"],
            state=FileState(row["state"]),
            detail=row["detail"],
            error=row["error"],
            attempts=row["attempts"],
            language=row["language"],
            outputs=tuple(Path(p) for p in json.loads(row["outputs"])),
            added_at=row["added_at"],
            updated_at=row["updated_at"],
        )

    def get(self, content_hash: str) -> AudioFileRecord | None:
        with self._lock:
            row = self._db.execute("SELECT * FROM audio_files WHERE content_hash = ?",
                                   (content_hash,)).fetchone()
        return self._record(row) if row else None

    def files(self) -> list[AudioFileRecord]:
        with self._lock:
            rows = self._db.execute("SELECT * FROM audio_files ORDER BY added_at").fetchall()
        return [self._record(row) for row in rows]

    def add(self, content_hash: str, path: Path, size: int,
            modified_at: float | None = None) -> AddResult:
        """Queue a file unless its content is already known. A failed file comes back to
        the end of the queue when it was dropped (or touched) again after it failed,
        `modified_at` being its mtime: the periodic rescan alone never retries it."""
        now = time.time()
        with self._transaction() as db:
            row = db.execute("SELECT * FROM audio_files WHERE content_hash = ?",
                             (content_hash,)).fetchone()
            dropped_again = (row is not None and row["state"] == FileState.FAILED.value
                             and modified_at is not None and modified_at > row["updated_at"])
            # A superseded version was never transcribed: its content is back (the file
            # was touched mid-run, or written back to it), so it is queued again.
            back_again = row is not None and row["state"] == FileState.SUPERSEDED.value
            if row is not None and not dropped_again and not back_again:
                return AddResult(self._record(row), is_new=False)
            if dropped_again or back_again:
                db.execute("UPDATE audio_files SET path = ?, size = ? WHERE content_hash = ?",
                           (str(path), size, content_hash))
                detail = "dropped again after failing" if dropped_again else "queued again"
                return AddResult(self._start_over(db, content_hash, detail), is_new=True)
            db.execute(
                "INSERT INTO audio_files (content_hash, path, size, state, added_at, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (content_hash, str(path), size, FileState.QUEUED.value, now, now),
            )
            row = db.execute("SELECT * FROM audio_files WHERE content_hash = ?",
                             (content_hash,)).fetchone()
        return AddResult(self._record(row), is_new=True)

    def requeue_failed(self) -> list[AudioFileRecord]:
        """Every failed file back to the end of the queue, oldest first, for a fresh start
        (the user asked: the server is fixed, the model is there now)."""
        with self._transaction() as db:
            rows = db.execute("SELECT content_hash FROM audio_files WHERE state = ? "
                              "ORDER BY added_at, rowid", (FileState.FAILED.value,)).fetchall()
            return [self._start_over(db, row["content_hash"], "retried after failing")
                    for row in rows]

    def _start_over(self, db: sqlite3.Connection, content_hash: str,
                    detail: str) -> AudioFileRecord:
        now = time.time()
        db.execute("UPDATE audio_files SET state = ?, detail = ?, error = NULL, attempts = 0,"
                   " added_at = ?, updated_at = ? WHERE content_hash = ?",
                   (FileState.QUEUED.value, detail, now, now, content_hash))
        row = db.execute("SELECT * FROM audio_files WHERE content_hash = ?",
                         (content_hash,)).fetchone()
        return self._record(row)

    def next_queued(self, exclude: Collection[str] = ()) -> AudioFileRecord | None:
        """The oldest queued file, leaving out `exclude` (already handed to the worker)."""
        marks = ",".join("?" * len(exclude))
        with self._lock:
            row = self._db.execute(
                "SELECT * FROM audio_files WHERE state = ?"
                + (f" AND content_hash NOT IN ({marks})" if exclude else "")
                + " ORDER BY added_at, rowid LIMIT 1",
                (FileState.QUEUED.value, *exclude),
            ).fetchone()
        return self._record(row) if row else None

    def set_state(self, content_hash: str, state: FileState, detail: str = "",
                  error: str | None = None) -> None:
        with self._transaction() as db:
            db.execute(
                "UPDATE audio_files SET state = ?, detail = ?, error = ?, updated_at = ?"
                " WHERE content_hash = ?",
                (state.value, detail, error, time.time(), content_hash),
            )

    def start_attempt(self, content_hash: str) -> int:
        with self._transaction() as db:
            db.execute("UPDATE audio_files SET attempts = attempts + 1, updated_at = ?"
                       " WHERE content_hash = ?", (time.time(), content_hash))
            row = db.execute("SELECT attempts FROM audio_files WHERE content_hash = ?",
                             (content_hash,)).fetchone()
        return int(row["attempts"])

    def finish(self, content_hash: str, outputs: list[Path], language: str | None,
               detail: str = "") -> None:
        """Done; `detail` keeps any warning about the file (e.g. audio missing at the end)."""
        with self._transaction() as db:
            db.execute(
                "UPDATE audio_files SET state = ?, detail = ?, error = NULL, outputs = ?,"
                " language = ?, updated_at = ? WHERE content_hash = ?",
                (FileState.DONE.value, detail, json.dumps([str(p) for p in outputs]),
                 language, time.time(), content_hash),
            )

    def supersede(self, content_hash: str, reason: str) -> None:
        """This version of a file changed before it was transcribed: not failed, dropped.
        Its segments go (they were of content that no longer exists)."""
        with self._transaction() as db:
            db.execute(
                "UPDATE audio_files SET state = ?, detail = ?, error = NULL, updated_at = ?"
                " WHERE content_hash = ?",
                (FileState.SUPERSEDED.value, reason, time.time(), content_hash))
            db.execute("DELETE FROM segments WHERE content_hash = ?", (content_hash,))

    def unfinished_at(self, path: Path) -> list[AudioFileRecord]:
        """Versions of the file at `path` still queued or mid-way, oldest first."""
        states = [FileState.QUEUED.value, *(state.value for state in ACTIVE_STATES)]
        marks = ",".join("?" * len(states))
        with self._lock:
            rows = self._db.execute(
                f"SELECT * FROM audio_files WHERE path = ? AND state IN ({marks})"
                " ORDER BY added_at, rowid", [str(path), *states]).fetchall()
        return [self._record(row) for row in rows]

    def output_names(self) -> dict[Path, Path]:
        """Every output file of a finished transcript → the recording it was written for."""
        with self._lock:
            rows = self._db.execute("SELECT path, outputs FROM audio_files WHERE state = ?",
                                    (FileState.DONE.value,)).fetchall()
        return {Path(output): Path(row["path"])
                for row in rows for output in json.loads(row["outputs"])}

    def fail(self, content_hash: str, reason: str) -> None:
        self.set_state(content_hash, FileState.FAILED, error=reason)

    def requeue(self, content_hash: str) -> None:
        self.set_state(content_hash, FileState.QUEUED)

    def put_back(self, content_hash: str, detail: str) -> None:
        """The attempt never got an answer (the remote ASR server is unreachable): queued
        again in its old place, and the attempt is not counted against the file."""
        with self._transaction() as db:
            db.execute(
                "UPDATE audio_files SET state = ?, detail = ?, error = NULL,"
                " attempts = MAX(attempts - 1, 0), updated_at = ? WHERE content_hash = ?",
                (FileState.QUEUED.value, detail, time.time(), content_hash),
            )

    def resume_unfinished(self) -> list[str]:
        """After a crash or restart, files that were mid-way go back to the queue."""
        active = [state.value for state in ACTIVE_STATES]
        marks = ",".join("?" * len(active))
        with self._transaction() as db:
            rows = db.execute(f"SELECT content_hash FROM audio_files WHERE state IN ({marks})",
                              active).fetchall()
            db.execute(f"UPDATE audio_files SET state = ?, detail = 'resumed after restart'"
                       f" WHERE state IN ({marks})", [FileState.QUEUED.value, *active])
        return [row["content_hash"] for row in rows]

    def put_segment(self, content_hash: str, segment: StoredSegment) -> None:
        with self._transaction() as db:
            self._write_segment(db, content_hash, segment)

    def replace_segments(self, content_hash: str, segments: list[StoredSegment]) -> None:
        with self._transaction() as db:
            db.execute("DELETE FROM segments WHERE content_hash = ?", (content_hash,))
            for segment in segments:
                self._write_segment(db, content_hash, segment)

    @staticmethod
    def _write_segment(db: sqlite3.Connection, content_hash: str,
                       segment: StoredSegment) -> None:
        db.execute(
            'INSERT OR REPLACE INTO segments (content_hash, idx, start, "end", text, speaker,'
            " words) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (content_hash, segment.index, segment.start, segment.end, segment.text,
             segment.speaker, json.dumps(list(segment.words))),
        )

    def segments(self, content_hash: str) -> list[StoredSegment]:
        with self._lock:
            rows = self._db.execute(
                'SELECT idx, start, "end", text, speaker, words FROM segments'
                " WHERE content_hash = ? ORDER BY idx", (content_hash,)).fetchall()
        return [StoredSegment(row["idx"], row["start"], row["end"], row["text"], row["speaker"],
                              tuple(json.loads(row["words"]))) for row in rows]

    def rename_speaker(self, content_hash: str, speaker: str, name: str) -> None:
        with self._transaction() as db:
            db.execute("INSERT OR REPLACE INTO speaker_names (content_hash, speaker, name)"
                       " VALUES (?, ?, ?)", (content_hash, speaker, name))

    def speaker_names(self, content_hash: str) -> dict[str, str]:
        with self._lock:
            rows = self._db.execute("SELECT speaker, name FROM speaker_names"
                                    " WHERE content_hash = ?", (content_hash,)).fetchall()
        return {row["speaker"]: row["name"] for row in rows}
