"""The meeting summary in the dashboard's transcript pane, driven by Pilot. Events come in the
pipelines' way (`app.receive`, the inbox): the status line says which pass of the summary runs
and the bar shows that pass; a ready summary is shown above the transcript (Enter); a failed
or waiting summary says why. Renaming a speaker (R) goes through the app's real path to a
real `Summariser` on the state database, which queues the summary again (never started here:
no LLM is called)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.services.gpu_samples import NO_GPU, PROCESS_NAMES
from tests.waiting import dashboard_settled
from tui.config import Config, OllamaConfig, PathsConfig
from tui.llm.protocol import BackendStatus, BatchReply
from tui.runtime.services import Services
from tui.summaries.events import (
    SummaryDeferred,
    SummaryFailed,
    SummaryPlanned,
    SummaryProgress,
    SummaryQueued,
    SummaryReady,
)
from tui.summaries.render import summary_markdown
from tui.summaries.schema import MeetingSummary
from tui.summaries.store import SummaryState
from tui.transcripts.events import FileDone, FileQueued, SegmentTranscribed, StageChanged
from tui.transcripts.records import FileState, StoredSegment
from tui.transcripts.store import TranscriptStore
from tui.ui.app import TriageApp, make_app
from tui.ui.screens.pickers import TextPrompt
from tui.ui.screens.transcript_screen import TranscriptScreen
from tui.ui.widgets.transcript_pane import TranscriptPane
from tui.ui.widgets.wrapping_log import WrappingLog

DIGEST = "a" * 64
NAME = "weekly.m4a"
# (start, speaker, text): short enough never to wrap at the sizes used here.
SEGMENTS = [
    (0.5, "SPEAKER_00", "Good morning, let's start with the warehouse lease."),
    (4.3, "SPEAKER_01", "The landlord wants a five year term."),
    (8.6, "SPEAKER_00", "Then we sign once the loading dock is repaired."),
]
SUMMARY = MeetingSummary.model_validate({
    "abstract": "The team agreed to sign the warehouse lease once the dock is repaired.",
    "topics": [{"title": "Warehouse lease", "segments": [0.5]}],
    "decisions": [{"text": "Sign the lease after the dock repair", "segments": [8.6]}],
    "action_items": [{"what": "Send the signed contract", "owner": "SPEAKER_00",
                      "due": "Friday", "segments": [8.6]}],
    "open_questions": [],
})


class UnusedBackend:
    """The summaries' LLM: the summariser is never started here (regenerating only queues),
    so a call is a failure of the test."""

    label = "unused LLM"
    num_ctx = 8192

    def check(self) -> BackendStatus:
        raise AssertionError("the summaries' LLM was checked")

    def run_batch(self, messages: list[dict[str, str]], schema: dict[str, Any],
                  on_text: Callable[[str], None]) -> BatchReply:
        raise AssertionError("the summaries' LLM was called")


def offline_config(tmp_path: Path) -> Config:
    return Config(paths=PathsConfig(drop_folder=tmp_path / "drop", output_dir=tmp_path / "out",
                                    database=tmp_path / "state.db",
                                    log_file=tmp_path / "log.txt"),
                  ollama=OllamaConfig(host="http://127.0.0.1:9"))


def dashboard(config: Config, services: Services | None = None) -> TriageApp:
    return make_app(config, gpu_reader=lambda: NO_GPU, process_namer=PROCESS_NAMES.get,
                    start_services=False, run_doctor=False, services=services)


def segments() -> list[StoredSegment]:
    return [StoredSegment(index, start, start + 3.8, text, speaker)
            for index, (start, speaker, text) in enumerate(SEGMENTS)]


def store_finished_transcript(store: TranscriptStore, folder: Path) -> list[Path]:
    """A finished transcript (no speaker named yet), as the pipeline leaves it; its outputs."""
    audio = folder / NAME
    audio.write_bytes(b"not really audio")
    store.add(DIGEST, audio, audio.stat().st_size)
    store.replace_segments(DIGEST, segments())
    srt = folder / "out" / "weekly.srt"
    srt.parent.mkdir(exist_ok=True)
    srt.write_text("1\n00:00:00,500 --> 00:00:04,300\nGood morning\n")
    store.finish(DIGEST, [srt], "en")
    return [srt]


def feed_finished_transcript(app: TriageApp, outputs: tuple[str, ...] = ()) -> None:
    """The transcript pipeline's events for the file, start to end."""
    app.receive(FileQueued(DIGEST, f"/srv/recordings/drop/{NAME}"))
    app.receive(StageChanged(DIGEST, FileState.TRANSCRIBING))
    for segment in segments():
        app.receive(SegmentTranscribed(DIGEST, segment))
    app.receive(FileDone(DIGEST, "en", outputs))


async def until(pilot: Any, predicate: Callable[[], object], what: str,
                shown: Callable[[], object] | None = None, timeout: float = 15.0) -> None:
    """Wait for `predicate`; at the deadline, fail naming `what` and what is `shown` then."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() >= deadline:
            now = f"; shown instead: {shown()!r}" if shown is not None else ""
            raise AssertionError(f"timed out waiting for {what}{now}")
        await pilot.pause(0.05)


def status_text(pane: TranscriptPane) -> str:
    return str(pane.query_one("#transcript-status").render())


def bar_text(pane: TranscriptPane) -> str:
    """The percentage the pane's progress bar shows beside it."""
    return str(pane.query_one("#transcript-progress #percentage").render())


