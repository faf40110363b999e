"""Messages that carry pipeline and adapter results to the widgets."""

from __future__ import annotations

from textual.message import Message

from tui.doctor import CheckResult
from tui.gpu_view import GpuReading
from tui.plan_service import PlanResult


class ServicesChecked(Message):
    def __init__(self, results: list[CheckResult]) -> None:
        self.results = results
        super().__init__()


class GpuSampled(Message, bubble=False):
    """A new NVML reading; frequent, so a newer one replaces one still queued."""

    def __init__(self, reading: GpuReading) -> None:
        self.reading = reading
        super().__init__()

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, GpuSampled)


class PlanReady(Message):
    def __init__(self, result: PlanResult | None, error: str | None = None) -> None:
        self.result = result
        self.error = error
        super().__init__()
