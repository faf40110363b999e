"""The plan as vLLM and TensorRT-LLM flags."""

from __future__ import annotations

from dataclasses import replace

from tui.budget.cache_types import KvCacheType
from tui.budget.export import export_trtllm, export_vllm
from tui.budget.known_models import known_model_shape
from tui.budget.plan import GpuCard, PlanRequest, plan_budget
from tui.budget.units import GIB

DEVSTRAL = known_model_shape("devstral-small")
assert DEVSTRAL is not None
BASE = PlanRequest(shape=DEVSTRAL, gpu_total_bytes=24 * GIB, gpu_total_source="test")


def test_vllm_flags() -> None:
    plan = plan_budget(BASE)
    export = export_vllm(plan)
    assert export.flags["--max-model-len"] == "8192"
    assert export.flags["--max-num-seqs"] == "1"
    assert export.flags["--kv-cache-dtype"] == "auto"
    assert export.flags["--kv-cache-memory-bytes"] == str(plan.kv_cache_bytes)
    utilization = float(export.flags["--gpu-memory-utilization"])
    # vLLM's share must leave WhisperX, the headroom and its own context outside.
    outside = (plan.owner_bytes("whisperx") + plan.request.headroom_target_bytes
               + plan.component("llm_cuda_overhead").bytes)
    assert utilization * plan.request.gpu_total_bytes <= 24 * GIB - outside
    assert utilization > (24 * GIB - outside) / (24 * GIB) - 0.01
    assert export.command.startswith("vllm serve ")


def test_vllm_fp8_for_quantised_cache() -> None:
    export = export_vllm(plan_budget(replace(BASE, cache_type=KvCacheType.Q8_0)))
    assert export.flags["--kv-cache-dtype"] == "fp8"


def test_trtllm_flags_and_yaml() -> None:
    plan = plan_budget(replace(BASE, parallel=2))
    export = export_trtllm(plan)
    assert export.triton_parameters["max_tokens_in_paged_kv_cache"] == str(8192 * 2)
    assert export.triton_parameters["max_attention_window_size"] == "8192"
    fraction = float(export.flags["--kv_cache_free_gpu_memory_fraction"])
    free_after_load = (24 * GIB - plan.owner_bytes("whisperx")
                       - sum(plan.component(k).bytes
                             for k in ("llm_weights", "llm_graph", "llm_cuda_overhead")))
    # Rounded up, so the fraction never starves the planned cache; max_tokens caps it.
    assert fraction * free_after_load >= plan.kv_cache_bytes
    assert (fraction - 0.01) * free_after_load < plan.kv_cache_bytes
    assert "max_tokens: 16384" in export.config_yaml
    assert "--max_seq_len 8192" in export.command


def test_engines_on_their_own_card_get_it_all_and_are_pinned_to_it() -> None:
    split = replace(BASE, gpu_index=0, llm_device="GPU-5f1c",
                    whisper_gpu=GpuCard(24 * GIB, "test", 1))
    shared_vllm, split_vllm = export_vllm(plan_budget(BASE)), export_vllm(plan_budget(split))
    # WhisperX is no longer on the LLM's card: vLLM's share grows by its ~6 GiB.
    grown = (float(split_vllm.flags["--gpu-memory-utilization"])
             - float(shared_vllm.flags["--gpu-memory-utilization"]))
    whisper_share = plan_budget(split).cards[1].planned_bytes / (24 * GIB)
    assert abs(grown - whisper_share) <= 0.011
    assert split_vllm.command.startswith("CUDA_VISIBLE_DEVICES=GPU-5f1c vllm serve ")
    assert "WhisperX" not in split_vllm.notes[0]
    trtllm = export_trtllm(plan_budget(replace(split, llm_device="1")))
    assert trtllm.command.startswith(
        "CUDA_DEVICE_ORDER=PCI_BUS_ID CUDA_VISIBLE_DEVICES=1 trtllm-serve ")
    assert shared_vllm.command.startswith("vllm serve ")
