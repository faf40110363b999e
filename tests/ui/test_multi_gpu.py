"""Several cards on one box: each service pinned to its card, each card with its own budget,
checked with recorded NVML readings (tests/services/gpu_samples.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.services.gpu_samples import (
    GIB,
    PROCESS_NAMES,
    TWO_RTX_3090,
    TWO_RTX_3090_OLLAMA_MISPLACED,
    WHISPERX_PID,
    recorded_two_h100,
)
from tests.waiting import dashboard_settled
from tui.budget.placement import resolve_card
from tui.config import Config, LlmConfig, OllamaConfig, PathsConfig, WhisperxConfig
from tui.doctor import check_gpu
from tui.gpu_sampler import GpuReading
from tui.planning.service import PlanOptions, make_plan
from tui.transcripts.events import WorkerMemory
from tui.ui.app import TriageApp
from tui.ui.gpu_view import placement_warnings
from tui.ui.widgets.gpu_panel import GpuPanel

CARD_0_UUID, CARD_1_UUID = (card.uuid for card in TWO_RTX_3090)


def two_card_config(tmp_path: Path, llm_gpu: str = "", whisperx_gpu: str = "1") -> Config:
    return Config(paths=PathsConfig(drop_folder=tmp_path / "drop"),
                  llm=LlmConfig(gpu=llm_gpu), ollama=OllamaConfig(host="http://127.0.0.1:9"),
                  whisperx=WhisperxConfig(gpu=whisperx_gpu))


def test_whisperx_on_the_second_card_gives_the_llm_the_first(tmp_path: Path) -> None:
    result = make_plan(two_card_config(tmp_path), PlanOptions(headroom_gib=2.0, offline=True),
                       gpus=TWO_RTX_3090)
    plan = result.plan
    llm_card, whisper_card = plan.cards
    assert (llm_card.gpu.index, whisper_card.gpu.index) == (0, 1)
    assert whisper_card.gpu.source == "NVML GPU 1 (NVIDIA GeForce RTX 3090)"
    assert llm_card.owners == ("llm",) and whisper_card.owners == ("whisperx",)
    assert plan.fits
    # The 24 GiB card alone holds Devstral at 33,536 tokens instead of 8,960 beside WhisperX.
    assert plan.request.num_ctx == 33536
    # Ollama must not pick WhisperX's card by free memory: pinned by UUID.
    assert plan.server_env["CUDA_VISIBLE_DEVICES"] == CARD_0_UUID
    assert "CUDA_DEVICE_ORDER" not in plan.server_env


@pytest.mark.parametrize(("llm_gpu", "whisperx_gpu"), [
    ("", ""), ("0", ""), ("1", CARD_1_UUID), (CARD_0_UUID[:12], "0")])
def test_the_same_card_named_two_ways_is_one_budget(tmp_path: Path, llm_gpu: str,
                                                     whisperx_gpu: str) -> None:
    plan = make_plan(two_card_config(tmp_path, llm_gpu, whisperx_gpu),
                     PlanOptions(offline=True), gpus=TWO_RTX_3090).plan
    assert len(plan.cards) == 1
    assert plan.cards[0].owners == ("llm", "whisperx")


def test_a_card_that_is_not_there_is_assumed_and_says_why(tmp_path: Path) -> None:
    result = make_plan(two_card_config(tmp_path, whisperx_gpu="3"), PlanOptions(offline=True),
                       gpus=TWO_RTX_3090)
    whisper_card = result.plan.cards[1]
    assert whisper_card.gpu.source == ("assumed 24 GiB card (no GPU 3 (NVML sees 2); "
                                       "pass --gpu-gib)")


def test_whisperx_on_the_cpu_takes_no_card(tmp_path: Path) -> None:
    config = two_card_config(tmp_path)
    config.whisperx.device = "cpu"
    plan = make_plan(config, PlanOptions(offline=True), gpus=TWO_RTX_3090).plan
    assert [card.owners for card in plan.cards] == [("llm",)]


def test_doctor_names_each_services_card_and_lists_uuids_on_a_bad_one(tmp_path: Path) -> None:
    good = check_gpu(two_card_config(tmp_path), gpus=TWO_RTX_3090)
    assert good.ok
    assert good.detail.startswith("LLM on GPU 0 NVIDIA GeForce RTX 3090 (24.0 GiB, 8.2 free); "
                                  "WhisperX on GPU 1")
    bad = check_gpu(two_card_config(tmp_path, llm_gpu="GPU-0000"), gpus=TWO_RTX_3090)
    assert not bad.ok and bad.detail == "LLM: no GPU with UUID GPU-0000"
    assert CARD_0_UUID in bad.fix and CARD_1_UUID in bad.fix and "[llm] gpu" in bad.fix


def make_app(config: Config, sample: object) -> TriageApp:
    return TriageApp(config, gpu_reader=lambda: sample, process_namer=PROCESS_NAMES.get,
                     start_services=False, run_doctor=False)


async def panel_text(app: TriageApp, size: tuple[int, int] = (160, 48)) -> str:
    async with app.run_test(size=size) as pilot:
        app.receive(WorkerMemory(WHISPERX_PID, 0, 0, "cuda"))
        await dashboard_settled(pilot)
        panel = app.query_one(GpuPanel)
        assert panel.has_class("-several-cards")
        return panel.render().plain


async def test_the_panel_shows_each_card_with_its_own_budget(tmp_path: Path,
                                                             user_env: dict[str, str]) -> None:
    text = await panel_text(make_app(two_card_config(tmp_path), TWO_RTX_3090))
    card_0, card_1 = text.split("measured GPU 0")[0], text.split("WhisperX 0.00  Ollama 15.20")[1]
    assert "LLM weights 13.00" in card_0 and "WhisperX" not in card_0
    assert "GPU 0 plan: 15.72 of 24.00 GiB, headroom 8.28 GiB; num_ctx 8192" in card_0
    assert "up to 33536 fits" in card_0
    assert "■ WhisperX 6.05  ■ headroom 17.95" in card_1 and "LLM weights" not in card_1
    assert "measured GPU 1 NVIDIA GeForce RTX 3090: used 6.40 / 24.00 GiB" in card_1
    assert "WhisperX 6.10  Ollama 0.00" in card_1
    assert "⚠" not in text


async def test_the_panel_warns_when_ollama_loaded_on_whisperx_card(
        tmp_path: Path, user_env: dict[str, str]) -> None:
    text = await panel_text(make_app(two_card_config(tmp_path), TWO_RTX_3090_OLLAMA_MISPLACED),
                            size=(80, 24))
    assert ("⚠ Ollama runs on GPU 1, the plan puts it on GPU 0: restart it with the "
            "CUDA_VISIBLE_DEVICES `triage-tui plan` prints") in text
    assert "GPU 1: ■WhisperX 6.05 ■free 17.95" in text


def test_recorded_two_h100s_each_service_on_its_planned_card(tmp_path: Path) -> None:
    pinned = recorded_two_h100("pinned")
    llm_uuid = pinned.samples[0].uuid
    result = make_plan(two_card_config(tmp_path), PlanOptions(offline=True),
                       gpus=pinned.samples)
    plan = result.plan
    assert [card.gpu.total_bytes for card in plan.cards] == [85_520_809_984] * 2
    assert plan.server_env["CUDA_VISIBLE_DEVICES"] == llm_uuid
    reading = GpuReading(tuple(pinned.samples))
    assert placement_warnings(plan, reading, {pinned.whisperx_pid},
                              pinned.process_names) == []
    # What each process holds is its card's plan plus its own CUDA context (~0.5 GiB).
    for card, sample in zip(plan.cards, pinned.samples, strict=True):
        held = sum(p.used_bytes or 0 for p in sample.processes)
        assert 0 < held - card.planned_bytes < GIB

    misplaced = recorded_two_h100("misplaced")
    warnings = placement_warnings(plan, GpuReading(tuple(misplaced.samples)),
                                  {misplaced.whisperx_pid}, misplaced.process_names)
    assert warnings == ["Ollama runs on GPU 1, the plan puts it on GPU 0: restart it with the "
                        "CUDA_VISIBLE_DEVICES `triage-tui plan` prints"]


def test_recorded_cards_resolve_by_uuid_prefix() -> None:
    samples = recorded_two_h100("pinned").samples
    second = samples[1].uuid
    assert resolve_card(second[:12], samples).index == 1
    assert resolve_card(second, samples).device == second
    assert resolve_card("0", samples).device == samples[0].uuid
