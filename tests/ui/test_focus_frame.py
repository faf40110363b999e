"""The panes show where the focus is in their border (FocusFrame) without the style walk and
the whole-screen repaint that a Tab cost before (bench/dashboard_latency.py, Tab)."""

from __future__ import annotations

from textual.color import Color

from tests.services.gpu_samples import RTX_3090
from tests.ui.sample_dashboard import feed_sample_data, make_sample_app
from tests.ui.test_repaint_work import record_refreshes
from tui.ui.widgets.focus_frame import FRAME_COLOURS, FocusFrame
from tui.ui.widgets.transcript_pane import TranscriptPane
from tui.ui.widgets.triage_pane import TriagePane


def frame_colours(pane: FocusFrame) -> set[Color]:
    styles = pane.styles
    return {edge[1] for edge in (styles.border_top, styles.border_right,
                                 styles.border_bottom, styles.border_left)}


def theme_colour(pane: FocusFrame, focused: bool) -> Color:
    return Color.parse(pane.app.theme_variables[FRAME_COLOURS[focused]])


async def test_the_focused_pane_is_framed_in_the_accent_and_follows_tab_and_the_theme() -> None:
    app = make_sample_app(RTX_3090)
    async with app.run_test(size=(120, 36)) as pilot:
        await feed_sample_data(pilot)
        transcripts, triage = app.query_one(TranscriptPane), app.query_one(TriagePane)
        assert triage.has_focus_within  # the dashboard starts in the mail list
        assert frame_colours(triage) == {theme_colour(triage, True)}
        assert frame_colours(transcripts) == {theme_colour(transcripts, False)}
        assert theme_colour(triage, True) != theme_colour(triage, False)

        await pilot.press("shift+tab")  # back to the transcript pane
        await pilot.pause()
        assert transcripts.has_focus
        assert frame_colours(transcripts) == {theme_colour(transcripts, True)}
        assert frame_colours(triage) == {theme_colour(triage, False)}

        before = theme_colour(transcripts, True)
        app.theme = "nord" if app.theme != "nord" else "gruvbox"
        await pilot.pause()
        await pilot.pause()
        assert theme_colour(transcripts, True) != before
        assert frame_colours(transcripts) == {theme_colour(transcripts, True)}
        assert frame_colours(triage) == {theme_colour(triage, False)}


async def test_tab_repaints_the_panes_it_leaves_and_reaches_not_the_screen() -> None:
    app = make_sample_app(RTX_3090)
    async with app.run_test(size=(120, 36)) as pilot:
        await feed_sample_data(pilot)
        screen_refreshes = record_refreshes(app.screen)
        transcript_refreshes = record_refreshes(app.query_one(TranscriptPane))
        for key in ("tab", "shift+tab", "shift+tab", "tab"):
            await pilot.press(key)
            await pilot.pause()
        assert screen_refreshes == []  # Textual's Screen repainted every widget on each
        assert transcript_refreshes and not any(transcript_refreshes)  # repaints, no layout
