"""Turn config and command-line choices into a plan: find the model's shape and the card's
size (the I/O), then hand both to the pure planner."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

from tui.adapters.nvml import GpuUnavailable, read_gpus
from tui.config import Config
from tui.model_source import ShapeLookup, resolve_model_shape
from tui.planner.budget import (
    Plan,
    PlanRequest,
    WhisperRequest,
    max_num_ctx_for_headroom,
    plan_budget,
)
from tui.planner.cache_types import KvCacheType
from tui.planner.tokens import estimate_tokens
from tui.planner.units import gib_to_bytes
from tui.planner.whisper import ComputeType, nearest_whisper_spec, whisper_spec_matching
from tui.prompts import TRIAGE_SYSTEM_PROMPT

# Chat-template tokens around the system and user turns ([SYSTEM_PROMPT], [INST] ...).
CHAT_TEMPLATE_OVERHEAD_TOKENS = 64


@dataclass
class PlanOptions:
    llm: str | None = None
    gpu_gib: float | None = None
    num_ctx: int | None = None
    headroom_gib: float | None = None
    kv_type: str | None = None
    parallel: int | None = None
    flash_attention: bool | None = None
    whisper: str | None = None
    compute_type: str | None = None
    batch_size: int | None = None
    no_whisper: bool = False
    offline: bool = False


@dataclass
class GpuTotal:
    bytes: int
    source: str


@dataclass
class PlanResult:
    plan: Plan
    lookup: ShapeLookup
    gpu: GpuTotal
    max_num_ctx: int | None
    solved_for_headroom: bool
    warnings: list[str] = field(default_factory=list)


class PlanUnsatisfiable(Exception):
    pass


def gpu_total(config: Config, gpu_gib: float | None) -> GpuTotal:
    if gpu_gib:
        return GpuTotal(gib_to_bytes(gpu_gib), f"--gpu-gib {gpu_gib:g}")
    if config.budget.gpu_gib:
        return GpuTotal(gib_to_bytes(config.budget.gpu_gib),
                        f"config budget.gpu_gib {config.budget.gpu_gib:g}")
    gpus = read_gpus()
    index = config.budget.gpu_index
    if isinstance(gpus, GpuUnavailable):
        fallback = config.budget.fallback_gpu_gib
        return GpuTotal(gib_to_bytes(fallback),
                        f"assumed {fallback:g} GiB card ({gpus.reason}; pass --gpu-gib)")
    if index >= len(gpus):
        fallback = config.budget.fallback_gpu_gib
        return GpuTotal(gib_to_bytes(fallback),
                        f"assumed {fallback:g} GiB card (no GPU index {index}; "
                        f"NVML sees {len(gpus)})")
    sample = gpus[index]
    return GpuTotal(sample.total_bytes, f"NVML GPU {index} ({sample.name})")


def system_prompt_tokens(config: Config) -> int:
    system = config.ollama.system_prompt or TRIAGE_SYSTEM_PROMPT
    return (estimate_tokens(system) + estimate_tokens(config.ollama.task_prompt)
            + CHAT_TEMPLATE_OVERHEAD_TOKENS)


def whisper_model_name(model: str) -> str:
    """A known Whisper name for the planner, also when the config names a local directory:
    by the name in its path, else by the size of its weights (CTranslate2 stores float16)."""
    path = Path(model).expanduser()
    if not path.is_dir():
        return model
    by_name = whisper_spec_matching(str(path))
    if by_name is not None:
        return by_name.name
    weights = path / "model.bin"
    size = weights.stat().st_size if weights.is_file() else 0
    return nearest_whisper_spec(size // 2).name


def build_request(config: Config, options: PlanOptions, lookup: ShapeLookup,
                  gpu: GpuTotal) -> PlanRequest:
    whisper_cfg = config.whisperx
    whisper = None if options.no_whisper else WhisperRequest(
        model=whisper_model_name(options.whisper or whisper_cfg.model),
        compute_type=ComputeType(options.compute_type or whisper_cfg.compute_type),
        batch_size=options.batch_size or whisper_cfg.batch_size,
        align=whisper_cfg.align,
        align_language=whisper_cfg.language or "en",
        diarize=whisper_cfg.diarize,
    )
    headroom = options.headroom_gib
    if headroom is None:
        headroom = config.budget.headroom_gib
    return PlanRequest(
        shape=lookup.shape,
        gpu_total_bytes=gpu.bytes,
        gpu_total_source=gpu.source,
        num_ctx=options.num_ctx or config.budget.num_ctx,
        cache_type=KvCacheType(options.kv_type or config.ollama.kv_cache_type),
        parallel=options.parallel or config.ollama.num_parallel,
        flash_attention=(options.flash_attention if options.flash_attention is not None
                         else config.ollama.flash_attention),
        whisper=whisper,
        headroom_target_bytes=gib_to_bytes(headroom),
        system_prompt_tokens=system_prompt_tokens(config),
        email_tokens=config.budget.email_tokens,
        generation_reserve_tokens=config.budget.generation_reserve_tokens,
    )


def make_plan(config: Config, options: PlanOptions) -> PlanResult:
    name = options.llm or config.ollama.base_model
    lookup = resolve_model_shape(
        name,
        ollama_host=None if options.offline else config.ollama.host,
        timeout=3.0,
    )
    gpu = gpu_total(config, options.gpu_gib)
    request = build_request(config, options, lookup, gpu)
    max_ctx = max_num_ctx_for_headroom(request, request.headroom_target_bytes)
    solved = options.headroom_gib is not None and options.num_ctx is None
    if solved:
        if max_ctx is None:
            raise PlanUnsatisfiable(
                f"no num_ctx leaves {options.headroom_gib:g} GiB of headroom on this card "
                "even at 256 tokens: use a smaller Whisper model, batch size or LLM"
            )
        request = replace(request, num_ctx=max_ctx)
    plan = plan_budget(request)
    return PlanResult(plan=plan, lookup=lookup, gpu=gpu, max_num_ctx=max_ctx,
                      solved_for_headroom=solved)
