"""The GPU panel: the planned budget as a bar, beside what NVML measures."""

from __future__ import annotations

from rich.text import Text
from textual.reactive import reactive
from textual.widgets import Static

from tui.gpu_view import (
    GpuReading,
    bar_cells,
    budget_segments,
    headroom_warning,
    process_shares,
)
from tui.plan_service import PlanResult

SEGMENT_STYLES = {
    "weights": "on dark_blue",
    "kv": "on dodger_blue2",
    "scratch": "on grey35",
    "whisperx": "on dark_magenta",
    "headroom": "on grey15",
}


def _gib(value: int) -> str:
    return f"{value / 2**30:.2f}"


# Under this width the panel drops to three short lines, so 80×24 keeps room for the panes.
COMPACT_WIDTH = 100
_SHORT_LABELS = {"weights": "LLM", "kv": "KV", "scratch": "graph", "whisperx": "WhisperX",
                 "headroom": "free"}


class GpuPanel(Static):
    # layout=True: a new plan or reading can change how many lines the panel needs.
    plan: reactive[PlanResult | None] = reactive(None, layout=True)
    plan_error: reactive[str | None] = reactive(None, layout=True)
    reading: reactive[GpuReading | None] = reactive(None, layout=True)

    def __init__(self, *, gpu_index: int, warn_headroom_bytes: int, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.gpu_index = gpu_index
        self.warn_headroom_bytes = warn_headroom_bytes
        self.whisperx_pids: set[int] = set()
        self.process_names: dict[int, str] = {}

    @property
    def compact(self) -> bool:
        return self.size.width < COMPACT_WIDTH

    def _measured(self) -> Text:
        reading = self.reading
        if reading is None:
            return Text("NVML: reading …", style="dim")
        if reading.unavailable is not None:
            return Text(f"No GPU: {reading.unavailable.reason}; showing the plan only",
                        style="yellow")
        card = reading.card(self.gpu_index)
        if card is None:
            return Text(f"No GPU {self.gpu_index} (NVML sees {len(reading.samples)})",
                        style="yellow")
        utilization = (f", {card.utilization_percent}% busy"
                       if card.utilization_percent is not None else "")
        shares = process_shares(card, self.whisperx_pids, self.process_names)
        owners = "  ".join(f"{owner} {_gib(used)}" for owner, used in shares.items())
        if self.compact:
            text = Text(f"NVML {_gib(card.used_bytes)}/{_gib(card.total_bytes)} used, "
                        f"{_gib(card.free_bytes)} free · {owners}")
        else:
            text = Text(f"measured GPU {card.index} {card.name}: used {_gib(card.used_bytes)} / "
                        f"{_gib(card.total_bytes)} GiB, free {_gib(card.free_bytes)} GiB"
                        f"{utilization}\n{owners}")
        for other in reading.samples:
            if other.index != card.index:  # the other cards, one line each
                text.append(f"\nGPU {other.index} {other.name}: used {_gib(other.used_bytes)} / "
                            f"{_gib(other.total_bytes)} GiB, free {_gib(other.free_bytes)} GiB")
        warning = headroom_warning(reading, self.gpu_index, self.warn_headroom_bytes)
        if warning:
            text.append(f"\n⚠ {warning}", style="bold red")
        return text

    def render(self) -> Text:
        text = Text()
        if self.plan_error:
            text.append(f"plan unavailable: {self.plan_error}\n", style="red")
        result = self.plan
        if result is not None:
            plan = result.plan
            segments = budget_segments(plan)
            width = max(10, self.size.width - 2)
            for key, cells in bar_cells(segments, width):
                text.append(" " * cells, style=SEGMENT_STYLES[key])
            text.append("\n")
            for index, segment in enumerate(segments):
                if index:
                    text.append(" " if self.compact else "  ")
                text.append("■" if self.compact else "■ ",
                            style=SEGMENT_STYLES[segment.key].replace("on ", ""))
                label = _SHORT_LABELS[segment.key] if self.compact else segment.label
                text.append(f"{label} {_gib(segment.bytes)}")
            if self.compact:
                text.append(f" · ctx {plan.request.num_ctx}\n")
            else:
                text.append(f"\nplan: {_gib(plan.total_bytes)} of "
                            f"{_gib(plan.request.gpu_total_bytes)} GiB, headroom "
                            f"{_gib(plan.headroom_bytes)} GiB; num_ctx {plan.request.num_ctx} "
                            f"({plan.request.cache_type.value}, {plan.request.parallel} slot); "
                            f"shape from {plan.request.shape.source}\n")
        elif not self.plan_error:
            text.append("planning …\n", style="dim")
        text.append_text(self._measured())
        return text
