"""NVML readings of the cards the project targets, as `read_gpus()` returns them.

RTX_3090 was recorded on a 24 GB RTX 3090 while both jobs ran: Ollama (pid 4242) holding
the capped Devstral, our WhisperX worker (pid 5151) holding large-v3, Xorg (777). Only one
GPU can be checked here, so TWO_RTX_3090 is a two-card box put together from that reading:
card 0 keeps Ollama and the desktop, card 1 (a second UUID) holds the WhisperX worker alone,
with the sizes and NVML's per-card reserve of the recorded card. `recorded_two_h100` is a
real two-card reading, taken on a lent machine with two H100s.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path

from tui.adapters.nvml import GpuMemorySample, GpuProcessMemory, GpuUnavailable

GIB = 1024**3
RECORDED_TWO_H100 = Path(__file__).resolve().parent.parent / "data" / "nvml_two_h100.json"
OLLAMA_PID, WHISPERX_PID, XORG_PID = 4242, 5151, 777
PROCESS_NAMES = {OLLAMA_PID: "ollama", WHISPERX_PID: "python3", XORG_PID: "Xorg"}

_CARD_0 = GpuMemorySample(
    index=0, name="NVIDIA GeForce RTX 3090", uuid="GPU-5f1c0d2e-0000-0000-0000-3090deadbeef",
    total_bytes=24 * GIB, used_bytes=int(21.6 * GIB), free_bytes=int(2.4 * GIB),
    reserved_bytes=int(0.3 * GIB), utilization_percent=87,
    processes=(GpuProcessMemory(OLLAMA_PID, int(15.2 * GIB)),
               GpuProcessMemory(WHISPERX_PID, int(6.1 * GIB)),
               GpuProcessMemory(XORG_PID, int(0.3 * GIB))))
RTX_3090 = [_CARD_0]

TWO_RTX_3090 = [
    replace(_CARD_0, used_bytes=int(15.8 * GIB), free_bytes=int(8.2 * GIB),
            utilization_percent=64,
            processes=(GpuProcessMemory(OLLAMA_PID, int(15.2 * GIB)),
                       GpuProcessMemory(XORG_PID, int(0.3 * GIB)))),
    replace(_CARD_0, index=1, uuid="GPU-9b07c3d1-0000-0000-0000-3090cafef00d",
            used_bytes=int(6.4 * GIB), free_bytes=int(17.6 * GIB), utilization_percent=71,
            processes=(GpuProcessMemory(WHISPERX_PID, int(6.1 * GIB)),)),
]

# The same box after Ollama was restarted without CUDA_VISIBLE_DEVICES and loaded the model
# on the card with the most free memory: WhisperX's.
TWO_RTX_3090_OLLAMA_MISPLACED = [
    replace(TWO_RTX_3090[0], used_bytes=int(0.6 * GIB), free_bytes=int(23.4 * GIB),
            processes=(GpuProcessMemory(XORG_PID, int(0.3 * GIB)),)),
    replace(TWO_RTX_3090[1], used_bytes=int(21.6 * GIB), free_bytes=int(2.4 * GIB),
            processes=(GpuProcessMemory(WHISPERX_PID, int(6.1 * GIB)),
                       GpuProcessMemory(OLLAMA_PID, int(15.2 * GIB)))),
]

NO_GPU = GpuUnavailable("no NVIDIA driver (libnvidia-ml.so not found)", "install the driver")


@dataclass(frozen=True)
class RecordedReading:
    samples: list[GpuMemorySample]
    process_names: dict[int, str]
    whisperx_pid: int


def recorded_two_h100(scenario: str) -> RecordedReading:
    """NVML read by `read_gpus()` on a lent two-H100 machine (bench/multi_gpu_placement.py,
    2026-11-25): an "ollama"-named process started with the plan's CUDA_VISIBLE_DEVICES
    and a worker-pinned process, each holding its card's planned bytes. Scenarios:
    "pinned" (each on its card) and "misplaced" (the LLM restarted on WhisperX's card)."""
    document = json.loads(RECORDED_TWO_H100.read_text(encoding="utf-8"))
    reading = document[scenario]
    samples = [GpuMemorySample(**{**card, "processes": tuple(
        GpuProcessMemory(**process) for process in card["processes"])})
        for card in reading["samples"]]
    names = {int(pid): name for pid, name in reading["process_names"].items()}
    return RecordedReading(samples, names, int(document["whisperx_pid"]))
