"""What the worker's two allocators held, kept as the stages run: the figures the
WorkerMemory event carries, so that a GPU peak splits into PyTorch's part (VAD, alignment,
diarization) and CTranslate2's (Whisper). Pure and thread-safe: the session reads the
allocators and hands the numbers in.
"""

from __future__ import annotations

import threading

from tui.transcripts.events import WorkerMemory


class MemoryTally:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._stage_peaks: dict[str, int] = {}
        self._reserved_in_asr = 0

    def stage_done(self, stage: str, peak_reserved_bytes: int) -> None:
        """PyTorch's peak reserved bytes over one run of a stage (peak stats reset before)."""
        with self._lock:
            self._stage_peaks[stage] = max(self._stage_peaks.get(stage, 0), peak_reserved_bytes)

    def batch_started(self, torch_reserved_bytes: int) -> None:
        """What PyTorch held when a Whisper batch began: it stays beside CTranslate2's peak."""
        with self._lock:
            self._reserved_in_asr = max(self._reserved_in_asr, torch_reserved_bytes)

    def event(self, pid: int, device: str, allocated_bytes: int, reserved_bytes: int,
              pool_reserved_bytes: int = 0, pool_peak_bytes: int = 0) -> WorkerMemory:
        with self._lock:
            peaks = tuple(sorted(self._stage_peaks.items()))
            in_asr = self._reserved_in_asr
        return WorkerMemory(
            pid, allocated_bytes, reserved_bytes, device,
            torch_peak_reserved_bytes=max([reserved_bytes, in_asr, *(p for _, p in peaks)]),
            torch_reserved_in_asr_bytes=in_asr, torch_stage_peaks=peaks,
            pool_reserved_bytes=pool_reserved_bytes, pool_peak_bytes=pool_peak_bytes)
