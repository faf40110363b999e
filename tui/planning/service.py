"""Turn config and command-line choices into a plan: find the model's shape and the card's
size (the I/O), then hand both to the pure planner."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path

from tui.adapters.gguf_file import GgufReadError, shape_from_gguf
from tui.adapters.nvml import GpuMemorySample, GpuUnavailable, read_gpus
from tui.adapters.ollama_blobs import GgufNotFound, is_gguf_path, locate_gguf
from tui.budget.batch_fit import fixed_prompt_tokens
from tui.budget.cache_types import KvCacheType
from tui.budget.model_shape import ModelShapeError
from tui.budget.placement import Placement, resolve_card
from tui.budget.plan import (
    GpuCard,
    Plan,
    PlanRequest,
    WhisperRequest,
    max_num_ctx_for_headroom,
    plan_budget,
)
from tui.budget.units import gib_to_bytes
from tui.budget.whisper import ComputeType, nearest_whisper_spec, whisper_spec_matching
from tui.config import Config
from tui.planning.model_source import ModelShapeUnavailable, ShapeLookup, resolve_model_shape


@dataclass
class PlanOptions:
    llm: str | None = None
    gpu_gib: float | None = None
    llm_gpu: str | None = None
    whisper_gpu: str | None = None
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
    index: int | None = None
    # What the service's CUDA_VISIBLE_DEVICES names ("" when it is not pinned).
    device: str = ""
    uuid: str = ""

    def pinned(self) -> GpuTotal:
        """Pinned to this card, by UUID where NVML gave one."""
        if self.device or self.index is None:
            return self
        return replace(self, device=self.uuid or str(self.index))

    def as_card(self) -> GpuCard:
        return GpuCard(self.bytes, self.source, self.index)


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


def _assumed(config: Config, placement: Placement, why: str) -> GpuTotal:
    fallback = config.budget.fallback_gpu_gib
    return GpuTotal(gib_to_bytes(fallback),
                    f"assumed {fallback:g} GiB card ({why}; pass --gpu-gib)",
                    placement.index, placement.device)


def locate_card(selector: str, gpus: list[GpuMemorySample]
                ) -> tuple[Placement, GpuMemorySample | None]:
    """The card NVML lists for a config selector ("" follows CUDA_VISIBLE_DEVICES), or None
    with the placement's problem."""
    placement = resolve_card(selector, gpus, os.environ.get("CUDA_VISIBLE_DEVICES"))
    return placement, next((card for card in gpus if card.index == placement.index), None)


def gpu_total(config: Config, gpu_gib: float | None, selector: str = "",
              gpus: list[GpuMemorySample] | GpuUnavailable | None = None) -> GpuTotal:
    """The size of the card `selector` names: --gpu-gib, else [budget] gpu_gib, else NVML
    (`gpus`, read here when not given), else the configured fallback size."""
    size_gib = gpu_gib or config.budget.gpu_gib
    if size_gib:
        inherited = os.environ.get("CUDA_VISIBLE_DEVICES")
        placement = resolve_card(selector, gpus if isinstance(gpus, list) else None, inherited)
        if placement.problem:  # planning for another box: take the selector as written
            placement = resolve_card(selector, None, inherited)
        flag = f"--gpu-gib {gpu_gib:g}" if gpu_gib else f"config budget.gpu_gib {size_gib:g}"
        return GpuTotal(gib_to_bytes(size_gib), flag, placement.index, placement.device)
    if gpus is None:
        gpus = read_gpus()
    if isinstance(gpus, GpuUnavailable):
        return _assumed(config, resolve_card(selector, None), gpus.reason)
    placement, sample = locate_card(selector, gpus)
    if sample is None:
        return _assumed(config, placement, placement.problem or "GPU not found")
    return GpuTotal(sample.total_bytes, f"NVML GPU {sample.index} ({sample.name})",
                    placement.index, placement.device, sample.uuid)


def same_card(first: GpuTotal, second: GpuTotal, selectors: tuple[str, str]) -> bool:
    if first.index is not None and second.index is not None:
        return first.index == second.index
    return selectors[0].strip() == selectors[1].strip()


def system_prompt_tokens(config: Config) -> int:
    """The fixed part of every batch's prompt, counted as the mail pipeline counts it."""
    return fixed_prompt_tokens(config.llm.system_prompt, config.llm.task_prompt)


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


def whisperx_on_gpu(config: Config) -> bool:
    return config.whisperx.device != "cpu"


