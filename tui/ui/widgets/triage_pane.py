"""The triage pane: the list of mail and verdicts, the selected mail's preview, review keys."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from itertools import chain

from rich.style import Style
from rich.text import Text
from textual import events
from textual._segment_tools import line_crop
from textual.app import ComposeResult
from textual.binding import Binding
from textual.cache import LRUCache
from textual.coordinate import Coordinate
from textual.geometry import Region
from textual.message import Message
from textual.strip import Strip
from textual.widgets import DataTable

from tui.mail.verdict_fields import SuggestedAction
from tui.ui.messages import SearchRequested
from tui.ui.triage_view import (
    COLUMNS,
    PRIORITY_ORDER,
    MailRow,
    column_widths,
    mail_detail,
    retry_state,
    row_cells,
)
from tui.ui.widgets.focus_frame import FocusFrame
from tui.ui.widgets.mail_preview import MailPreview

__all__ = ["MailRow", "MailTable", "TriagePane", "retry_state"]

PREVIEW_BODY_CHARS = 600
# f, r, m share one place in the Footer, so that 80 columns still show the app's keys.
_ACT = Binding.Group("flag/read/move", compact=True)


# A row the cursor and the hover are never on.
_NOWHERE = Coordinate(-2, -2)


class MailTable(DataTable[Text]):
    """The list of mail; Enter opens the selected one (the binding shows in the Footer).

    A row cursor changes how two rows look, but DataTable keys every line it draws by where
    the cursor is, so each j/k drew every visible row again (~15 ms of the key's ~22 ms on the
    2-core machine; bench/dashboard_latency.py). Here a line is keyed by whether the cursor
    (and the hover) is on its row: the rows it left and reached are drawn, the others come
    from the cache, scrolled or not.
    """

    BINDINGS = [Binding("enter", "select_cursor", "Open", id="triage.open")]
    _last_look: tuple[object, ...] | None = None
    _drawing_style: Style | None = None

    def render_lines(self, crop: Region) -> list[Strip]:
        # DataTable.render_line asks for rich_style for every line, a walk up the DOM each
        # time (~0.1 ms a line on the 2-core machine); it is one style for one drawing.
        self._drawing_style = super().rich_style
        try:
            return super().render_lines(crop)
        finally:
            self._drawing_style = None

    @property
    def rich_style(self) -> Style:
        return self._drawing_style or super().rich_style

    def _render_line(self, y: int, x1: int, x2: int, base_style: Style) -> Strip:
        if self.cursor_type != "row":
            return super()._render_line(y, x1, x2, base_style)
        width = self.size.width
        try:
            row_key, line_in_row = self._get_offsets(y)
        except LookupError:
            return Strip.blank(width, base_style)
        row = self._row_locations.get(row_key)
        row = -1 if row is None else row
        cursor = self.cursor_coordinate if row == self.cursor_coordinate.row else _NOWHERE
        hover = self.hover_coordinate if row == self.hover_coordinate.row else _NOWHERE
        # Focus and hover change how the cursor's row looks, not the others (see
        # notify_style_update): only its key holds them.
        state = self._pseudo_class_state if cursor is not _NOWHERE else None
        cache_key = ("row-cursor", y, x1, x2, width, cursor.row, hover.row, base_style,
                     self._show_hover_cursor, self._update_count, state)
        cached = self._line_cache.get(cache_key)
        if cached is not None:
            return cached
        fixed, scrollable = self._render_line_in_row(row_key, line_in_row, base_style,
                                                     cursor_location=cursor,
                                                     hover_location=hover)
        fixed_width = sum(column.get_render_width(self)
                          for column in self.ordered_columns[:self.fixed_columns])
        segments = [*chain.from_iterable(fixed),
                    *line_crop(list(chain.from_iterable(scrollable)), x1 + fixed_width, x2,
                               width)]
        strip = Strip(segments).adjust_cell_length(width, base_style).simplify()
        self._line_cache[cache_key] = strip
        return strip

    def _look(self) -> tuple[object, ...]:
        """What the rows other than the cursor's are drawn with."""
        return (self.rich_style, self.app.theme,
                *(self.get_component_rich_style(name) for name in sorted(
                    self.COMPONENT_CLASSES - {"datatable--cursor", "datatable--fixed-cursor",
                                              "datatable--header-cursor"})))

    def notify_style_update(self) -> None:
        """DataTable forgets every drawn line when its styles are updated, as they are on
        each focus change (Tab), where only the cursor's row changes. When nothing the other
        rows are drawn with changed, their lines are kept (~12 ms of a Tab)."""
        drawn = self._line_cache
        self._line_cache = LRUCache(drawn.maxsize)  # the one DataTable clears
        super().notify_style_update()
        look = self._look() if self.is_mounted else None
        if look is not None and look == self._last_look:
            self._line_cache = drawn
        self._last_look = look


