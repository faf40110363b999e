"""The triage pane: a table of mail and verdicts, the selected mail's details, review keys."""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import DataTable, Static

from tui.mail.store import StoredMessage, StoredVerdict

PRIORITY_STYLES = {"urgent": "bold red", "high": "yellow", "normal": "", "low": "dim"}
PRIORITY_ORDER = {"urgent": 0, "high": 1, "normal": 2, "low": 3}


@dataclass
class MailRow:
    message: StoredMessage
    verdict: StoredVerdict | None = None
    state: str = "new"
    generating: bool = False


class TriagePane(Vertical, can_focus=True):
    BINDINGS = [
        Binding("a", "command('accept')", "Accept", id="accept"),
        Binding("o", "command('override')", "Override", id="override"),
        Binding("f", "command('flag')", "Flag", id="flag"),
        Binding("r", "command('mark_read')", "Read", id="mark_read"),
        Binding("m", "command('move')", "Move", id="move"),
        Binding("u", "command('undo')", "Undo", id="undo"),
        Binding("t", "command('retriage')", "Re-triage", id="retriage"),
        Binding("space", "toggle_mark", "Mark", id="mark"),
        Binding("s", "sort", "Sort", show=False, id="sort"),
        Binding("j", "move(1)", "Down", show=False, id="triage.down"),
        Binding("k", "move(-1)", "Up", show=False, id="triage.up"),
        Binding("g", "jump(0)", "First", show=False, id="triage.first"),
        Binding("G", "jump(-1)", "Last", show=False, id="triage.last"),
        Binding("slash", "search", "Search", id="search"),
        Binding("n", "search_step(1)", "Next match", show=False, id="search.next"),
        Binding("N", "search_step(-1)", "Previous match", show=False, id="search.previous"),
    ]

    class Command(Message):
        """The user asked for an action on these mails (the app talks to the pipeline)."""

        def __init__(self, command: str, keys: list[int]) -> None:
            self.command = command
            self.keys = keys
            super().__init__()

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.border_title = "Triage"
        self.rows: dict[int, MailRow] = {}
        self.marked: set[int] = set()
        self._sort_by_priority = False
        self.search_query: str = ""

    def compose(self) -> ComposeResult:
        table: DataTable[Text | str] = DataTable(id="triage-table", cursor_type="row",
                                                 zebra_stripes=True)
        table.add_column(" ", key="mark", width=1)
        table.add_column("pri", key="priority", width=6)
        table.add_column("from", key="from", width=18)
        table.add_column("subject", key="subject")
        table.add_column("action", key="action", width=10)
        table.add_column("state", key="state", width=10)
        yield table
        yield Static("no mail yet", id="triage-detail")

    @property
    def table(self) -> DataTable[Text | str]:
        return self.query_one("#triage-table", DataTable)

    def on_focus(self) -> None:
        self.table.focus()

    def _cells(self, row: MailRow) -> list[Text | str]:
        verdict = row.verdict
        priority = verdict.priority if verdict else "-"
        action = verdict.action + (f"→{verdict.folder}" if verdict and verdict.folder else "") \
            if verdict else "-"
        state = "generating…" if row.generating else row.state
        if verdict and verdict.injection_suspected:
            state = "⚠ " + state
        sender = row.message.sender.split("<")[0].strip().strip('"') or row.message.sender
        return ["●" if row.message.key in self.marked else " ",
                Text(priority, style=PRIORITY_STYLES.get(priority, "")),
                sender[:18], row.message.subject, action, state]

    def upsert(self, row: MailRow) -> None:
        key = row.message.key
        self.rows[key] = row
        table = self.table
        cells = self._cells(row)
        if str(key) in table.rows:
            for column, value in zip(("mark", "priority", "from", "subject", "action", "state"),
                                     cells, strict=True):
                table.update_cell(str(key), column, value)
        else:
            table.add_row(*cells, key=str(key))
        if self.selected_key == key:
            self._show_detail(key)

    def set_state(self, key: int, state: str) -> None:
        row = self.rows.get(key)
        if row is not None:
            row.state, row.generating = state, False
            self.upsert(row)

    @property
    def selected_key(self) -> int | None:
        table = self.table
        if table.row_count == 0:
            return None
        row_key, _ = table.coordinate_to_cell_key(table.cursor_coordinate)
        return int(str(row_key.value)) if row_key.value is not None else None

    def _show_detail(self, key: int) -> None:
        row = self.rows[key]
        message, verdict = row.message, row.verdict
        detail = Text()
        detail.append(f"{message.prompt_id}  {message.sender}\n", style="bold")
        detail.append(f"{message.subject}\n")
        if verdict:
            detail.append(f"{verdict.category} · {verdict.priority} · suggests {verdict.action}"
                          f"{' → ' + verdict.folder if verdict.folder else ''}\n", style="cyan")
            detail.append(f"{verdict.summary}\nwhy: {verdict.reason}\n")
            if verdict.injection_suspected:
                signals = "; ".join(verdict.injection_signals) or "flagged by the model"
                detail.append(f"⚠ possible prompt injection: {signals}\n", style="bold red")
        elif message.last_error:
            detail.append(f"triage failed: {message.last_error}\n", style="red")
        detail.append(message.body[:600], style="dim")
        self.query_one("#triage-detail", Static).update(detail)

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.row_key.value is not None:
            self._show_detail(int(str(event.row_key.value)))

    def _target_keys(self) -> list[int]:
        if self.marked:
            return sorted(self.marked)
        key = self.selected_key
        return [key] if key is not None else []

    def action_command(self, command: str) -> None:
        keys = self._target_keys()
        if keys:
            self.post_message(self.Command(command, keys))

    def clear_marks(self) -> None:
        marked, self.marked = self.marked, set()
        for key in marked:
            if key in self.rows:
                self.upsert(self.rows[key])

    def action_toggle_mark(self) -> None:
        key = self.selected_key
        if key is None:
            return
        self.marked ^= {key}
        self.upsert(self.rows[key])
        self.table.action_cursor_down()

    def action_sort(self) -> None:
        self._sort_by_priority = not self._sort_by_priority
        if self._sort_by_priority:
            self.table.sort("priority", key=lambda cell: PRIORITY_ORDER.get(str(cell), 9))
        else:
            self.table.sort(key=lambda *_: 0)

    # -- moving and searching -----------------------------------------------------------

    def action_move(self, step: int) -> None:
        if step > 0:
            self.table.action_cursor_down()
        else:
            self.table.action_cursor_up()

    def action_jump(self, row: int) -> None:
        if self.table.row_count:
            self.table.move_cursor(row=row if row >= 0 else self.table.row_count - 1)

    def matches(self, key: int) -> bool:
        row = self.rows[key]
        haystack = " ".join((row.message.sender, row.message.subject, row.message.body,
                             row.verdict.summary if row.verdict else "")).lower()
        return self.search_query.lower() in haystack

    def action_search(self) -> None:
        from tui.ui.screens.pickers import TextPrompt

        def searched(query: str | None) -> None:
            if query:
                self.search_query = query
                self.action_search_step(1, include_current=True)

        self.app.push_screen(TextPrompt("Search mail:", self.search_query), searched)

    def action_search_step(self, step: int, include_current: bool = False) -> None:
        """n / N: the next or previous row matching the query, wrapping around."""
        if not self.search_query or not self.table.row_count:
            return
        keys = [int(str(row.key.value)) for row in self.table.ordered_rows]
        start = self.table.cursor_row
        for offset in range(0 if include_current else 1, len(keys) + 1):
            index = (start + step * offset) % len(keys)
            if self.matches(keys[index]):
                self.table.move_cursor(row=index)
                return
        self.app.notify(f"no mail matches {self.search_query!r}", severity="warning")
