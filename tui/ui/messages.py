"""Messages to the dashboard's widgets. Everything from the pipelines, the checks, the plan
and NVML arrives as events in the app's inbox (`tui.ui.event_inbox`); one message says so."""

from __future__ import annotations

from textual.message import Message


class EventsArrived(Message, bubble=False):
    """Events are waiting in the app's inbox: one message per burst, however many events it
    holds, so thousands of segments never queue thousands of messages."""


class SearchRequested(Message):
    """`/` in a pane: search `scope` ("transcripts" or "mail", tui.search.records.SCOPES);
    the app opens the search screen and carries out the choice."""

    def __init__(self, scope: str, text: str = "") -> None:
        self.scope = scope
        self.text = text
        super().__init__()
