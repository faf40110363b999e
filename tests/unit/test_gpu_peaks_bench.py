"""bench/gpu_peaks.py: the benchmarks' NVML peaks from the dashboard's readings."""

from __future__ import annotations

from bench.gpu_peaks import ProcessPeaks
from tui.adapters.nvml import GpuMemorySample, GpuProcessMemory, GpuUnavailable
from tui.gpu_sampler import GpuReading

MIB = 2**20


def card(index: int, used_mib: int, processes: dict[int, int]) -> GpuMemorySample:
    return GpuMemorySample(index, "H200", f"GPU-{index}", 140_000 * MIB, used_mib * MIB, 0, 0,
                           None, tuple(GpuProcessMemory(pid, mib * MIB)
                                       for pid, mib in processes.items()))


def test_the_tree_peak_is_the_largest_sum_at_one_instant_and_exited_pids_stay() -> None:
    # 100 is the command, 101 its worker; 900 is someone else's process.
    peaks = ProcessPeaks(idle_used_bytes=10 * MIB, tree_of=lambda roots: roots | {101})
    peaks.follow(100)
    peaks(GpuReading((card(0, 5_000, {100: 0, 101: 4_000, 900: 990}),)))
    peaks(GpuReading((card(0, 7_000, {101: 6_000, 900: 990}),)))  # 100 no longer listed
    peaks(GpuReading(unavailable=GpuUnavailable("gone", "")))  # ignored
    peaks(GpuReading((card(0, 3_000, {100: 500, 101: 1_500, 900: 990}),)))
    peak = peaks.peak(0.05)
    assert peak.tree_mib == 6_000
    assert peak.per_pid_mib == {100: 500, 101: 6_000}
    assert peak.all_processes_mib == 6_990
    assert peak.card_mib == 7_000 - 10
    assert peak.samples == 3 and peak.process_mib == 6_000


def test_each_process_is_seen_on_its_own_card() -> None:
    peaks = ProcessPeaks(tree_of=lambda roots: roots)
    peaks(GpuReading((card(0, 100, {}), card(1, 900, {7: 800}))))
    peaks(GpuReading((card(0, 100, {}), card(1, 1_000, {7: 900}))))
    assert peaks.card_pid_peaks == {(1, 7): 900 * MIB}
    # No command followed: the tree is never listed, every listed process stands in.
    assert peaks.peak(0.05).tree_mib is None and peaks.peak(0.05).process_mib == 900
