"""Cross-file batching: VAD chunks of several queued files share one Whisper batch.

Batched Whisper inference wants `batch_size` chunks at once; a 20 s voice note has one chunk,
so a drop of thirty voice notes transcribed file by file runs thirty batches of one. Here the
chunks of every prepared file wait in one FIFO and a batch takes the oldest ones, from as
many files as it needs; each result is routed back to its file, whose segments therefore
still arrive in order, and a file is complete when its last chunk is.

Pure bookkeeping, no I/O and no threads (the worker's scheduler holds the lock): unit-tested
directly.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any


@dataclass
class ChunkResult:
    text: str
    avg_logprob: float


@dataclass(eq=False)  # identity: two files never compare equal by content
class PreparedFile:
    """A decoded file, split by the VAD into chunks (start, end in seconds), waiting for
    speech to text. `payload` is what the later stages need (the audio samples)."""

    content_hash: str
    language: str
    chunks: list[tuple[float, float]]
    payload: Any = None
    results: list[ChunkResult | None] = field(default_factory=list)
    handed_out: int = 0

    def __post_init__(self) -> None:
        self.results = [None] * len(self.chunks)

    @property
    def complete(self) -> bool:
        return all(result is not None for result in self.results)

    @property
    def done_chunks(self) -> int:
        return sum(result is not None for result in self.results)


@dataclass(frozen=True)
class BatchItem:
    file: PreparedFile
    index: int

    @property
    def span(self) -> tuple[float, float]:
        return self.file.chunks[self.index]


class CrossFileBatcher:
    """The FIFO of chunks not yet transcribed, across files."""

    def __init__(self) -> None:
        self._files: deque[PreparedFile] = deque()

    def add(self, prepared: PreparedFile) -> None:
        """Queue a file's chunks behind those already waiting (a file without speech is
        complete at once: the caller finishes it without a batch)."""
        if prepared.chunks:
            self._files.append(prepared)

    @property
    def waiting_chunks(self) -> int:
        return sum(len(f.chunks) - f.handed_out for f in self._files)

    def next_batch(self, batch_size: int) -> list[BatchItem]:
        """Up to `batch_size` of the oldest waiting chunks that share the first one's
        language (one batch has one decoder prompt); a file in another language keeps its
        place for a later batch."""
        batch: list[BatchItem] = []
        language: str | None = None
        for prepared in self._files:
            left = len(prepared.chunks) - prepared.handed_out
            if left == 0:
                continue
            if language is None:
                language = prepared.language
            elif prepared.language != language:
                continue
            take = min(left, batch_size - len(batch))
            batch += [BatchItem(prepared, prepared.handed_out + i) for i in range(take)]
            prepared.handed_out += take
            if len(batch) == batch_size:
                break
        return batch

    def record(self, item: BatchItem, result: ChunkResult) -> bool:
        """Store one chunk's text; True when that completes its file (which then leaves the
        queue)."""
        prepared = item.file
        prepared.results[item.index] = result
        if prepared.complete:
            if prepared in self._files:
                self._files.remove(prepared)
            return True
        return False

    def drop(self, content_hash: str) -> PreparedFile | None:
        """Take a file out (its batch failed, or it was cancelled); its chunks still in a
        running batch are then recorded into a file nobody waits for."""
        for prepared in self._files:
            if prepared.content_hash == content_hash:
                self._files.remove(prepared)
                return prepared
        return None

    def __len__(self) -> int:
        return len(self._files)
