"""What the transcript pipeline tells its subscribers (and the worker tells the pipeline).

Plain, picklable dataclasses: they cross the process boundary from the WhisperX worker and
reach the dashboard through messages; none of them carries a secret.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tui.transcripts.store import FileState, StoredSegment


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
    content_hash: str
    batch_size: int
    reason: str


@dataclass(frozen=True)
class FileDone:
    content_hash: str
    language: str | None
    outputs: tuple[str, ...] = ()
    result: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class FileFailed:
    content_hash: str
    reason: str
    kind: str = "error"


@dataclass(frozen=True)
class WorkerMemory:
    """What the WhisperX worker process holds on the GPU, for the GPU panel."""

    pid: int
    allocated_bytes: int
    reserved_bytes: int
    device: str


TranscriptEvent = (FileQueued | DuplicateSkipped | StageChanged | Progress | SegmentTranscribed
                   | SegmentsRefined | StepUnavailable | BatchSizeReduced | FileDone | FileFailed
                   | WorkerMemory)
