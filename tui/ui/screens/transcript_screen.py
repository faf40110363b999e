"""The whole transcript of one file (Enter in the transcript pane)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import ModalScreen

from tui.ui.transcript_view import LogEntry
from tui.ui.widgets.key_footer import KeyFooter
from tui.ui.widgets.wrapping_log import WrappingLog


class TranscriptScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,q,enter", "dismiss", "Close", id="transcript-full.close")]

    def __init__(self, name: str, lines: list[LogEntry]) -> None:
        super().__init__()
        self.title_text = name
        self.transcript_lines = lines

    def compose(self) -> ComposeResult:
        log = WrappingLog(id="transcript-full")
        log.border_title = self.title_text
        yield log
        yield KeyFooter()

    def on_mount(self) -> None:
        log = self.query_one(WrappingLog)
        log.write(self.transcript_lines, follow=False)
        log.focus()
