"""The whole budget, the num_ctx solver and the email batch fit."""

from __future__ import annotations

from dataclasses import replace

import pytest

from tui.budget.batch_fit import fit_email_batch
from tui.budget.cache_types import KvCacheType
from tui.budget.graph import estimate_graph_bytes
from tui.budget.known_models import known_model_shape
from tui.budget.plan import (
    NUM_CTX_STEP,
    OLLAMA_CUDA_MINIMUM_BYTES,
    GpuCard,
    PlanError,
    PlanRequest,
    WhisperRequest,
    max_num_ctx_for_headroom,
    plan_budget,
)
from tui.budget.units import GIB
from tui.budget.whisper import ComputeType, asr_activation_bytes, whisper_spec

DEVSTRAL = known_model_shape("devstral-small")
assert DEVSTRAL is not None


def seed_request(**changes: object) -> PlanRequest:
    request = PlanRequest(shape=DEVSTRAL, gpu_total_bytes=24 * GIB, gpu_total_source="test")
    return replace(request, **changes)


def test_devstral_graph_matches_ollamas_llama_formula() -> None:
    # fullOffload = max(4·batch·(1 + 4·emb + ctx·(1 + heads)), 4·batch·(emb + vocab))
    expected = max(4 * 512 * (1 + 4 * 5120 + 8192 * 33), 4 * 512 * (5120 + 131072))
    assert estimate_graph_bytes(DEVSTRAL, 8192) == expected == 595_593_216


def test_seed_plan_leaves_about_two_gib() -> None:
    plan = plan_budget(seed_request())
    assert plan.kv_cache_bytes == 1_342_177_280
    assert 1.8 * GIB < plan.headroom_bytes < 2.5 * GIB
    assert plan.fits
    keys = [c.key for c in plan.components]
    assert keys == ["llm_weights", "llm_kv_cache", "llm_graph", "llm_cuda_overhead",
                    "whisper_weights", "whisper_align", "whisper_diarize",
                    "whisper_activations", "whisper_cuda_context"]
    assert plan.total_bytes + plan.headroom_bytes == 24 * GIB
    assert plan.email_batch.emails >= 10


def test_bigger_whisper_batch_costs_headroom() -> None:
    small = plan_budget(seed_request(whisper=WhisperRequest(batch_size=8)))
    large = plan_budget(seed_request(whisper=WhisperRequest(batch_size=16)))
    per_chunk = (asr_activation_bytes(whisper_spec("large-v3"), ComputeType.FLOAT16, 16)
                 - asr_activation_bytes(whisper_spec("large-v3"), ComputeType.FLOAT16, 8))
    assert small.headroom_bytes - large.headroom_bytes == per_chunk > 0
    assert not large.fits


def test_int8_whisper_weights_are_about_half() -> None:
    fp16 = plan_budget(seed_request()).component("whisper_weights").bytes
    int8 = plan_budget(seed_request(whisper=WhisperRequest(
        compute_type=ComputeType.INT8_FLOAT16))).component("whisper_weights").bytes
    assert 0.5 < int8 / fp16 < 0.55


def test_activations_are_the_largest_stage_not_the_sum() -> None:
    plan = plan_budget(seed_request())
    activations = plan.component("whisper_activations")
    assert "transcription" in activations.detail
    no_extras = plan_budget(seed_request(whisper=WhisperRequest(align=False, diarize=False)))
    assert no_extras.component("whisper_activations").bytes == activations.bytes


def test_quantised_cache_sets_flash_attention_in_the_server_env() -> None:
    plan = plan_budget(seed_request(cache_type=KvCacheType.Q8_0, parallel=2))
    assert plan.server_env == {"OLLAMA_NUM_PARALLEL": "2", "OLLAMA_FLASH_ATTENTION": "1",
                               "OLLAMA_KV_CACHE_TYPE": "q8_0"}
    assert any("flash attention" in note for note in plan.notes)
    f16 = plan_budget(seed_request())
    assert f16.server_env["OLLAMA_FLASH_ATTENTION"] == "0"


def test_llm_only_plan() -> None:
    plan = plan_budget(seed_request(whisper=None))
    assert plan.owner_bytes("whisperx") == 0
    assert plan.component("llm_cuda_overhead").bytes == OLLAMA_CUDA_MINIMUM_BYTES


def test_unknown_weights_is_an_error_not_a_guess() -> None:
    with pytest.raises(PlanError, match="weights is unknown"):
        plan_budget(seed_request(shape=DEVSTRAL.with_weights(None)))


def test_solver_boundary_one_step_more_breaks_the_headroom() -> None:
    request = seed_request()
    best = max_num_ctx_for_headroom(request, 2 * GIB)
    assert best is not None and best % NUM_CTX_STEP == 0
    assert plan_budget(replace(request, num_ctx=best)).headroom_bytes >= 2 * GIB
    assert plan_budget(replace(request, num_ctx=best + NUM_CTX_STEP)).headroom_bytes < 2 * GIB


