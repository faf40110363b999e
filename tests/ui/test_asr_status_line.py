"""The dashboard's status line while the remote ASR server is away, and when it is back."""

from __future__ import annotations

from pathlib import Path

from tui.adapters.nvml import GpuUnavailable
from tui.config import Config, OllamaConfig, PathsConfig
from tui.runtime.events import ServiceStarted
from tui.transcripts.events import AsrPaused, AsrResumed
from tui.ui.app import make_app
from tui.ui.widgets.service_status import ServiceStatus

URL = "http://gpu-box:8001/v1"


async def test_the_status_line_says_the_server_is_away_and_when_it_is_back(
        tmp_path: Path, user_env: dict[str, str]) -> None:
    config = Config(paths=PathsConfig(drop_folder=tmp_path / "drop"),
                    ollama=OllamaConfig(host="http://127.0.0.1:9"))
    app = make_app(config, gpu_reader=lambda: GpuUnavailable("none", ""),
                   start_services=False, run_doctor=False)
    async with app.run_test(size=(160, 40)) as pilot:
        status = app.query_one(ServiceStatus)
        app.receive(ServiceStarted("watcher", True, "watching, ASR remote openai/whisper-large-v3"))
        app.receive(AsrPaused(
            URL, "unreachable", "[Errno 111] Connection refused", 40.0, "a" * 64))
        await pilot.pause(0.1)
        line = status.render().plain
        assert f"◌ watcher remote ASR unreachable ({URL}): retrying in 40 s" in line
        app.receive(AsrResumed(URL))
        await pilot.pause(0.1)
        line = status.render().plain
        assert "● watcher watching, ASR remote openai/whisper-large-v3" in line
        assert "unreachable" not in line
