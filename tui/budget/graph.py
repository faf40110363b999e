"""The LLM's scratch memory: the compute graph's buffer and what the CUDA runtime holds.

Two engines are modelled, each rule saying which:

* **Ollama's estimate** (`GraphSize` in Ollama's `fs/ggml/ggml.go`, full-offload branch): a
  per-architecture closed form over batch, context, heads, embedding and vocabulary, where the
  context is the whole cache (num_ctx × parallel) and the batch min(num_ctx, num_batch). For
  the llama family with flash attention off this is also exactly llama.cpp's measured compute
  buffer (Devstral, 4K–32K, to 0.01 MiB).
* **llama.cpp, measured** (`bench/llm_gpu_memory.py`, `llama-server -ngl 99` from the
  llama-cpp-python 0.3.36 sources, H200, 2026-12-02): the compute buffer with flash attention
  on, and the memory the server process holds outside its buffers (CUDA context, cuBLAS,
  ggml's CUDA pool). Ollama runs the same ggml CUDA backend; its Go engine was not measured
  and may differ.
"""

from __future__ import annotations

from tui.budget.kv_cache import CACHE_PADDING, DEFAULT_NUM_BATCH
from tui.budget.model_shape import ModelShape
from tui.budget.units import MIB

# Ollama's fallback when an architecture has no formula: the graph is sized from the cache,
# GQA × kv / 6 (llm/memory.go).
_FALLBACK_DIVISOR = 6

# llama.cpp, measured: what an idle llama-server holds on the GPU beyond its model, KV and
# compute buffers: the CUDA context (518 MiB alone, `cudaFree(0)`), cuBLAS's handle and
# workspace (+68 MiB) and a few MiB of llama.cpp's own (589.6 MiB with an f16 cache, 593.5 with
# q8_0), on a 132-SM H200 with CUDA 13. Contexts grow with the SM count, so an 82-SM RTX 3090
# needs less: an upper bound there.
LLAMA_CPP_CUDA_CONTEXT_BYTES = 594 * MIB
# llama.cpp, measured: ggml's CUDA pool (kept once grown) while a prompt is processed. With
# flash attention off the attention weights (batch × cells × heads, f32 in the graph) are
# copied to f16 for cuBLAS's product with V: batch × cells × heads × 2 B, 256 MiB per 8K of
# filled context for Devstral; the pool's other temporaries (the quantised activations of
# the weight products, ...) came to 88 MiB beside it, and to 28 MiB in all with flash
# attention on, the same from 4K to 32K and for f16 and q8_0 caches (Devstral; other models
# take the same constants, unmeasured).
LLAMA_CPP_POOL_BYTES_FLASH_ATTENTION_OFF = 88 * MIB
LLAMA_CPP_POOL_BYTES_FLASH_ATTENTION_ON = 28 * MIB
_F16_BYTES = 2
_F32_BYTES = 4


def _llama_family(shape: ModelShape, context: int, batch: int) -> int:
    embedding = shape.embedding_length
    heads = shape.head_count_max
    vocab = shape.vocab_size or 0
    return max(
        4 * batch * (1 + 4 * embedding + context * (1 + heads)),
        4 * batch * (embedding + vocab),
    )


def _qwen2(shape: ModelShape, context: int, batch: int) -> int:
    embedding = shape.embedding_length
    heads = shape.head_count_max
    vocab = shape.vocab_size or 0
    return max(
        4 * batch * (embedding + vocab),
        4 * batch * (1 + 2 * embedding + context + context * heads),
    )


def _gemma(shape: ModelShape, context: int, batch: int) -> int:
    embedding = shape.embedding_length
    heads = shape.head_count_max
    vocab = shape.vocab_size or 0
    head_dim_k = shape.key_length
    return max(
        4 * batch * (embedding + vocab),
        4 * batch * (2 + context + context * heads + 2 * embedding + 2 * head_dim_k * heads),
    )