def plans_whisper(config: Config, options: PlanOptions) -> bool:
    """WhisperX takes GPU memory unless it is left out or runs on the CPU."""
    return not options.no_whisper and whisperx_on_gpu(config)


def build_request(config: Config, options: PlanOptions, lookup: ShapeLookup,
                  gpu: GpuTotal, whisper_gpu: GpuTotal | None = None) -> PlanRequest:
    whisper_cfg = config.whisperx
    whisper = None if not plans_whisper(config, options) else WhisperRequest(
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
    # The engine's own settings: Ollama's server, or llama.cpp in this process (one slot).
    engine = config.llamacpp if config.llm.backend == "llamacpp" else config.ollama
    slots = 1 if config.llm.backend == "llamacpp" else config.ollama.num_parallel
    return PlanRequest(
        shape=lookup.shape,
        gpu_total_bytes=gpu.bytes,
        gpu_total_source=gpu.source,
        num_ctx=options.num_ctx or config.budget.num_ctx,
        cache_type=KvCacheType(options.kv_type or engine.kv_cache_type),
        parallel=options.parallel or slots,
        flash_attention=(options.flash_attention if options.flash_attention is not None
                         else engine.flash_attention),
        whisper=whisper,
        headroom_target_bytes=gib_to_bytes(headroom),
        system_prompt_tokens=system_prompt_tokens(config),
        email_tokens=config.budget.email_tokens,
        generation_reserve_tokens=config.budget.generation_reserve_tokens,
        gpu_index=gpu.index,
        whisper_gpu=whisper_gpu.as_card() if whisper_gpu is not None else None,
        llm_device=gpu.device,
    )


def embedded_model_shape(config: Config, ollama_host: str | None) -> ShapeLookup:
    """The shape of what `[llamacpp] model` loads, from its GGUF file's own header (the
    Ollama blob, for a name); when the file is not there or not readable, a name still gets
    Ollama's /api/show or the table, and the plan says why."""
    model = config.llamacpp.model
    attempts: list[str] = []
    try:
        path = locate_gguf(model, config.llamacpp.ollama_models)
    except GgufNotFound as error:
        attempts.append(f"GGUF for {model!r}: {error}")
    else:
        try:
            return ShapeLookup(shape_from_gguf(path))
        except (GgufReadError, ModelShapeError, OSError) as error:
            attempts.append(f"GGUF {path}: {error}")
    if is_gguf_path(model):
        raise ModelShapeUnavailable(model, attempts)
    try:
        lookup = resolve_model_shape(model, ollama_host=ollama_host, timeout=3.0)
    except ModelShapeUnavailable as error:
        raise ModelShapeUnavailable(model, attempts + error.attempts) from None
    lookup.attempts[:0] = attempts
    return lookup


def llm_fits_its_card(config: Config) -> bool:
    """Whether the plan keeps its headroom on the LLM's card (the embedded engine then puts
    every layer there). Does I/O: call off the UI thread."""
    return make_plan(config, PlanOptions()).plan.llm_card.fits


def make_plan(config: Config, options: PlanOptions,
              gpus: list[GpuMemorySample] | GpuUnavailable | None = None) -> PlanResult:
    """`gpus`: an NVML reading already taken (the dashboard's); read here when None."""
    ollama_host = None if options.offline else config.ollama.host
    if options.llm is None and config.llm.backend == "llamacpp":
        lookup = embedded_model_shape(config, ollama_host)
    else:
        lookup = resolve_model_shape(options.llm or config.ollama.base_model,
                                     ollama_host=ollama_host, timeout=3.0)
    llm_selector = options.llm_gpu if options.llm_gpu is not None else config.llm.gpu
    whisper_selector = (options.whisper_gpu if options.whisper_gpu is not None
                        else config.whisperx.gpu)
    if gpus is None and not (options.gpu_gib or config.budget.gpu_gib):
        gpus = read_gpus()
    gpu = gpu_total(config, options.gpu_gib, llm_selector, gpus)
    whisper_gpu = None
    if plans_whisper(config, options):
        candidate = gpu_total(config, options.gpu_gib, whisper_selector, gpus)
        if not same_card(gpu, candidate, (llm_selector, whisper_selector)):
            # Ollama would otherwise take whichever card has the most free memory at load
            # time, possibly WhisperX's: each service is pinned to its own card.
            gpu, whisper_gpu = gpu.pinned(), candidate
    request = build_request(config, options, lookup, gpu, whisper_gpu)
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
