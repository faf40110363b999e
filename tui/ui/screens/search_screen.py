"""Search (`/` in either pane, or the command palette): a line to type in and the hits as
they come; Enter picks the highlighted hit (the first, unless ↓/↑ moved it).

The query runs in a thread worker through the function the app hands in; its hits come back
as a message, and hits for text the user has since changed are dropped."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Footer, Input, Label, OptionList, Static
from textual.widgets.option_list import Option
from textual.worker import get_current_worker

from tui.search.records import SearchHit
from tui.ui.search_view import hit_line, hits_status

SearchFunction = Callable[[str, int], list[SearchHit]]
RESULT_LIMIT = 50


@dataclass(frozen=True)
class SearchChoice:
    """What the user picked, with the query and every hit it had (for next/previous)."""

    text: str
    hit: SearchHit
    hits: tuple[SearchHit, ...]


class SearchScreen(ModalScreen[SearchChoice | None]):
    BINDINGS = [
        Binding("escape", "dismiss(None)", "Cancel", id="search-screen.cancel"),
        Binding("down", "cursor(1)", "Next hit", id="search-screen.down"),
        Binding("up", "cursor(-1)", "Previous hit", id="search-screen.up"),
    ]

    class HitsFound(Message):
        """The hits for `text` (from the worker thread)."""

        def __init__(self, text: str, hits: list[SearchHit]) -> None:
            self.text = text
            self.hits = hits
            super().__init__()

    def __init__(self, title: str, search: SearchFunction, text: str = "") -> None:
        super().__init__()
        self.title_text = title
        self.search = search
        self.initial = text
        self.hits: list[SearchHit] = []
        self.hits_for: str | None = None  # the text `hits` answer
        self._submitted = False  # Enter came before the hits: pick the first when they come

    def compose(self) -> ComposeResult:
        with Vertical(id="search-box"):
            yield Label(self.title_text, id="search-title")
            yield Input(value=self.initial, placeholder='words, "a phrase", OR, -word',
                        id="search-input")
            yield OptionList(id="search-hits")
            yield Static("", id="search-status", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(Input).focus()
        if self.initial:
            self.find(self.initial)

    @property
    def text(self) -> str:
        return self.query_one(Input).value

    @on(Input.Changed, "#search-input")
    def typed(self, event: Input.Changed) -> None:
        self._submitted = False
        self.find(event.value)

    @work(thread=True, exclusive=True, group="search", exit_on_error=False)
    def find(self, text: str) -> None:
        hits = self.search(text, RESULT_LIMIT) if text.strip() else []
        if not get_current_worker().is_cancelled:
            self.post_message(self.HitsFound(text, hits))

    @on(HitsFound)
    def show_hits(self, message: HitsFound) -> None:
        if message.text != self.text:
            return  # typed on since: the newer query's hits are coming
        self.hits, self.hits_for = message.hits, message.text
        options = self.query_one(OptionList)
        options.clear_options()
        options.add_options([Option(hit_line(hit)) for hit in self.hits])
        if self.hits:
            options.highlighted = 0
        self.query_one("#search-status", Static).update(
            hits_status(len(self.hits), RESULT_LIMIT) if message.text.strip() else "")
        if self._submitted:
            self._submitted = False
            self.choose(0)

    def action_cursor(self, step: int) -> None:
        options = self.query_one(OptionList)
        if options.option_count:
            current = options.highlighted if options.highlighted is not None else -1
            options.highlighted = max(0, min(options.option_count - 1, current + step))

    @on(Input.Submitted, "#search-input")
    def submitted(self) -> None:
        if self.hits_for != self.text:
            self._submitted = True  # the hits for this text are on their way
            return
        highlighted = self.query_one(OptionList).highlighted
        self.choose(highlighted or 0)

    @on(OptionList.OptionSelected, "#search-hits")
    def selected(self, event: OptionList.OptionSelected) -> None:
        self.choose(event.option_index)

    def choose(self, index: int) -> None:
        if 0 <= index < len(self.hits):
            self.dismiss(SearchChoice(self.text, self.hits[index], tuple(self.hits)))
        elif self.text.strip():
            self.app.bell()
