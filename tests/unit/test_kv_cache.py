"""KV-cache arithmetic against hand-computed cases for real architectures."""

from __future__ import annotations

import pytest

from tui.budget.cache_types import KvCacheType
from tui.budget.known_models import known_model_shape
from tui.budget.kv_cache import effective_cache_type, estimate_kv_cache
from tui.budget.model_shape import ModelShape

F16, Q8, Q4 = KvCacheType.F16, KvCacheType.Q8_0, KvCacheType.Q4_0


def shape(name: str) -> ModelShape:
    found = known_model_shape(name)
    assert found is not None
    return found


def test_devstral_8k_f16_is_exactly_one_and_a_quarter_gib() -> None:
    estimate = estimate_kv_cache(shape("devstral-small"), 8192, F16)
    # 2 × 40 layers × 8 KV heads × 128 head_dim × 2 B × 8192 tokens
    assert estimate.total_bytes == 2 * 40 * 8 * 128 * 2 * 8192 == 1_342_177_280
    assert estimate.total_bytes == int(1.25 * 2**30)


@pytest.mark.parametrize(
    ("cache_type", "expected"),
    [
        (F16, 1_342_177_280),
        # q8_0: 34 B per 32 elements → 40 × 8192 × 2048 elements × 34/32
        (Q8, 40 * 8192 * 2048 * 34 // 32),
        # q4_0: 18 B per 32 elements
        (Q4, 40 * 8192 * 2048 * 18 // 32),
    ],
)
def test_devstral_cache_types(cache_type: KvCacheType, expected: int) -> None:
    assert estimate_kv_cache(shape("devstral-small"), 8192, cache_type).total_bytes == expected


def test_q8_and_q4_are_the_ggml_block_sizes() -> None:
    assert Q8.bytes_per_element * 32 == 34
    assert Q4.bytes_per_element * 32 == 18
    assert F16.bytes_per_element == 2
    assert Q8.needs_flash_attention and Q4.needs_flash_attention
    assert not F16.needs_flash_attention


def test_parallel_slots_multiply_the_cache() -> None:
    one = estimate_kv_cache(shape("devstral-small"), 8192, F16, parallel=1).total_bytes
    four = estimate_kv_cache(shape("devstral-small"), 8192, F16, parallel=4).total_bytes
    assert four == 4 * one == 5_368_709_120


def test_llama31_8b() -> None:
    # 32 layers × 8 KV heads × (128 + 128) × 2 B × 8192 = exactly 1 GiB
    assert estimate_kv_cache(shape("llama3.1:8b"), 8192, F16).total_bytes == 2**30
    assert estimate_kv_cache(shape("llama3.1:8b"), 8192, Q8).total_bytes == (
        32 * 8192 * 8 * 256 * 34 // 32
    )


def test_qwen25_7b_at_32k() -> None:
    # 28 layers × 4 KV heads × 256 × 2 B × 32768 = 1.75 GiB
    assert estimate_kv_cache(shape("qwen2.5:7b"), 32768, F16).total_bytes == 1_879_048_192
    assert estimate_kv_cache(shape("qwen2.5:7b"), 32768, Q4).total_bytes == (
        28 * 32768 * 4 * 256 * 18 // 32
    )


def test_gemma2_alternates_sliding_and_global_layers() -> None:
    gemma2 = shape("gemma2:9b")
    estimate = estimate_kv_cache(gemma2, 8192, F16)
    per_cell = 8 * (256 + 256) * 2  # KV heads × (k + v) × f16
    # 21 global layers hold 8192 cells; 21 sliding layers hold window 4096 + batch 512.
    assert estimate.cached_tokens[0] == 4608 and estimate.cached_tokens[1] == 8192
    assert estimate.total_bytes == 21 * 8192 * per_cell + 21 * 4608 * per_cell == 2_202_009_600
    assert estimate.sliding_layer_count == 21


def test_gemma2_window_covering_the_context_caches_everything() -> None:
    estimate = estimate_kv_cache(shape("gemma2:9b"), 4096, F16)
    assert set(estimate.cached_tokens) == {4096}
    assert estimate.total_bytes == 42 * 4096 * 8192


def test_gemma3_five_local_one_global() -> None:
    gemma3 = shape("gemma3:12b")
    estimate = estimate_kv_cache(gemma3, 8192, F16)
    per_cell = 8 * 512 * 2
    globals_ = [i for i, tokens in enumerate(estimate.cached_tokens) if tokens == 8192]
    assert globals_ == [5, 11, 17, 23, 29, 35, 41, 47]
    # 8 global × 8192 cells + 40 local × (1024 + 512) cells
    assert estimate.total_bytes == 8 * 8192 * per_cell + 40 * 1536 * per_cell == 1_040_187_392


def test_gemma3_parallel_widens_the_window_by_one_and_pads_to_256() -> None:
    estimate = estimate_kv_cache(shape("gemma3:12b"), 8192, F16, parallel=2)
    per_cell = 8 * 512 * 2
    # local: 2 × (1024 + 1) + 512 = 2562 → padded to 2816 cells
    assert estimate.cached_tokens[0] == 2816
    assert estimate.cached_tokens[5] == 16384
    assert estimate.total_bytes == 8 * 16384 * per_cell + 40 * 2816 * per_cell


def test_context_is_padded_to_256_cells() -> None:
    padded = estimate_kv_cache(shape("llama3.1:8b"), 1000, F16)
    assert padded.cached_tokens[0] == 1024


def test_gemma2_quantised_cache_falls_back_to_f16() -> None:
    assert effective_cache_type(shape("gemma2:9b"), Q8) is F16
    assert effective_cache_type(shape("gemma3:12b"), Q8) is Q8


@pytest.mark.parametrize("bad", [0, -256])
def test_non_positive_context_is_rejected(bad: int) -> None:
    with pytest.raises(ValueError):
        estimate_kv_cache(shape("devstral-small"), bad)
