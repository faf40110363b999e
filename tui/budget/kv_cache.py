"""KV-cache size: 2 × layers × kv_heads × head_dim × bytes/element × num_ctx × slots.

Engines: the cell counts are Ollama's (`kvcache/causal.go`: padding to 256 cells, sliding-window
layers); for full-attention layers they are also llama.cpp's, whose KV buffer matched the formula
exactly for Devstral from 4K to 32K cells in f16 and q8_0 (`bench/llm_gpu_memory.py`, H200,
2026-12-02). llama.cpp's own sliding-window rule (window + ubatch cells) is not modelled.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from tui.budget.cache_types import KvCacheType
from tui.budget.model_shape import ModelShape

# Ollama's default physical batch (num_batch); sliding-window layers keep this many tokens
# beyond the window so one batch can be appended before old entries are evicted.
DEFAULT_NUM_BATCH = 512
# Ollama's ggml backend pads every cache to a multiple of 256 cells (CachePadding).
CACHE_PADDING = 256


@dataclass(frozen=True)
class KvCacheEstimate:
    num_ctx: int
    parallel: int
    cache_type: KvCacheType
    cached_tokens: tuple[int, ...]
    per_layer_bytes: tuple[int, ...]

    @property
    def total_bytes(self) -> int:
        return sum(self.per_layer_bytes)

    @property
    def sliding_layer_count(self) -> int:
        full = max(self.cached_tokens)
        return sum(1 for tokens in self.cached_tokens if tokens < full)


def _round_up(value: int, multiple: int) -> int:
    return -(-value // multiple) * multiple


def cached_tokens_for_layer(
    shape: ModelShape, layer: int, num_ctx: int, parallel: int, num_batch: int
) -> int:
    """Cells one layer allocates, as Ollama's causal KV cache sizes them (kvcache/causal.go).

    Every slot gets `num_ctx` cells; a sliding-window layer keeps the window per slot (one
    more with several slots) plus one batch, unless the window already covers the context.
    Both are padded to 256 cells.
    """
    if shape.sliding_window and shape.is_sliding(layer):
        window = shape.sliding_window + (1 if parallel > 1 else 0)
        if window < num_ctx:
            return _round_up(parallel * window + num_batch, CACHE_PADDING)
    return _round_up(num_ctx * parallel, CACHE_PADDING)


# Ollama refuses flash attention for these, and with it a quantised KV cache.
_NO_FLASH_ATTENTION_ARCHITECTURES = frozenset({"gemma2"})


def supports_flash_attention(shape: ModelShape) -> bool:
    """Ollama's SupportsFlashAttention: equal, non-zero key and value lengths, not gemma2."""
    return (
        shape.architecture not in _NO_FLASH_ATTENTION_ARCHITECTURES
        and shape.key_length == shape.value_length != 0
    )


def effective_cache_type(shape: ModelShape, requested: KvCacheType) -> KvCacheType:
    """The cache type Ollama really uses: a quantised type silently becomes f16 for models
    without flash attention support."""
    if requested.needs_flash_attention and not supports_flash_attention(shape):
        return KvCacheType.F16
    return requested


def kv_cache_bytes_for_layer(
    shape: ModelShape, layer: int, tokens: int, cache_type: KvCacheType
) -> int:
    elements_per_token = shape.head_count_kv[layer] * (shape.key_length + shape.value_length)
    exact = tokens * elements_per_token * cache_type.bytes_per_element
    return math.ceil(exact)


def estimate_kv_cache(
    shape: ModelShape,
    num_ctx: int,
    cache_type: KvCacheType = KvCacheType.F16,
    parallel: int = 1,
    num_batch: int = DEFAULT_NUM_BATCH,
) -> KvCacheEstimate:
    if num_ctx <= 0:
        raise ValueError(f"num_ctx must be positive, got {num_ctx}")
    if parallel <= 0:
        raise ValueError(f"parallel must be positive, got {parallel}")
    tokens = tuple(
        cached_tokens_for_layer(shape, layer, num_ctx, parallel, num_batch)
        for layer in range(shape.block_count)
    )
    per_layer = tuple(
        kv_cache_bytes_for_layer(shape, layer, layer_tokens, cache_type)
        for layer, layer_tokens in enumerate(tokens)
    )
    return KvCacheEstimate(
        num_ctx=num_ctx,
        parallel=parallel,
        cache_type=cache_type,
        cached_tokens=tokens,
        per_layer_bytes=per_layer,
    )