class TriagePane(FocusFrame):
    """Focus goes to the list inside (one stop for Tab, both ways); `z` zooms the pane."""

    ALLOW_MAXIMIZE = True
    BINDINGS = [
        Binding("a", "accept", "Accept", id="accept"),
        Binding("o", "override", "Override", id="override"),
        Binding("f", "decide('flag')", "Flag", id="flag", group=_ACT),
        Binding("r", "decide('mark_read')", "Read", id="mark_read", group=_ACT),
        Binding("m", "move_to_folder", "Move", id="move", group=_ACT),
        Binding("u", "undo", "Undo", id="undo"),
        Binding("t", "retriage", "Re-triage", id="retriage"),
        Binding("space", "toggle_mark", "Mark", id="mark"),
        Binding("s", "sort", "Sort", show=False, id="sort"),
        Binding("j", "move(1)", "Down", show=False, id="triage.down"),
        Binding("k", "move(-1)", "Up", show=False, id="triage.up"),
        Binding("g", "jump(0)", "First", show=False, id="triage.first"),
        Binding("G", "jump(-1)", "Last", show=False, id="triage.last"),
        Binding("v", "toggle_preview", "Preview", id="triage.preview"),
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
        self.border_subtitle = "no mail yet"
        self.rows: dict[int, MailRow] = {}
        self.marked: set[int] = set()
        self._sort_by_priority = False
        self.search_query: str = ""
        self.search_hits: set[int] = set()  # the keys the last search found
        self._widths = column_widths(80)

    def compose(self) -> ComposeResult:
        table = MailTable(id="triage-table", cursor_type="row", zebra_stripes=True)
        self._add_columns(table)
        yield table
        yield MailPreview("no mail yet", id="triage-detail")

    @property
    def table(self) -> DataTable[Text]:
        return self.query_one("#triage-table", MailTable)

    def focus(self, scroll_visible: bool = True) -> TriagePane:
        self.table.focus(scroll_visible)
        return self

    def _add_columns(self, table: DataTable[Text]) -> None:
        for key, label in COLUMNS.items():
            table.add_column(label, key=key, width=self._widths[key])

    def on_resize(self, event: events.Resize) -> None:
        """The columns fill the pane's width, whatever it is now (1 cell for the scrollbar):
        the subject takes what the other columns leave."""
        widths = column_widths(event.size.width - 1)
        if widths == self._widths:
            return
        self._widths = widths
        table = self.table
        selected = self.selected_key
        order = [int(str(row.key.value)) for row in table.ordered_rows]
        table.clear(columns=True)
        self._add_columns(table)
        for key in order:
            table.add_row(*self._cells(self.rows[key]), key=str(key))
        if selected is not None:
            table.move_cursor(row=table.get_row_index(str(selected)), animate=False)

    def _cells(self, row: MailRow) -> list[Text]:
        return row_cells(row, self._widths, row.message.key in self.marked)

    def upsert(self, row: MailRow) -> None:
        key = row.message.key
        self.rows[key] = row
        table = self.table
        cells = self._cells(row)
        if str(key) in table.rows:
            for column, value in zip(COLUMNS, cells, strict=True):
                table.update_cell(str(key), column, value)
        else:
            table.add_row(*cells, key=str(key))
            self.border_subtitle = f"{len(self.rows)} mail{'' if len(self.rows) == 1 else 's'}"
        if self.selected_key == key:
            self._show_detail(key)

    def apply(self, event: object) -> None:
        """A mail pipeline event; others are ignored."""
        # Imported with the first event: the first frame waits for none of the event types
        # (bench/dashboard_latency.py, first frame).
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
                            severity="error", timeout=10, markup=False)

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
        self.query_one("#triage-detail", MailPreview).show(
            mail_detail(self.rows[key], PREVIEW_BODY_CHARS))

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.row_key.value is not None:
            self._show_detail(int(str(event.row_key.value)))

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        """Enter (or a click on the selected row): the whole mail on its own screen."""
        from tui.ui.screens.mail_screen import MailScreen

        if event.row_key.value is not None:
            row = self.rows[int(str(event.row_key.value))]
            self.app.push_screen(MailScreen(row.message.subject, mail_detail(row)))

    def action_toggle_preview(self) -> None:
        """v: the preview under the list on or off, whatever the terminal's size chose."""
        showing = self.query_one("#triage-detail").display
        self.set_class(showing, "-preview-off")
        self.set_class(not showing, "-preview-on")

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
            self.table.sort("priority", key=lambda cell: PRIORITY_ORDER.get(cell.plain, 9))
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
        return key in self.search_hits

    def action_search(self) -> None:
        """/: the search index over all stored mail (the app opens the search)."""
        self.post_message(SearchRequested("mail", self.search_query))

    def show_search_choice(self, text: str, key: int, hits: list[int]) -> bool:
        """Select the chosen mail; n / N then step through the other hits."""
        self.search_query, self.search_hits = text, set(hits)
        if str(key) not in self.table.rows:
            self.app.notify(f"m{key} is not in the list", severity="warning")
            return False
        self.table.move_cursor(row=self.table.get_row_index(str(key)))
        self.focus()
        return True

    def action_search_step(self, step: int, include_current: bool = False) -> None:
        """n / N: the next or previous row matching the query, wrapping around."""
        if not self.search_hits or not self.table.row_count:
            return
        keys = [int(str(row.key.value)) for row in self.table.ordered_rows]
        start = self.table.cursor_row
        for offset in range(0 if include_current else 1, len(keys) + 1):
            index = (start + step * offset) % len(keys)
            if self.matches(keys[index]):
                self.table.move_cursor(row=index)
                return
        self.app.notify(f"no mail matches {self.search_query!r}", severity="warning")
