"""Parsing GGUF-style metadata (Ollama model_info / GGUF headers) into a model shape."""

from __future__ import annotations

import pytest

from tui.budget.known_models import known_model_shape
from tui.budget.model_shape import ModelShapeError, shape_from_metadata


def test_key_length_defaults_to_embedding_over_smallest_head_count() -> None:
    shape = shape_from_metadata(
        {
            "general.architecture": "llama",
            "llama.block_count": 2,
            "llama.embedding_length": 4096,
            "llama.attention.head_count": 32,
            "llama.attention.head_count_kv": 8,
        },
        name="m",
        source="test",
    )
    assert shape.key_length == shape.value_length == 128
    assert shape.head_count_kv == (8, 8)
    assert shape.sliding_layers == ()
    assert shape.feed_forward_length is None and shape.token_embedding_bytes is None


def test_per_layer_head_counts_and_explicit_lengths() -> None:
    shape = shape_from_metadata(
        {
            "general.architecture": "custom",
            "custom.block_count": 3,
            "custom.embedding_length": 512,
            "custom.attention.head_count": [8, 8, 8],
            "custom.attention.head_count_kv": [2, 4, 2],
            "custom.attention.key_length": 192,
            "custom.attention.value_length": 128,
        },
        name="m",
        source="test",
    )
    assert shape.head_count_kv == (2, 4, 2)
    assert (shape.key_length, shape.value_length) == (192, 128)


@pytest.mark.parametrize(("value", "expected"), [(14336, 14336), ([8192, 16384, 8192], 16384)])
def test_feed_forward_length_is_the_widest_layer(value: object, expected: int) -> None:
    shape = shape_from_metadata(
        {
            "general.architecture": "llama",
            "llama.block_count": 3,
            "llama.embedding_length": 4096,
            "llama.attention.head_count": 32,
            "llama.feed_forward_length": value,
        },
        name="m",
        source="test",
    )
    assert shape.feed_forward_length == expected


def test_missing_head_count_kv_means_plain_multi_head_attention() -> None:
    shape = shape_from_metadata(
        {
            "general.architecture": "gpt2",
            "gpt2.block_count": 1,
            "gpt2.embedding_length": 768,
            "gpt2.attention.head_count": 12,
        },
        name="m",
        source="test",
    )
    assert shape.head_count_kv == (12,)


def test_explicit_sliding_window_pattern_wins() -> None:
    shape = shape_from_metadata(
        {
            "general.architecture": "gemma3",
            "gemma3.block_count": 4,
            "gemma3.embedding_length": 256,
            "gemma3.attention.head_count": 4,
            "gemma3.attention.sliding_window": 128,
            "gemma3.attention.sliding_window_pattern": [True, False, True, False],
        },
        name="m",
        source="test",
    )
    assert shape.sliding_layers == (True, False, True, False)


def test_window_without_a_known_pattern_is_treated_as_global() -> None:
    shape = shape_from_metadata(
        {
            "general.architecture": "llama",
            "llama.block_count": 2,
            "llama.embedding_length": 256,
            "llama.attention.head_count": 4,
            "llama.attention.sliding_window": 4096,
        },
        name="m",
        source="test",
    )
    assert not any(shape.is_sliding(i) for i in range(2))


@pytest.mark.parametrize(
    ("metadata", "message"),
    [
        ({}, "general.architecture"),
        ({"general.architecture": "llama"}, "llama.block_count"),
        ({"general.architecture": "llama", "llama.block_count": 2,
          "llama.embedding_length": 64}, "llama.attention.head_count"),
        ({"general.architecture": "llama", "llama.block_count": 2,
          "llama.embedding_length": 64, "llama.attention.head_count": [4, 4, 4]},
         "lists 3 layers"),
    ],
)
def test_incomplete_metadata_names_the_missing_key(metadata: dict, message: str) -> None:
    with pytest.raises(ModelShapeError, match=message):
        shape_from_metadata(metadata, name="m", source="test")


def test_known_table_aliases() -> None:
    for alias in ("devstral-small:latest", "devstral", "DEVSTRAL-SMALL", "devstral:24b"):
        found = known_model_shape(alias)
        assert found is not None and found.name == "devstral-small"
        assert found.source == "built-in table"
        assert found.weights_bytes == 14_333_905_760  # the Q4_K_M file Ollama ships
        assert found.feed_forward_length == 32768
    assert known_model_shape("no-such-model") is None
