"""A log whose lines wrap to the widget's width, and wrap again whenever the width changes.

Textual's RichLog renders each line once, at the width it has when the line is written (and
never narrower than its `min_width`, 78 by default): in a narrower pane, or after a resize,
the end of every long line falls off the right edge. Here each entry is kept as text and
its screen lines are made from it for the current width, so no word is ever out of reach.
"""

from __future__ import annotations

from collections.abc import Iterable

from rich.segment import Segment
from textual.cache import LRUCache
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.strip import Strip

from tui.ui.transcript_view import LogEntry, wrap_entry


class WrappedLine:
    """One screen line of an entry, as Rich segments. A Strip, with the caches each one
    carries (~1.8 KB a line against ~0.6 KB), is made only while the line is drawn."""

    __slots__ = ("cell_length", "segments")

    def __init__(self, segments: list[Segment], cell_length: int) -> None:
        self.segments = segments
        self.cell_length = cell_length

    @property
    def text(self) -> str:
        return "".join(segment.text for segment in self.segments)

    def strip(self) -> Strip:
        return Strip(self.segments, self.cell_length)


class WrappingLog(ScrollView, can_focus=True):
    """Entries (a gutter such as a timestamp, and a body) shown as wrapped lines; wrapped
    body lines hang under the body. The newest `max_entries` are kept."""

    def __init__(self, *, max_entries: int | None = None, focusable: bool = True,
                 **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        # Inside a pane that takes the keys itself, the log is no second stop for Tab.
        self.can_focus = focusable
        self.max_entries = max_entries
        self.entries: list[LogEntry] = []
        self.lines: list[WrappedLine] = []  # the screen lines of every entry, at `wrap_width`
        self._starts: list[int] = []  # the first line of each entry
        self.wrap_width = 0  # 0: not laid out yet; lines are made on the first resize
        self._pending_entry: int | None = None  # scroll_to_entry before the first layout
        # Screen lines as drawn, by their number since the last rewrap (lines dropped from
        # the top included): following the newest line scrolls every batch, and a line
        # drawn one row higher is the same line.
        self._dropped_lines = 0
        self._rewraps = 0
        self._drawn: LRUCache[tuple[object, ...], Strip] = LRUCache(1024)

    # -- writing -------------------------------------------------------------------------

    def write(self, entries: Iterable[LogEntry], *, follow: bool = True) -> None:
        """Add entries at the end; `follow` keeps the newest line in view."""
        added = list(entries)
        self.entries.extend(added)
        for entry in added:
            self._add_lines(entry)
        self._trim()
        self._update_size(follow)

    def replace(self, entries: Iterable[LogEntry], *, follow: bool = True) -> None:
        """All entries anew (a refined transcript, a renamed speaker)."""
        self.entries = list(entries)
        self._trim()
        self._rewrap()
        self._update_size(follow)

    def scroll_to_entry(self, index: int) -> None:
        """Entry `index` at the top (as far as the end allows); before the log is laid out,
        as soon as it is."""
        if not self.wrap_width or not self._starts:
            self._pending_entry = index
            return
        # Set, not scrolled to: before the first layout has shown the scrollbar, scroll_to
        # finds nothing to scroll (the offset is still kept within the lines).
        line = self._starts[max(0, min(index, len(self._starts) - 1))]
        self.scroll_target_y = self.scroll_y = min(line, self.max_scroll_y)

    def clear(self) -> None:
        self.replace([], follow=False)
        self.scroll_home(animate=False)

    def _add_lines(self, entry: LogEntry) -> None:
        if self.wrap_width:
            self._starts.append(len(self.lines))
            self.lines.extend(self._wrapped(entry))

    def _wrapped(self, entry: LogEntry) -> list[WrappedLine]:
        console = self.app.console
        return [WrappedLine(list(line.render(console)), line.cell_len)
                for line in wrap_entry(console, entry, self.wrap_width)]

    def _trim(self) -> None:
        if self.max_entries is None or len(self.entries) <= self.max_entries:
            return
        dropped = len(self.entries) - self.max_entries
        del self.entries[:dropped]
        if self.wrap_width and self._starts:
            first_kept = self._starts[dropped]
            del self.lines[:first_kept]
            self._dropped_lines += first_kept
            self._starts = [start - first_kept for start in self._starts[dropped:]]

    def _rewrap(self) -> None:
        self.lines, self._starts = [], []
        self._rewraps += 1
        self._dropped_lines = 0
        self._drawn.clear()
        for entry in self.entries:
            self._add_lines(entry)

    def _update_size(self, follow: bool) -> None:
        size = Size(self.wrap_width, len(self.lines))
        height = self.styles.height
        if size != self.virtual_size and (height is None or height.is_auto):
            self.virtual_size = size  # the log's own height follows its lines: a layout
        elif size != self.virtual_size:
            # New lines change what the log scrolls over, not where anything is on screen:
            # the reactive's layout would lay out and repaint the whole screen at every batch
            # of lines (bench/dashboard_latency.py: ~30 ms a batch on the 2-core machine,
            # keys waiting behind it). The scrollbars are updated here instead; one that
            # appears still lays the screen out (show_vertical_scrollbar does).
            self.set_reactive(WrappingLog.virtual_size, size)
            self._scroll_update(size)
        self.refresh()
        if follow:
            self.scroll_end(animate=False, immediate=False, x_axis=False)

    # -- layout --------------------------------------------------------------------------

    @property
    def _room(self) -> int:
        """The width lines wrap to: the scrollbar's column is kept for it even before the
        lines overflow, so that the scrollbar appearing never covers a letter."""
        return self.content_region.width - self.styles.scrollbar_size_vertical

    def on_resize(self) -> None:
        width = self._room
        if width <= 0 or width == self.wrap_width:
            return
        top_entry = self._entry_at(round(self.scroll_y))
        following = self.wrap_width == 0 or self.is_vertical_scroll_end
        pending, self._pending_entry = self._pending_entry, None
        self.wrap_width = width
        self._rewrap()
        self._update_size(following and pending is None)
        if pending is not None:
            self.scroll_to_entry(pending)
        elif not following and self._starts:
            # The reader keeps their place: the entry at the top stays at the top.
            top_entry = max(0, min(top_entry, len(self._starts) - 1))
            self.scroll_to(y=self._starts[top_entry], animate=False, immediate=True)

    def _entry_at(self, line: int) -> int:
        """The entry that screen line `line` belongs to."""
        index = 0
        for number, start in enumerate(self._starts):
            if start > line:
                break
            index = number
        return index

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        width = self.scrollable_content_region.width
        index = scroll_y + y
        if index >= len(self.lines):
            return Strip.blank(width, self.rich_style)
        style = self.rich_style
        key = (self._rewraps, self._dropped_lines + index, scroll_x, width, style)
        line = self._drawn.get(key)
        if line is None:
            line = self.lines[index].strip().crop_extend(scroll_x, scroll_x + width, style)
            line = self._drawn[key] = line.apply_style(style)
        return line

    def visible_text(self) -> list[str]:
        """The lines on screen now, as plain text (for tests and screen readers)."""
        return [self.render_line(y).text for y in range(self.scrollable_content_region.height)]