def drawn_lines(log: WrappingLog) -> list[str]:
    """Every line of a log as drawn at its width (scrolled into view or not)."""
    return [line.text.rstrip() for line in log.lines]


async def shown_in_pane(pilot: Any, pane: TranscriptPane, status: str, percent: str) -> None:
    """Wait for the events sent to reach the pane, then check its status line and its bar."""
    await until(pilot, lambda: status in status_text(pane) and bar_text(pane) == percent,
                f"{status!r} and {percent} in the transcript pane",
                lambda: (status_text(pane), bar_text(pane)))
    assert status_text(pane) == f"{NAME}: done; {status}"
    assert bar_text(pane) == percent


async def open_full_transcript(pilot: Any, app: TriageApp) -> list[str]:
    """Enter in the transcript pane; the full-transcript screen's lines as drawn."""
    app.query_one(TranscriptPane).focus()
    await pilot.press("enter")
    assert isinstance(app.screen, TranscriptScreen)
    log = app.screen.query_one(WrappingLog)
    await until(pilot, lambda: log.lines, "the full transcript drawn")
    return drawn_lines(log)


TRANSCRIPT_LINES = [
    "[00:00:00] SPEAKER_00: Good morning, let's start with the warehouse lease.",
    "[00:00:04] SPEAKER_01: The landlord wants a five year term.",
    "[00:00:08] SPEAKER_00: Then we sign once the loading dock is repaired.",
]


async def test_each_summary_pass_shows_in_the_status_line_and_restarts_the_bar(
        tmp_path: Path, user_env: dict[str, str]) -> None:
    app = dashboard(offline_config(tmp_path))
    async with app.run_test(size=(120, 40)) as pilot:
        pane = app.query_one(TranscriptPane)
        feed_finished_transcript(app, ("/srv/out/weekly.srt",))
        await dashboard_settled(pilot)
        await until(pilot, lambda: bar_text(pane) == "100%", "the transcript's bar full",
                    lambda: bar_text(pane))
        assert status_text(pane) == f"{NAME}: done, 1 files written"

        app.receive(SummaryQueued(DIGEST))
        app.receive(SummaryPlanned(DIGEST, map_passes=2, reduce_passes=1))
        await shown_in_pane(pilot, pane, "summary in 3 pass(es)", "100%")

        # The runner's events for its first two passes: each starts at 0 and streams.
        app.receive(SummaryProgress(DIGEST, 0, 3, "map"))
        await shown_in_pane(pilot, pane, "summary pass 1 of 3 (map) 0%", "0%")
        app.receive(SummaryProgress(DIGEST, 0, 3, "map", 70.0))
        await shown_in_pane(pilot, pane, "summary pass 1 of 3 (map) 70%", "70%")
        app.receive(SummaryProgress(DIGEST, 0, 3, "map", 100.0, finished=True))
        await shown_in_pane(pilot, pane, "summary pass 1 of 3 (map) 100%", "100%")
        app.receive(SummaryProgress(DIGEST, 1, 3, "map"))
        await shown_in_pane(pilot, pane, "summary pass 2 of 3 (map) 0%", "0%")
        app.receive(SummaryProgress(DIGEST, 1, 3, "map", 40.0))
        await shown_in_pane(pilot, pane, "summary pass 2 of 3 (map) 40%", "40%")
        app.receive(SummaryProgress(DIGEST, 2, 3, "reduce", 12.5))
        await shown_in_pane(pilot, pane, "summary pass 3 of 3 (reduce) 12%", "12%")


async def test_a_ready_summary_opens_above_the_transcript_with_enter(
        tmp_path: Path, user_env: dict[str, str]) -> None:
    markdown = summary_markdown(SUMMARY, title=NAME, passes=3, model="devstral")
    app = dashboard(offline_config(tmp_path))
    async with app.run_test(size=(120, 40)) as pilot:
        pane = app.query_one(TranscriptPane)
        feed_finished_transcript(app, ("/srv/out/weekly.srt",))
        app.receive(SummaryProgress(DIGEST, 2, 3, "reduce", 100.0, finished=True))
        app.receive(SummaryReady(DIGEST, markdown, SUMMARY.model_dump(mode="json"),
                                 ("/srv/out/weekly.summary.json", "/srv/out/weekly.summary.md")))
        await dashboard_settled(pilot)
        await shown_in_pane(pilot, pane, "summary ready (Enter shows it)", "100%")

        lines = await open_full_transcript(pilot, app)
        # Headings without their marks, the rest as written; then the transcript.
        assert lines[:7] == [
            f"Summary: {NAME}",
            "",
            "The team agreed to sign the warehouse lease once the dock is repaired.",
            "",
            "Topics",
            "",
            "- Warehouse lease — [00:00:00]",
        ]
        assert "Decisions" in lines and "Action items" in lines
        assert "- [ ] Send the signed contract (owner: SPEAKER_00; due: Friday) — [00:00:08]" \
            in lines
        divider = lines.index("── transcript ──")
        assert lines[divider - 1].startswith("_Written by devstral in 3 LLM passes")
        assert lines[divider + 1:] == TRANSCRIPT_LINES
        await pilot.press("escape")
        assert not isinstance(app.screen, TranscriptScreen)


