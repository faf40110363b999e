"""The transcript pipeline: a queue in SQLite, one WhisperX worker, events to subscribers.

Headless and thread-based: `add_file` may be called from any thread (the watcher's), files
are processed one at a time, oldest first, on the pipeline's own thread; subscribers are
called on that thread and must hand the event on (the dashboard posts a message).
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from tui.subscribers import Listener, Subscribers
from tui.transcripts.engine import WhisperxWorker, WorkerCrashed
from tui.transcripts.events import (
    DuplicateSkipped,
    FileDone,
    FileFailed,
    FileQueued,
    SegmentsRefined,
    SegmentTranscribed,
    StageChanged,
)
from tui.transcripts.file_identity import content_hash
from tui.transcripts.options import TranscribeOptions
from tui.transcripts.outputs import write_outputs
from tui.transcripts.probe import ProbeError, probe_audio
from tui.transcripts.store import FileState, TranscriptStore

log = logging.getLogger(__name__)

# A worker crash may be the file's fault or a passing condition (the OOM killer): try again
# once in a fresh worker before calling the file failed.
MAX_ATTEMPTS = 2


class TranscriptPipeline:
    def __init__(self, store: TranscriptStore, options: TranscribeOptions, output_dir: Path,
                 worker: WhisperxWorker | None = None) -> None:
        self.store = store
        self.options = options
        self.output_dir = output_dir
        self.worker = worker or WhisperxWorker(options)
        self._subscribers = Subscribers("transcript")
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._idle = threading.Event()

    # -- subscribers ------------------------------------------------------------------

    def subscribe(self, listener: Listener) -> None:
        self._subscribers.add(listener)

    def _publish(self, event: object) -> None:
        self._subscribers.publish(event)

    # -- input --------------------------------------------------------------------------

    def add_file(self, path: Path) -> FileQueued | DuplicateSkipped | FileFailed:
        """Queue a complete file, unless the same content is already known."""
        try:
            digest = content_hash(path)
            size = path.stat().st_size
        except OSError as error:
            event: FileQueued | DuplicateSkipped | FileFailed = FileFailed(
                "", f"{path}: cannot read: {error.strerror}", kind="io")
            self._publish(event)
            return event
        added = self.store.add(digest, path, size)
        if added.is_new:
            event = FileQueued(digest, str(path))
            log.info("queued %s (%s)", path, digest[:12])
        else:
            event = DuplicateSkipped(str(path), digest, str(added.record.path),
                                     added.record.state.value)
            log.info("skipped %s: same content as %s", path, added.record.path)
        self._publish(event)
        if added.is_new:
            self._idle.clear()
            self._wake.set()
        return event

    # -- processing ---------------------------------------------------------------------

    def resume(self) -> list[str]:
        resumed = self.store.resume_unfinished()
        for digest in resumed:
            log.info("resuming %s after restart", digest[:12])
            self._publish(StageChanged(digest, FileState.QUEUED, "resumed after restart"))
        return resumed

    def _on_worker_event(self, event: object) -> None:
        if isinstance(event, StageChanged):
            self.store.set_state(event.content_hash, event.state, event.detail)
        elif isinstance(event, SegmentTranscribed):
            self.store.put_segment(event.content_hash, event.segment)
        elif isinstance(event, SegmentsRefined):
            self.store.replace_segments(event.content_hash, list(event.segments))
        self._publish(event)

    def _fail(self, digest: str, reason: str, kind: str) -> FileFailed:
        self.store.fail(digest, reason)
        event = FileFailed(digest, reason, kind)
        log.warning("failed %s: %s", digest[:12], reason)
        self._publish(event)
        return event

    def process_next(self) -> FileDone | FileFailed | None:
        """Transcribe the oldest queued file; None when the queue is empty."""
        record = self.store.next_queued()
        if record is None:
            return None
        digest = record.content_hash
        attempts = self.store.start_attempt(digest)
        self._on_worker_event(StageChanged(digest, FileState.DECODING, "probing"))
        if not record.path.exists():
            return self._fail(digest, f"{record.path} disappeared before transcription", "io")
        try:
            probe_audio(record.path)
        except ProbeError as error:
            return self._fail(digest, str(error), "decode")
        try:
            outcome = self.worker.transcribe(digest, str(record.path), self._on_worker_event)
        except WorkerCrashed:
            # Cancelled by stop(): the file stays mid-way and resumes on the next start.
            return None
        if isinstance(outcome, FileFailed):
            if outcome.kind == "crash" and attempts < MAX_ATTEMPTS:
                log.warning("%s; retrying in a fresh worker", outcome.reason)
                self.store.requeue(digest)
                return outcome
            return self._fail(digest, outcome.reason, outcome.kind)
        return self._finish(record.path, outcome)

    def _finish(self, audio_path: Path, outcome: FileDone) -> FileDone | FileFailed:
        digest = outcome.content_hash
        self._on_worker_event(StageChanged(digest, FileState.WRITING))
        try:
            outputs = write_outputs(outcome.result, audio_path, self.output_dir, self.options,
                                    self.store.speaker_names(digest))
        except OSError as error:
            return self._fail(digest, f"cannot write outputs to {self.output_dir}: {error}",
                              "io")
        self.store.finish(digest, outputs, outcome.language)
        done = FileDone(digest, outcome.language, tuple(str(p) for p in outputs))
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
        result = {
            "segments": [{"start": s.start, "end": s.end, "text": s.text,
                          **({"speaker": s.speaker} if s.speaker else {}),
                          "words": [dict(w) for w in s.words]} for s in segments],
            "language": record.language,
        }
        outputs = write_outputs(result, record.path, self.output_dir, self.options,
                                self.store.speaker_names(digest))
        self.store.finish(digest, outputs, record.language)
        return outputs

    def drain(self) -> list[FileDone | FileFailed]:
        """Process until the queue is empty (the one-shot CLI)."""
        outcomes = []
        while not self._stopping.is_set():
            outcome = self.process_next()
            if outcome is None:
                break
            outcomes.append(outcome)
        return outcomes

    # -- background thread ----------------------------------------------------------------

    def start(self) -> None:
        if self._thread is not None:
            return
        self.resume()
        self._thread = threading.Thread(target=self._run, name="transcript-pipeline",
                                        daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stopping.is_set():
            self._wake.clear()
            try:
                self.drain()
            except Exception:  # the pipeline thread must survive anything one file does
                log.exception("transcript pipeline error")
            self._idle.set()
            if self._wake.wait(timeout=1.0):
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
