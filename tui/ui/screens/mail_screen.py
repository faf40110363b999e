"""One mail on the whole screen (Enter in the triage list): its verdict, why, all its text."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from tui.ui.widgets.key_footer import KeyFooter


class MailScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,q,enter", "dismiss", "Close", id="mail-full.close")]

    def __init__(self, subject: str, detail: Text) -> None:
        super().__init__()
        self.subject = subject
        self.detail = detail

    def compose(self) -> ComposeResult:
        body = VerticalScroll(Static(self.detail), id="mail-full")
        body.border_title = self.subject
        yield body
        yield KeyFooter()

    def on_mount(self) -> None:
        self.query_one("#mail-full").focus()
