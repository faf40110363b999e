"""What the GPU panel shows, computed without Textual: the budget bar and the warnings."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tui.adapters.nvml import GpuMemorySample
    from tui.budget.plan import CardBudget, Plan
    from tui.gpu_sampler import GpuReading


@dataclass(frozen=True)
class BudgetSegment:
    key: str
    label: str
    bytes: int


def budget_segments(card: CardBudget) -> list[BudgetSegment]:
    """One card split as the plan sees it: LLM weights | KV cap | LLM scratch | WhisperX |
    free, with only the services placed on this card."""
    segments = []
    if "llm" in card.owners:
        scratch = card.component("llm_graph").bytes + card.component("llm_cuda_overhead").bytes
        segments += [
            BudgetSegment("weights", "LLM weights", card.component("llm_weights").bytes),
            BudgetSegment("kv", "KV cap", card.component("llm_kv_cache").bytes),
            BudgetSegment("scratch", "LLM graph+ctx", scratch),
        ]
    if "whisperx" in card.owners:
        segments.append(BudgetSegment("whisperx", "WhisperX", card.owner_bytes("whisperx")))
    segments.append(BudgetSegment("headroom", "headroom", max(0, card.headroom_bytes)))
    return segments


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


def headroom_warning(reading: GpuReading, index: int, warn_bytes: int) -> str | None:
    card = reading.card(index)
    if card is None:
        return None
    if card.free_bytes < warn_bytes:
        return (f"GPU {index}: only {card.free_bytes / 2**30:.2f} GiB free, under the "
                f"{warn_bytes / 2**30:.2f} GiB margin")
    return None


def process_owner(pid: int, whisperx_pids: set[int], names: dict[int, str]) -> str:
    """WhisperX (our worker), Ollama (by process name) or other."""
    if pid in whisperx_pids:
        return "WhisperX"
    if "ollama" in names.get(pid, "").lower():
        return "Ollama"
    return "other"


def process_shares(card: GpuMemorySample, whisperx_pids: set[int],
                   names: dict[int, str]) -> dict[str, int]:
    """Measured memory per owner on one card."""
    shares = {"WhisperX": 0, "Ollama": 0, "other": 0}
    for process in card.processes:
        shares[process_owner(process.pid, whisperx_pids, names)] += process.used_bytes or 0
    return shares


_PLANNED_OWNER = {"llm": "Ollama", "whisperx": "WhisperX"}


def placement_warnings(plan: Plan, reading: GpuReading, whisperx_pids: set[int],
                       names: dict[int, str]) -> list[str]:
    """A service NVML finds on a card the plan does not give it: that card's budget is off
    (Ollama picks the card with the most free memory unless CUDA_VISIBLE_DEVICES pins it)."""
    planned: dict[str, set[int]] = {}
    for card in plan.cards:
        if card.gpu.index is None:
            return []  # an assumed card: nothing to compare against
        for owner in card.owners:
            planned.setdefault(_PLANNED_OWNER.get(owner, owner), set()).add(card.gpu.index)
    seen: dict[str, set[int]] = {}
    for sample in reading.samples:
        for process in sample.processes:
            owner = process_owner(process.pid, whisperx_pids, names)
            if owner in planned:
                seen.setdefault(owner, set()).add(sample.index)
    warnings = []
    for owner, indices in sorted(seen.items()):
        stray = sorted(indices - planned[owner])
        if stray:
            where = ", ".join(f"GPU {i}" for i in stray)
            wanted = ", ".join(f"GPU {i}" for i in sorted(planned[owner]))
            fix = ("restart it with the CUDA_VISIBLE_DEVICES `triage-tui plan` prints"
                   if owner == "Ollama" else "check [whisperx] gpu")
            warnings.append(f"{owner} runs on {where}, the plan puts it on {wanted}: {fix}")
    return warnings
