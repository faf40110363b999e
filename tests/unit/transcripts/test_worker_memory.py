"""The worker's memory report: PyTorch's share split from CTranslate2's (MemoryTally)."""

from __future__ import annotations

import pickle

from tui.transcripts.worker.memory_tally import MemoryTally

MIB = 2**20


def test_the_report_keeps_each_stages_peak_and_what_torch_held_during_batches() -> None:
    tally = MemoryTally()
    tally.stage_done("vad", 900 * MIB)
    tally.batch_started(12 * MIB)  # the VAD's cache was given back before the batch
    tally.stage_done("vad", 1200 * MIB)
    tally.stage_done("align", 700 * MIB)
    tally.batch_started(8 * MIB)
    event = tally.event(42, "cuda", 10 * MIB, 20 * MIB, pool_reserved_bytes=4000 * MIB,
                        pool_peak_bytes=9000 * MIB)
    assert event.torch_stage_peaks == (("align", 700 * MIB), ("vad", 1200 * MIB))
    assert event.torch_reserved_in_asr_bytes == 12 * MIB
    assert event.torch_peak_reserved_bytes == 1200 * MIB
    assert (event.pool_reserved_bytes, event.pool_peak_bytes) == (4000 * MIB, 9000 * MIB)
    assert (event.pid, event.allocated_bytes, event.reserved_bytes) == (42, 10 * MIB, 20 * MIB)
    assert pickle.loads(pickle.dumps(event)) == event  # it crosses the process queue


def test_before_any_stage_the_peak_is_what_torch_reserves_now() -> None:
    event = MemoryTally().event(7, "cuda", 5 * MIB, 30 * MIB)
    assert event.torch_peak_reserved_bytes == 30 * MIB
    assert event.torch_stage_peaks == () and event.pool_peak_bytes == 0
