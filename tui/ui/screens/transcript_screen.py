"""The whole transcript of one file, its summary first (Enter in the transcript pane, or a
search hit: then scrolled to the segment found, its timestamp marked)."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import ModalScreen

from tui.ui.transcript_view import LogEntry, summary_entries
from tui.ui.widgets.key_footer import KeyFooter
from tui.ui.widgets.wrapping_log import WrappingLog


class TranscriptScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,q,enter", "dismiss", "Close", id="transcript-full.close")]

    def __init__(self, name: str, lines: list[LogEntry], at_line: int | None = None,
                 summary: str = "") -> None:
        """`at_line`: the transcript line to scroll to; `summary`: the summary's markdown,
        or a line saying where it stands."""
        super().__init__()
        self.title_text = name
        self.transcript_lines = lines
        self.at_line = at_line
        self.summary = summary

    def compose(self) -> ComposeResult:
        log = WrappingLog(id="transcript-full")
        log.border_title = self.title_text
        yield log
        yield KeyFooter()

    def on_mount(self) -> None:
        log = self.query_one(WrappingLog)
        head: list[LogEntry] = []
        if self.summary:
            head = [*summary_entries(self.summary),
                    LogEntry(Text(), Text("── transcript ──", style="dim"))]
        log.write([*head, *self.transcript_lines], follow=False)
        if self.at_line is not None:
            log.scroll_to_entry(len(head) + self.at_line)
        log.focus()
