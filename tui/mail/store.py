"""Mail state in SQLite: what was seen on the server, verdicts, decisions, applied actions.

A message is keyed by its identity (the Message-ID, or a content fingerprint for mail without
one), so a reconnect, a resync or a UIDVALIDITY change never triages the same mail twice; its
current (folder, UIDVALIDITY, UID) is kept beside it and checked against the identity before
any action touches the server. A batch whose call failed waits in the queue until `retry_at`,
kept here so the backoff survives a restart.
"""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path
from typing import Any

from tui.adapters.sqlite_store import SqliteStore
from tui.mail.records import AppliedAction, MailState, StoredMessage, StoredVerdict
from tui.search.index import ROWID_SPAN, IndexSource, install_source
from tui.search.records import MAIL

_SCHEMA = """
CREATE TABLE IF NOT EXISTS sync_state (
    folder TEXT PRIMARY KEY,
    uidvalidity INTEGER NOT NULL,
    last_uid INTEGER NOT NULL,
    since REAL
);
CREATE TABLE IF NOT EXISTS messages (
    key INTEGER PRIMARY KEY AUTOINCREMENT,
    message_id TEXT NOT NULL UNIQUE,
    folder TEXT NOT NULL,
    uidvalidity INTEGER NOT NULL,
    uid INTEGER NOT NULL,
    sender TEXT NOT NULL,
    subject TEXT NOT NULL,
    date TEXT NOT NULL,
    body TEXT NOT NULL,
    attachments TEXT NOT NULL,
    truncated INTEGER NOT NULL,
    problems TEXT NOT NULL,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    raw_reply TEXT,
    added_at REAL NOT NULL,
    retry_at REAL,
    failures INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS messages_state ON messages (state, key);
CREATE TABLE IF NOT EXISTS verdicts (
    key INTEGER PRIMARY KEY REFERENCES messages (key) ON DELETE CASCADE,
    priority TEXT NOT NULL,
    category TEXT NOT NULL,
    action TEXT NOT NULL,
    folder TEXT,
    summary TEXT NOT NULL,
    reason TEXT NOT NULL,
    injection_suspected INTEGER NOT NULL,
    injection_signals TEXT NOT NULL,
    created_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS actions (
    action_id INTEGER PRIMARY KEY AUTOINCREMENT,
    key INTEGER NOT NULL REFERENCES messages (key) ON DELETE CASCADE,
    action TEXT NOT NULL,
    folder TEXT,
    source TEXT NOT NULL,
    undo TEXT NOT NULL,
    applied_at REAL NOT NULL,
    undone_at REAL
);
"""
# Columns added since the first release: a database written by an older version gets them.
_ADDED_COLUMNS = (
    ("sync_state", "since", "REAL"),
    ("messages", "retry_at", "REAL"),
    ("messages", "failures", "INTEGER NOT NULL DEFAULT 0"),
)
# The search index's rows for mail (tui.search.index): sender, subject, the stored body text
# (as parsed, after truncation) and the verdict's summary, kept by triggers in the same
# transaction as the message or verdict itself.
_MAIL_ROW = f"key * {ROWID_SPAN} + 2"
_INDEX_COLUMNS = "(rowid, who, title, body, note, kind, ref, pos, at, label)"
_MAIL_VALUES = f"""(NEW.key * {ROWID_SPAN} + 2, NEW.sender, NEW.subject, NEW.body,
    COALESCE((SELECT summary FROM verdicts WHERE key = NEW.key), ''),
    '{MAIL}', NEW.key, NULL, NULL, NEW.message_id)"""
