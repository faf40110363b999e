"""What the transcript pipeline tells its subscribers (and the worker tells the pipeline).

Plain, picklable dataclasses: they cross the process boundary from the WhisperX worker and
reach the dashboard through messages; none of them carries a secret.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tui.transcripts.records import FileState, StoredSegment


@dataclass(frozen=True)
class FileQueued:
    content_hash: str
    path: str


@dataclass(frozen=True)
class DuplicateSkipped:
    path: str
    content_hash: str
    original_path: str
    original_state: str


@dataclass(frozen=True)
class StageChanged:
    content_hash: str
    state: FileState
    detail: str = ""


@dataclass(frozen=True)
class Progress:
    content_hash: str
    state: FileState
    percent: float


@dataclass(frozen=True)
class SegmentTranscribed:
    """A segment as soon as Whisper has it, before alignment and diarization."""

    content_hash: str
    segment: StoredSegment


@dataclass(frozen=True)
class SegmentsRefined:
    """All segments again, now with word timings (alignment) or speakers (diarization)."""

    content_hash: str
    state: FileState
    segments: tuple[StoredSegment, ...]


@dataclass(frozen=True)
class StepUnavailable:
    """An optional step (alignment, diarization) cannot run; said once, with the fix."""

    step: str
    reason: str
    fix: str


@dataclass(frozen=True)
class BatchSizeReduced:
    """CUDA ran out of memory: the step is retried with a smaller batch (and, for Whisper
    at batch 1, with int8 weights: `compute_type`)."""

    content_hash: str
    batch_size: int
    reason: str
    compute_type: str | None = None


@dataclass(frozen=True)
class AudioDecoded:
    """The worker decoded the file: how many seconds of audio it got. The pipeline compares
    that with what the container declares (`FileWarning` when audio is missing)."""

    content_hash: str
    seconds: float


@dataclass(frozen=True)
class FileWarning:
    """Something the user should know about a file that is still transcribed: a recording
    that declares more audio than could be decoded (cut short, still being copied)."""

    content_hash: str
    path: str
    message: str


@dataclass(frozen=True)
class FileDone:
    content_hash: str
    language: str | None
    outputs: tuple[str, ...] = ()
    result: dict[str, Any] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class FileSuperseded:
    """The file changed while queued or in flight: this version was dropped (cancelled if
    running, nothing written) and its final content is transcribed as a new entry."""

    content_hash: str
    path: str
    reason: str


@dataclass(frozen=True)
class FileFailed:
    content_hash: str
    reason: str
    kind: str = "error"


@dataclass(frozen=True)
class RemoteAsrUnreachable:
    """The worker's answer when the remote ASR server said nothing about the file: refused,
    timed out, rate-limited (429), or down behind a proxy (502/503/504). Not the file's fault:
    the pipeline puts it back in the queue and pauses. A 500, or no answer long after the
    upload, may be the file's fault as well (`suspect_file`): only a few tries for those."""

    content_hash: str
    problem: str  # short, for the status line: "unreachable", "unavailable, HTTP 503", …
    reason: str  # what the client or the server said, for the log and the file's detail
    retry_after: float | None = None  # seconds, from the server's Retry-After
    suspect_file: bool = False


@dataclass(frozen=True)
class AsrPaused:
    """The queue waits for the remote ASR server; `content_hash`'s file is queued again."""

    url: str
    problem: str
    reason: str
    retry_in: float
    content_hash: str = ""

    @property
    def status_text(self) -> str:
        return f"remote ASR {self.problem} ({self.url}): retrying in {self.retry_in:.0f} s"


@dataclass(frozen=True)
class AsrResumed:
    """The remote ASR server answers again; the queue goes on in order."""

    url: str


@dataclass(frozen=True)
class WorkerMemory:
    """What the WhisperX worker process holds on the GPU, for the GPU panel; the fields after
    `device` split it by allocator (`transcribe --profile` writes the last one).

    PyTorch (the VAD, alignment, diarization): allocated/reserved now, the most it reserved,
    the most it held while a Whisper batch ran (what sits beside CTranslate2's peak), and its
    peak per stage. CTranslate2 (weights and batches): the CUDA default memory pool its
    `cuda_malloc_async` allocator draws from, now and at its peak (0 where unreadable)."""

    pid: int
    allocated_bytes: int
    reserved_bytes: int
    device: str
    torch_peak_reserved_bytes: int = 0
    torch_reserved_in_asr_bytes: int = 0
    torch_stage_peaks: tuple[tuple[str, int], ...] = ()
    pool_reserved_bytes: int = 0
    pool_peak_bytes: int = 0


@dataclass(frozen=True)
class ModelDownload:
    """A model file coming from the model hub, so far: `done_bytes` of `total_bytes` (0 when
    the server did not say). Sent while the worker (or `triage-tui models pull`) downloads a
    model that was not on disk; the last one of a file has `done_bytes == total_bytes`."""

    model: str  # what the user configured: "large-v3", a repo id, "alignment (en)"
    file: str  # the file within the model: "model.bin"
    done_bytes: int
    total_bytes: int = 0

    @property
    def percent(self) -> float | None:
        if self.total_bytes <= 0:
            return None
        return min(100.0, 100.0 * self.done_bytes / self.total_bytes)

    @property
    def finished(self) -> bool:
        return self.total_bytes > 0 and self.done_bytes >= self.total_bytes


TranscriptEvent = (FileQueued | DuplicateSkipped | StageChanged | Progress | SegmentTranscribed
                   | SegmentsRefined | StepUnavailable | BatchSizeReduced | FileDone | FileFailed
                   | FileWarning | FileSuperseded | AsrPaused | AsrResumed | WorkerMemory
                   | ModelDownload)


@dataclass(frozen=True)
class WorkerProfile:
    """The worker's seconds per stage so far (stage -> (seconds, calls)), sent after each
    file: what `transcribe --profile` and the benchmark print."""

    totals: dict[str, tuple[float, int]]
