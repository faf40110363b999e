"""TranscriptStore against a real SQLite file: queue, states, segments, restart, threads."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tui.transcripts.records import FileState, StoredSegment
from tui.transcripts.store import TranscriptStore

ACTIVE_STATES = [FileState.DECODING, FileState.TRANSCRIBING, FileState.ALIGNING,
                 FileState.DIARIZING, FileState.WRITING]


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    # A nested folder also checks that the store creates its parent directory.
    return tmp_path / "state" / "transcripts.sqlite3"


@pytest.fixture
def store(db_path: Path) -> Iterator[TranscriptStore]:
    opened = TranscriptStore(db_path)
    yield opened
    opened.close()


def _hash(n: int) -> str:
    return f"{n:064x}"


def test_add_queues_a_new_file(store: TranscriptStore, db_path: Path) -> None:
    assert db_path.is_file()
    result = store.add(_hash(1), Path("/drop/talk.wav"), 1234)
    assert result.is_new
    record = result.record
    assert record.content_hash == _hash(1)
    assert record.path == Path("/drop/talk.wav")
    assert record.size == 1234
    assert record.state is FileState.QUEUED
    assert record.attempts == 0
    assert record.error is None
    assert record.outputs == ()
    assert store.get(_hash(1)) == record
    assert store.get(_hash(2)) is None


def test_same_hash_again_is_not_new_and_returns_the_existing_record(
        store: TranscriptStore) -> None:
    first = store.add(_hash(1), Path("/drop/talk.wav"), 10).record
    store.set_state(_hash(1), FileState.TRANSCRIBING, detail="40%")
    # A rename or re-drop of the same content must not queue it again.
    again = store.add(_hash(1), Path("/drop/renamed.wav"), 10)
    assert not again.is_new
    assert again.record.path == Path("/drop/talk.wav")
    assert again.record.state is FileState.TRANSCRIBING
    assert again.record.added_at == first.added_at
    assert len(store.files()) == 1


def test_same_hash_of_a_done_file_is_not_redone(store: TranscriptStore) -> None:
    store.add(_hash(1), Path("/drop/a.wav"), 10)
    store.finish(_hash(1), [Path("/out/a.txt")], "en")
    again = store.add(_hash(1), Path("/drop/a.wav"), 10)
    assert not again.is_new
    assert again.record.state is FileState.DONE
    assert store.next_queued() is None


def test_next_queued_is_oldest_first(store: TranscriptStore) -> None:
    assert store.next_queued() is None
    # Added in quick succession, possibly within one clock tick: rowid must break the tie.
    for n in range(1, 6):
        store.add(_hash(n), Path(f"/drop/{n}.wav"), n)
    order = []
    while (record := store.next_queued()) is not None:
        order.append(record.content_hash)
        store.set_state(record.content_hash, FileState.DECODING)
    assert order == [_hash(n) for n in range(1, 6)]


def test_next_queued_skips_files_in_other_states(store: TranscriptStore) -> None:
    store.add(_hash(1), Path("/drop/1.wav"), 1)
    store.add(_hash(2), Path("/drop/2.wav"), 2)
    store.set_state(_hash(1), FileState.FAILED, error="broken")
    queued = store.next_queued()
    assert queued is not None and queued.content_hash == _hash(2)


def test_set_state_stores_detail_and_error(store: TranscriptStore) -> None:
    store.add(_hash(1), Path("/drop/a.wav"), 1)
    before = store.get(_hash(1))
    assert before is not None
    store.set_state(_hash(1), FileState.ALIGNING, detail="aligning words")
    record = store.get(_hash(1))
    assert record is not None
    assert record.state is FileState.ALIGNING
    assert record.detail == "aligning words"
    assert record.error is None
    assert record.updated_at >= before.updated_at


def test_start_attempt_counts_up(store: TranscriptStore) -> None:
    store.add(_hash(1), Path("/drop/a.wav"), 1)
    assert store.start_attempt(_hash(1)) == 1
    assert store.start_attempt(_hash(1)) == 2
    record = store.get(_hash(1))
    assert record is not None and record.attempts == 2


def test_finish_records_outputs_and_language_and_clears_errors(
        store: TranscriptStore) -> None:
    store.add(_hash(1), Path("/drop/a.wav"), 1)
    store.set_state(_hash(1), FileState.WRITING, detail="writing", error="old problem")
    outputs = [Path("/out/a.txt"), Path("/out/a.srt"), Path("/out/a.json")]
    store.finish(_hash(1), outputs, "de")
    record = store.get(_hash(1))
    assert record is not None
    assert record.state is FileState.DONE
    assert record.state.is_final
    assert record.outputs == tuple(outputs)
    assert record.language == "de"
    assert record.error is None
    assert record.detail == ""


def test_fail_records_the_reason_and_requeue_resets(store: TranscriptStore) -> None:
    store.add(_hash(1), Path("/drop/a.wav"), 1)
    store.fail(_hash(1), "no audio stream")
    record = store.get(_hash(1))
    assert record is not None
    assert record.state is FileState.FAILED
    assert record.error == "no audio stream"
    store.requeue(_hash(1))
    record = store.get(_hash(1))
    assert record is not None
    assert record.state is FileState.QUEUED
    assert record.error is None


def test_a_failed_file_dropped_again_goes_to_the_back_of_the_queue(
        store: TranscriptStore) -> None:
    store.add(_hash(1), Path("/drop/a.wav"), 1)
    store.start_attempt(_hash(1))
    store.fail(_hash(1), "HTTP 404: model not found")
    failed = store.get(_hash(1))
    assert failed is not None
    store.add(_hash(2), Path("/drop/b.wav"), 1)
    # The periodic rescan sees the same file, unchanged since it failed: not retried.
    rescanned = store.add(_hash(1), Path("/drop/a.wav"), 1, modified_at=failed.updated_at - 5)
    assert not rescanned.is_new and rescanned.record.state is FileState.FAILED
    # Copied in again (or touched) after the failure: queued behind b.wav, a fresh start.
    again = store.add(_hash(1), Path("/drop/a-again.wav"), 1,
                      modified_at=failed.updated_at + 1)
    assert again.is_new
    assert (again.record.state, again.record.attempts, again.record.error) == (
        FileState.QUEUED, 0, None)
    assert again.record.path == Path("/drop/a-again.wav")
    queued = store.next_queued()
    assert queued is not None and queued.content_hash == _hash(2)
    # A done file is never redone, whatever its mtime.
    store.finish(_hash(2), [Path("/out/b.txt")], "en")
    assert not store.add(_hash(2), Path("/drop/b.wav"), 1, modified_at=time.time() + 60).is_new


def _words() -> tuple[dict[str, Any], ...]:
    # Alignment can leave start/end/score missing for a word (numbers, symbols): None survives.
    return (
        {"word": "Hello", "start": 0.12, "end": 0.5, "score": 0.98},
        {"word": "42", "start": None, "end": None, "score": None},
        {"word": "world.", "start": 0.61, "end": 1.0, "score": 0.5, "speaker": "SPEAKER_01"},
    )


def test_put_segment_round_trips_words_and_speaker(store: TranscriptStore) -> None:
    store.add(_hash(1), Path("/drop/a.wav"), 1)
    segment = StoredSegment(0, 0.12, 1.0, "Hello 42 world.", "SPEAKER_01", _words())
    store.put_segment(_hash(1), segment)
    store.put_segment(_hash(1), StoredSegment(1, 1.5, 2.25, "No speaker yet."))
    got = store.segments(_hash(1))
    assert got == [segment, StoredSegment(1, 1.5, 2.25, "No speaker yet.", None, ())]
    assert got[0].words[1]["start"] is None


def test_put_segment_with_the_same_index_replaces_it(store: TranscriptStore) -> None:
    store.add(_hash(1), Path("/drop/a.wav"), 1)
    store.put_segment(_hash(1), StoredSegment(0, 0.0, 1.0, "draft"))
    store.put_segment(_hash(1), StoredSegment(0, 0.0, 1.0, "final", "SPEAKER_00"))
    assert store.segments(_hash(1)) == [StoredSegment(0, 0.0, 1.0, "final", "SPEAKER_00")]


def test_segments_come_back_in_index_order(store: TranscriptStore) -> None:
    store.add(_hash(1), Path("/drop/a.wav"), 1)
    for index in (2, 0, 1):
        store.put_segment(_hash(1), StoredSegment(index, float(index), index + 0.5, f"s{index}"))
    assert [s.index for s in store.segments(_hash(1))] == [0, 1, 2]


def test_replace_segments_swaps_the_whole_set(store: TranscriptStore) -> None:
    store.add(_hash(1), Path("/drop/a.wav"), 1)
    store.add(_hash(2), Path("/drop/b.wav"), 2)
    for index in range(3):
        store.put_segment(_hash(1), StoredSegment(index, index, index + 1, f"raw {index}"))
    store.put_segment(_hash(2), StoredSegment(0, 0, 1, "other file"))
    # Alignment rewrites the segments: fewer of them, with words and speakers.
    aligned = [
        StoredSegment(0, 0.12, 1.0, "Hello 42 world.", "SPEAKER_00", _words()),
        StoredSegment(1, 1.2, 2.0, "Bye.", "SPEAKER_01",
                      ({"word": "Bye.", "start": 1.2, "end": 2.0, "score": 0.7},)),
    ]
    store.replace_segments(_hash(1), aligned)
    assert store.segments(_hash(1)) == aligned
    # Another file's segments are untouched.
    assert store.segments(_hash(2)) == [StoredSegment(0, 0.0, 1.0, "other file")]
    store.replace_segments(_hash(1), [])
    assert store.segments(_hash(1)) == []


def test_resume_unfinished_requeues_every_active_state(store: TranscriptStore) -> None:
    hashes: dict[FileState, str] = {}
    for n, state in enumerate([*ACTIVE_STATES, FileState.DONE, FileState.FAILED,
                               FileState.QUEUED]):
        hashes[state] = _hash(n)
        store.add(_hash(n), Path(f"/drop/{n}.wav"), n)
        if state is FileState.DONE:
            store.finish(_hash(n), [Path(f"/out/{n}.txt")], "en")
        elif state is FileState.FAILED:
            store.fail(_hash(n), "bad file")
        elif state is not FileState.QUEUED:
            store.set_state(_hash(n), state, detail="mid-way")
    assert all(state.is_active for state in ACTIVE_STATES)

    resumed = store.resume_unfinished()

    assert sorted(resumed) == sorted(hashes[state] for state in ACTIVE_STATES)
    for state in ACTIVE_STATES:
        record = store.get(hashes[state])
        assert record is not None and record.state is FileState.QUEUED, state
    done = store.get(hashes[FileState.DONE])
    failed = store.get(hashes[FileState.FAILED])
    queued = store.get(hashes[FileState.QUEUED])
    assert done is not None and done.state is FileState.DONE
    assert done.outputs == (Path(f"/out/{len(ACTIVE_STATES)}.txt"),)
    assert failed is not None and failed.state is FileState.FAILED
    assert failed.error == "bad file"
    assert queued is not None and queued.state is FileState.QUEUED
    assert queued.detail == ""  # was never mid-way, so it is not marked as resumed
    # Nothing left to resume a second time.
    assert store.resume_unfinished() == []


def test_a_second_store_on_the_same_file_sees_everything(db_path: Path) -> None:
    first = TranscriptStore(db_path)
    first.add(_hash(1), Path("/drop/a.wav"), 11)
    first.add(_hash(2), Path("/drop/b.wav"), 22)
    first.start_attempt(_hash(1))
    first.set_state(_hash(1), FileState.DIARIZING, detail="diarizing")
    segment = StoredSegment(0, 0.12, 1.0, "Hello 42 world.", "SPEAKER_00", _words())
    first.put_segment(_hash(1), segment)
    first.rename_speaker(_hash(1), "SPEAKER_00", "Alice")
    first.finish(_hash(2), [Path("/out/b.txt")], "en")
    before = {r.content_hash: r for r in first.files()}
    first.close()  # a restart: the process goes away, a new one opens the same file

    second = TranscriptStore(db_path)
    try:
        after = {r.content_hash: r for r in second.files()}
        assert after == before
        assert second.segments(_hash(1)) == [segment]
        assert second.speaker_names(_hash(1)) == {"SPEAKER_00": "Alice"}
        assert second.resume_unfinished() == [_hash(1)]
        record = second.get(_hash(1))
        assert record is not None
        assert record.state is FileState.QUEUED
        assert record.attempts == 1  # the attempt count survives, for retry limits
        assert not second.add(_hash(2), Path("/drop/b.wav"), 22).is_new
    finally:
        second.close()


def test_a_second_open_store_sees_writes_while_the_first_is_open(db_path: Path) -> None:
    # Two processes (the TUI and a CLI) may have the file open at once (WAL mode).
    first = TranscriptStore(db_path)
    second = TranscriptStore(db_path)
    try:
        first.add(_hash(1), Path("/drop/a.wav"), 1)
        first.put_segment(_hash(1), StoredSegment(0, 0.0, 1.0, "hi"))
        assert [r.content_hash for r in second.files()] == [_hash(1)]
        assert second.segments(_hash(1)) == [StoredSegment(0, 0.0, 1.0, "hi")]
    finally:
        first.close()
        second.close()


def test_speaker_renames_are_stored_per_file(store: TranscriptStore) -> None:
    store.add(_hash(1), Path("/drop/a.wav"), 1)
    store.add(_hash(2), Path("/drop/b.wav"), 2)
    assert store.speaker_names(_hash(1)) == {}
    store.rename_speaker(_hash(1), "SPEAKER_00", "Alice")
    store.rename_speaker(_hash(1), "SPEAKER_01", "Bob")
    store.rename_speaker(_hash(1), "SPEAKER_00", "Alice Smith")  # renamed again
    store.rename_speaker(_hash(2), "SPEAKER_00", "Carol")
    assert store.speaker_names(_hash(1)) == {"SPEAKER_00": "Alice Smith", "SPEAKER_01": "Bob"}
    assert store.speaker_names(_hash(2)) == {"SPEAKER_00": "Carol"}


def test_concurrent_put_segment_loses_nothing(store: TranscriptStore) -> None:
    threads_count, per_thread = 4, 50
    store.add(_hash(1), Path("/drop/a.wav"), 1)
    start = threading.Barrier(threads_count)
    errors: list[BaseException] = []

    def writer(worker: int) -> None:
        try:
            start.wait()  # line the threads up so their writes really interleave
            for i in range(per_thread):
                index = worker * per_thread + i
                store.put_segment(_hash(1), StoredSegment(
                    index, float(index), index + 0.5, f"w{worker} s{i}", f"SPEAKER_{worker:02d}",
                    ({"word": f"w{i}", "start": float(index), "end": None, "score": 0.5},)))
                if i % 10 == 0:
                    store.start_attempt(_hash(1))  # mix in other writers and readers
                    store.segments(_hash(1))
        except BaseException as error:  # surfaced in the main thread below
            errors.append(error)

    workers = [threading.Thread(target=writer, args=(w,)) for w in range(threads_count)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=30)
    assert not errors
    assert not any(worker.is_alive() for worker in workers)

    got = store.segments(_hash(1))
    assert [s.index for s in got] == list(range(threads_count * per_thread))
    for segment in got:
        worker, i = divmod(segment.index, per_thread)
        assert segment.text == f"w{worker} s{i}"
        assert segment.speaker == f"SPEAKER_{worker:02d}"
        assert segment.words == ({"word": f"w{i}", "start": float(segment.index),
                                  "end": None, "score": 0.5},)
    record = store.get(_hash(1))
    assert record is not None
    assert record.attempts == threads_count * (per_thread // 10)


def test_concurrent_add_of_the_same_content_queues_it_once(store: TranscriptStore) -> None:
    # Duplicate watchdog events can race to add one file: exactly one add may be new.
    threads_count = 8
    start = threading.Barrier(threads_count)
    results: list[bool] = []
    results_lock = threading.Lock()

    def adder() -> None:
        start.wait()
        result = store.add(_hash(7), Path("/drop/a.wav"), 1)
        with results_lock:
            results.append(result.is_new)

    workers = [threading.Thread(target=adder) for _ in range(threads_count)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=30)
    assert sorted(results) == [False] * (threads_count - 1) + [True]
    assert len(store.files()) == 1
