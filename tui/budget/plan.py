"""The GPU budget: every component on the card, its total, and the headroom left."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from tui.budget.batch_fit import EmailBatchFit, fit_email_batch
from tui.budget.cache_types import KvCacheType
from tui.budget.graph import (
    LLAMA_CPP_CUDA_CONTEXT_BYTES,
    estimate_cuda_pool_bytes,
    estimate_graph_bytes,
    graph_is_llama_cpps,
    has_graph_formula,
)
from tui.budget.kv_cache import (
    DEFAULT_NUM_BATCH,
    effective_cache_type,
    estimate_kv_cache,
    supports_flash_attention,
)
from tui.budget.model_shape import ModelShape
from tui.budget.placement import cuda_pinning
from tui.budget.units import GIB, MIB
from tui.budget.weights import llm_gpu_weights_bytes
from tui.budget.whisper import (
    ComputeType,
    align_activation_bytes,
    align_weights_bytes,
    asr_activation_bytes,
    diarize_activation_bytes,
    diarize_weights_bytes,
    vad_activation_bytes,
    whisper_spec,
    whisper_weights_bytes,
)

# The WhisperX worker's CUDA context: PyTorch with cuBLAS, then CTranslate2's own handles and
# kernels, measured at 799 MiB on a 132-SM H100 (bench/GPU-RESULTS.md). Contexts shrink with
# the SM count (an 82-SM RTX 3090 needs less), so this is an upper bound for consumer cards.
# In the running worker (H200, 2026-12-03) NVML less CTranslate2's pool peak was 782-814 MiB:
# the context with cuDNN, and the 54 MiB PyTorch keeps reserved between stages (the VAD
# model); CTranslate2's pool stayed 475-603 MiB under the weights + activations planned.
TORCH_CUDA_CONTEXT_BYTES = 800 * MIB

NUM_CTX_STEP = 256


class PlanError(ValueError):
    pass


@dataclass(frozen=True)
class WhisperRequest:
    model: str = "large-v3"
    compute_type: ComputeType = ComputeType.FLOAT16
    batch_size: int = 2
    align: bool = True
    align_language: str | None = "en"
    diarize: bool = True


@dataclass(frozen=True)
class GpuCard:
    """A card the plan places work on: its size, where that size came from, and its NVML
    index where one is known (an assumed card has none)."""

    total_bytes: int
    source: str
    index: int | None = None

    @property
    def name(self) -> str:
        return f"GPU {self.index}" if self.index is not None else "the card"


@dataclass(frozen=True)
class PlanRequest:
    """`gpu_*` describe the LLM's card; `whisper_gpu` is WhisperX's when it has its own
    (None: WhisperX shares the LLM's card)."""

    shape: ModelShape
    gpu_total_bytes: int
    gpu_total_source: str
    num_ctx: int = 8192
    cache_type: KvCacheType = KvCacheType.F16
    parallel: int = 1
    flash_attention: bool = False
    num_batch: int = DEFAULT_NUM_BATCH
    whisper: WhisperRequest | None = field(default_factory=WhisperRequest)
    headroom_target_bytes: int = 2 * GIB
    system_prompt_tokens: int = 400
    email_tokens: int = 550
    generation_reserve_tokens: int = 2048
    gpu_index: int | None = None
    whisper_gpu: GpuCard | None = None
    # What the LLM server's CUDA_VISIBLE_DEVICES should name ("" when it is not pinned).
    llm_device: str = ""

    @property
    def llm_gpu(self) -> GpuCard:
        return GpuCard(self.gpu_total_bytes, self.gpu_total_source, self.gpu_index)

    @property
    def whisper_has_own_card(self) -> bool:
        return self.whisper is not None and self.whisper_gpu is not None

    @property
    def uses_flash_attention(self) -> bool:
        return self.flash_attention or self.cache_type.needs_flash_attention

    @property
    def runs_flash_attention(self) -> bool:
        """Whether the server really runs flash attention (Ollama refuses it for some
        architectures, whatever the environment says)."""
        return self.uses_flash_attention and supports_flash_attention(self.shape)


@dataclass(frozen=True)
class Component:
    key: str
    owner: str
    label: str
    bytes: int
    detail: str


def find_component(components: tuple[Component, ...], key: str) -> Component:
    for component in components:
        if component.key == key:
            return component
    raise KeyError(key)


def owner_total(components: tuple[Component, ...], owner: str) -> int:
    return sum(c.bytes for c in components if c.owner == owner)


@dataclass(frozen=True)
class CardBudget:
    """One card's part of the plan: what is placed on it and what is left."""

    gpu: GpuCard
    components: tuple[Component, ...]
    headroom_target_bytes: int

    @property
    def planned_bytes(self) -> int:
        return sum(c.bytes for c in self.components)

    @property
    def headroom_bytes(self) -> int:
        return self.gpu.total_bytes - self.planned_bytes

    @property
    def fits(self) -> bool:
        return self.headroom_bytes >= self.headroom_target_bytes

    @property
    def owners(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(c.owner for c in self.components))

    def owner_bytes(self, owner: str) -> int:
        return owner_total(self.components, owner)

    def component(self, key: str) -> Component:
        return find_component(self.components, key)


@dataclass(frozen=True)
class Plan:
    request: PlanRequest
    components: tuple[Component, ...]
    email_batch: EmailBatchFit
    notes: tuple[str, ...]

    @property
    def cards(self) -> tuple[CardBudget, ...]:
        """The LLM's card first; WhisperX's own card second when it has one."""
        request = self.request
        target = request.headroom_target_bytes
        if not request.whisper_has_own_card:
            return (CardBudget(request.llm_gpu, self.components, target),)
        assert request.whisper_gpu is not None
        llm = tuple(c for c in self.components if c.owner == "llm")
        whisper = tuple(c for c in self.components if c.owner != "llm")
        return (CardBudget(request.llm_gpu, llm, target),
                CardBudget(request.whisper_gpu, whisper, target))

    @property
    def llm_card(self) -> CardBudget:
        return self.cards[0]

    @property
    def total_bytes(self) -> int:
        """Planned bytes on the LLM's card (the card num_ctx is solved for)."""
        return self.llm_card.planned_bytes

    @property
    def headroom_bytes(self) -> int:
        return self.llm_card.headroom_bytes

    @property
    def fits(self) -> bool:
        return all(card.fits for card in self.cards)

    def component(self, key: str) -> Component:
        return find_component(self.components, key)

    def owner_bytes(self, owner: str) -> int:
        return owner_total(self.components, owner)

    @property
    def kv_cache_bytes(self) -> int:
        return self.component("llm_kv_cache").bytes

    @property
    def server_env(self) -> dict[str, str]:
        """The Ollama server settings these numbers assume."""
        env = {
            "OLLAMA_NUM_PARALLEL": str(self.request.parallel),
            "OLLAMA_FLASH_ATTENTION": "1" if self.request.uses_flash_attention else "0",
            "OLLAMA_KV_CACHE_TYPE": self.request.cache_type.value,
        }
        if self.request.llm_device:
            env.update(cuda_pinning(self.request.llm_device))
        return env



def _llm_components(request: PlanRequest, notes: list[str]) -> list[Component]:
    shape = request.shape
    cache_type = effective_cache_type(shape, request.cache_type)
    if cache_type is not request.cache_type:
        notes.append(
            f"{shape.architecture} has no flash attention in Ollama: "
            f"OLLAMA_KV_CACHE_TYPE={request.cache_type.value} falls back to f16"
        )
    kv = estimate_kv_cache(
        shape, request.num_ctx, cache_type, request.parallel, request.num_batch
    )
    flash = request.runs_flash_attention
    graph = estimate_graph_bytes(
        shape, request.num_ctx, request.parallel, kv.total_bytes, request.num_batch, flash
    )
    pool = estimate_cuda_pool_bytes(
        shape, request.num_ctx, request.parallel, request.num_batch, flash
    )
    if not has_graph_formula(shape.architecture):
        notes.append(
            f"no graph formula for architecture {shape.architecture!r}: "
            "used Ollama's fallback (GQA × KV cache / 6)"
        )
    if shape.weights_bytes is None:
        raise PlanError(f"the size of {shape.name}'s weights is unknown (source: {shape.source})")
    sliding = kv.sliding_layer_count
    kv_detail = (
        f"{shape.block_count} layers × {shape.head_count_kv_max} KV heads × "
        f"({shape.key_length}+{shape.value_length}) × {cache_type.value} × "
        f"{request.num_ctx} ctx × {request.parallel} slot(s)"
    )
    if sliding:
        kv_detail += f"; {sliding} sliding-window layers keep {min(kv.cached_tokens)} tokens"
    quant = f" {shape.quantization}" if shape.quantization else ""
    weights = llm_gpu_weights_bytes(shape)
    weights_detail = f"{shape.name}{quant} ({shape.source})"
    if weights != shape.weights_bytes:
        weights_detail += f" − {(shape.weights_bytes - weights) / MIB:.0f} MiB host embedding"
    batch = min(request.num_ctx, request.num_batch)
    graph_detail = (f"llama.cpp's, flash attention, batch {batch}"
                    if graph_is_llama_cpps(shape, flash) else f"Ollama's estimate, batch {batch}")
    return [
        Component("llm_weights", "llm", "LLM weights", weights, weights_detail),
        Component("llm_kv_cache", "llm", "KV cache (cap)", kv.total_bytes, kv_detail),
        Component("llm_graph", "llm", "LLM compute graph", graph, graph_detail),
        Component("llm_cuda_overhead", "llm", "LLM CUDA context",
                  LLAMA_CPP_CUDA_CONTEXT_BYTES + pool,
                  f"CUDA + cuBLAS {LLAMA_CPP_CUDA_CONTEXT_BYTES / MIB:.0f} MiB, ggml pool "
                  f"{pool / MIB:.0f} MiB (llama.cpp)"),
    ]


def whisper_components(whisper: WhisperRequest) -> list[Component]:
    """WhisperX's share of the plan, whatever card it lands on (bench/transcribe_speed.py
    holds the worker's NVML peak against their sum)."""
    spec = whisper_spec(whisper.model)
    components = [
        Component("whisper_weights", "whisperx", "Whisper weights",
                  whisper_weights_bytes(spec, whisper.compute_type),
                  f"{spec.name} {whisper.compute_type.value}, "
                  f"{spec.parameters / 1e6:.0f} M params (CTranslate2)"),
    ]
    # Models stay resident, but the stages run one after another in the worker (the VAD
    # before each file's batches too), and each PyTorch stage gives its cached blocks back
    # before the next, so only the largest stage's activations are ever live at once.
    stage_peaks = {"transcription": asr_activation_bytes(spec, whisper.compute_type,
                                                         whisper.batch_size),
                   "voice activity detection": vad_activation_bytes()}
    if whisper.align:
        components.append(Component(
            "whisper_align", "whisperx", "Alignment model",
            align_weights_bytes(whisper.align_language),
            f"wav2vec2 for {whisper.align_language or 'auto'} (float32)"))
        stage_peaks["alignment"] = align_activation_bytes()
    if whisper.diarize:
        components.append(Component(
            "whisper_diarize", "whisperx", "Diarization model", diarize_weights_bytes(),
            "pyannote segmentation + speaker embedding (float32)"))
        stage_peaks["diarization"] = diarize_activation_bytes()
    peak_stage = max(stage_peaks, key=stage_peaks.__getitem__)
    components.append(Component(
        "whisper_activations", "whisperx", "WhisperX activations", stage_peaks[peak_stage],
        f"peak stage: {peak_stage}, batch_size {whisper.batch_size}"))
    components.append(Component(
        "whisper_cuda_context", "whisperx", "WhisperX CUDA context", TORCH_CUDA_CONTEXT_BYTES,
        "PyTorch + CTranslate2 in the worker process, and what PyTorch keeps between stages"))
    return components


def plan_budget(request: PlanRequest) -> Plan:
    if request.num_ctx <= 0:
        raise PlanError(f"num_ctx must be positive, got {request.num_ctx}")
    if request.parallel <= 0:
        raise PlanError(f"parallel must be positive, got {request.parallel}")
    notes: list[str] = []
    if request.cache_type.needs_flash_attention and not request.flash_attention:
        notes.append(
            f"OLLAMA_KV_CACHE_TYPE={request.cache_type.value} needs flash attention: "
            "the plan sets OLLAMA_FLASH_ATTENTION=1 (without it Ollama falls back to f16)"
        )
    components = _llm_components(request, notes)
    if request.whisper is not None:
        components += whisper_components(request.whisper)
    if request.shape.context_length and request.num_ctx > request.shape.context_length:
        notes.append(
            f"num_ctx {request.num_ctx} exceeds the model's trained context "
            f"{request.shape.context_length}"
        )
    email_batch = fit_email_batch(
        request.num_ctx,
        system_prompt_tokens=request.system_prompt_tokens,
        email_tokens=request.email_tokens,
        generation_reserve_tokens=request.generation_reserve_tokens,
    )
    return Plan(request, tuple(components), email_batch, tuple(notes))


def max_num_ctx_for_headroom(request: PlanRequest, headroom_bytes: int) -> int | None:
    """The largest num_ctx, a multiple of 256, whose plan leaves `headroom_bytes` free.

    Memory grows monotonically with num_ctx, so a binary search over multiples of the step
    finds the boundary; None when even the smallest step does not fit.
    """

    def leaves_headroom(steps: int) -> bool:
        plan = plan_budget(replace(request, num_ctx=steps * NUM_CTX_STEP))
        return plan.headroom_bytes >= headroom_bytes

    ceiling = request.shape.context_length or 1 << 20
    low, high = 0, ceiling // NUM_CTX_STEP
    if not leaves_headroom(1):
        return None
    low = 1
    while low < high:
        middle = (low + high + 1) // 2
        if leaves_headroom(middle):
            low = middle
        else:
            high = middle - 1
    return low * NUM_CTX_STEP
