"""NVML peaks while a benchmark's commands run: the one sampler behind
`transcribe_speed.py` (the process tree of each timed command) and `worker_pinning.py`
(which card each process lands on).

It is the dashboard's own poller, `tui.gpu_sampler.GpuSampler` (NVML through
`tui.adapters.nvml.read_gpus` on a thread), run every `period_s` instead of every 2 s, with
`ProcessPeaks` as its listener: each reading updates the peaks, nothing else is kept.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from dataclasses import dataclass

from tui.gpu_sampler import GpuReading, GpuSampler

MIB = 2**20


@dataclass
class GpuPeak:
    """One run's GPU memory as NVML saw it every `period_s` while the run's commands ran."""

    tree_mib: float | None  # the largest sum over the run's process tree (None: never listed)
    all_processes_mib: float  # the largest sum over every process NVML listed
    card_mib: float  # the cards' largest used memory minus their idle value
    per_pid_mib: dict[int, float]  # each tree process's own peak
    samples: int
    period_s: float

    @property
    def process_mib(self) -> float | None:
        """The tree's peak; every listed process's where NVML names pids the tree never had
        (a sandbox whose pids differ from the driver's)."""
        if self.tree_mib is not None:
            return self.tree_mib
        return self.all_processes_mib if self.samples and self.all_processes_mib else None


def process_tree(roots: set[int]) -> set[int]:
    """`roots` and every process under them, from the parent field of each /proc/PID/stat."""
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", encoding="utf-8", errors="replace") as stream:
                stat = stream.read()
        except OSError:
            continue
        # "pid (comm) state ppid ...": comm may hold spaces and parentheses.
        fields = stat[stat.rfind(")") + 2:].split()
        if len(fields) > 1:
            children.setdefault(int(fields[1]), []).append(int(entry.name))
    tree, todo = set(roots), list(roots)
    while todo:
        for child in children.get(todo.pop(), ()):
            if child not in tree:
                tree.add(child)
                todo.append(child)
    return tree


class ProcessPeaks:
    """A GpuSampler listener: each (card, pid)'s peak, the peak of the sum over the process
    trees of the pids `follow` names, of every listed process, and of the cards' used
    memory. Pids stay counted after they exit (the worker's memory may outlive its listing)."""

    def __init__(self, idle_used_bytes: int = 0,
                 tree_of: Callable[[set[int]], set[int]] = process_tree) -> None:
        self.idle_used_bytes = idle_used_bytes
        self.card_pid_peaks: dict[tuple[int, int], int] = {}
        self._tree_of = tree_of
        self._roots: set[int] = set()
        self._tree: set[int] = set()
        self._tree_peak: int | None = None
        self._all_peak = 0
        self._card_peak = idle_used_bytes
        self.samples = 0
        self._lock = threading.Lock()

    def follow(self, pid: int) -> None:
        with self._lock:
            self._roots.add(pid)

    def __call__(self, reading: object) -> None:
        if not isinstance(reading, GpuReading) or reading.unavailable is not None:
            return
        with self._lock:
            roots = set(self._roots)
        if roots:
            self._tree |= self._tree_of(roots)
        tree_total: int | None = None
        all_total = 0
        for card in reading.samples:
            for process in card.processes:
                used = process.used_bytes or 0
                all_total += used
                key = (card.index, process.pid)
                self.card_pid_peaks[key] = max(self.card_pid_peaks.get(key, 0), used)
                if process.pid in self._tree:
                    tree_total = (tree_total or 0) + used
        if tree_total is not None:
            self._tree_peak = max(self._tree_peak or 0, tree_total)
        self._all_peak = max(self._all_peak, all_total)
        self._card_peak = max(self._card_peak, sum(card.used_bytes for card in reading.samples))
        self.samples += 1

    def peak(self, period_s: float) -> GpuPeak:
        per_pid: dict[int, int] = {}
        for (_, pid), used in self.card_pid_peaks.items():
            if pid in self._tree:
                per_pid[pid] = max(per_pid.get(pid, 0), used)
        return GpuPeak(
            tree_mib=None if self._tree_peak is None else self._tree_peak / MIB,
            all_processes_mib=self._all_peak / MIB,
            card_mib=(self._card_peak - self.idle_used_bytes) / MIB,
            per_pid_mib={pid: used / MIB for pid, used in sorted(per_pid.items())},
            samples=self.samples, period_s=period_s)


class GpuWatch:
    """`with GpuWatch(...) as watch:` samples NVML every `period_s` until the block ends;
    `watch.follow(pid)` adds a command's process tree, `watch.peaks` holds the figures."""

    def __init__(self, idle_used_bytes: int = 0, period_s: float = 0.05) -> None:
        from tui.adapters.nvml import read_gpus

        self.period_s = period_s
        self.peaks = ProcessPeaks(idle_used_bytes)
        self._sampler = GpuSampler(read_gpus, lambda _pid: "", self.peaks,
                                   interval_seconds=period_s)

    def follow(self, pid: int) -> None:
        self.peaks.follow(pid)

    def __enter__(self) -> GpuWatch:
        self._sampler.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._sampler.stop()

    def peak(self) -> GpuPeak:
        return self.peaks.peak(self.period_s)
