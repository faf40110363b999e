"""Messages that carry adapter results and pipeline events to the widgets."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.message import Message

from tui.check_result import CheckResult

if TYPE_CHECKING:
    from tui.planning.service import PlanResult


class ServicesChecked(Message):
    """The start-up checks (`triage-tui doctor`'s) came back."""

    def __init__(self, results: list[CheckResult]) -> None:
        self.results = results
        super().__init__()


class PlanReady(Message):
    def __init__(self, result: PlanResult | None, error: str | None = None) -> None:
        self.result = result
        self.error = error
        super().__init__()


class EventsArrived(Message, bubble=False):
    """Pipeline events are waiting in the app's inbox: one message per burst, however many
    events it holds, so thousands of segments never queue thousands of messages."""
