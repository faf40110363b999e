"""The same budget expressed for serving engines: vLLM and TensorRT-LLM (trtllm-serve/Triton).

vLLM: `--gpu-memory-utilization` is a share of the *total* card for this instance (weights,
activations and KV; its CUDA context sits outside), `--kv-cache-memory-bytes` pins the KV
cache exactly and overrides the share. TensorRT-LLM: `free_gpu_memory_fraction` is a share of
memory still *free after* weights and whatever other processes hold, and the KV cache is the
minimum of that and `max_tokens`. Both are checked against each project's docs and source
(see README, "Scaling out").
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from tui.budget.cache_types import KvCacheType
from tui.budget.placement import cuda_pinning
from tui.budget.plan import Plan

_VLLM_KV_DTYPE = {KvCacheType.F16: "auto", KvCacheType.Q8_0: "fp8", KvCacheType.Q4_0: "fp8"}
_TRTLLM_KV_DTYPE = {KvCacheType.F16: "auto", KvCacheType.Q8_0: "fp8", KvCacheType.Q4_0: "fp8"}


@dataclass(frozen=True)
class EngineExport:
    engine: str
    flags: dict[str, str]
    command: str
    config_yaml: str = ""
    triton_parameters: dict[str, str] = field(default_factory=dict)
    notes: tuple[str, ...] = ()


def _ceil_fraction(value: float) -> float:
    return min(1.0, math.ceil(value * 100) / 100)


def _floor_fraction(value: float) -> float:
    return max(0.0, math.floor(value * 100) / 100)


def _others_bytes(plan: Plan) -> int:
    """Everything on the LLM's card that is not the LLM server: WhisperX where it shares
    the card, and the headroom kept."""
    return plan.llm_card.owner_bytes("whisperx") + plan.request.headroom_target_bytes


def _pinned(plan: Plan, command: str) -> str:
    """The command prefixed with the environment that puts the server on the planned card."""
    if not plan.request.llm_device:
        return command
    env = cuda_pinning(plan.request.llm_device)
    return " ".join(f"{key}={value}" for key, value in env.items()) + " " + command


def _quantised_note(plan: Plan) -> tuple[str, ...]:
    cache_type = plan.request.cache_type
    if cache_type is KvCacheType.Q4_0:
        return ("the engines have no 4-bit KV cache in every release: q4_0 maps to fp8, "
                "which holds fewer tokens per byte than the Ollama plan",)
    if cache_type is KvCacheType.Q8_0:
        return ("q8_0 maps to fp8 (one byte per element, no block scales)",)
    return ()


def export_vllm(plan: Plan, model: str = "mistralai/Devstral-Small-2507") -> EngineExport:
    request = plan.request
    total = request.gpu_total_bytes
    llm_overhead = plan.component("llm_cuda_overhead").bytes
    share = (total - _others_bytes(plan) - llm_overhead) / total
    utilization = _floor_fraction(share)
    flags = {
        "--max-model-len": str(request.num_ctx),
        "--max-num-seqs": str(request.parallel),
        "--gpu-memory-utilization": f"{utilization:.2f}",
        "--kv-cache-dtype": _VLLM_KV_DTYPE[request.cache_type],
        "--kv-cache-memory-bytes": str(plan.kv_cache_bytes),
    }
    command = _pinned(plan, "vllm serve " + model + " "
                      + " ".join(f"{k} {v}" for k, v in flags.items()))
    headroom = f"{request.headroom_target_bytes / 2**30:.1f} GiB headroom"
    share_note = (
        f"--gpu-memory-utilization {utilization:.2f} leaves WhisperX and the {headroom} "
        "outside vLLM's share; vLLM checks that this much is free at start-up, so start it "
        "after WhisperX"
        if plan.llm_card.owner_bytes("whisperx") else
        f"--gpu-memory-utilization {utilization:.2f} leaves the {headroom} free on the "
        "LLM's own card")
    notes = (
        share_note,
        "--kv-cache-memory-bytes pins the KV cache to the plan's cap and overrides the "
        "utilization share (vLLM >= 0.11; drop it on older releases)",
        "vLLM loads Hugging Face weights (bf16 or a quantised repo), not Ollama's GGUF: "
        "weights differ from the Ollama plan, the KV cache does not",
        *_quantised_note(plan),
    )
    return EngineExport("vllm", flags, command, notes=notes)


def export_trtllm(plan: Plan, model: str = "mistralai/Devstral-Small-2507") -> EngineExport:
    request = plan.request
    total = request.gpu_total_bytes
    llm_fixed = sum(
        plan.component(key).bytes for key in ("llm_weights", "llm_graph", "llm_cuda_overhead")
    )
    free_after_load = total - llm_fixed - plan.llm_card.owner_bytes("whisperx")
    if free_after_load <= 0:
        fraction = 0.01
    else:
        fraction = _ceil_fraction(plan.kv_cache_bytes / free_after_load)
    max_tokens = request.num_ctx * request.parallel
    flags = {
        "--max_seq_len": str(request.num_ctx),
        "--max_batch_size": str(request.parallel),
        "--kv_cache_free_gpu_memory_fraction": f"{fraction:.2f}",
    }
    dtype = _TRTLLM_KV_DTYPE[request.cache_type]
    config_yaml = (
        "kv_cache_config:\n"
        f"  max_tokens: {max_tokens}\n"
        f"  free_gpu_memory_fraction: {fraction:.2f}\n"
        f"  dtype: {dtype}\n"
        f"max_seq_len: {request.num_ctx}\n"
        f"max_batch_size: {request.parallel}\n"
    )
    triton = {
        "max_tokens_in_paged_kv_cache": str(max_tokens),
        "kv_cache_free_gpu_mem_fraction": f"{fraction:.2f}",
        "max_attention_window_size": str(request.num_ctx),
    }
    command = _pinned(plan, (
        "trtllm-serve " + model + " " + " ".join(f"{k} {v}" for k, v in flags.items())
        + " --extra_llm_api_options kv_cache.yaml"
    ))
    notes = (
        f"the KV cache is min(max_tokens {max_tokens}, the fraction of memory free after "
        "loading); memory other processes hold is excluded first, so start WhisperX before "
        "TensorRT-LLM or rely on max_tokens",
        "Triton tensorrtllm backend: tools/fill_template.py -i config.pbtxt "
        + ",".join(f"{k}:{v}" for k, v in triton.items()),
        *_quantised_note(plan),
    )
    return EngineExport("trtllm", flags, command, config_yaml, triton, notes)


EXPORTERS = {"vllm": export_vllm, "trtllm": export_trtllm}
