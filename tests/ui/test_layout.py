"""The dashboard's layout follows the terminal: 80×24 shows a screenful of mail, panes
re-flow live when the terminal is resized (both ways), no transcript word is ever lost, and
z zooms a pane. Read from what is on the screen, as a user would."""

from __future__ import annotations

from typing import Any

import pytest
from textual.geometry import Region

from tests.services.gpu_samples import RTX_3090
from tests.ui.sample_dashboard import (
    MAILS,
    SEGMENTS,
    feed_sample_data,
    make_sample_app,
    screen_lines,
)
from tui.ui.widgets.gpu_panel import GpuPanel
from tui.ui.widgets.transcript_pane import TranscriptPane
from tui.ui.widgets.triage_pane import TriagePane


def screen_text(app: Any, region: Region) -> list[str]:
    """What the screen shows inside `region`, row by row."""
    rows = screen_lines(app)[region.y:region.bottom]
    return [row[region.x:region.right] for row in rows]


def panes(app: Any) -> tuple[Region, Region]:
    return app.query_one(TranscriptPane).region, app.query_one(TriagePane).region


def assert_side_by_side(app: Any) -> None:
    transcripts, triage = panes(app)
    assert transcripts.y == triage.y and transcripts.height == triage.height
    assert transcripts.right == triage.x and triage.right == app.size.width


def assert_stacked(app: Any) -> None:
    transcripts, triage = panes(app)
    assert transcripts.x == triage.x == 0
    assert transcripts.width == triage.width == app.size.width
    assert transcripts.bottom <= triage.y


def visible_mails(app: Any) -> list[tuple[str, str, str, str]]:
    """(priority, sender, subject, action) of each mail row on the screen: the row's words
    as the screen shows them."""
    table = app.query_one(TriagePane).table
    rows = screen_text(app, table.region)[1:]  # under the column labels
    senders = {sender.split("<")[0].strip(): mail for (sender, *_), mail in
               zip(MAILS, MAILS, strict=True)}
    found = []
    for row in rows:
        words = row.split()
        sender = next((name for name in senders if name in row), None)
        if not words or sender is None:
            continue
        _, subject, priority, _, action, _ = senders[sender]
        found.append((priority, sender, subject, action))
        assert row.split()[0] == priority, row
        assert row.rstrip(" ▁▂▃▄▅▆▇█▏▎▍▌▋▊▉").endswith(action), row  # never cut at the right
        shown = row[row.index(sender) + len(sender):].strip()
        assert subject.startswith(shown.split("  ")[0].rstrip("…")), row
    return found


async def test_80x24_shows_ten_mails_with_priority_sender_subject_and_action() -> None:
    app = make_sample_app(RTX_3090)
    async with app.run_test(size=(80, 24)) as pilot:
        await feed_sample_data(pilot)
        assert_stacked(app)
        assert len(visible_mails(app)) >= 10
        assert not app.query_one("#triage-detail").display  # the preview waits for v
        await pilot.press("v")
        assert app.query_one("#triage-detail").display
        await pilot.press("v")
        assert not app.query_one("#triage-detail").display


async def test_panes_reflow_when_the_terminal_is_resized_both_ways() -> None:
    app = make_sample_app(RTX_3090)
    async with app.run_test(size=(120, 36)) as pilot:
        await feed_sample_data(pilot)
        assert_side_by_side(app)
        assert len(visible_mails(app)) == len(MAILS)  # each with its action whole
        for size in ((80, 24), (120, 36), (80, 24), (160, 48)):
            await pilot.resize_terminal(*size)
            await pilot.pause()
            (assert_stacked if size[0] < 100 else assert_side_by_side)(app)
            assert app.query_one(GpuPanel).region.bottom == size[1] - 1  # above the Footer
            assert len(visible_mails(app)) >= 10


async def read_whole_transcript(pilot: Any) -> list[str]:
    """Every row of the transcript pane's log as the screen shows it, scrolled from top to
    bottom a screenful at a time."""
    log = pilot.app.query_one(TranscriptPane).lines
    region = log.scrollable_content_region  # the scrollbar's column is not text
    seen: list[str] = []
    log.scroll_to(y=0, animate=False, immediate=True)
    while True:
        await pilot.pause()
        top = round(log.scroll_y)
        rows = screen_text(pilot.app, region)
        seen[top:] = rows  # a last, partial page overlaps the one before
        if log.is_vertical_scroll_end:
            return seen
        log.scroll_to(y=min(top + region.height, log.max_scroll_y), animate=False,
                      immediate=True)


def squeeze(text: str) -> str:
    return "".join(text.split())


@pytest.mark.parametrize("sizes", [[(80, 24)], [(120, 36)], [(160, 48)],
                                   [(160, 48), (80, 24)], [(80, 24), (120, 36)]])
async def test_every_word_of_a_long_segment_is_on_screen_or_reachable_by_scrolling(
        sizes: list[tuple[int, int]]) -> None:
    app = make_sample_app(RTX_3090)
    async with app.run_test(size=sizes[0]) as pilot:
        await feed_sample_data(pilot)
        for size in sizes[1:]:
            await pilot.resize_terminal(*size)
        rows = await read_whole_transcript(pilot)
        # Each segment whole, in order: a word folded at the edge joins up again.
        on_screen = squeeze("".join(rows))
        expected = "".join(f"[{clock}]{speaker}:{squeeze(text)}" for clock, speaker, text in
                           ((f"00:00:{int(start):02d}", speaker, text)
                            for start, speaker, text in SEGMENTS))
        assert expected in on_screen
        for row in rows:  # wrapped lines hang under the text, not under the time
            assert row.startswith(("[00:00:", " " * 11)) or not row.strip(), row


async def test_z_zooms_the_focused_pane_and_back() -> None:
    app = make_sample_app(RTX_3090)
    async with app.run_test(size=(80, 24)) as pilot:
        await feed_sample_data(pilot)
        triage = app.query_one(TriagePane)
        await pilot.press("z")
        assert app.screen.maximized is triage
        assert triage.region.height >= 20 and len(visible_mails(app)) == len(MAILS)
        assert app.query_one("#triage-detail").display  # room for the preview now
        await pilot.press("z")
        assert app.screen.maximized is None
        assert_stacked(app)
        await pilot.press("shift+tab")  # one Tab stop per pane: the transcripts
        await pilot.press("z")
        pane = app.query_one(TranscriptPane)
        assert app.screen.maximized is pane and pane.region.height >= 20
        rows = screen_text(app, pane.lines.scrollable_content_region)
        assert squeeze(SEGMENTS[0][2]) in squeeze("".join(rows))  # all of it at once
        await pilot.press("escape")
        assert app.screen.maximized is None
        await pilot.press("shift+tab", "z")  # (around to) the GPU panel
        gpu = app.query_one(GpuPanel)
        assert app.screen.maximized is gpu and gpu.region.height >= 20
        await pilot.press("z")
        assert app.screen.maximized is None and gpu.region.height == 4


async def test_enter_opens_the_selected_mail_whole() -> None:
    from tui.ui.screens.mail_screen import MailScreen

    app = make_sample_app(RTX_3090)
    async with app.run_test(size=(80, 24)) as pilot:
        await feed_sample_data(pilot)
        await pilot.press("j", "j", "j", "j", "enter")
        assert isinstance(app.screen, MailScreen)
        text = "\n".join(screen_lines(app))
        assert "Budget sign-off needed before Thursday's board meeting" in text
        assert "Bo needs the budget signed off by Thursday." in text
        await pilot.press("escape")
        assert not isinstance(app.screen, MailScreen)