SEARCH_SOURCE = IndexSource(
    kind=MAIL, code=2, version=1,
    triggers={
        "search_mail_added": f"""CREATE TRIGGER search_mail_added
            AFTER INSERT ON messages BEGIN
            INSERT INTO search_index {_INDEX_COLUMNS} VALUES {_MAIL_VALUES};
            END""",
        "search_mail_changed": f"""CREATE TRIGGER search_mail_changed
            AFTER UPDATE OF sender, subject, body, message_id ON messages BEGIN
            DELETE FROM search_index WHERE rowid = OLD.key * {ROWID_SPAN} + 2;
            INSERT INTO search_index {_INDEX_COLUMNS} VALUES {_MAIL_VALUES};
            END""",
        "search_mail_removed": f"""CREATE TRIGGER search_mail_removed
            AFTER DELETE ON messages BEGIN
            DELETE FROM search_index WHERE rowid = OLD.key * {ROWID_SPAN} + 2;
            END""",
        # INSERT OR REPLACE of a verdict fires no DELETE trigger: the insert sets the note.
        "search_verdict_added": f"""CREATE TRIGGER search_verdict_added
            AFTER INSERT ON verdicts BEGIN
            UPDATE search_index SET note = NEW.summary WHERE rowid = NEW.{_MAIL_ROW};
            END""",
        "search_verdict_changed": f"""CREATE TRIGGER search_verdict_changed
            AFTER UPDATE OF summary ON verdicts BEGIN
            UPDATE search_index SET note = NEW.summary WHERE rowid = NEW.{_MAIL_ROW};
            END""",
        "search_verdict_removed": f"""CREATE TRIGGER search_verdict_removed
            AFTER DELETE ON verdicts BEGIN
            UPDATE search_index SET note = '' WHERE rowid = OLD.{_MAIL_ROW};
            END""",
    },
    fill=f"""INSERT INTO search_index {_INDEX_COLUMNS}
        SELECT m.key * {ROWID_SPAN} + 2, m.sender, m.subject, m.body, COALESCE(v.summary, ''),
               '{MAIL}', m.key, NULL, NULL, m.message_id
        FROM messages m LEFT JOIN verdicts v ON v.key = m.key""",
)
_UNFINISHED = (MailState.NEW.value, MailState.TRIAGING.value)


