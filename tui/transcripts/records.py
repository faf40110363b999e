"""What the transcript pipeline knows about a file: its state, its record, its segments.

Plain, picklable types shared by the store (which persists them), the events (which carry
them across the worker process boundary), the pipeline and the dashboard. No SQLite here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any


class FileState(str, Enum):
    QUEUED = "queued"
    DECODING = "decoding"
    TRANSCRIBING = "transcribing"
    ALIGNING = "aligning"
    DIARIZING = "diarizing"
    WRITING = "writing"
    DONE = "done"
    FAILED = "failed"
    # The file changed while it was queued or being transcribed: this version is dropped
    # (nothing written for it) and the file's final content is queued as its own entry.
    SUPERSEDED = "superseded"

    @property
    def is_active(self) -> bool:
        return self in ACTIVE_STATES

    @property
    def is_final(self) -> bool:
        return self in (FileState.DONE, FileState.FAILED, FileState.SUPERSEDED)


# Mid-way through the pipeline: a restart queues these files again.
ACTIVE_STATES = frozenset({FileState.DECODING, FileState.TRANSCRIBING, FileState.ALIGNING,
                           FileState.DIARIZING, FileState.WRITING})


@dataclass(frozen=True)
class AudioFileRecord:
    content_hash: str
    path: Path
    size: int
    state: FileState
    detail: str
    error: str | None
    attempts: int
    language: str | None
    outputs: tuple[Path, ...]
    added_at: float
    updated_at: float


@dataclass(frozen=True)
class StoredSegment:
    index: int
    start: float
    end: float
    text: str
    speaker: str | None = None
    words: tuple[dict[str, Any], ...] = field(default=())


@dataclass(frozen=True)
class AddResult:
    record: AudioFileRecord
    is_new: bool
