"""The search index: one SQLite FTS5 table in the state database, beside the stores' tables.

Each store describes its rows as an `IndexSource`: triggers on its own tables that write the
index rows (so a segment stored, replaced after alignment or diarization, or a speaker
renamed updates the index in the same transaction as the change itself, whatever method made
it, cascades included), and a `fill` statement that indexes everything the store holds.
`install_source` runs at each store's start: a database written before the source existed,
or by an older version of it, gets its triggers and its rows then (the migration);
`rebuild` empties the index and runs every installed source's fill again.

The index keeps its own copy of the text (a regular FTS5 table, not external content), so
deleting or changing a row never depends on the source rows still holding what was indexed.
Rows are keyed by rowid = source rowid × ROWID_SPAN + the source's code, so a trigger
reaches its index row by rowid, never by scanning.

Columns (the same for every source; bm25 weighs them by WEIGHTS):
    who    speaker (their name once renamed) / sender
    title  '' / subject
    body   segment text / mail body
    note   '' / the verdict's summary
and, not searched: kind, ref (content hash / mail key), pos (segment index), at (start
seconds), label (recording path / Message-ID).
"""

from __future__ import annotations

import logging
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from tui.adapters.sqlite_store import SqliteStore
from tui.search.query import MATCH_CLOSE, MATCH_OPEN, match_expression, parse_marked
from tui.search.records import SearchHit

log = logging.getLogger(__name__)

TABLE = "search_index"
ROWID_SPAN = 8  # room for 8 sources: 1 segments, 2 mail; 3 is kept for summaries
COLUMNS = ("who", "title", "body", "note", "kind", "ref", "pos", "at", "label")
# bm25 weights of who, title, body, note: a word in a subject or a speaker's name counts
# more than the same word somewhere in a long body.
WEIGHTS = (2.0, 3.0, 1.0, 1.5)
SNIPPET_TOKENS = 16

SCHEMA = f"""
CREATE VIRTUAL TABLE IF NOT EXISTS {TABLE} USING fts5(
    who, title, body, note,
    kind UNINDEXED, ref UNINDEXED, pos UNINDEXED, at UNINDEXED, label UNINDEXED,
    tokenize = 'unicode61 remove_diacritics 2', prefix = '2 3'
);
CREATE TABLE IF NOT EXISTS search_sources (
    kind TEXT PRIMARY KEY,
    version INTEGER NOT NULL,
    fill TEXT NOT NULL
);
"""


@dataclass(frozen=True)
class IndexSource:
    """One kind of indexed row. `triggers` maps each trigger's name to its CREATE TRIGGER
    statement; `fill` inserts every row of this kind (rowids `* ROWID_SPAN + code`).
    Changing what is indexed means a new `version`: the next start re-installs and refills."""

    kind: str
    code: int
    version: int
    triggers: dict[str, str]
    fill: str


def ensure_index(db: sqlite3.Connection) -> None:
    for statement in SCHEMA.split(";"):
        if statement.strip():
            db.execute(statement)


def install_source(db: sqlite3.Connection, source: IndexSource) -> bool:
    """Within the caller's transaction: the source's triggers, and its rows when the
    database has not indexed this version of it yet. True when it (re)indexed."""
    ensure_index(db)
    row = db.execute("SELECT version FROM search_sources WHERE kind = ?",
                     (source.kind,)).fetchone()
    present = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")}
    if row is not None and row[0] == source.version and set(source.triggers) <= present:
        return False
    for name in source.triggers:
        db.execute(f"DROP TRIGGER IF EXISTS {name}")
    for statement in source.triggers.values():
        db.execute(statement)
    db.execute(f"DELETE FROM {TABLE} WHERE kind = ?", (source.kind,))
    db.execute(source.fill)
    db.execute("INSERT INTO search_sources (kind, version, fill) VALUES (?, ?, ?)"
               " ON CONFLICT (kind) DO UPDATE SET version = excluded.version,"
               " fill = excluded.fill", (source.kind, source.version, source.fill))
    # Debug: it happens once per new database, and `watch` prints info lines to stderr.
    log.debug("search index: %s rows indexed (version %d)", source.kind, source.version)
    return True


