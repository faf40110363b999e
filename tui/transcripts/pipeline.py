"""The transcript pipeline: a queue in SQLite, one WhisperX worker, events to subscribers.

Headless and thread-based: `add_file` may be called from any thread (the watcher's), files
are processed one at a time, oldest first, on the pipeline's own thread; subscribers are
called on that thread and must hand the event on (the dashboard posts a message).

With a remote ASR server (`asr_backend = "openai"`), a server that does not answer —
refused, timed out, 429, 502/503/504 — is not the file's fault: the file goes back to the
head of the queue (in SQLite, so a restart keeps it), the queue pauses for `backoff`'s
delay (5 s doubling to 5 min, with jitter, or the server's Retry-After; `AsrPaused`), and
the same file is tried again; the first answer ends the pause (`AsrResumed`). Answers about
the file (400, 401, 404, …) fail it as before.

Nothing done twice, nothing written for content that no longer exists: a file that changes
while it waits or is transcribed (a writer that paused longer than the watcher's stability
window) is *superseded* — a queued version is marked so, a running one is cancelled (its
worker killed; the next file gets a fresh one) — and the watcher hands the final content over
once it stops changing. Before a file starts, and again before its outputs are written, its
content is checked against the version that was queued.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from pathlib import Path

from tui.subscribers import Listener, Subscribers
from tui.transcripts.backoff import RetryBackoff, display_url
from tui.transcripts.events import (
    AsrPaused,
    AsrResumed,
    AudioDecoded,
    BatchSizeReduced,
    DuplicateSkipped,
    FileDone,
    FileFailed,
    FileQueued,
    FileSuperseded,
    FileWarning,
    RemoteAsrUnreachable,
    SegmentsRefined,
    SegmentTranscribed,
    StageChanged,
    WorkerProfile,
)
from tui.transcripts.file_identity import content_hash
from tui.transcripts.options import TranscribeOptions, after_out_of_memory
from tui.transcripts.outputs import output_name, write_outputs
from tui.transcripts.probe import ProbeError, missing_audio_warning, probe_audio
from tui.transcripts.profile import StageClock
from tui.transcripts.records import AudioFileRecord, FileState
from tui.transcripts.store import TranscriptStore
from tui.transcripts.worker.handle import WorkerExited, WorkerProcess

log = logging.getLogger(__name__)

# A worker crash may be the file's fault or a passing condition (the OOM killer): try again
# once in a fresh worker before calling the file failed.
MAX_ATTEMPTS = 2
# An HTTP 500, or no answer long after the upload, may be the server's trouble or this
# file's (a request it cannot handle, a recording too long for the timeout): such a file is
# tried this many times, with the backoff between, then fails with the reason, so one file
# cannot stall the queue for ever.
MAX_SUSPECT_TRIES = 3

Signature = tuple[int, int]  # (size, mtime_ns): a file's content is unchanged while it holds


def _signature(path: Path) -> Signature:
    stat = path.stat()
    return stat.st_size, stat.st_mtime_ns


class TranscriptPipeline:
    def __init__(self, store: TranscriptStore, options: TranscribeOptions, output_dir: Path,
                 worker: WorkerProcess | None = None,
                 backoff: RetryBackoff | None = None) -> None:
        self.store = store
        self.options = options
        self.output_dir = output_dir
        self.worker = worker or WorkerProcess(options)
        self.backoff = backoff or RetryBackoff()
        self._configured_batch_size = options.batch_size
        self._suspect_tries: dict[str, int] = {}
        self._subscribers = Subscribers("transcript")
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._idle = threading.Event()
        self._started_threads: list[threading.Thread] = []
        # The file being worked on, and the versions found superseded while in flight; the
        # lock orders "take the next file" against "this path changed" (the watcher's thread).
        self._lock = threading.Lock()
        self._in_flight: dict[str, AudioFileRecord] = {}  # handed to the worker
        self._outcomes: deque[FileDone | FileFailed | FileSuperseded | AsrPaused] = deque()
        self._solo: set[str] = set()  # in the worker when it died: retried one at a time
        self.clock = StageClock()  # the parent's stages; the worker's come in WorkerProfile
        self.worker_profile: dict[str, tuple[float, int]] = {}
        self._superseded: set[str] = set()
        self._signatures: dict[str, Signature] = {}  # as queued, to notice a change
        self._declared_seconds: dict[str, float | None] = {}
        self._warnings: dict[str, list[str]] = {}
        self._readd: dict[str, Path] = {}

    # -- subscribers ------------------------------------------------------------------

    def subscribe(self, listener: Listener) -> None:
        self._subscribers.add(listener)

    def _publish(self, event: object) -> None:
        self._subscribers.publish(event)

    # -- input --------------------------------------------------------------------------

    def add_file(self, path: Path) -> FileQueued | DuplicateSkipped | FileFailed:
        """Queue a complete file, unless the same content is already known (a failed one
        is queued again when dropped again after it failed)."""
        try:
            with self.clock.timed("hash"):
                digest = content_hash(path)
            stat = path.stat()
        except OSError as error:
            event: FileQueued | DuplicateSkipped | FileFailed = FileFailed(
                "", f"{path}: cannot read: {error.strerror}", kind="io")
            self._publish(event)
            return event
        added = self.store.add(digest, path, stat.st_size, modified_at=stat.st_mtime)
        if added.is_new:
            self._signatures[digest] = (stat.st_size, stat.st_mtime_ns)
            # Earlier versions of this path still waiting or running are stale now.
            self._supersede_versions(path, f"{path.name} changed: its new content is "
                                           "transcribed instead", keep=digest)
            event = FileQueued(digest, str(path))
            log.info("queued %s (%s)", path, digest[:12])
        else:
            with self._lock:
                if digest in self._superseded:
                    # Handed over again (same content: a touch) while its cancelled run is
                    # ending: queued again once that run is marked superseded.
                    self._readd[digest] = path
            event = DuplicateSkipped(str(path), digest, str(added.record.path),
                                     added.record.state.value)
            log.info("skipped %s: same content as %s", path, added.record.path)
        self._publish(event)
        if added.is_new:
            self._idle.clear()
            self._wake.set()
        return event

    def file_changed(self, path: Path) -> None:
        """The watcher saw `path` change after handing it over: every version of it still
        queued or running is superseded now (a running one cancelled), and the watcher hands
        the file over again once it has stopped changing."""
        self._supersede_versions(path, f"{path.name} changed while it was waiting: it is "
                                       "transcribed once it stops changing")

    def _supersede_versions(self, path: Path, reason: str, keep: str | None = None) -> None:
        for record in self.store.unfinished_at(path):
            digest = record.content_hash
            if digest == keep:
                continue
            with self._lock:
                running = digest in self._in_flight
                if running:
                    # The pipeline's thread sees it within a poll, stops the worker and
                    # marks the version superseded.
                    self._superseded.add(digest)
                else:
                    current = self.store.get(digest)
                    waiting = current is not None and (current.state is FileState.QUEUED
                                                       or current.state.is_active)
                    if waiting:
                        self.store.supersede(digest, reason)
            if running:
                log.info("%s changed while being transcribed: cancelling", path)
            elif waiting:
                self._mark_superseded(digest, str(path), reason, stored=True)

    def _mark_superseded(self, digest: str, path: str, reason: str,
                         stored: bool = False) -> FileSuperseded:
        if not stored:
            self.store.supersede(digest, reason)
        for table in (self._signatures, self._declared_seconds, self._warnings):
            table.pop(digest, None)
        log.info("superseded %s (%s): %s", path, digest[:12], reason)
        self._publish(StageChanged(digest, FileState.SUPERSEDED, reason))
        event = FileSuperseded(digest, path, reason)
        self._publish(event)
        with self._lock:
            again = self._readd.pop(digest, None)
        if again is not None:
            self.add_file(again)
        return event

    def _cancelled(self, digest: str) -> bool:
        with self._lock:
            return digest in self._superseded

    def retry_failed(self) -> list[FileQueued]:
        """Queue every failed file again, for a fresh start (the dashboard's retry key)."""
        queued = [FileQueued(record.content_hash, str(record.path))
                  for record in self.store.requeue_failed()]
        for event in queued:
            log.info("queued %s again after it failed", event.path)
            self._publish(event)
        if queued:
            self._idle.clear()
            self._wake.set()
        return queued

    # -- processing ---------------------------------------------------------------------

    def resume(self) -> list[str]:
        resumed = self.store.resume_unfinished()
        for digest in resumed:
            log.info("resuming %s after restart", digest[:12])
            self._publish(StageChanged(digest, FileState.QUEUED, "resumed after restart"))
        return resumed

    def _on_worker_event(self, event: object) -> None:
        if isinstance(event, AudioDecoded):
            self._check_complete(event)
            return
        if isinstance(event, StageChanged):
            self.store.set_state(event.content_hash, event.state, event.detail)
        elif isinstance(event, SegmentTranscribed):
            self.store.put_segment(event.content_hash, event.segment)
        elif isinstance(event, SegmentsRefined):
            self.store.replace_segments(event.content_hash, list(event.segments))
        self._publish(event)

    def _fail(self, digest: str, reason: str, kind: str) -> FileFailed:
        self.store.fail(digest, reason)
        for table in (self._signatures, self._declared_seconds, self._warnings):
            table.pop(digest, None)
        event = FileFailed(digest, reason, kind)
        log.warning("failed %s: %s", digest[:12], reason)
        self._publish(event)
        return event

    @property
    def paused(self) -> bool:
        """Waiting for the remote ASR server before the next try."""
        return self.backoff.remaining() > 0

    def _check_complete(self, decoded: AudioDecoded) -> None:
        """A recording that declares more audio than could be decoded is transcribed as far
        as it goes, with a warning (it was cut short, or is still being copied)."""
        digest = decoded.content_hash
        warning = missing_audio_warning(self._declared_seconds.get(digest), decoded.seconds)
        if warning is None:
            return
        record = self.store.get(digest)
        path = str(record.path) if record else ""
        self._warnings.setdefault(digest, []).append(warning)
        log.warning("%s: %s", path or digest[:12], warning)
        self._publish(FileWarning(digest, path, warning))

    def _content_changed(self, record: AudioFileRecord) -> Signature | None:
        """None when the file still holds the queued content; else its signature now (a
        touch that kept the content counts as unchanged, and becomes the new reference)."""
        digest = record.content_hash
        now = _signature(record.path)
        if self._signatures.get(digest) == now:
            return None
        if content_hash(record.path) == digest:
            self._signatures[digest] = now
            return None
        return now

    def _lookahead(self) -> int:
        """How many files the worker holds at once. Enough to fill a batch across files; one
        for a remote ASR server (it batches on its side, and a pause is per file) and while
        files that were in the worker when it crashed are retried (to learn which one it
        was)."""
        if self.options.asr_backend == "openai" or self._solo:
            return 1
        return max(2, 2 * self.options.batch_size)

    def process_next(self) -> FileDone | FileFailed | FileSuperseded | AsrPaused | None:
        """Run the queue until the next file has an outcome; None when the queue is empty
        or paused, or the worker was cancelled (quitting)."""
        while not self._outcomes:
            if not self._top_up() and not self._in_flight:
                return None
            if self._in_flight and not self._await_worker():
                return None
        return self._outcomes.popleft()

    def _top_up(self) -> bool:
        """Hand queued files to the worker up to the look-ahead; False when nothing was
        handed over or concluded. A file that fails its checks gets its outcome here."""
        moved = False
        while len(self._in_flight) < self._lookahead() and not self.paused \
                and not self._stopping.is_set():
            with self._lock:
                record = self.store.next_queued(exclude=tuple(self._in_flight))
                if record is None:
                    break
                self._in_flight[record.content_hash] = record
            moved = True
            outcome = self._hand_over(record)
            if outcome is not None:
                self._conclude_in_flight(record.content_hash)
                self._outcomes.append(outcome)
        return moved

    def _hand_over(self, record: AudioFileRecord) -> FileFailed | FileSuperseded | None:
        """Check the file still holds what was queued and probe it, then submit it; an
        outcome when it cannot go."""
        digest = record.content_hash
        self.store.start_attempt(digest)
        try:
            changed = self._content_changed(record)
        except FileNotFoundError:
            return self._fail(digest, f"{record.path} disappeared before transcription", "io")
        except OSError as error:
            return self._fail(digest, f"{record.path}: cannot read: {error.strerror}", "io")
        if changed is not None or self._cancelled(digest):
            return self._mark_superseded(digest, str(record.path), f"{record.path.name} "
                                         "changed since it was queued")
        try:
            with self.clock.timed("probe"):
                probe = probe_audio(record.path)
        except ProbeError as error:
            return self._fail(digest, str(error), "decode")
        self._declared_seconds[digest] = probe.declared_seconds
        self._warnings.pop(digest, None)
        self.worker.submit(digest, str(record.path))
        return None

    def _conclude_in_flight(self, digest: str) -> None:
        with self._lock:
            self._in_flight.pop(digest, None)
            if digest in self._superseded:
                self._superseded.discard(digest)

    def _await_worker(self) -> bool:
        """Wait for the worker's next event and act on it; False when the worker was
        cancelled (quitting: the files it held resume on the next start)."""
        cancelled = [digest for digest in self._in_flight if self._cancelled(digest)]
        if cancelled:
            # A file changed while the worker holds it: the worker is stopped mid-batch,
            # the changed versions superseded, the others put back in their places.
            self.worker.kill()
            for digest in cancelled:
                record = self._in_flight[digest]
                self._conclude_in_flight(digest)
                self._outcomes.append(self._mark_superseded(
                    digest, str(record.path), f"{record.path.name} changed while being "
                    "transcribed: cancelled"))
            self._put_back_in_flight("the worker was restarted: another file changed")
            return True
        event = self.worker.next_event()
        if event is None:
            return True
        if isinstance(event, WorkerExited):
            return self._worker_exited(event)
        if isinstance(event, WorkerProfile):
            self.worker_profile = event.totals
            return True
        if not isinstance(event, (FileDone, FileFailed, RemoteAsrUnreachable)):
            self._on_worker_event(event)
            return True
        record = self._in_flight.get(event.content_hash)
        if record is None:  # a file put back meanwhile
            return True
        self._conclude_in_flight(event.content_hash)
        outcome = self._conclude(record, event)
        if outcome is not None:
            self._outcomes.append(outcome)
        return True

    def _worker_exited(self, exited: WorkerExited) -> bool:
        if exited.cancelled:
            # Cancelled by stop(): the files stay mid-way and resume on the next start.
            self._in_flight.clear()
            return False
        held = list(self._in_flight.values())
        self._in_flight.clear()
        # One of them may have killed it: each is retried alone in a fresh worker.
        self._solo.update(record.content_hash for record in held)
        others = f" and {len(held) - 1} other files" if len(held) > 1 else ""
        reason = (f"the WhisperX worker died (exit code {exited.exit_code}) while on this "
                  f"file{others}")
        for record in held:
            outcome = self._conclude(record, FileFailed(record.content_hash, reason, "crash"))
            if outcome is not None:
                self._outcomes.append(outcome)
        return True

    def _put_back_in_flight(self, reason: str) -> None:
        """The worker was stopped with files in it that did nothing wrong: back to their
        places in the queue, the attempt not counted."""
        with self._lock:
            held = list(self._in_flight)
            self._in_flight.clear()
        for digest in held:
            self.store.put_back(digest, reason)
            self._publish(StageChanged(digest, FileState.QUEUED, reason))

    def _conclude(self, record: AudioFileRecord,
                  outcome: FileDone | FileFailed | RemoteAsrUnreachable
                  ) -> FileDone | FileFailed | FileSuperseded | AsrPaused | None:
        """What the worker's answer about one file means for it."""
        digest = record.content_hash
        if self._cancelled(digest):
            return self._mark_superseded(digest, str(record.path), f"{record.path.name} "
                                         "changed while being transcribed: cancelled")
        if isinstance(outcome, RemoteAsrUnreachable):
            paused = self._wait_for_server(outcome)
            if paused is not None:
                return paused
            return self._fail(digest, f"the ASR server failed on this file "
                                      f"{MAX_SUSPECT_TRIES} times: {outcome.reason}", "remote")
        self._suspect_tries.pop(digest, None)
        # A transcript or an error about the request is the server answering; a file that
        # could not be decoded here, or a crashed worker, says nothing about the server.
        answered = isinstance(outcome, FileDone) or outcome.kind == "error"
        if answered and self.backoff.succeed():
            self._server_answers()
        if isinstance(outcome, FileFailed):
            if outcome.kind == "oom" and self._retry_with_less_memory(digest):
                return outcome
            if outcome.kind == "crash" and (record_now := self.store.get(digest)) is not None \
                    and record_now.attempts < MAX_ATTEMPTS:
                log.warning("%s; retrying in a fresh worker", outcome.reason)
                self.store.requeue(digest)
                return outcome
            self._solo.discard(digest)
            return self._fail(digest, outcome.reason, outcome.kind)
        self._solo.discard(digest)
        return self._finish(record, outcome)

    def _retry_with_less_memory(self, digest: str) -> bool:
        """After a CUDA OOM: a fresh worker with half the batch, or int8 weights at batch 1,
        kept for the files that follow; the file goes back to the head of the queue without
        spending an attempt. False when nothing smaller is left."""
        options = self.worker.options
        smaller = after_out_of_memory(options, self._configured_batch_size)
        if smaller is None:
            return False
        self.worker.stop()
        self._put_back_in_flight("the worker was restarted with less memory")
        self.worker.options = smaller
        self.options = smaller
        weights = smaller.compute_type if smaller.compute_type != options.compute_type else None
        reason = ("CUDA out of memory at batch size 1: Whisper reloaded with int8 weights"
                  if weights else "CUDA out of memory: retrying with a smaller batch")
        log.warning("%s: %s (batch size %d)", digest[:12], reason, smaller.batch_size)
        self.store.put_back(digest, reason)
        self._publish(BatchSizeReduced(digest, smaller.batch_size, reason, weights))
        return True

    def _wait_for_server(self, outcome: RemoteAsrUnreachable) -> AsrPaused | None:
        """Put the file back at the head of the queue and pause; None when the file itself
        is suspect and has had its tries (it is failed, and the queue goes on at once)."""
        digest = outcome.content_hash
        if outcome.suspect_file:
            tries = self._suspect_tries[digest] = self._suspect_tries.get(digest, 0) + 1
            if tries >= MAX_SUSPECT_TRIES:
                del self._suspect_tries[digest]
                if self.backoff.succeed():
                    self._server_answers()
                return None
        detail = f"waiting for the remote ASR server: {outcome.reason}"
        self.store.put_back(digest, detail)
        delay = self.backoff.fail(outcome.retry_after)
        url = display_url(self.options.remote_url)
        paused = AsrPaused(url, outcome.problem, outcome.reason, delay, digest)
        log.warning("%s (%s)", paused.status_text, outcome.reason)
        self._publish(StageChanged(digest, FileState.QUEUED, detail))
        self._publish(paused)
        return paused

    def _server_answers(self) -> None:
        url = display_url(self.options.remote_url)
        log.info("remote ASR %s answers again: the queue goes on", url)
        self._publish(AsrResumed(url))

    def _still_current(self, record: AudioFileRecord) -> bool:
        """The transcript is of the file as it is now: not superseded meanwhile, and the
        content unchanged (a file gone by now keeps its transcript)."""
        if self._cancelled(record.content_hash):
            return False
        try:
            return self._content_changed(record) is None
        except OSError:
            return True

    def _output_name(self, audio_path: Path) -> str:
        return output_name(audio_path, self.store.output_names(), self.output_dir,
                           self.options.formats)

    def _finish(self, record: AudioFileRecord, outcome: FileDone
                ) -> FileDone | FileFailed | FileSuperseded:
        digest = outcome.content_hash
        audio_path = record.path
        if not self._still_current(record):
            return self._mark_superseded(digest, str(audio_path), f"{audio_path.name} "
                                         "changed while being transcribed: nothing written")
        self._on_worker_event(StageChanged(digest, FileState.WRITING))
        warnings = tuple(self._warnings.pop(digest, ()))
        try:
            with self.clock.timed("write"):
                outputs = write_outputs(outcome.result, audio_path, self.output_dir, self.options,
                                    self.store.speaker_names(digest),
                                    name=self._output_name(audio_path))
        except OSError as error:
            return self._fail(digest, f"cannot write outputs to {self.output_dir}: {error}",
                              "io")
        self.store.finish(digest, outputs, outcome.language, "; ".join(warnings))
        for table in (self._signatures, self._declared_seconds):
            table.pop(digest, None)
        done = FileDone(digest, outcome.language, tuple(str(p) for p in outputs),
                        warnings=warnings)
        log.info("done %s: %d outputs", audio_path, len(outputs))
        self._publish(done)
        return done

    def rename_speaker(self, digest: str, speaker: str, name: str) -> list[Path]:
        """Store a speaker's name and rewrite the file's outputs with it."""
        self.store.rename_speaker(digest, speaker, name)
        record = self.store.get(digest)
        if record is None or record.state is not FileState.DONE:
            return []
        segments = self.store.segments(digest)
        # The shape the worker gave: "words" only where there are word timings (an empty
        # list would send whisperx's subtitle writers down their word path: empty files).
        result = {
            "segments": [{"start": s.start, "end": s.end, "text": s.text,
                          **({"speaker": s.speaker} if s.speaker else {}),
                          **({"words": [dict(w) for w in s.words]} if s.words else {})}
                         for s in segments],
            "language": record.language,
        }
        # The same files again, under the name they were first written with.
        name = (record.outputs[0].name.rsplit(".", 1)[0] if record.outputs
                else self._output_name(record.path))
        outputs = write_outputs(result, record.path, self.output_dir, self.options,
                                self.store.speaker_names(digest), name=name)
        self.store.finish(digest, outputs, record.language, record.detail)
        return outputs

    def drain(self, wait_for_server: float = 0.0) -> list[FileDone | FileFailed]:
        """Process until the queue is empty (the one-shot CLI).

        While the remote ASR server does not answer, wait for it through the backoff, as
        long as the next try falls within `wait_for_server` seconds of the call; then return
        with the rest of the queue still queued (`paused` is then true).
        """
        outcomes: list[FileDone | FileFailed] = []
        deadline = time.monotonic() + wait_for_server
        while not self._stopping.is_set():
            outcome = self.process_next()
            if isinstance(outcome, (AsrPaused, FileSuperseded)):
                continue
            if outcome is not None:
                outcomes.append(outcome)
                continue
            pause = self.backoff.remaining()
            if pause <= 0 or time.monotonic() + pause > deadline:
                break
            self._stopping.wait(pause)
        return outcomes

    # -- background thread ----------------------------------------------------------------

    def start(self) -> None:
        if self._thread is not None:
            return
        self.resume()
        self._thread = threading.Thread(target=self._run, name="transcript-pipeline",
                                        daemon=True)
        self._thread.start()
        self._started_threads.append(self._thread)

    def _run(self) -> None:
        while not self._stopping.is_set():
            self._wake.clear()
            try:
                self.drain()
            except Exception:  # the pipeline thread must survive anything one file does
                log.exception("transcript pipeline error")
            pause = self.backoff.remaining()
            if pause <= 0:
                self._idle.set()  # paused is not idle: files are still queued
            if self._wake.wait(timeout=min(1.0, pause) if pause > 0 else 1.0):
                self._idle.clear()
            else:
                self.worker.unload_if_idle()

    def wait_idle(self, timeout: float) -> bool:
        """Tests and the CLI: wait until the queue has been drained."""
        return self._idle.wait(timeout)

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()
        self.worker.cancel()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
        self.worker.stop()

    def live_threads(self) -> list[str]:
        """Threads this pipeline started that still run (none once `stop` returned)."""
        return [thread.name for thread in self._started_threads if thread.is_alive()]
