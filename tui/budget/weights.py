"""The LLM's weights on the GPU: every tensor except a token-embedding table kept on the host.

Engine modelled: llama.cpp (measured, `bench/llm_gpu_memory.py`, H200, 2026-12-02). With every
layer offloaded (`-ngl 99`) llama.cpp still assigns the input layer, the token-embedding table
(`token_embd.weight`, a row lookup), to the CPU: its CUDA0 model buffer for Devstral Q4_K_M was
13,302.36 MiB, exactly the file's tensors (14,326,026,240 B) minus the Q4_K embedding table
(131,072 × 5,120 × 144/256 B = 360 MiB). When the embedding doubles as the output matrix (tied
embeddings, e.g. gemma2/gemma3) there is no `output.weight`, the output layer's copy of the
table is on the GPU, and nothing is subtracted. Ollama loads GGUF models through the same ggml
code; its Go engine was not measured here and may place tensors differently.
"""

from __future__ import annotations

from tui.budget.model_shape import ModelShape

# ggml block sizes: (elements per block, bytes per block)
_GGML_BLOCKS: dict[str, tuple[int, int]] = {
    "F32": (1, 4), "F16": (1, 2), "BF16": (1, 2),
    "Q8_0": (32, 34), "Q4_0": (32, 18), "Q4_1": (32, 20), "Q5_0": (32, 22), "Q5_1": (32, 24),
    "Q2_K": (256, 84), "Q3_K": (256, 110), "Q4_K": (256, 144), "Q5_K": (256, 176),
    "Q6_K": (256, 210),
}

# The type llama.cpp's quantizer gives the token embedding under each file type: the file
# type's base type (llama_tensor_get_type_impl: the embedding keeps the default type except
# for the IQ types, which are not listed here and so count as unknown).
_EMBEDDING_TYPE: dict[str, str] = {
    "F32": "F32", "ALL_F32": "F32", "F16": "F16", "BF16": "BF16",
    "Q8_0": "Q8_0", "Q4_0": "Q4_0", "Q4_1": "Q4_1", "Q5_0": "Q5_0", "Q5_1": "Q5_1",
    "Q2_K": "Q2_K", "Q2_K_S": "Q2_K", "Q3_K_S": "Q3_K", "Q3_K_M": "Q3_K", "Q3_K_L": "Q3_K",
    "Q4_K_S": "Q4_K", "Q4_K_M": "Q4_K", "Q5_K_S": "Q5_K", "Q5_K_M": "Q5_K", "Q6_K": "Q6_K",
}


def ggml_type_bytes(ggml_type: str, elements: int) -> int | None:
    """Bytes of `elements` values of a ggml type stored in whole blocks (None: unknown type or
    a row that does not fill whole blocks)."""
    block = _GGML_BLOCKS.get(ggml_type.upper())
    if block is None:
        return None
    per_block, size = block
    if elements % per_block:
        return None
    return elements // per_block * size


def token_embedding_bytes_for(quantization: str | None, vocab_size: int | None,
                              embedding_length: int) -> int | None:
    """The token-embedding table's bytes for a model quantised by llama.cpp's recipe
    (`Q4_K_M` → Q4_K rows), or None when the type or the vocabulary is not known."""
    if not quantization or not vocab_size:
        return None
    ggml_type = _EMBEDDING_TYPE.get(quantization.upper().removeprefix("MOSTLY_"))
    if ggml_type is None:
        return None
    per_row = ggml_type_bytes(ggml_type, embedding_length)
    return None if per_row is None else per_row * vocab_size


def llm_gpu_weights_bytes(shape: ModelShape) -> int:
    """The weights that reach the GPU (llama.cpp, every layer offloaded)."""
    if shape.weights_bytes is None:
        raise ValueError(f"the size of {shape.name}'s weights is unknown")
    host = shape.token_embedding_bytes or 0
    return shape.weights_bytes - host if host < shape.weights_bytes else shape.weights_bytes

