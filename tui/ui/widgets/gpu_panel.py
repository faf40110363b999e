"""The GPU panel: the planned budget as a bar, beside what NVML measures."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual.reactive import reactive
from textual.widgets import Static

from tui.ui.gpu_view import (
    bar_cells,
    budget_segments,
    headroom_warning,
    placement_warnings,
    process_shares,
)

if TYPE_CHECKING:
    from tui.budget.plan import CardBudget, Plan
    from tui.gpu_sampler import GpuReading
    from tui.planning.service import PlanResult

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


class GpuPanel(Static, can_focus=True):
    """One budget bar per planned card (the LLM's, and WhisperX's when it has its own), each
    above what NVML measures on that card; the other cards one line each. Focusable, so
    that Tab reaches it and `z` zooms it."""

    # layout=True: a new plan or reading can change how many lines the panel needs.
    plan: reactive[PlanResult | None] = reactive(None, layout=True)
    plan_error: reactive[str | None] = reactive(None, layout=True)
    reading: reactive[GpuReading | None] = reactive(None, layout=True)

    def __init__(self, *, warn_headroom_bytes: int, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.warn_headroom_bytes = warn_headroom_bytes
        self.whisperx_pids: set[int] = set()
        self.process_names: dict[int, str] = {}

    def apply(self, event: object) -> None:
        """The plan, a new NVML reading, or the WhisperX worker's pid (its share is labelled as
        WhisperX's); other events are ignored."""
        # Imported with the first event: the first frame waits for none of the event types
        # (bench/dashboard_latency.py, first frame).
        from tui.gpu_sampler import GpuReading
        from tui.runtime.events import PlanComputed
        from tui.transcripts.events import WorkerMemory

        if isinstance(event, PlanComputed):
            self.plan, self.plan_error = event.result, event.error
        elif isinstance(event, GpuReading):
            self.process_names = event.process_names or {}
            self.reading = event
        elif isinstance(event, WorkerMemory):
            self.whisperx_pids.add(event.pid)

    def watch_plan(self, result: PlanResult | None) -> None:
        self.set_class(result is not None and len(result.plan.cards) > 1, "-several-cards")

    @property
    def compact(self) -> bool:
        return self.size.width < COMPACT_WIDTH

    def _planned_indices(self) -> list[int]:
        if self.plan is None:
            return [0]
        indices = [card.gpu.index for card in self.plan.plan.cards]
        return [index for index in indices if index is not None] or [0]

    def _card_measured(self, index: int) -> Text:
        reading = self.reading
        if reading is None:
            return Text("NVML: reading …", style="dim")
        if reading.unavailable is not None:
            return Text(f"No GPU: {reading.unavailable.reason}; showing the plan only",
                        style="yellow")
        card = reading.card(index)
        if card is None:
            return Text(f"No GPU {index} (NVML sees {len(reading.samples)})", style="yellow")
        utilization = (f", {card.utilization_percent}% busy"
                       if card.utilization_percent is not None else "")
        shares = process_shares(card, self.whisperx_pids, self.process_names)
        owners = "  ".join(f"{owner} {_gib(used)}" for owner, used in shares.items())
        if self.compact:
            return Text(f"NVML {_gib(card.used_bytes)}/{_gib(card.total_bytes)} used, "
                        f"{_gib(card.free_bytes)} free · {owners}")
        return Text(f"measured GPU {card.index} {card.name}: used {_gib(card.used_bytes)} / "
                    f"{_gib(card.total_bytes)} GiB, free {_gib(card.free_bytes)} GiB"
                    f"{utilization}\n{owners}")

    def _others_and_warnings(self, planned: list[int]) -> Text:
        text = Text()
        reading = self.reading
        if reading is None or reading.unavailable is not None:
            return text
        for other in reading.samples:
            if other.index not in planned:  # the cards no service is planned on
                text.append(f"\nGPU {other.index} {other.name}: used {_gib(other.used_bytes)} / "
                            f"{_gib(other.total_bytes)} GiB, free {_gib(other.free_bytes)} GiB")
        warnings = [warning for index in planned
                    if (warning := headroom_warning(reading, index, self.warn_headroom_bytes))]
        if self.plan is not None:
            warnings += placement_warnings(self.plan.plan, reading, self.whisperx_pids,
                                           self.process_names)
        for warning in warnings:
            text.append(f"\n⚠ {warning}", style="bold red")
        return text

    def _card_budget(self, card: CardBudget, plan: Plan, several: bool) -> Text:
        text = Text()
        segments = budget_segments(card)
        width = max(10, self.size.width - 2)
        for key, cells in bar_cells(segments, width):
            text.append(" " * cells, style=SEGMENT_STYLES[key])
        text.append("\n")
        if several and self.compact:
            text.append(f"{card.gpu.name}: ", style="bold")
        for index, segment in enumerate(segments):
            if index:
                text.append(" " if self.compact else "  ")
            text.append("■" if self.compact else "■ ",
                        style=SEGMENT_STYLES[segment.key].replace("on ", ""))
            label = _SHORT_LABELS[segment.key] if self.compact else segment.label
            text.append(f"{label} {_gib(segment.bytes)}")
        request = plan.request
        has_llm = "llm" in card.owners
        if self.compact:
            if has_llm:
                text.append(f" · ctx {request.num_ctx}")
            return text.append("\n")
        where = f"{card.gpu.name} plan" if several else "plan"
        text.append(f"\n{where}: {_gib(card.planned_bytes)} of {_gib(card.gpu.total_bytes)} GiB, "
                    f"headroom {_gib(card.headroom_bytes)} GiB")
        if has_llm:
            text.append(f"; num_ctx {request.num_ctx} ({request.cache_type.value}, "
                        f"{request.parallel} slot)")
            if self.plan is not None and (self.plan.max_num_ctx or 0) > request.num_ctx:
                text.append(f", up to {self.plan.max_num_ctx} fits")
            text.append(f"; shape from {request.shape.source}")
        elif request.whisper is not None:
            text.append(f"; WhisperX {request.whisper.model} {request.whisper.compute_type.value}"
                        f", batch_size {request.whisper.batch_size}")
        return text.append("\n")

    def render(self) -> Text:
        text = Text()
        if self.plan_error:
            text.append(f"plan unavailable: {self.plan_error}\n", style="red")
        planned = self._planned_indices()
        result = self.plan
        if result is None:
            if not self.plan_error:
                text.append("planning …\n", style="dim")
            text.append_text(self._card_measured(planned[0]))
        else:
            cards = result.plan.cards
            for number, card in enumerate(cards):
                if number:
                    text.append("\n")
                text.append_text(self._card_budget(card, result.plan, several=len(cards) > 1))
                index = card.gpu.index if card.gpu.index is not None else 0
                text.append_text(self._card_measured(index))
        text.append_text(self._others_and_warnings(planned))
        return text
