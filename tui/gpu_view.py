"""What the GPU panel shows, computed without Textual: the budget bar and the warnings."""

from __future__ import annotations

from dataclasses import dataclass

from tui.adapters.nvml import GpuMemorySample, GpuUnavailable
from tui.planner.budget import Plan


@dataclass(frozen=True)
class BudgetSegment:
    key: str
    label: str
    bytes: int


def budget_segments(plan: Plan) -> list[BudgetSegment]:
    """The card split as the plan sees it: LLM weights | KV cap | LLM scratch | WhisperX | free."""
    llm_scratch = plan.component("llm_graph").bytes + plan.component("llm_cuda_overhead").bytes
    return [
        BudgetSegment("weights", "LLM weights", plan.component("llm_weights").bytes),
        BudgetSegment("kv", "KV cap", plan.kv_cache_bytes),
        BudgetSegment("scratch", "LLM graph+ctx", llm_scratch),
        BudgetSegment("whisperx", "WhisperX", plan.owner_bytes("whisperx")),
        BudgetSegment("headroom", "headroom", max(0, plan.headroom_bytes)),
    ]


def bar_cells(segments: list[BudgetSegment], width: int) -> list[tuple[str, int]]:
    """Cell counts per segment summing exactly to `width` (largest remainders get the rest)."""
    total = sum(s.bytes for s in segments)
    if width <= 0 or total <= 0:
        return [(s.key, 0) for s in segments]
    exact = [s.bytes * width / total for s in segments]
    cells = [int(value) for value in exact]
    by_remainder = sorted(range(len(segments)), key=lambda i: exact[i] - cells[i], reverse=True)
    for index in by_remainder[: width - sum(cells)]:
        cells[index] += 1
    return [(segment.key, count) for segment, count in zip(segments, cells, strict=True)]


@dataclass(frozen=True)
class GpuReading:
    """The latest NVML poll: samples for every card, or why there are none."""

    samples: tuple[GpuMemorySample, ...] = ()
    unavailable: GpuUnavailable | None = None
    process_names: dict[int, str] | None = None

    def card(self, index: int) -> GpuMemorySample | None:
        return self.samples[index] if index < len(self.samples) else None


def headroom_warning(reading: GpuReading, index: int, warn_bytes: int) -> str | None:
    card = reading.card(index)
    if card is None:
        return None
    if card.free_bytes < warn_bytes:
        return (f"GPU {index}: only {card.free_bytes / 2**30:.2f} GiB free, under the "
                f"{warn_bytes / 2**30:.2f} GiB margin")
    return None


def process_shares(card: GpuMemorySample, whisperx_pids: set[int],
                   names: dict[int, str]) -> dict[str, int]:
    """Measured memory per owner: WhisperX (our worker), Ollama (by process name), other."""
    shares = {"WhisperX": 0, "Ollama": 0, "other": 0}
    for process in card.processes:
        used = process.used_bytes or 0
        if process.pid in whisperx_pids:
            shares["WhisperX"] += used
        elif "ollama" in names.get(process.pid, "").lower():
            shares["Ollama"] += used
        else:
            shares["other"] += used
    return shares
