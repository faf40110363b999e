"""A model the worker downloads on demand shows in the transcript pane while it comes in."""

from __future__ import annotations

import multiprocessing

from textual.widgets import ProgressBar

from tests.services.gpu_samples import RTX_3090
from tests.ui.sample_dashboard import feed_sample_data, make_sample_app
from tests.ui.test_status_words import on_screen
from tui.transcripts.events import ModelDownload

GB = 10**9


def through_a_process_queue(events: list[ModelDownload]) -> list[ModelDownload]:
    """As the worker sends them: pickled through a multiprocessing queue."""
    channel = multiprocessing.get_context("spawn").Queue()
    for event in events:
        channel.put(event)
    received = [channel.get(timeout=10) for _ in events]
    channel.close()
    return received


def status_text(app) -> str:
    return " ".join(str(app.query_one("#transcript-status").render()).split())


async def test_the_transcript_pane_shows_a_download_and_then_the_recording_again() -> None:
    app = make_sample_app(RTX_3090)
    downloading, done = through_a_process_queue([
        ModelDownload("large-v3", "model.bin", int(1.2 * GB), int(3.087 * GB)),
        ModelDownload("large-v3", "model.bin", int(3.087 * GB), int(3.087 * GB)),
    ])
    async with app.run_test(size=(120, 36)) as pilot:
        await feed_sample_data(pilot)
        app.receive(downloading)
        screen = await on_screen(pilot)
        assert status_text(app) == "downloading large-v3: model.bin 38 % (1.2 GB of 3.1 GB)"
        assert "│ downloading large-v3:" in screen and "38%" in screen  # the line, the bar
        assert app.query_one("#transcript-progress", ProgressBar).progress == 38

        app.receive(done)
        await on_screen(pilot)
        assert status_text(app) == ("standup.m4a: transcribing (downloaded large-v3: "
                                    "model.bin 100 % (3.1 GB of 3.1 GB))")
        assert app.query_one("#transcript-progress", ProgressBar).progress == 0
