"""The whole transcript of one file (Enter in the transcript pane)."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import ModalScreen
from textual.widgets import Footer, RichLog


class TranscriptScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,q,enter", "dismiss", "Close", id="transcript-full.close")]

    def __init__(self, name: str, lines: list[Text]) -> None:
        super().__init__()
        self.title_text = name
        self.transcript_lines = lines

    def compose(self) -> ComposeResult:
        log = RichLog(id="transcript-full", wrap=True, markup=False)
        log.border_title = self.title_text
        yield log
        yield Footer()

    def on_mount(self) -> None:
        log = self.query_one(RichLog)
        for line in self.transcript_lines:
            log.write(line, scroll_end=False)
        log.scroll_home(animate=False)