def rebuild(db: sqlite3.Connection) -> dict[str, int]:
    """Within the caller's transaction: the whole index anew from every installed source.
    Returns the number of rows of each kind."""
    ensure_index(db)
    db.execute(f"DELETE FROM {TABLE}")
    for row in db.execute("SELECT fill FROM search_sources ORDER BY kind").fetchall():
        db.execute(row[0])
    db.execute(f"INSERT INTO {TABLE}({TABLE}) VALUES ('optimize')")
    return counts(db)


def counts(db: sqlite3.Connection) -> dict[str, int]:
    return {row[0]: row[1] for row in db.execute(
        f"SELECT kind, COUNT(*) FROM {TABLE} GROUP BY kind ORDER BY kind")}


def search(db: sqlite3.Connection, text: str, *, kinds: tuple[str, ...] | None = None,
           limit: int = 20, prefix_last: bool = True) -> list[SearchHit]:
    """The best `limit` hits for what the user typed, best first (bm25)."""
    expression = match_expression(text, prefix_last=prefix_last)
    if expression is None or limit <= 0:
        return []
    where = f"{TABLE} MATCH ?"
    parameters: list[object] = [expression]
    if kinds is not None:
        if not kinds:
            return []
        where += f" AND kind IN ({','.join('?' * len(kinds))})"
        parameters.extend(kinds)
    marks = f"'{MATCH_OPEN}', '{MATCH_CLOSE}'"
    weights = ", ".join(str(weight) for weight in WEIGHTS)
    rows = db.execute(
        f"SELECT kind, ref, pos, at, label,"
        f" highlight({TABLE}, 0, {marks}) AS who, highlight({TABLE}, 1, {marks}) AS title,"
        f" snippet({TABLE}, 2, {marks}, '…', {SNIPPET_TOKENS}) AS body,"
        f" snippet({TABLE}, 3, {marks}, '…', {SNIPPET_TOKENS}) AS note,"
        f" bm25({TABLE}, {weights}) AS score"
        f" FROM {TABLE} WHERE {where} ORDER BY score LIMIT ?",
        [*parameters, limit]).fetchall()
    return [_hit(row) for row in rows]


def _hit(row: sqlite3.Row | tuple) -> SearchHit:
    kind, ref, pos, at, label, who, title, body, note, score = tuple(row)
    body_marked, note_marked = parse_marked(body), parse_marked(note)
    # The passage that matched: the text itself, else the verdict's summary, else the start
    # of the text (the match was in the speaker, sender or subject).
    in_note = not body_marked.has_match and note_marked.has_match
    return SearchHit(kind=str(kind), ref=str(ref), position=None if pos is None else int(pos),
                     at=None if at is None else float(at), label=str(label or ""),
                     who=parse_marked(who), title=parse_marked(title),
                     snippet=note_marked if in_note else body_marked, in_note=in_note,
                     score=float(score))


class SearchIndex(SqliteStore):
    """The index on its own connection (reads beside the stores' writes, WAL): what the
    dashboard and `triage-tui search` query. A database no store has opened yet has an
    empty index; each store's start indexes what it holds."""

    def __init__(self, path: Path) -> None:
        super().__init__(path, SCHEMA)

    def search(self, text: str, *, kinds: tuple[str, ...] | None = None,
               limit: int = 20) -> list[SearchHit]:
        with self._lock:
            return search(self._db, text, kinds=kinds, limit=limit)

    def rebuild(self) -> dict[str, int]:
        with self._transaction() as db:
            return rebuild(db)

    def counts(self) -> dict[str, int]:
        with self._lock:
            return counts(self._db)