def test_solver_hits_a_hand_built_boundary_exactly() -> None:
    # A card sized so that exactly 8192 tokens fit with 1 GiB to spare, LLM alone.
    at_8192 = plan_budget(seed_request(whisper=None, num_ctx=8192)).total_bytes
    request = seed_request(whisper=None, gpu_total_bytes=at_8192 + GIB)
    assert max_num_ctx_for_headroom(request, GIB) == 8192
    tighter = replace(request, gpu_total_bytes=at_8192 + GIB - 1)
    assert max_num_ctx_for_headroom(tighter, GIB) == 8192 - NUM_CTX_STEP


def test_solver_returns_none_when_nothing_fits() -> None:
    assert max_num_ctx_for_headroom(seed_request(gpu_total_bytes=8 * GIB), 2 * GIB) is None


def test_solver_stops_at_the_trained_context() -> None:
    request = seed_request(whisper=None, gpu_total_bytes=200 * GIB)
    assert max_num_ctx_for_headroom(request, 0) == DEVSTRAL.context_length


def test_email_batch_fit() -> None:
    fit = fit_email_batch(8192, system_prompt_tokens=400, email_tokens=550,
                          generation_reserve_tokens=2048)
    assert fit.emails == (8192 - 400 - 2048) // 550 == 10
    assert fit_email_batch(2048, system_prompt_tokens=400, email_tokens=550,
                           generation_reserve_tokens=2048).emails == 0


def test_local_whisper_directories_are_planned_by_name_or_size(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from tui.planning.service import whisper_model_name

    named = tmp_path / "faster-whisper-large-v3-turbo"
    named.mkdir()
    assert whisper_model_name(str(named)) == "large-v3-turbo"
    unnamed = tmp_path / "my-model"
    unnamed.mkdir()
    # CTranslate2 saves float16: 75.5 MB of weights is ~38 M parameters, tiny's size.
    (unnamed / "model.bin").write_bytes(b"\0" * 75_537_502)
    assert whisper_model_name(str(unnamed)) == "tiny"
    assert whisper_model_name("large-v3") == "large-v3"


def test_whisperx_on_its_own_card_splits_the_plan_and_frees_context() -> None:
    shared = seed_request(gpu_index=0)
    split = replace(shared, whisper_gpu=GpuCard(24 * GIB, "test", 1))
    shared_plan, split_plan = plan_budget(shared), plan_budget(split)
    assert len(shared_plan.cards) == 1 and len(split_plan.cards) == 2
    llm_card, whisper_card = split_plan.cards
    assert (llm_card.gpu.index, whisper_card.gpu.index) == (0, 1)
    assert llm_card.owners == ("llm",) and whisper_card.owners == ("whisperx",)
    # Nothing is lost or counted twice across the cards.
    assert llm_card.planned_bytes + whisper_card.planned_bytes == shared_plan.total_bytes
    assert split_plan.headroom_bytes == shared_plan.headroom_bytes + whisper_card.planned_bytes
    shared_ctx = max_num_ctx_for_headroom(shared, 2 * GIB)
    split_ctx = max_num_ctx_for_headroom(split, 2 * GIB)
    assert shared_ctx is not None and split_ctx is not None
    # WhisperX's 6 GiB go to the context: per token 160 KiB of f16 KV cache plus 66 KiB of
    # Ollama's graph (4 B × batch 512 × (1 + 32 heads)).
    per_token = 160 * 1024 + 4 * 512 * 33
    assert abs((split_ctx - shared_ctx) - whisper_card.planned_bytes / per_token) <= NUM_CTX_STEP
    assert plan_budget(replace(split, num_ctx=split_ctx)).llm_card.fits


def test_a_plan_fits_only_when_every_card_does() -> None:
    small_whisper_card = GpuCard(4 * GIB, "test", 1)  # large-v3 + alignment + context > 4 GiB
    plan = plan_budget(seed_request(gpu_index=0, whisper_gpu=small_whisper_card))
    assert plan.llm_card.fits
    assert not plan.cards[1].fits and not plan.fits


def test_without_whisperx_there_is_one_card_even_if_one_was_named() -> None:
    plan = plan_budget(seed_request(whisper=None, whisper_gpu=GpuCard(24 * GIB, "test", 1)))
    assert len(plan.cards) == 1 and plan.cards[0].owners == ("llm",)


def test_a_pinned_llm_card_is_in_the_ollama_environment() -> None:
    plan = plan_budget(seed_request(llm_device="GPU-5f1c"))
    assert plan.server_env["CUDA_VISIBLE_DEVICES"] == "GPU-5f1c"
    assert "CUDA_VISIBLE_DEVICES" not in plan_budget(seed_request()).server_env