_FORMULAS = {
    "llama": _llama_family,
    "llama4": _llama_family,
    "mistral3": _llama_family,
    "qwen2": _qwen2,
    "gemma2": _gemma,
    "gemma3": _gemma,
}
_LLAMA_FAMILY = frozenset(k for k, v in _FORMULAS.items() if v is _llama_family)


def _cells(context: int) -> int:
    return -(-context // CACHE_PADDING) * CACHE_PADDING


def _llama_flash_attention(shape: ModelShape, context: int, batch: int) -> int:
    """llama.cpp, measured: with flash attention the attention weights are never
    materialised, so the largest live set is the feed-forward block, three batch × n_ff f32
    tensors (gate, up, their product), beside two batch × embedding tensors (the residual
    stream and the normed input), the batch × heads × head_dim query, and the f16 mask of
    batch × cells. For Devstral this is 220 MiB + 1 KiB per cell: llama.cpp reported
    224.01, 228.01, 232.01, 236.01 and 252.01 MiB at 4K, 8K, 12K, 16K and 32K (f16 cache;
    q8_0 +0.08 MiB)."""
    assert shape.feed_forward_length is not None
    activations = (3 * shape.feed_forward_length + 2 * shape.embedding_length
                   + shape.head_count_max * shape.key_length)
    return _F32_BYTES * batch * activations + _F16_BYTES * batch * _cells(context)


def has_graph_formula(architecture: str) -> bool:
    return architecture in _FORMULAS


def graph_is_llama_cpps(shape: ModelShape, flash_attention: bool) -> bool:
    """Whether the graph rule is llama.cpp's measured flash-attention buffer (else Ollama's
    estimate)."""
    return (flash_attention and shape.architecture in _LLAMA_FAMILY
            and bool(shape.feed_forward_length))


def estimate_graph_bytes(
    shape: ModelShape,
    num_ctx: int,
    parallel: int = 1,
    kv_cache_total_bytes: int = 0,
    num_batch: int = DEFAULT_NUM_BATCH,
    flash_attention: bool = False,
) -> int:
    """The compute buffer on the GPU. Llama family with flash attention (and a known FFN
    width): llama.cpp's measured buffer. Otherwise Ollama's estimate, which for the llama
    family without flash attention equals llama.cpp's buffer, and which overstates it with
    flash attention (for Devstral at 8K by 340 MiB, +149 %), so it stays the conservative
    choice for the architectures not measured."""
    context = num_ctx * parallel
    batch = min(num_ctx, num_batch)
    if graph_is_llama_cpps(shape, flash_attention):
        return _llama_flash_attention(shape, context, batch)
    formula = _FORMULAS.get(shape.architecture)
    if formula is not None:
        return formula(shape, context, batch)
    gqa = shape.head_count_max // max(1, shape.head_count_kv_max)
    return gqa * kv_cache_total_bytes // _FALLBACK_DIVISOR


def estimate_cuda_pool_bytes(
    shape: ModelShape,
    num_ctx: int,
    parallel: int = 1,
    num_batch: int = DEFAULT_NUM_BATCH,
    flash_attention: bool = False,
) -> int:
    """ggml's CUDA pool at its peak, a full context being processed (llama.cpp, measured)."""
    if flash_attention:
        return LLAMA_CPP_POOL_BYTES_FLASH_ATTENTION_ON
    batch = min(num_ctx, num_batch)
    attention_f16 = batch * _cells(num_ctx * parallel) * shape.head_count_max * _F16_BYTES
    return LLAMA_CPP_POOL_BYTES_FLASH_ATTENTION_OFF + attention_f16


def estimate_cuda_overhead_bytes(
    shape: ModelShape,
    num_ctx: int,
    parallel: int = 1,
    num_batch: int = DEFAULT_NUM_BATCH,
    flash_attention: bool = False,
) -> int:
    """Everything the LLM server holds beyond its buffers at its peak (llama.cpp, measured):
    the CUDA context with cuBLAS, and ggml's CUDA pool."""
    return LLAMA_CPP_CUDA_CONTEXT_BYTES + estimate_cuda_pool_bytes(
        shape, num_ctx, parallel, num_batch, flash_attention)
