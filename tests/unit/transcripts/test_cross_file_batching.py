"""Cross-file batching: the batcher's bookkeeping, and the worker's scheduler driving a
session whose stages are instant and recorded (the real WhisperX runs in
tests/functional/transcripts)."""

from __future__ import annotations

import queue
import threading
from typing import Any

import pytest

from tui.transcripts.events import FileFailed
from tui.transcripts.profile import StageClock, profile_table
from tui.transcripts.worker.batcher import BatchItem, ChunkResult, CrossFileBatcher, PreparedFile
from tui.transcripts.worker.scheduler import CrossFileScheduler


def prepared(name: str, chunks: int, language: str = "en") -> PreparedFile:
    return PreparedFile(name, language, [(float(i), float(i) + 1) for i in range(chunks)])


def names(batch: list[BatchItem]) -> list[tuple[str, int]]:
    return [(item.file.content_hash, item.index) for item in batch]


def test_a_batch_takes_the_oldest_chunks_across_files() -> None:
    batcher = CrossFileBatcher()
    for name, chunks in (("a", 1), ("b", 3), ("c", 2)):
        batcher.add(prepared(name, chunks))
    assert batcher.waiting_chunks == 6
    assert names(batcher.next_batch(4)) == [("a", 0), ("b", 0), ("b", 1), ("b", 2)]
    assert names(batcher.next_batch(4)) == [("c", 0), ("c", 1)]
    assert batcher.next_batch(4) == []


def test_a_file_is_complete_when_its_last_chunk_is_recorded_in_any_order() -> None:
    batcher = CrossFileBatcher()
    batcher.add(prepared("a", 2))
    first, second = batcher.next_batch(2)
    assert not batcher.record(second, ChunkResult("two", -0.1))
    assert batcher.record(first, ChunkResult("one", -0.2))
    assert [r.text for r in first.file.results if r] == ["one", "two"]
    assert len(batcher) == 0


def test_one_batch_has_one_language_and_a_file_in_another_keeps_its_place() -> None:
    batcher = CrossFileBatcher()
    batcher.add(prepared("en1", 1))
    batcher.add(prepared("de", 2, "de"))
    batcher.add(prepared("en2", 1))
    assert names(batcher.next_batch(4)) == [("en1", 0), ("en2", 0)]
    assert names(batcher.next_batch(4)) == [("de", 0), ("de", 1)]


def test_a_file_without_speech_never_waits_and_a_dropped_file_leaves() -> None:
    batcher = CrossFileBatcher()
    batcher.add(prepared("silent", 0))
    batcher.add(prepared("a", 2))
    assert batcher.drop("a") is not None and batcher.waiting_chunks == 0
    assert batcher.drop("a") is None


class InstantSession:
    """Stages that return at once and record what ran; `hold` keeps `prepare` of the named
    files waiting until released, as a slow decode would."""

    def __init__(self, chunks: dict[str, int], fail_batches_with: str | None = None) -> None:
        self.chunks = chunks
        self.fail_batches_with = fail_batches_with
        self.batches: list[list[tuple[str, int]]] = []
        self.events: list[object] = []
        self.finished: list[str] = []
        self.clock = StageClock()
        self.hold: dict[str, threading.Event] = {}
        self.done = threading.Event()

    def asr(self) -> None:
        return None

    def emit(self, event: object) -> None:
        self.events.append(event)

    def prepare(self, content_hash: str, path: str) -> PreparedFile:
        if content_hash in self.hold:
            self.hold[content_hash].wait(5)
        return prepared(content_hash, self.chunks[content_hash])

    def transcribe_batch(self, items: list[BatchItem]) -> list[ChunkResult]:
        self.batches.append(names(items))
        if self.fail_batches_with:
            raise RuntimeError(self.fail_batches_with)
        return [ChunkResult(f"{item.file.content_hash}{item.index}", -0.1) for item in items]

    def emit_transcribed(self, item: BatchItem, result: ChunkResult) -> None:
        self.events.append((item.file.content_hash, item.index, result.text))

    def finish(self, file: PreparedFile) -> None:
        self.finished.append(file.content_hash)
        if len(self.finished) + self.failed() == len(self.chunks):
            self.done.set()

    def failed(self) -> int:
        return sum(isinstance(e, FileFailed) for e in self.events)

    def failure_event(self, content_hash: str, error: Exception) -> FileFailed:
        event = FileFailed(content_hash, str(error))
        if len(self.finished) + self.failed() + 1 == len(self.chunks):
            self.done.set()
        return event

    def release_cached_memory(self) -> None:
        return None


def serve(session: InstantSession, files: list[str], batch_size: int) -> None:
    requests: queue.Queue[Any] = queue.Queue()
    for name in files:
        requests.put((name, f"/audio/{name}.wav"))
    scheduler = CrossFileScheduler(session, batch_size)  # type: ignore[arg-type]
    thread = threading.Thread(target=scheduler.serve, args=(requests,), daemon=True)
    thread.start()
    assert session.done.wait(10)
    requests.put(None)
    thread.join(10)
    assert not thread.is_alive()


def test_a_drop_of_voice_notes_fills_every_batch() -> None:
    files = [f"note{i}" for i in range(10)]
    session = InstantSession(dict.fromkeys(files, 1))
    serve(session, files, batch_size=4)
    assert [len(batch) for batch in session.batches] == [4, 4, 2]
    assert session.finished == files  # finished in the order they came
    # Each file's segment texts are its own.
    assert ("note7", 0, "note70") in session.events


def test_segments_of_a_long_file_come_in_order_between_short_ones() -> None:
    files = ["short", "long", "tail"]
    session = InstantSession({"short": 1, "long": 6, "tail": 2})
    serve(session, files, batch_size=4)
    long_order = [index for name, index, _ in
                  (e for e in session.events if isinstance(e, tuple)) if name == "long"]
    assert long_order == list(range(6))
    assert sum(len(b) for b in session.batches) == 9 and len(session.batches) == 3


def test_a_file_dropped_alone_starts_without_waiting_for_a_full_batch() -> None:
    session = InstantSession({"only": 1, "later": 1})
    session.hold["later"] = threading.Event()
    requests: queue.Queue[Any] = queue.Queue()
    requests.put(("only", "/a.wav"))
    scheduler = CrossFileScheduler(session, 8)  # type: ignore[arg-type]
    thread = threading.Thread(target=scheduler.serve, args=(requests,), daemon=True)
    thread.start()
    deadline = threading.Event()
    for _ in range(100):
        if session.finished == ["only"]:
            break
        deadline.wait(0.05)
    assert session.batches == [[("only", 0)]]
    session.hold["later"].set()
    requests.put(None)
    thread.join(10)


def test_a_failed_batch_fails_its_files_and_the_worker_goes_on() -> None:
    session = InstantSession({"a": 1, "b": 1}, fail_batches_with="CUDA out of memory")
    serve(session, ["a", "b"], batch_size=2)
    failed = sorted(e.content_hash for e in session.events if isinstance(e, FileFailed))
    assert failed == ["a", "b"] and session.finished == []


@pytest.mark.parametrize("wall", [None, 2.0])
def test_the_profile_table_lists_stages_in_pipeline_order(wall: float | None) -> None:
    clock = StageClock()
    clock.add("write", 0.5)
    clock.add("asr", 1.0, 3)
    clock.add("decode", 0.25)
    table = profile_table(clock.snapshot(), wall)
    stages = [line.split()[0] for line in table.splitlines()[1:]]
    assert stages[:3] == ["decode", "asr", "write"]
    assert ("50 %" in table) == (wall is not None)
