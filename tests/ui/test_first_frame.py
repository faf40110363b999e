"""`triage-tui` paints before it reads its config: the first frame's path imports no config
models (pydantic), no services and no command module; the config is read on a thread after the
first frame, and a config it cannot use still ends the run with the problem and status 2."""

from __future__ import annotations

import gc
import subprocess
import sys
import threading
from pathlib import Path

from tests.waiting import dashboard_settled
from tui.adapters.nvml import GpuUnavailable
from tui.cli import _config_for_dashboard
from tui.config import Config, OllamaConfig, PathsConfig
from tui.ui.app import GC_THRESHOLDS, make_app
from tui.ui.widgets.gpu_panel import GpuPanel
from tui.ui.widgets.service_status import ServiceStatus
from tui.ui.widgets.transcript_pane import TranscriptPane

NO_GPU = GpuUnavailable("no NVIDIA driver", "")

FIRST_FRAME_IMPORTS = """
import sys
import tui.cli
args = tui.cli.build_parser().parse_args([])
import tui.ui.app
print(" ".join(sorted(sys.modules)))
"""


def test_the_first_frames_path_imports_no_config_models_services_or_commands() -> None:
    # What `triage-tui` imports before App.run: a regression here costs the first frame
    # (bench/dashboard_latency.py measures it; this only guards the structure).
    loaded = subprocess.run([sys.executable, "-c", FIRST_FRAME_IMPORTS], capture_output=True,
                            text=True, check=True, cwd=Path(__file__).parents[2]).stdout.split()
    for heavy in ("pydantic", "tui.config", "tui.runtime.services", "tui.mail.verdicts",
                  "tui.budget.plan", "tui.ui.screens.plan_screen", "tui.commands.transcribe",
                  "tui.commands.init", "imapclient", "ollama", "sqlite3",
                  # the event and record types come with the first event
                  "tui.transcripts.events", "tui.mail.events", "tui.summaries.events",
                  "tui.runtime.events", "tui.mail.records", "tui.transcripts.records",
                  "tui.adapters.nvml"):
        assert heavy not in loaded, f"{heavy} is imported before the first frame"
    assert "textual.app" in loaded and "tui.ui.widgets.triage_pane" in loaded


def test_subcommands_still_get_their_arguments_when_used() -> None:
    from tui.cli import build_parser

    args = build_parser().parse_args(["transcribe", "--batch_size", "4", "a.wav"])
    assert args.command == "transcribe" and args.batch_size == 4
    assert [str(path) for path in args.files] == ["a.wav"]
    assert "--rebuild" in build_parser()._subparsers._group_actions[0].choices[
        "search"].format_help()


async def test_the_dashboard_reads_its_config_after_the_first_frame(
        tmp_path: Path, user_env: dict[str, str]) -> None:
    config = Config(paths=PathsConfig(drop_folder=tmp_path / "drop"),
                    ollama=OllamaConfig(host="http://127.0.0.1:9"))
    release = threading.Event()
    loaded_on: list[str] = []

    def load() -> Config:
        loaded_on.append(threading.current_thread().name)
        release.wait(10)  # held until the test has seen the first frame
        return config

    app = make_app(load_config=load, gpu_reader=lambda: NO_GPU, start_services=False)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause(0.1)
        pane = app.query_one(TranscriptPane)
        assert "starting: reading the config" in str(pane.query_one("#transcript-status")
                                                     .render())
        assert app.services is None and app.config is None
        await pilot.press("ctrl+r")  # a key before the config: nothing to recheck, no crash
        release.set()
        while app.services is None:  # the config worker hands over to the UI thread
            await pilot.pause(0.05)
        await dashboard_settled(pilot)
        assert loaded_on and loaded_on[0] != threading.main_thread().name
        assert app.config is config and app.services is not None
        assert str(tmp_path / "drop") in str(pane.query_one("#transcript-status").render())
        # The checks and the plan ran as they do when the config is given at once.
        assert "✗ Ollama" in app.query_one(ServiceStatus).render().plain
        assert app.query_one(GpuPanel).plan is not None


async def test_a_config_the_dashboard_cannot_use_ends_it_with_status_2(
        tmp_path: Path, user_env: dict[str, str]) -> None:
    broken = tmp_path / "config.toml"
    broken.write_text("[imap]\nport = 'not a number'\n")
    app = make_app(load_config=lambda: _config_for_dashboard(broken), gpu_reader=lambda: NO_GPU)
    async with app.run_test() as pilot:
        await pilot.pause(0.5)
        await app.workers.wait_for_complete()
        await pilot.pause(0.1)
    assert app.return_code == 2
    assert app.services is None


async def test_deprecated_keys_are_shown_in_the_dashboard_and_logged(
        tmp_path: Path, user_env: dict[str, str]) -> None:
    # The dashboard owns the terminal, so nothing is printed on stderr: a note each in the
    # log and as a notification.
    path = tmp_path / "config.toml"
    log_file = tmp_path / "triage.log"
    path.write_text(f"[paths]\ndrop_folder = '{tmp_path / 'drop'}'\nlog_file = '{log_file}'\n"
                    "[ollama]\nhost = 'http://127.0.0.1:9'\ntemperature = 0.1\n")
    app = make_app(load_config=lambda: _config_for_dashboard(path), gpu_reader=lambda: NO_GPU,
                   start_services=False)
    async with app.run_test() as pilot:
        await dashboard_settled(pilot)
        shown = [note.message for note in app._notifications]
        assert app.config is not None and app.config.llm.temperature == 0.1
    assert any("[ollama] temperature is deprecated; use [llm] temperature" in note
               for note in shown), shown
    assert "[ollama] temperature is deprecated" in log_file.read_text()


async def test_the_collector_off_for_start_up_comes_back_on_tuned_after_the_first_frame(
        tmp_path: Path, user_env: dict[str, str]) -> None:
    # `triage-tui` turns the cyclic collector off before it imports the dashboard (tui.cli):
    # were it not turned on again, cycles would never be freed for as long as it runs.
    config = Config(paths=PathsConfig(drop_folder=tmp_path / "drop"),
                    ollama=OllamaConfig(host="http://127.0.0.1:9"))
    defaults = gc.get_threshold()
    gc.disable()
    try:
        app = make_app(config, gpu_reader=lambda: NO_GPU, start_services=False, tune_gc=True)
        async with app.run_test() as pilot:
            await pilot.pause(0.2)
            assert gc.isenabled()
            assert gc.get_threshold() == GC_THRESHOLDS
    finally:
        gc.unfreeze()
        gc.set_threshold(*defaults)
        gc.enable()
