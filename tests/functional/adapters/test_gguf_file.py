"""The planner reads a model's shape from a real GGUF file written with the `gguf` package."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tui.adapters.gguf_file import GgufReadError, shape_from_gguf
from tui.budget.kv_cache import estimate_kv_cache
from tui.budget.plan import PlanRequest, plan_budget
from tui.budget.units import GIB
from tui.planning.model_source import resolve_model_shape

BLOCKS, EMBED, HEADS, KV_HEADS, HEAD_DIM, VOCAB = 2, 64, 4, 2, 16, 50


def write_tiny_gguf(path: Path, *, window: int | None = None, arch: str = "llama",
                    output: bool = False) -> int:
    """A two-layer model: real header, real tensors (`output`: a separate output matrix
    beside the token embedding). Returns the bytes of all tensors."""
    import gguf

    writer = gguf.GGUFWriter(str(path), arch)
    writer.add_name("tiny-test-model")
    writer.add_block_count(BLOCKS)
    writer.add_context_length(4096)
    writer.add_embedding_length(EMBED)
    writer.add_feed_forward_length(4 * EMBED)
    writer.add_head_count(HEADS)
    writer.add_head_count_kv(KV_HEADS)
    writer.add_key_length(HEAD_DIM)
    writer.add_value_length(HEAD_DIM)
    writer.add_file_type(gguf.LlamaFileType.ALL_F32)
    if window:
        writer.add_sliding_window(window)
    writer.add_tokenizer_model("llama")
    writer.add_token_list([f"tok{i}" for i in range(VOCAB)])
    rng = np.random.default_rng(0)
    tensors = {"token_embd.weight": (VOCAB, EMBED)}
    for block in range(BLOCKS):
        tensors[f"blk.{block}.attn_q.weight"] = (EMBED, EMBED)
        tensors[f"blk.{block}.attn_k.weight"] = (KV_HEADS * HEAD_DIM, EMBED)
        tensors[f"blk.{block}.attn_v.weight"] = (KV_HEADS * HEAD_DIM, EMBED)
    if output:
        tensors["output.weight"] = (VOCAB, EMBED)
    total = 0
    for name, shape in tensors.items():
        data = rng.standard_normal(shape).astype(np.float32)
        writer.add_tensor(name, data)
        total += data.nbytes
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return total


def test_shape_comes_from_the_gguf_header(tmp_path: Path) -> None:
    path = tmp_path / "tiny.gguf"
    tensor_bytes = write_tiny_gguf(path)
    shape = shape_from_gguf(path)
    assert shape.name == "tiny-test-model"
    assert shape.architecture == "llama"
    assert shape.block_count == BLOCKS
    assert shape.head_count_kv == (KV_HEADS, KV_HEADS)
    assert (shape.key_length, shape.value_length) == (HEAD_DIM, HEAD_DIM)
    assert shape.vocab_size == VOCAB
    assert shape.context_length == 4096
    assert shape.weights_bytes == tensor_bytes
    assert shape.quantization == "ALL_F32"
    assert shape.source == f"GGUF header of {path}"
    # 2 layers × 2 KV heads × (16 + 16) × 2 B × 1024 tokens
    assert estimate_kv_cache(shape, 1024).total_bytes == 2 * 2 * 32 * 2 * 1024


def test_gguf_sliding_window_for_gemma3(tmp_path: Path) -> None:
    path = tmp_path / "tiny-gemma3.gguf"
    write_tiny_gguf(path, window=256, arch="gemma3")
    shape = shape_from_gguf(path)
    assert shape.sliding_window == 256
    assert shape.sliding_layers == (True, True)  # layers 0,1 are local in a 5:1 pattern


def test_resolver_prefers_the_gguf_path_and_the_plan_uses_it(tmp_path: Path) -> None:
    path = tmp_path / "tiny.gguf"
    tensor_bytes = write_tiny_gguf(path)
    lookup = resolve_model_shape(str(path), ollama_host="http://127.0.0.1:9")
    assert lookup.shape.source.startswith("GGUF header")
    plan = plan_budget(PlanRequest(shape=lookup.shape, gpu_total_bytes=GIB,
                                   gpu_total_source="test", num_ctx=1024, whisper=None))
    assert plan.component("llm_weights").bytes == tensor_bytes


def test_a_separate_output_matrix_leaves_the_embedding_on_the_host(tmp_path: Path) -> None:
    tied, untied = tmp_path / "tied.gguf", tmp_path / "untied.gguf"
    write_tiny_gguf(tied)
    tensor_bytes = write_tiny_gguf(untied, output=True)
    assert shape_from_gguf(tied).token_embedding_bytes is None
    shape = shape_from_gguf(untied)
    embedding = VOCAB * EMBED * 4  # float32
    assert shape.token_embedding_bytes == embedding
    assert shape.feed_forward_length == 4 * EMBED
    plan = plan_budget(PlanRequest(shape=shape, gpu_total_bytes=GIB, gpu_total_source="test",
                                   num_ctx=1024, whisper=None))
    assert plan.component("llm_weights").bytes == tensor_bytes - embedding


def test_not_a_gguf_file_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "broken.gguf"
    path.write_bytes(b"this is not a gguf file at all")
    with pytest.raises(GgufReadError, match="not a readable GGUF"):
        shape_from_gguf(path)