class MailStore(SqliteStore):
    def __init__(self, path: Path) -> None:
        super().__init__(path, _SCHEMA)
        with self._transaction() as db:
            for table, column, declaration in _ADDED_COLUMNS:
                columns = {row["name"] for row in db.execute(f"PRAGMA table_info({table})")}
                if column not in columns:
                    db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {declaration}")
            install_source(db, SEARCH_SOURCE)  # a database from before search: indexed now

    # -- sync position ------------------------------------------------------------------

    def sync_position(self, folder: str) -> tuple[int, int] | None:
        with self._lock:
            row = self._db.execute("SELECT uidvalidity, last_uid FROM sync_state WHERE folder = ?",
                                   (folder,)).fetchone()
        return (row["uidvalidity"], row["last_uid"]) if row else None

    def set_sync_position(self, folder: str, uidvalidity: int, last_uid: int) -> None:
        """Move the position; the first one also records when we first saw the folder."""
        with self._transaction() as db:
            db.execute("INSERT INTO sync_state (folder, uidvalidity, last_uid, since)"
                       " VALUES (?, ?, ?, ?)"
                       " ON CONFLICT (folder) DO UPDATE SET uidvalidity = excluded.uidvalidity,"
                       " last_uid = excluded.last_uid", (folder, uidvalidity, last_uid,
                                                         time.time()))

    def first_contact(self, folder: str) -> float | None:
        """When this folder was first synced (the first sync took only the newest mail);
        for a database older than that record, when its first known mail was stored."""
        with self._lock:
            row = self._db.execute("SELECT since FROM sync_state WHERE folder = ?",
                                   (folder,)).fetchone()
            if row is not None and row["since"] is not None:
                return float(row["since"])
            row = self._db.execute("SELECT MIN(added_at) FROM messages WHERE folder = ?",
                                   (folder,)).fetchone()
        return float(row[0]) if row and row[0] is not None else None

    # -- messages -------------------------------------------------------------------------

    @staticmethod
    def _message(row: sqlite3.Row) -> StoredMessage:
        return StoredMessage(
            key=row["key"], message_id=row["message_id"], folder=row["folder"],
            uidvalidity=row["uidvalidity"], uid=row["uid"], sender=row["sender"],
            subject=row["subject"], date=row["date"], body=row["body"],
            attachments=tuple(json.loads(row["attachments"])), truncated=bool(row["truncated"]),
            problems=tuple(json.loads(row["problems"])), state=MailState(row["state"]),
            attempts=row["attempts"], last_error=row["last_error"], raw_reply=row["raw_reply"],
            retry_at=row["retry_at"], failures=row["failures"],
        )

    def add_message(self, *, message_id: str, folder: str, uidvalidity: int, uid: int,
                    sender: str, subject: str, date: str, body: str,
                    attachments: list[str], truncated: bool, problems: list[str]
                    ) -> tuple[StoredMessage, bool]:
        """Insert a newly seen message; a known Message-ID only has its location refreshed."""
        with self._transaction() as db:
            row = db.execute("SELECT * FROM messages WHERE message_id = ?",
                             (message_id,)).fetchone()
            if row is not None:
                db.execute("UPDATE messages SET folder = ?, uidvalidity = ?, uid = ?"
                           " WHERE key = ?", (folder, uidvalidity, uid, row["key"]))
                row = db.execute("SELECT * FROM messages WHERE key = ?", (row["key"],)).fetchone()
                return self._message(row), False
            cursor = db.execute(
                "INSERT INTO messages (message_id, folder, uidvalidity, uid, sender, subject,"
                " date, body, attachments, truncated, problems, state, added_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (message_id, folder, uidvalidity, uid, sender, subject, date, body,
                 json.dumps(attachments), int(truncated), json.dumps(problems),
                 MailState.NEW.value, time.time()))
            row = db.execute("SELECT * FROM messages WHERE key = ?",
                             (cursor.lastrowid,)).fetchone()
        return self._message(row), True

    def relocate(self, key: int, folder: str, uidvalidity: int, uid: int) -> None:
        with self._transaction() as db:
            db.execute("UPDATE messages SET folder = ?, uidvalidity = ?, uid = ? WHERE key = ?",
                       (folder, uidvalidity, uid, key))

    def known_message_ids(self) -> set[str]:
        with self._lock:
            return {row[0] for row in self._db.execute("SELECT message_id FROM messages")}

    def locations(self) -> dict[str, tuple[int, str]]:
        """Every known identity (Message-ID or fingerprint) → (key, folder)."""
        with self._lock:
            rows = self._db.execute("SELECT message_id, key, folder FROM messages").fetchall()
        return {row["message_id"]: (row["key"], row["folder"]) for row in rows}

    def message(self, key: int) -> StoredMessage | None:
        with self._lock:
            row = self._db.execute("SELECT * FROM messages WHERE key = ?", (key,)).fetchone()
        return self._message(row) if row else None

    def messages(self, states: tuple[MailState, ...] | None = None) -> list[StoredMessage]:
        with self._lock:
            if states is None:
                rows = self._db.execute("SELECT * FROM messages ORDER BY key").fetchall()
            else:
                marks = ",".join("?" * len(states))
                rows = self._db.execute(
                    f"SELECT * FROM messages WHERE state IN ({marks}) ORDER BY key",
                    [s.value for s in states]).fetchall()
        return [self._message(row) for row in rows]

    def set_state(self, keys: list[int], state: MailState, *, error: str | None = None,
                  raw_reply: str | None = None, count_attempt: bool = False) -> None:
        with self._transaction() as db:
            for key in keys:
                db.execute(
                    "UPDATE messages SET state = ?, last_error = ?,"
                    " raw_reply = COALESCE(?, raw_reply), attempts = attempts + ? WHERE key = ?",
                    (state.value, error, raw_reply, int(count_attempt), key))

    def count_attempt(self, keys: list[int]) -> None:
        """The model answered for these mails (well or not): one more attempt each."""
        with self._transaction() as db:
            db.executemany("UPDATE messages SET attempts = attempts + 1 WHERE key = ?",
                           [(key,) for key in keys])

    def messages_due(self, now: float) -> list[StoredMessage]:
        """Mail waiting for triage whose retry time, if any, has come."""
        with self._lock:
            rows = self._db.execute(
                "SELECT * FROM messages WHERE state = ? AND (retry_at IS NULL OR retry_at <= ?)"
                " ORDER BY key", (MailState.NEW.value, now)).fetchall()
        return [self._message(row) for row in rows]

    def next_retry_at(self) -> float | None:
        with self._lock:
            row = self._db.execute("SELECT MIN(retry_at) FROM messages WHERE state = ?",
                                   (MailState.NEW.value,)).fetchone()
        return float(row[0]) if row and row[0] is not None else None

    def defer(self, keys: list[int], retry_at: float, error: str) -> list[int]:
        """A call for these mails failed: those not finished meanwhile (verdict saved, or
        failed for a bad reply) go back to the queue until `retry_at`. Returns their keys."""
        deferred = []
        with self._transaction() as db:
            for key in keys:
                cursor = db.execute(
                    "UPDATE messages SET state = ?, retry_at = ?, last_error = ?,"
                    " failures = failures + 1 WHERE key = ? AND state IN (?, ?)",
                    (MailState.NEW.value, retry_at, error, key, *_UNFINISHED))
                if cursor.rowcount:
                    deferred.append(key)
        return deferred

    def requeue(self, keys: list[int]) -> None:
        """Send mail back to the model now, as new: no retry time, no attempts counted."""
        with self._transaction() as db:
            db.executemany(
                "UPDATE messages SET state = ?, retry_at = NULL, failures = 0, attempts = 0,"
                " last_error = NULL WHERE key = ?",
                [(MailState.NEW.value, key) for key in keys])

    def resume_unfinished(self) -> list[int]:
        """Batches in flight when the process stopped go back to the triage queue."""
        with self._transaction() as db:
            rows = db.execute("SELECT key FROM messages WHERE state = ?",
                              (MailState.TRIAGING.value,)).fetchall()
            db.execute("UPDATE messages SET state = ? WHERE state = ?",
                       (MailState.NEW.value, MailState.TRIAGING.value))
        return [row["key"] for row in rows]

    # -- verdicts -------------------------------------------------------------------------

    def save_verdict(self, key: int, *, priority: str, category: str, action: str,
                     folder: str | None, summary: str, reason: str, injection_suspected: bool,
                     injection_signals: list[str]) -> None:
        with self._transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO verdicts (key, priority, category, action, folder,"
                " summary, reason, injection_suspected, injection_signals, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (key, priority, category, action, folder, summary, reason,
                 int(injection_suspected), json.dumps(injection_signals), time.time()))
            db.execute("UPDATE messages SET state = ?, last_error = NULL, retry_at = NULL,"
                       " failures = 0 WHERE key = ?", (MailState.TRIAGED.value, key))

    def verdict(self, key: int) -> StoredVerdict | None:
        with self._lock:
            row = self._db.execute("SELECT * FROM verdicts WHERE key = ?", (key,)).fetchone()
        if row is None:
            return None
        return StoredVerdict(
            key=row["key"], priority=row["priority"], category=row["category"],
            action=row["action"], folder=row["folder"], summary=row["summary"],
            reason=row["reason"], injection_suspected=bool(row["injection_suspected"]),
            injection_signals=tuple(json.loads(row["injection_signals"])))

    # -- actions --------------------------------------------------------------------------

    def record_action(self, key: int, action: str, folder: str | None, source: str,
                      undo: dict[str, Any]) -> int:
        with self._transaction() as db:
            cursor = db.execute(
                "INSERT INTO actions (key, action, folder, source, undo, applied_at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (key, action, folder, source, json.dumps(undo), time.time()))
            db.execute("UPDATE messages SET state = ? WHERE key = ?",
                       (MailState.DECIDED.value, key))
            return int(cursor.lastrowid or 0)

    def last_action(self, key: int) -> AppliedAction | None:
        with self._lock:
            row = self._db.execute(
                "SELECT * FROM actions WHERE key = ? AND undone_at IS NULL"
                " ORDER BY action_id DESC LIMIT 1", (key,)).fetchone()
        if row is None:
            return None
        return AppliedAction(row["action_id"], row["key"], row["action"], row["folder"],
                             row["source"], json.loads(row["undo"]), row["applied_at"],
                             row["undone_at"])

    def mark_undone(self, action_id: int, key: int) -> None:
        with self._transaction() as db:
            db.execute("UPDATE actions SET undone_at = ? WHERE action_id = ?",
                       (time.time(), action_id))
            db.execute("UPDATE messages SET state = ? WHERE key = ?",
                       (MailState.TRIAGED.value, key))
