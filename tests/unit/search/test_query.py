"""The search query module: what users type becomes a safe FTS5 expression; snippets."""

from __future__ import annotations

import random
import sqlite3

import pytest

from tui.search.query import (
    MATCH_CLOSE,
    MATCH_OPEN,
    clock,
    match_expression,
    parse_marked,
)
from tui.search.records import Marked

ROWS = [
    "Good morning, the warehouse lease is due in March",
    "Sure. E-mail me the contract (v3) and I'll sign it",
    "The warehouse in Porto closes; the Lisbon one stays",
    'He said "ship it" and left — café au lait, naïve résumé',
    "Operators: AND OR NOT NEAR col:value * ^ ( ) are just words here",
]


@pytest.fixture
def db() -> sqlite3.Connection:
    db = sqlite3.connect(":memory:")
    db.execute("CREATE VIRTUAL TABLE t USING fts5(body, tokenize = 'unicode61 "
               "remove_diacritics 2', prefix = '2 3')")
    db.executemany("INSERT INTO t (rowid, body) VALUES (?, ?)",
                   [(n, text) for n, text in enumerate(ROWS)])
    return db


def found(db: sqlite3.Connection, text: str, **options: bool) -> list[int]:
    expression = match_expression(text, **options)
    if expression is None:
        return []
    return sorted(row[0] for row in db.execute("SELECT rowid FROM t WHERE t MATCH ?",
                                               (expression,)))


def test_words_are_all_required(db: sqlite3.Connection) -> None:
    assert found(db, "warehouse lease ") == [0]
    assert found(db, "warehouse ") == [0, 2]


def test_the_word_being_typed_is_a_prefix_and_a_finished_one_is_not(
        db: sqlite3.Connection) -> None:
    assert found(db, "wareh") == [0, 2]
    assert found(db, "wareh ") == []
    assert found(db, "wareh", prefix_last=False) == []
    assert match_expression("lease wareh") == '"lease" AND "wareh"*'


def test_a_quoted_phrase_keeps_its_order(db: sqlite3.Connection) -> None:
    assert found(db, '"lease is due"') == [0]
    assert found(db, '"due is lease"') == []
    # Still typing the phrase: its last word is a prefix.
    assert found(db, '"the warehouse in Por') == [2]


def test_or_and_exclusions(db: sqlite3.Connection) -> None:
    assert found(db, "lease OR Porto ") == [0, 2]
    assert found(db, "warehouse -Porto ") == [0]
    assert found(db, "warehouse NOT lease ") == [2]
    assert found(db, "warehouse AND lease ") == [0]
    # Lower-case operators are words.
    assert match_expression("lisbon or porto ") == '"lisbon" AND "or" AND "porto"'
    assert found(db, "contract and sign ") == [1]


def test_hyphens_quotes_accents_and_operators_are_text(db: sqlite3.Connection) -> None:
    assert found(db, "e-mail") == [1]
    assert found(db, "(v3)") == [1]
    assert found(db, "I'll sign") == [1]
    assert found(db, "cafe naive resume ") == [3]
    assert found(db, "col:value ") == [4]
    assert found(db, 'said "ship it') == [3]


@pytest.mark.parametrize("text", [
    "", "   ", '"', '""', '"""', "-", "--", "*", "AND", "OR", "NOT", "AND OR NOT",
    "OR warehouse", "warehouse OR", "NOT warehouse", "-warehouse", "NEAR(a b, 2)", "a:b",
    "^start", "(", ")", "((a)", "a)", "{a b}", "a + b", "'", "\\", "\x00", "😀", "ü*",
    '"unclosed', 'a "b" c"', "a - b", "a -", "OR OR OR", "NOT NOT a", "-\"x\"", ":",
])
def test_nothing_a_user_types_is_a_syntax_error(db: sqlite3.Connection, text: str) -> None:
    found(db, text)
    found(db, text, prefix_last=False)


def test_random_input_never_raises(db: sqlite3.Connection) -> None:
    alphabet = [*'abc -"*():^{}+,.\'ÄéOR ANDNOT\t\n_0', "OR", "AND", "NOT", "NEAR"]
    rng = random.Random(17)
    for _ in range(2000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12)))
        found(db, text)


def test_nothing_to_search_for_is_none() -> None:
    for text in ("", "  ", '"', "- * ( )", "AND OR", "😀"):
        assert match_expression(text) is None
    # Only exclusions: the words are what to find.
    assert match_expression("-draft ") == '"draft"'


def test_snippet_markers_become_marked_parts() -> None:
    marked = parse_marked(f"…the {MATCH_OPEN}warehouse{MATCH_CLOSE} lease "
                          f"{MATCH_OPEN}is{MATCH_CLOSE}")
    assert marked.parts == (("…the ", False), ("warehouse", True), (" lease ", False),
                            ("is", True))
    assert marked.plain == "…the warehouse lease is"
    assert marked.spans == [(5, 14), (21, 23)]
    assert marked.has_match
    assert parse_marked(None) == Marked()
    assert not parse_marked("plain").has_match


def test_snippets_from_fts5_round_trip(db: sqlite3.Connection) -> None:
    expression = match_expression("lease")
    (snippet,) = db.execute(
        "SELECT snippet(t, 0, ?, ?, '…', 6) FROM t WHERE t MATCH ?",
        (MATCH_OPEN, MATCH_CLOSE, expression)).fetchone()
    marked = parse_marked(snippet)
    assert [text for text, matched in marked.parts if matched] == ["lease"]


def test_clock() -> None:
    assert clock(0) == "00:00:00"
    assert clock(3725.9) == "01:02:05"
    assert clock(None) == "00:00:00"