FAILED = "pass 2 of 3 (map): the reply is not valid JSON (after 2 attempts)"
UNREACHABLE = "Ollama: cannot reach http://127.0.0.1:11434: connection refused"


@pytest.mark.parametrize(("event", "status", "full_screen"), [
    (SummaryFailed(DIGEST, FAILED), f"summary failed: {FAILED}", f"Summary failed: {FAILED}"),
    (SummaryDeferred(DIGEST, UNREACHABLE, 40.0), f"summary waits 40 s ({UNREACHABLE})",
     f"Summary waits: {UNREACHABLE}"),
], ids=["failed", "deferred"])
async def test_a_failed_or_waiting_summary_says_why(
        tmp_path: Path, user_env: dict[str, str], event: object, status: str,
        full_screen: str) -> None:
    app = dashboard(offline_config(tmp_path))
    async with app.run_test(size=(120, 40)) as pilot:
        pane = app.query_one(TranscriptPane)
        feed_finished_transcript(app, ("/srv/out/weekly.srt",))
        app.receive(SummaryProgress(DIGEST, 1, 3, "map", 40.0))
        app.receive(event)
        await dashboard_settled(pilot)
        await until(pilot, lambda: "summary" in status_text(pane), "the summary's state",
                    lambda: status_text(pane))
        assert status_text(pane) == f"{NAME}: done; {status}"
        # Enter shows where the summary stands, above the transcript.
        lines = await open_full_transcript(pilot, app)
        assert lines[0] == full_screen
        assert lines[2:] == TRANSCRIPT_LINES


async def test_renaming_a_speaker_rewrites_the_lines_and_queues_the_summary_again(
        tmp_path: Path, user_env: dict[str, str]) -> None:
    config = offline_config(tmp_path)
    services = Services(config, role="dashboard", triage_backend=UnusedBackend())
    pipeline = services.open_transcripts()  # not started: no WhisperX worker
    outputs = store_finished_transcript(pipeline.store, tmp_path)
    summaries = services.open_summaries()   # not started: nothing is summarised
    old_markdown = summary_markdown(SUMMARY, title=NAME, passes=3, model="devstral")
    summaries.store.enqueue(DIGEST)
    summaries.store.set_state(DIGEST, SummaryState.RUNNING)
    assert summaries.store.finish(DIGEST, SUMMARY.compact_json(), old_markdown, [])
    published: list[object] = []
    summaries.subscribe(published.append)

    app = dashboard(config, services)
    async with app.run_test(size=(120, 40)) as pilot:
        pane = app.query_one(TranscriptPane)
        feed_finished_transcript(app, tuple(str(path) for path in outputs))
        # The file's summary, ready (as the runner announced it; here read back from the
        # store); then the summaries' events reach the app as `Services.start_summaries`
        # would have them, short of starting the runner's thread.
        for event in summaries.stored_events():
            app.receive(event)
        summaries.subscribe(app.receive)
        await dashboard_settled(pilot)
        await until(pilot, lambda: "summary ready" in status_text(pane), "the stored summary",
                    lambda: status_text(pane))

        pane.focus()
        await pilot.press("R")
        assert isinstance(app.screen, TextPrompt)
        await pilot.press("ctrl+u", *"SPEAKER_00=Ana", "enter")
        assert not isinstance(app.screen, TextPrompt)
        await until(pilot, lambda: any("Ana:" in line for line in drawn_lines(pane.lines)),
                    "the new name in the transcript lines",
                    lambda: [entry.plain for entry in pane.lines.entries])
        # The pane is narrow here: its lines wrap, so they are compared as written.
        assert [entry.plain for entry in pane.lines.entries] == [
            line.replace("SPEAKER_00", "Ana") for line in TRANSCRIPT_LINES]

        # The app asked the summaries to start again: queued in the store, the old one gone.
        await until(pilot, lambda: "summary queued" in status_text(pane),
                    "the summary queued again", lambda: status_text(pane))
        assert status_text(pane) == f"{NAME}: done; summary queued"
        assert published == [SummaryQueued(DIGEST, "speakers renamed")]
        job = summaries.store.job(DIGEST)
        assert job is not None
        assert (job.state, job.markdown) == (SummaryState.PENDING, None)
        assert summaries.store.next_due(float("inf")) == job
        assert pipeline.store.speaker_names(DIGEST) == {"SPEAKER_00": "Ana"}

        # Enter no longer shows the summary written with the old names.
        lines = await open_full_transcript(pilot, app)
        assert lines[0] == "Summary: queued (the LLM serves mail first)"
        assert f"Summary: {NAME}" not in lines
        assert lines[2:] == [line.replace("SPEAKER_00", "Ana") for line in TRANSCRIPT_LINES]
