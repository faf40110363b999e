"""The LLM's compute-graph (scratch) memory, estimated the way Ollama estimates it.

Ports the full-offload branch of `GraphSize` in Ollama's `fs/ggml/ggml.go`: a per-architecture
closed form over batch, context, heads, embedding and vocabulary. The context there is the
whole cache (num_ctx × parallel) and the batch is min(num_ctx, num_batch).
"""

from __future__ import annotations

from tui.budget.kv_cache import DEFAULT_NUM_BATCH
from tui.budget.model_shape import ModelShape

# Ollama's fallback when an architecture has no formula: the graph is sized from the cache,
# GQA × kv / 6 (llm/memory.go).
_FALLBACK_DIVISOR = 6


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


def has_graph_formula(architecture: str) -> bool:
    return architecture in _FORMULAS


def estimate_graph_bytes(
    shape: ModelShape,
    num_ctx: int,
    parallel: int = 1,
    kv_cache_total_bytes: int = 0,
    num_batch: int = DEFAULT_NUM_BATCH,
) -> int:
    context = num_ctx * parallel
    batch = min(num_ctx, num_batch)
    formula = _FORMULAS.get(shape.architecture)
    if formula is not None:
        return formula(shape, context, batch)
    gqa = shape.head_count_max // max(1, shape.head_count_kv_max)
    return gqa * kv_cache_total_bytes // _FALLBACK_DIVISOR
