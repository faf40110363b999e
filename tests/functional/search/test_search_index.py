"""The search index against real SQLite files, filled through the real stores: every way a
segment or a mail is written updates it, it survives a restart, a rebuild gives the same
hits, and a database written before search is indexed when it is opened."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.functional.search.stored_data import (
    PHRASE,
    add_mail,
    digest,
    fill_mail,
    fill_transcripts,
)
from tui.mail import store as mail_store
from tui.mail.store import MailStore
from tui.search.index import SearchIndex
from tui.search.records import MAIL, MAIL_KINDS, SEGMENT, TRANSCRIPT_KINDS, SearchHit
from tui.transcripts import store as transcript_store
from tui.transcripts.records import StoredSegment
from tui.transcripts.store import TranscriptStore


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "state" / "state.db"


@pytest.fixture
def transcripts(db_path: Path) -> Iterator[TranscriptStore]:
    store = TranscriptStore(db_path)
    yield store
    store.close()


@pytest.fixture
def mail(db_path: Path) -> Iterator[MailStore]:
    store = MailStore(db_path)
    yield store
    store.close()


@pytest.fixture
def index(db_path: Path, transcripts: TranscriptStore, mail: MailStore) -> Iterator[SearchIndex]:
    # Its own connection, as the dashboard and the CLI have.
    opened = SearchIndex(db_path)
    yield opened
    opened.close()


def texts(hits: list[SearchHit]) -> list[str]:
    return [hit.snippet.plain for hit in hits]


def identities(hits: list[SearchHit]) -> list[tuple[str, str, int | None, str, str]]:
    return [(h.kind, h.ref, h.position, h.who.plain, h.snippet.plain) for h in hits]


def segment(index: int, text: str, speaker: str | None = "SPEAKER_00") -> StoredSegment:
    return StoredSegment(index, index * 5.0, index * 5.0 + 4.0, text, speaker)


def test_put_segment_is_searchable_at_once_with_its_file_time_and_speaker(
        transcripts: TranscriptStore, index: SearchIndex) -> None:
    transcripts.add(digest(1), Path("/drop/standup.m4a"), 10)
    transcripts.put_segment(digest(1), segment(0, "good morning everyone"))
    transcripts.put_segment(digest(1), segment(3, "the warehouse lease is due", "SPEAKER_01"))
    (hit,) = index.search("warehouse")
    assert (hit.kind, hit.ref, hit.position, hit.at) == (SEGMENT, digest(1), 3, 15.0)
    assert hit.label == "/drop/standup.m4a"
    assert hit.who.plain == "SPEAKER_01"
    assert [t for t, matched in hit.snippet.parts if matched] == ["warehouse"]


def test_a_segment_stored_again_replaces_its_index_row(
        transcripts: TranscriptStore, index: SearchIndex) -> None:
    transcripts.add(digest(1), Path("/drop/a.m4a"), 10)
    transcripts.put_segment(digest(1), segment(0, "first draft of the words"))
    transcripts.put_segment(digest(1), segment(0, "second version of the words"))
    assert index.search("draft") == []
    assert texts(index.search("words")) == ["second version of the words"]
    assert index.counts() == {SEGMENT: 1}


def test_replace_segments_after_alignment_leaves_only_the_new_ones(
        transcripts: TranscriptStore, index: SearchIndex) -> None:
    transcripts.add(digest(1), Path("/drop/a.m4a"), 10)
    for i in range(5):
        transcripts.put_segment(digest(1), segment(i, f"raw whisper line {i}", None))
    transcripts.replace_segments(digest(1), [segment(0, "aligned line zero", "SPEAKER_00"),
                                             segment(1, "aligned line one", "SPEAKER_01")])
    assert index.search("whisper") == []
    assert sorted((h.position, h.who.plain) for h in index.search("aligned")) == \
        [(0, "SPEAKER_00"), (1, "SPEAKER_01")]
    assert index.counts() == {SEGMENT: 2}


def test_renaming_a_speaker_updates_their_rows_only(
        transcripts: TranscriptStore, index: SearchIndex) -> None:
    transcripts.add(digest(1), Path("/drop/a.m4a"), 10)
    transcripts.add(digest(2), Path("/drop/b.m4a"), 10)
    transcripts.put_segment(digest(1), segment(0, "hello from the first", "SPEAKER_00"))
    transcripts.put_segment(digest(1), segment(1, "reply from the second", "SPEAKER_01"))
    transcripts.put_segment(digest(2), segment(0, "another file's speaker", "SPEAKER_00"))
    transcripts.rename_speaker(digest(1), "SPEAKER_00", "Ana")
    (hit,) = index.search("Ana")
    assert (hit.ref, hit.position, hit.who.plain) == (digest(1), 0, "Ana")
    assert hit.who.has_match
    transcripts.rename_speaker(digest(1), "SPEAKER_00", "Ana Ruiz")
    assert [h.who.plain for h in index.search("Ruiz")] == ["Ana Ruiz"]
    # The other file's SPEAKER_00 and this file's SPEAKER_01 keep their labels.
    assert sorted((h.ref, h.who.plain) for h in index.search("SPEAKER_00")) == \
        [(digest(2), "SPEAKER_00")]
    # A segment stored after the rename (diarization finished later) gets the name too.
    transcripts.replace_segments(digest(1), [segment(0, "hello again", "SPEAKER_00")])
    assert [h.who.plain for h in index.search("hello")] == ["Ana Ruiz"]


def test_a_superseded_file_leaves_the_index(transcripts: TranscriptStore,
                                            index: SearchIndex) -> None:
    transcripts.add(digest(1), Path("/drop/a.m4a"), 10)
    transcripts.put_segment(digest(1), segment(0, "content that changed"))
    transcripts.supersede(digest(1), "changed")
    assert index.search("content") == []


def test_mail_is_searchable_by_sender_subject_body_and_verdict_summary(
        mail: MailStore, index: SearchIndex) -> None:
    key = add_mail(mail, 1, subject="Contract v3", body="Please sign by Friday.",
                   sender="Ana Ruiz <ana@example.org>")
    add_mail(mail, 2, subject="Lunch", body="Pizza?")
    for query in ("Ruiz", "contract", "friday", "ana@example.org"):
        hits = index.search(query, kinds=MAIL_KINDS)
        assert [(h.kind, h.mail_id) for h in hits] == [(MAIL, f"m{key}")], query
    (hit,) = index.search("contract")
    assert (hit.who.plain, hit.title.plain, hit.label) == (
        "Ana Ruiz <ana@example.org>", "Contract v3", "<m1@example.org>")
    assert index.search("signature") == []
    mail.save_verdict(key, priority="high", category="work", action="flag", folder=None,
                      summary="Ana needs a signature", reason="r", injection_suspected=False,
                      injection_signals=[])
    (hit,) = index.search("signature")
    assert hit.in_note and hit.snippet.plain == "Ana needs a signature"
    # A re-triage replaces the verdict: the old summary is no longer found.
    mail.save_verdict(key, priority="low", category="work", action="none", folder=None,
                      summary="nothing to do", reason="r", injection_suspected=False,
                      injection_signals=[])
    assert index.search("signature") == []
    assert len(index.search("nothing")) == 1
    # Seen again at another place (a resync): still one row.
    mail.add_message(message_id="<m1@example.org>", folder="Archive", uidvalidity=2, uid=9,
                     sender="x", subject="x", date="", body="x", attachments=[],
                     truncated=False, problems=[])
    mail.relocate(key, "INBOX", 3, 4)
    assert index.counts() == {MAIL: 2}


def test_scopes_and_ranking(transcripts: TranscriptStore, mail: MailStore,
                            index: SearchIndex) -> None:
    fill_transcripts(transcripts, files=3, segments=5, phrase_in=(1, 2))
    key = fill_mail(mail, mails=4, phrase_in=2)
    both = index.search(f'"{PHRASE}"')
    assert sorted(h.kind for h in both) == [MAIL, SEGMENT]
    assert [h.ref for h in index.search(f'"{PHRASE}"', kinds=MAIL_KINDS)] == [str(key)]
    (hit,) = index.search(f'"{PHRASE}"', kinds=TRANSCRIPT_KINDS)
    assert (hit.ref, hit.position, hit.at) == (digest(1), 2, 20.0)
    # A word in the subject outranks the same word once in a long body.
    add_mail(mail, 50, subject="Invoice", body="see attached " * 50)
    add_mail(mail, 51, subject="Hello", body="the invoice is attached " + "words " * 50)
    assert [h.title.plain for h in index.search("invoice")] == ["Invoice", "Hello"]
    assert len(index.search("item", limit=3)) == 3
    assert index.search("item", kinds=()) == []


def test_the_index_survives_a_restart_and_a_rebuild_gives_the_same_hits(
        db_path: Path) -> None:
    transcripts, mail = TranscriptStore(db_path), MailStore(db_path)
    fill_transcripts(transcripts, files=4, segments=10, phrase_in=(2, 7))
    fill_mail(mail, mails=6, phrase_in=3)
    transcripts.rename_speaker(digest(2), "SPEAKER_01", "Bruno")
    index = SearchIndex(db_path)
    queries = [f'"{PHRASE}"', "Bruno", "item", "routine", "sprint OR budget", "wareh"]
    before = {q: identities(index.search(q, limit=100)) for q in queries}
    assert all(before.values())
    for closing in (index, transcripts, mail):
        closing.close()

    transcripts, mail, index = TranscriptStore(db_path), MailStore(db_path), SearchIndex(db_path)
    try:
        after = {q: identities(index.search(q, limit=100)) for q in queries}
        assert after == before
        counts = index.counts()
        assert index.rebuild() == counts == {MAIL: 6, SEGMENT: 40}
        rebuilt = {q: identities(index.search(q, limit=100)) for q in queries}
        assert rebuilt == before
        # Writes after the rebuild still reach the index (the triggers are untouched).
        transcripts.put_segment(digest(0), segment(99, "a brand new sentence"))
        assert len(index.search("brand new")) == 1
    finally:
        for closing in (index, transcripts, mail):
            closing.close()


def test_a_database_from_before_search_is_indexed_when_opened(db_path: Path) -> None:
    """The tables as the previous version wrote them (no index, no triggers), filled with
    plain SQL; opening the stores builds the index, and the triggers then keep it."""
    db_path.parent.mkdir(parents=True)
    old = sqlite3.connect(db_path)
    old.executescript(transcript_store._SCHEMA + mail_store._SCHEMA)
    old.execute("INSERT INTO audio_files (content_hash, path, size, state, added_at, "
                "updated_at) VALUES (?, '/drop/old.m4a', 1, 'done', 0, 0)", (digest(5),))
    old.execute("INSERT INTO segments (content_hash, idx, start, \"end\", text, speaker) "
                "VALUES (?, 4, 61.5, 64, 'we signed the warehouse lease', 'SPEAKER_00')",
                (digest(5),))
    old.execute("INSERT INTO speaker_names VALUES (?, 'SPEAKER_00', 'Carla')", (digest(5),))
    old.execute("INSERT INTO messages (message_id, folder, uidvalidity, uid, sender, subject,"
                " date, body, attachments, truncated, problems, state, added_at) VALUES"
                " ('<old@x>', 'INBOX', 1, 1, 'Dora <d@x>', 'Old mail', '', 'about the "
                "warehouse', '[]', 0, '[]', 'triaged', 0)")
    old.commit()
    assert "search_index" not in {r[0] for r in old.execute("SELECT name FROM sqlite_master")}
    old.close()

    transcripts, mail = TranscriptStore(db_path), MailStore(db_path)
    index = SearchIndex(db_path)
    try:
        hits = index.search("warehouse")
        assert sorted((h.kind, h.who.plain) for h in hits) == [(MAIL, "Dora <d@x>"),
                                                               (SEGMENT, "Carla")]
        (segment_hit,) = [h for h in hits if h.kind == SEGMENT]
        assert (segment_hit.label, segment_hit.position, segment_hit.at) == \
            ("/drop/old.m4a", 4, 61.5)
        transcripts.rename_speaker(digest(5), "SPEAKER_00", "Carla Diaz")
        assert [h.who.plain for h in index.search("Diaz")] == ["Carla Diaz"]
    finally:
        for closing in (index, transcripts, mail):
            closing.close()
    # Opening again does not index twice.
    transcripts, mail, index = TranscriptStore(db_path), MailStore(db_path), SearchIndex(db_path)
    try:
        assert index.counts() == {MAIL: 1, SEGMENT: 1}
    finally:
        for closing in (index, transcripts, mail):
            closing.close()


def test_a_write_that_fails_leaves_the_index_as_it_was(
        transcripts: TranscriptStore, index: SearchIndex) -> None:
    """The index rows are written in the segments' own transaction: a rollback takes both."""
    transcripts.add(digest(1), Path("/drop/a.m4a"), 10)
    transcripts.put_segment(digest(1), segment(0, "kept line"))
    broken = StoredSegment(1, 5.0, 6.0, None, None)  # type: ignore[arg-type]
    with pytest.raises(sqlite3.IntegrityError):
        transcripts.replace_segments(digest(1), [segment(0, "new line"), broken])
    assert texts(index.search("line")) == ["kept line"]
    with pytest.raises(sqlite3.IntegrityError):  # no such recording
        transcripts.put_segment(digest(9), segment(0, "orphan line"))
    assert index.search("orphan") == []
