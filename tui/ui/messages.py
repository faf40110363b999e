"""Messages that carry pipeline and adapter results to the widgets."""

from __future__ import annotations

from textual.message import Message

from tui.doctor import CheckResult
from tui.ui.gpu_view import GpuReading
from tui.planning.service import PlanResult
from tui.transcripts.events import Progress


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


class TranscriptUpdate(Message, bubble=False):
    """An event from the transcript pipeline; progress ticks of one file collapse."""

    def __init__(self, event: object) -> None:
        self.event = event
        super().__init__()

    def can_replace(self, message: Message) -> bool:
        return (isinstance(self.event, Progress) and isinstance(message, TranscriptUpdate)
                and isinstance(message.event, Progress)
                and message.event.content_hash == self.event.content_hash)


class MailUpdate(Message, bubble=False):
    def __init__(self, event: object) -> None:
        self.event = event
        super().__init__()


class ServiceState(Message, bubble=False):
    """A live status line for one service (watcher, IMAP, Ollama)."""

    def __init__(self, name: str, ok: bool, detail: str) -> None:
        self.name = name
        self.ok = ok
        self.detail = detail
        super().__init__()
