"""What keeps keys quick while transcript lines stream in (bench/dashboard_latency.py measures
the time): new lines do not lay the screen out, the mail preview has a fixed height and never
lays out, the key bar is repainted (never laid out) only when its keys change, and the
transcript pane forgets the segments of finished files."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from tests.services.gpu_samples import RTX_3090
from tests.ui.sample_dashboard import feed_sample_data, make_sample_app, message, verdict
from tui.mail.events import MailArrived, VerdictReady
from tui.transcripts.events import FileDone, FileQueued, SegmentTranscribed, StageChanged
from tui.transcripts.records import FileState, StoredSegment
from tui.ui.widgets.key_footer import KeyFooter
from tui.ui.widgets.mail_preview import MailPreview
from tui.ui.widgets.transcript_pane import TranscriptPane


def segment(index: int) -> StoredSegment:
    return StoredSegment(index, index * 4.0, index * 4.0 + 3.9,
                         f"line {index}: the quarterly budget meeting starts at nine", "SPEAKER_00")


def record_refreshes(widget: Any) -> list[bool]:
    """From now on, each refresh of `widget`: True where it asked for a layout."""
    refreshes: list[bool] = []
    refresh = widget.refresh

    def recording_refresh(*regions: Any, **flags: Any) -> Any:
        refreshes.append(bool(flags.get("layout")))
        return refresh(*regions, **flags)

    widget.refresh = recording_refresh
    return refreshes


async def lines_written(pilot: Any, log: Any, count: int) -> None:
    for _ in range(200):
        if len(log.entries) >= count:
            break
        await pilot.pause(0.05)
    await pilot.pause()


async def test_streamed_lines_scroll_the_log_without_a_layout() -> None:
    app = make_sample_app(RTX_3090)
    async with app.run_test(size=(120, 36)) as pilot:
        await feed_sample_data(pilot)
        log = app.query_one(TranscriptPane).lines
        digest = "f" * 64
        for index in range(4, 300):  # enough to overflow: the scrollbar appears (a layout)
            app.receive(SegmentTranscribed(digest, segment(index)))
        await lines_written(pilot, log, 300)
        layouts = record_refreshes(log)
        for index in range(300, 600):
            app.receive(SegmentTranscribed(digest, segment(index)))
        await lines_written(pilot, log, 600)
        assert layouts and not any(layouts)
        assert log.virtual_size.height == len(log.lines)
        assert log.is_vertical_scroll_end  # it followed the newest line
        assert any("line 599:" in row for row in log.visible_text())


async def test_the_preview_keeps_its_height_and_moving_lays_nothing_out() -> None:
    app = make_sample_app(RTX_3090)
    async with app.run_test(size=(120, 36)) as pilot:
        await feed_sample_data(pilot)
        long_body = "A long paragraph about the budget and the board. " * 40
        app.receive(MailArrived(message(13, "Ana Ruiz <ana@example.org>", "Long one",
                                        long_body), 13))
        app.receive(VerdictReady(13, verdict(13, "high", "action", "flag", "A long mail.")))
        await pilot.pause(0.2)
        preview = app.query_one(MailPreview)
        table = app.query_one("#triage-table")
        table.focus()
        await pilot.pause()
        refreshes = record_refreshes(preview)
        for key in ["G", "k", "j", "k", "k", "g", "j", "G"]:  # long, short and long mails
            await pilot.press(key)
            await pilot.pause()
            assert preview.content_region.height == 8, key  # height 9, less the rule
            assert str(preview.content.plain).startswith(f"m{table.cursor_row + 1} ")
        assert not any(refreshes)  # repainted, never laid out


async def test_the_key_bar_repaints_only_when_its_keys_change_and_never_lays_out() -> None:
    app = make_sample_app(RTX_3090)
    async with app.run_test(size=(120, 36)) as pilot:
        await feed_sample_data(pilot)
        footer = app.query_one(KeyFooter)
        refreshes = record_refreshes(footer)
        for key in "jjjkk":
            await pilot.press(key)
        await pilot.pause(0.1)
        assert refreshes == []
        keys = footer.render().plain
        assert "Accept" in keys and keys.rstrip().endswith("▏^p palette")
        await pilot.press("shift+tab")  # to the transcript pane: its keys
        await pilot.pause(0.1)
        assert refreshes == [False]  # one repaint, no layout
        keys = footer.render().plain
        assert "Full transcript" in keys and "Accept" not in keys


async def test_a_click_on_a_key_in_the_key_bar_presses_it() -> None:
    app = make_sample_app(RTX_3090)
    async with app.run_test(size=(120, 36)) as pilot:
        await feed_sample_data(pilot)
        footer = app.query_one(KeyFooter)
        pane = app.query_one("#triage")
        line = footer.render().plain
        assert not pane.has_class("-preview-off")
        await pilot.click(KeyFooter, offset=(line.index("Preview") + 2, 0))
        await pilot.pause(0.1)
        assert pane.has_class("-preview-off")  # v toggled the preview
        await pilot.click(KeyFooter, offset=(line.index("flag/read/move") + 2, 0))
        await pilot.pause(0.1)
        assert pane.has_class("-preview-off")  # a group's words press nothing
        await pilot.click(KeyFooter, offset=(line.index("^p") + 1, 0))
        await pilot.pause(0.3)
        assert type(app.screen).__name__ == "CommandPalette"


async def test_finished_files_segments_are_forgotten_unless_shown() -> None:
    app = make_sample_app(RTX_3090)
    async with app.run_test(size=(120, 36)) as pilot:
        pane = app.query_one(TranscriptPane)
        first, second = "1" * 64, "2" * 64
        for digest in (first, second):
            app.receive(FileQueued(digest, f"/drop/{digest[0]}.m4a"))
        app.receive(StageChanged(first, FileState.TRANSCRIBING))
        app.receive(SegmentTranscribed(first, segment(0)))
        app.receive(StageChanged(second, FileState.TRANSCRIBING))  # both in the worker
        app.receive(SegmentTranscribed(second, segment(0)))
        await pilot.pause(0.2)
        assert set(pane._segments) == {first, second}
        app.receive(FileDone(first, "en"))
        await pilot.pause(0.2)
        assert set(pane._segments) == {second}  # shown: kept, even once done
        app.receive(FileDone(second, "en"))
        await pilot.pause(0.2)
        name, lines = pane.current_transcript()
        assert name == "2.m4a" and len(lines) == 1


def drawn_rows(table: Any) -> list[list[tuple[str, str]]]:
    """Every visible line of the table as (text, style) pairs: what the terminal gets."""
    return [[(segment.text, str(segment.style)) for segment in table.render_line(y)]
            for y in range(table.size.height)]


async def test_the_mail_lists_kept_lines_match_a_fresh_drawing() -> None:
    # MailTable keeps the lines of rows the cursor is not on across cursor moves and focus
    # changes; whatever it keeps must be exactly what DataTable would draw from scratch.
    app = make_sample_app(RTX_3090)
    async with app.run_test(size=(120, 36)) as pilot:
        await feed_sample_data(pilot)
        for number in range(13, 40):  # more than a screenful, so that j scrolls the list
            app.receive(MailArrived(message(number, "Eva Novak <eva@example.org>",
                                            f"Note {number}", "text"), number))
            app.receive(VerdictReady(number, verdict(number, "low", "fyi", "none", "A note.")))
        await pilot.pause(0.3)
        table = app.query_one("#triage-table")
        table.focus()
        for keys in (["j"] * 30, ["k"] * 5, ["shift+tab"], ["tab"], ["G"], ["g"],
                     ["shift+tab"]):
            await pilot.press(*keys)
            await pilot.pause()
            kept = drawn_rows(table)
            table._clear_caches()
            assert kept == drawn_rows(table), keys
        cursor_line = table.cursor_row + 1 - round(table.scroll_y)  # under the header
        assert table.has_focus is False
        await pilot.press("tab")
        await pilot.pause()
        assert table.has_focus
        # The cursor's row shows the focus (its style changed), the others did not.
        focused = drawn_rows(table)
        assert focused[cursor_line] != kept[cursor_line]
        assert [row for y, row in enumerate(focused) if y != cursor_line] == [
            row for y, row in enumerate(kept) if y != cursor_line]


def record_writes(log: Any) -> list[tuple[float, int, bool]]:
    """From now on, each write to the transcript log: (time.monotonic(), lines written,
    whether a key had come in the last KEY_QUIET_SECONDS)."""
    from tui.ui.widgets.transcript_pane import KEY_QUIET_SECONDS

    writes: list[tuple[float, int, bool]] = []
    write = log.write

    def recording_write(entries: Any, **flags: Any) -> Any:
        entries = list(entries)
        now = time.monotonic()
        writes.append((now, len(entries), now - log.app.last_key_at < KEY_QUIET_SECONDS))
        return write(entries, **flags)

    log.write = recording_write
    return writes


async def test_new_lines_go_in_slices_and_wait_while_keys_come() -> None:
    from tui.ui.widgets import transcript_pane

    app = make_sample_app(RTX_3090)
    async with app.run_test(size=(120, 36)) as pilot:
        await feed_sample_data(pilot)
        log = app.query_one(TranscriptPane).lines
        before = len(log.entries)
        writes = record_writes(log)
        # A burst, no key: written in slices (SLICE_SECONDS of work each), never at once.
        for index in range(100, 400):
            app.receive(SegmentTranscribed("f" * 64, segment(index)))
        await lines_written(pilot, log, before + 300)
        assert len(log.entries) == before + 300
        assert len(writes) > 2 and max(count for _, count, _ in writes) < 300

        app.query_one("#triage-table").focus()
        for index in range(400, 460):  # keys every ~40 ms while a line arrives with each
            app.receive(SegmentTranscribed("f" * 64, segment(index)))
            await pilot.press("j" if index % 2 else "k")
            await asyncio.sleep(0.04)
        # While keys came, lines still appeared, but one slice at most every HOLD_SECONDS.
        while_keys = [index for index, (_, _, keys_coming) in enumerate(writes)
                      if keys_coming and index > 0]
        assert while_keys, "no line was written while keys came"
        gaps = [writes[index][0] - writes[index - 1][0] for index in while_keys]
        assert min(gaps) >= transcript_pane.HOLD_SECONDS - 0.02, gaps
        await lines_written(pilot, log, before + 360)  # the rest once the keys stop
        assert len(log.entries) == before + 360
