"""Search from the dashboard, driven by Pilot on a state database filled through the real
stores: `/` in the transcript pane finds a phrase in one of many stored transcripts and Enter
opens that transcript at the segment; `/` in the triage pane selects the mail; the command
palette offers both."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.functional.search.stored_data import PHRASE, digest, fill_mail, fill_transcripts
from tui.adapters.nvml import GpuUnavailable
from tui.config import Config, OllamaConfig, PathsConfig
from tui.mail.events import MailArrived
from tui.mail.store import MailStore
from tui.transcripts.store import TranscriptStore
from tui.ui.app import make_app
from tui.ui.screens.search_screen import SearchScreen
from tui.ui.screens.transcript_screen import TranscriptScreen
from tui.ui.widgets.transcript_pane import TranscriptPane
from tui.ui.widgets.triage_pane import TriagePane
from tui.ui.widgets.wrapping_log import WrappingLog


async def until(pilot: Any, predicate: Callable[[], Any], timeout: float = 15.0) -> Any:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        value = predicate()
        if value:
            return value
        await pilot.pause(0.05)
    raise AssertionError("timed out waiting in the dashboard")


@pytest.fixture
def stored(tmp_path: Path, user_env: dict[str, str]) -> tuple[Config, int, list[Any]]:
    database = tmp_path / "state" / "state.db"
    transcripts, mail = TranscriptStore(database), MailStore(database)
    try:
        fill_transcripts(transcripts, files=10, segments=60, phrase_in=(6, 20))
        key = fill_mail(mail, mails=12, phrase_in=5)
        messages = mail.messages()
    finally:
        transcripts.close()
        mail.close()
    config = Config(paths=PathsConfig(drop_folder=tmp_path / "drop", database=database),
                    ollama=OllamaConfig(host="http://127.0.0.1:9"))
    return config, key, messages


def dashboard(config: Config) -> Any:
    return make_app(config, gpu_reader=lambda: GpuUnavailable("none", ""),
                    start_services=False, run_doctor=False)


async def test_slash_in_the_transcript_pane_jumps_to_the_segment(
        stored: tuple[Config, int, list[Any]]) -> None:
    config, _, _ = stored
    app = dashboard(config)
    async with app.run_test(size=(120, 40)) as pilot:
        app.query_one(TranscriptPane).focus()
        await pilot.press("slash")
        assert isinstance(app.screen, SearchScreen)
        await pilot.press(*"warehouse lea")  # the last word still being typed
        screen = app.screen
        await until(pilot, lambda: screen.hits_for == "warehouse lea")
        assert [(h.ref, h.position) for h in screen.hits] == [(digest(6), 20)]
        await pilot.press("enter")
        transcript = await until(pilot, lambda: isinstance(app.screen, TranscriptScreen)
                                 and app.screen)
        log = transcript.query_one(WrappingLog)
        await until(pilot, lambda: log.wrap_width > 0 and log.scroll_y > 0)
        await pilot.pause(0.1)
        # Segment 20 starts at 200 s; the transcript is that file's, scrolled to put it at
        # the top.
        top = log.visible_text()[0]
        assert top.startswith("[00:03:20] SPEAKER_00: so about the warehouse lease"), top
        assert transcript.title_text == "meeting-06.m4a"
        assert len(log.entries) == 60
        await pilot.press("escape")
        assert not isinstance(app.screen, TranscriptScreen)


async def test_slash_in_the_triage_pane_selects_the_mail(
        stored: tuple[Config, int, list[Any]]) -> None:
    config, key, messages = stored
    app = dashboard(config)
    async with app.run_test(size=(120, 40)) as pilot:
        for message in messages:
            app.receive(MailArrived(message, message.key))  # the pipeline's own way in
        pane = app.query_one(TriagePane)
        await until(pilot, lambda: len(pane.rows) == len(messages))
        pane.focus()
        # Enter before the hits are back: the first hit is taken when they come.
        await pilot.press("slash", *f'"{PHRASE}"', "enter")
        await until(pilot, lambda: pane.selected_key == key)
        assert not isinstance(app.screen, SearchScreen)
        assert pane.search_hits == {key}
        # A search whose hits are ranked: ↓ picks the second.
        await pilot.press("slash", "ctrl+u", *"routine update ")
        screen = app.screen
        await until(pilot, lambda: screen.hits_for == "routine update ")
        assert len(screen.hits) == len(messages)
        second = int(screen.hits[1].ref)
        await pilot.press("down", "enter")
        await until(pilot, lambda: pane.selected_key == second)
        # Escape leaves the selection where it was.
        await pilot.press("slash", "escape")
        assert pane.selected_key == second


async def test_nothing_found_keeps_the_search_open_and_odd_input_is_fine(
        stored: tuple[Config, int, list[Any]]) -> None:
    config, _, _ = stored
    app = dashboard(config)
    async with app.run_test(size=(120, 40)) as pilot:
        app.query_one(TranscriptPane).focus()
        await pilot.press("slash", *'zanzibar "AND -(', "enter")
        screen = app.screen
        assert isinstance(screen, SearchScreen)
        await until(pilot, lambda: screen.hits_for == 'zanzibar "AND -(')
        await pilot.pause(0.1)
        assert app.screen is screen and screen.hits == []
        assert "no matches" in str(screen.query_one("#search-status").render())


async def test_the_command_palette_offers_search(
        stored: tuple[Config, int, list[Any]]) -> None:
    config, _, _ = stored
    app = dashboard(config)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("ctrl+p")
        await pilot.press(*"Search transcripts")
        await pilot.pause(0.5)
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, SearchScreen))
        assert "transcripts" in app.screen.title_text
