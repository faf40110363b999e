"""Where transcription time goes: seconds per stage, summed over a run.

The worker times decode, VAD, ASR, alignment and diarization (a shared batch's time split
over its chunks), the parent times hashing, probing, writing outputs and waiting for the
worker; `triage-tui transcribe --profile` prints the table and `bench/transcribe_speed.py`
reads it. Pure and thread-safe.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

STAGES = ("hash", "probe", "decode", "vad", "asr", "align", "diarize", "write", "ipc",
          "worker wait")


class StageClock:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._seconds: dict[str, float] = {}
        self._counts: dict[str, int] = {}

    def add(self, stage: str, seconds: float, count: int = 1) -> None:
        with self._lock:
            self._seconds[stage] = self._seconds.get(stage, 0.0) + seconds
            self._counts[stage] = self._counts.get(stage, 0) + count

    @contextmanager
    def timed(self, stage: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self.add(stage, time.perf_counter() - started)

    def merge(self, other: Mapping[str, tuple[float, int]]) -> None:
        for stage, (seconds, count) in other.items():
            self.add(stage, seconds, count)

    def snapshot(self) -> dict[str, tuple[float, int]]:
        with self._lock:
            return {stage: (self._seconds[stage], self._counts[stage])
                    for stage in self._seconds}


def profile_table(totals: Mapping[str, tuple[float, int]], wall_seconds: float | None = None
                  ) -> str:
    """Stage, seconds, calls, share of the wall time; the known stages first, in order.
    Stages overlap (the worker decodes one file while it transcribes another), so the
    shares may add up to more than 100 %."""
    order = [s for s in STAGES if s in totals] + sorted(set(totals) - set(STAGES))
    lines = [f"{'stage':<12} {'seconds':>8} {'calls':>6}" + ("  share" if wall_seconds else "")]
    for stage in order:
        seconds, count = totals[stage]
        share = f"  {100 * seconds / wall_seconds:4.0f} %" if wall_seconds else ""
        lines.append(f"{stage:<12} {seconds:>8.2f} {count:>6}{share}")
    if wall_seconds:
        lines.append(f"{'wall':<12} {wall_seconds:>8.2f}")
    return "\n".join(lines)
