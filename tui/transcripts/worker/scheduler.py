"""The worker's pipeline over the whole queue: files overlap, batches span files.

Three threads around one resident `WhisperxSession`:

- **prepare** decodes and VAD-splits the next submitted file while the current batch runs,
  staying `lookahead` chunks ahead (decoded audio is held until a file is finished, so the
  look-ahead bounds memory);
- **the ASR loop** (the caller's thread) takes the oldest waiting chunks of any files into
  one batch of `batch_size` (`CrossFileBatcher`), waiting for a full batch only while more
  files are being prepared, and routes each text back to its file;
- **finish** builds each complete file's result, aligns and diarizes it and sends FileDone,
  while the next batch is transcribed.

Stages that compute hold the session's device lock, so they never run at once (on a GPU the
plan counts one stage's activations; on the CPU two thread pools would fight over the cores);
what overlaps is decoding, the parent's hashing and writing, and the waits between them.

A batch that raises fails the files in it (a CUDA OOM among them: the parent restarts the
worker with a smaller batch, and puts back the files that were in flight).
"""

from __future__ import annotations

import logging
import queue
import threading
from collections import deque
from typing import Any

from tui.transcripts.events import StageChanged
from tui.transcripts.records import FileState
from tui.transcripts.worker.batcher import BatchItem, CrossFileBatcher, PreparedFile
from tui.transcripts.worker.session import WhisperxSession

log = logging.getLogger(__name__)


class CrossFileScheduler:
    def __init__(self, session: WhisperxSession, batch_size: int,
                 lookahead_chunks: int | None = None) -> None:
        self.session = session
        self.batch_size = max(1, batch_size)
        # Enough prepared chunks for the next two batches: the ASR loop never waits for a
        # decode while a file is waiting, and a long file is not decoded far ahead.
        self.lookahead_chunks = max(lookahead_chunks or 2 * self.batch_size, self.batch_size)
        self._batcher = CrossFileBatcher()
        self._submitted: deque[tuple[str, str]] = deque()
        self._preparing = False
        self._stopping = False
        self._changed = threading.Condition()
        self._finished: queue.Queue[PreparedFile | None] = queue.Queue()

    # -- input ------------------------------------------------------------------------------

    def submit(self, content_hash: str, path: str) -> None:
        with self._changed:
            self._submitted.append((content_hash, path))
            self._changed.notify_all()

    def stop(self) -> None:
        """Stop after the batch in progress; files not finished resume on the next start."""
        with self._changed:
            self._stopping = True
            self._changed.notify_all()

    def _read_requests(self, requests: Any) -> None:
        while True:
            try:
                request = requests.get()
            except (EOFError, OSError):  # the parent is gone
                request = None
            if request is None:
                self.stop()
                return
            self.submit(*request)

    # -- the three stages -----------------------------------------------------------------

    def _prepare_loop(self) -> None:
        while True:
            with self._changed:
                self._changed.wait_for(lambda: self._stopping or (
                    self._submitted and self._batcher.waiting_chunks < self.lookahead_chunks))
                if self._stopping:
                    return
                content_hash, path = self._submitted.popleft()
                self._preparing = True
            prepared = self.session.prepare(content_hash, path)
            with self._changed:
                self._preparing = False
                if prepared is not None:
                    if prepared.chunks:
                        self._batcher.add(prepared)
                    else:  # no speech: nothing to transcribe, an empty transcript
                        self._finished.put(prepared)
                self._changed.notify_all()

    def _finish_loop(self) -> None:
        while (prepared := self._finished.get()) is not None:
            self.session.finish(prepared)

    def _next_batch(self) -> list[BatchItem] | None:
        """The next batch, waiting for prepared chunks; None when stopping."""
        def ready() -> bool:
            # A full batch, or all there is: while more files are being prepared, a batch
            # waits for them (a drop of ten voice notes runs three batches of four, not a
            # batch of one first); a file dropped on its own starts at once.
            waiting = self._batcher.waiting_chunks
            more_coming = self._preparing or bool(self._submitted)
            return self._stopping or waiting >= self.batch_size or (
                waiting > 0 and not more_coming)

        with self._changed:
            if not ready() and (self._preparing or self._submitted):
                with self.session.clock.timed("worker wait"):
                    self._changed.wait_for(ready)
            self._changed.wait_for(ready)
            if self._stopping:
                return None
            batch = self._batcher.next_batch(self.batch_size)
            self._changed.notify_all()  # the preparer may run ahead again
            return batch

    def _run_batch(self, batch: list[BatchItem]) -> None:
        session = self.session
        for item in batch:
            if item.index == 0:
                session.emit(StageChanged(item.file.content_hash, FileState.TRANSCRIBING))
        try:
            results = session.transcribe_batch(batch)
        except Exception as error:
            failed = {id(item.file): item.file for item in batch}.values()
            with self._changed:
                for prepared in failed:
                    self._batcher.drop(prepared.content_hash)
            for prepared in failed:
                prepared.payload = None
                session.emit(session.failure_event(prepared.content_hash, error))
            session.release_cached_memory()
            return
        for item, result in zip(batch, results, strict=True):
            with self._changed:
                complete = self._batcher.record(item, result)
            session.emit_transcribed(item, result)
            if complete:
                self._finished.put(item.file)

    def serve(self, requests: Any) -> None:
        """Serve (content_hash, path) requests from the parent until None."""
        try:
            # Resident before the first file arrives, and loaded by one thread only.
            self.session.asr()
        except Exception as error:  # each file then fails with the reason (prepare)
            log.warning("Whisper could not be loaded: %s", error)
        threads = [threading.Thread(target=target, name=name, daemon=True) for target, name in (
            (lambda: self._read_requests(requests), "requests"),
            (self._prepare_loop, "prepare"),
            (self._finish_loop, "finish"))]
        for thread in threads:
            thread.start()
        while (batch := self._next_batch()) is not None:
            self._run_batch(batch)
        self._finished.put(None)
        threads[2].join()  # the file being aligned or diarized is finished first
