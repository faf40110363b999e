"""The real dashboard driven by Pilot, with no GPU, no Ollama and no mail account."""

from __future__ import annotations

from pathlib import Path

from tests.waiting import dashboard_settled
from tui.adapters.nvml import GpuUnavailable
from tui.config import Config, OllamaConfig, PathsConfig
from tui.ui.app import make_app
from tui.ui.screens.plan_screen import PlanScreen
from tui.ui.widgets.gpu_panel import GpuPanel
from tui.ui.widgets.service_status import ServiceStatus


def offline_config(tmp_path: Path) -> Config:
    return Config(paths=PathsConfig(drop_folder=tmp_path / "drop"),
                  ollama=OllamaConfig(host="http://127.0.0.1:9"))


async def test_dashboard_shows_missing_services_and_the_plan(tmp_path: Path,
                                                             user_env: dict[str, str]) -> None:
    no_gpu = GpuUnavailable("no NVIDIA driver (libnvidia-ml.so not found)", "install it")
    app = make_app(offline_config(tmp_path), gpu_reader=lambda: no_gpu)
    async with app.run_test(size=(160, 40)) as pilot:
        await dashboard_settled(pilot)
        status = app.query_one(ServiceStatus).render().plain
        assert "✗ Ollama" in status and "✗ IMAP" in status
        panel = app.query_one(GpuPanel)
        assert panel.plan is not None
        assert panel.plan.plan.kv_cache_bytes == 1_342_177_280
        rendered = panel.render().plain
        assert "No GPU:" in rendered and "num_ctx 8192" in rendered
        await pilot.press("p")
        assert isinstance(app.screen, PlanScreen)
        await pilot.press("escape")
        assert not isinstance(app.screen, PlanScreen)
        await pilot.press("q")
    assert app.return_code == 0


async def test_keymap_from_config_rebinds_quit(tmp_path: Path, user_env: dict[str, str]) -> None:
    config = offline_config(tmp_path)
    config.keymap = {"quit": "x"}
    app = make_app(config)
    async with app.run_test() as pilot:
        await app.workers.wait_for_complete()
        await pilot.press("q")
        assert app.is_running
        await pilot.press("x")
    assert not app.is_running


async def test_rename_a_speaker_from_the_keyboard(tmp_path: Path,
                                                  user_env: dict[str, str]) -> None:
    from tui.transcripts.events import SegmentTranscribed, StageChanged
    from tui.transcripts.records import FileState, StoredSegment
    from tui.ui.widgets.transcript_pane import TranscriptPane

    no_gpu = GpuUnavailable("none", "")
    app = make_app(offline_config(tmp_path), gpu_reader=lambda: no_gpu,
                   start_services=False, run_doctor=False)
    async with app.run_test(size=(160, 40)) as pilot:
        pane = app.query_one(TranscriptPane)
        digest = "a" * 64
        for event in (StageChanged(digest, FileState.TRANSCRIBING),
                      SegmentTranscribed(digest, StoredSegment(0, 1.0, 2.0, "Hello all",
                                                               "SPEAKER_00"))):
            app.receive(event)  # the pipelines' own way in
        await pilot.pause(0.2)
        pane.focus()
        await pilot.press("R", "ctrl+u", *"SPEAKER_00=Ana", "enter")
        await pilot.pause(0.2)
        text = "\n".join(strip.text for strip in pane.lines.lines)
        assert "Ana: Hello all" in text and "SPEAKER_00" not in text


async def test_gpu_panel_lists_every_card_and_warns_on_low_headroom(
        tmp_path: Path, user_env: dict[str, str]) -> None:
    from tui.adapters.nvml import GpuMemorySample, GpuProcessMemory
    from tui.ui.widgets.gpu_panel import GpuPanel

    gib = 1024**3
    cards = [GpuMemorySample(i, f"NVIDIA Card {i}", f"GPU-{i}", 24 * gib, used, 24 * gib - used,
                             0, 50, (GpuProcessMemory(100 + i, used),))
             for i, used in enumerate((int(23.5 * gib), 4 * gib))]
    app = make_app(offline_config(tmp_path), gpu_reader=lambda: cards,
                   process_namer=lambda pid: "ollama" if pid == 100 else "python3",
                   start_services=False, run_doctor=False)
    async with app.run_test(size=(160, 48)) as pilot:
        await dashboard_settled(pilot)
        text = app.query_one(GpuPanel).render().plain
        assert "measured GPU 0 NVIDIA Card 0" in text and "GPU 1 NVIDIA Card 1" in text
        assert "Ollama 23.50" in text
        assert "only 0.50 GiB free" in text  # under the 1 GiB warning margin
