"""The triage pane: a table of mail and verdicts, the selected mail's details, review keys."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import DataTable, Static

from tui.mail.events import (
    ActionApplied,
    ActionFailed,
    ActionUndone,
    MailArrived,
    TriageDeferred,
    TriageFailed,
    TriageRequeued,
    VerdictPreview,
    VerdictReady,
)
from tui.mail.records import StoredMessage, StoredVerdict
from tui.mail.verdicts import SuggestedAction

PRIORITY_STYLES = {"urgent": "bold red", "high": "yellow", "normal": "", "low": "dim"}
PRIORITY_ORDER = {"urgent": 0, "high": 1, "normal": 2, "low": 3}


def retry_state(retry_in: float) -> str:
    """The state cell of mail waiting after a failed call: "retry 40s", "retry 3m"."""
    seconds = max(0, round(retry_in))
    if seconds < 100:
        return f"retry {seconds}s"
    if seconds < 6000:
        return f"retry {round(seconds / 60)}m"
    return f"retry {round(seconds / 3600)}h"


@dataclass
class MailRow:
    message: StoredMessage
    verdict: StoredVerdict | None = None
    state: str = "new"
    generating: bool = False


class TriagePane(Vertical, can_focus=True):
    BINDINGS = [
        Binding("a", "accept", "Accept", id="accept"),
        Binding("o", "override", "Override", id="override"),
        Binding("f", "decide('flag')", "Flag", id="flag"),
        Binding("r", "decide('mark_read')", "Read", id="mark_read"),
        Binding("m", "move_to_folder", "Move", id="move"),
        Binding("u", "undo", "Undo", id="undo"),
        Binding("t", "retriage", "Re-triage", id="retriage"),
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

    # What the user asked for; the app carries each out on the mail pipeline.

    class Accept(Message):
        """Apply the suggested action to these mails."""

        def __init__(self, keys: list[int]) -> None:
            self.keys = keys
            super().__init__()

    class Undo(Message):
        """Undo the last action on these mails."""

        def __init__(self, keys: list[int]) -> None:
            self.keys = keys
            super().__init__()

    class Retriage(Message):
        """Send these mails back to the model."""

        def __init__(self, keys: list[int]) -> None:
            self.keys = keys
            super().__init__()

    class Decide(Message):
        """Apply the user's own choice of action (and folder, for a move)."""

        def __init__(self, keys: list[int], action: SuggestedAction,
                     folder: str | None = None) -> None:
            self.keys = keys
            self.action = action
            self.folder = folder
            super().__init__()

    def __init__(self, *, archive_folder: str = "Archive", **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.archive_folder = archive_folder
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

    def apply(self, event: object) -> None:
        """A mail pipeline event; others are ignored."""
        if isinstance(event, MailArrived):
            message = event.message
            state = (retry_state(message.retry_at - time.time()) if message.waiting
                     and message.retry_at else message.state.value)
            self.upsert(MailRow(message, state=state))
        elif isinstance(event, VerdictPreview):
            row = self.rows.get(event.key)
            if row is not None:
                row.generating = True
                self.upsert(row)
        elif isinstance(event, VerdictReady):
            row = self.rows.get(event.key)
            if row is not None:
                row.verdict, row.generating = event.verdict, False
                if row.state in ("new", "triaging", "failed") or row.state.startswith("retry"):
                    row.state = "triaged"
                self.upsert(row)
        elif isinstance(event, TriageFailed):
            for key in event.keys:
                row = self.rows.get(key)
                if row is not None:  # the detail shows why
                    row.message = replace(row.message, last_error=event.reason)
                self.set_state(key, "failed")
        elif isinstance(event, TriageDeferred):
            # Back in the queue after a failed call: when it goes again, and (detail) why.
            for key in event.keys:
                row = self.rows.get(key)
                if row is not None:
                    row.message = replace(row.message, last_error=event.reason,
                                          retry_at=event.retry_at)
                self.set_state(key, retry_state(event.retry_in))
        elif isinstance(event, TriageRequeued):
            for key in event.keys:
                row = self.rows.get(key)
                if row is not None:
                    row.message = replace(row.message, last_error=None, retry_at=None)
                self.set_state(key, "new")
        elif isinstance(event, ActionApplied):
            self.set_state(event.key, f"✓ {event.action}")
        elif isinstance(event, ActionUndone):
            self.set_state(event.key, "triaged")
            self.app.notify(f"m{event.key}: {event.action} undone")
        elif isinstance(event, ActionFailed):
            self.app.notify(f"m{event.key}: {event.action} failed: {event.reason}",
                            severity="error", timeout=10)

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

    def _send(self, make: Callable[[list[int]], Message]) -> None:
        """Post the command for the marked mails (or the selected one); marks are spent."""
        keys = self._target_keys()
        if keys:
            self.clear_marks()
            self.post_message(make(keys))

    def action_accept(self) -> None:
        self._send(self.Accept)

    def action_undo(self) -> None:
        self._send(self.Undo)

    def action_retriage(self) -> None:
        self._send(self.Retriage)

    def action_decide(self, action: str) -> None:
        self._send(lambda keys: self.Decide(keys, SuggestedAction(action)))

    def action_move_to_folder(self) -> None:
        from tui.ui.screens.pickers import folder_prompt

        def chosen(folder: str | None) -> None:
            if folder:
                self._send(lambda keys: self.Decide(keys, SuggestedAction.MOVE, folder))

        self.app.push_screen(folder_prompt(self.archive_folder), chosen)

    def action_override(self) -> None:
        from tui.ui.screens.pickers import ActionPicker

        def picked(action: SuggestedAction | None) -> None:
            if action is SuggestedAction.MOVE:
                self.action_move_to_folder()
            elif action is not None:
                self._send(lambda keys: self.Decide(keys, action))

        self.app.push_screen(ActionPicker(), picked)

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
