"""A small table of model shapes, the last resort when neither Ollama nor a GGUF is at hand.

Entries are GGUF-style metadata so they go through the same parser as `/api/show` and GGUF
headers. Weight sizes are the downloads listed in Ollama's library (Devstral's to the byte:
the Q4_K_M file is 14,333,905,760 B); `tied_embeddings` marks models whose token embedding
doubles as the output matrix (no `output.weight`), which llama.cpp then keeps on the GPU.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tui.budget.model_shape import ModelShape, shape_from_metadata
from tui.budget.weights import token_embedding_bytes_for


@dataclass(frozen=True)
class KnownModel:
    metadata: dict[str, Any]
    weights_bytes: int
    quantization: str
    aliases: tuple[str, ...]
    tied_embeddings: bool = False


def _llama_like(
    arch: str,
    *,
    blocks: int,
    heads: int,
    kv_heads: int,
    head_dim: int,
    embedding: int,
    ffn: int,
    vocab: int,
    context: int,
    params: int,
    window: int | None = None,
) -> dict[str, Any]:
    metadata: dict[str, Any] = {
        "general.architecture": arch,
        "general.parameter_count": params,
        f"{arch}.block_count": blocks,
        f"{arch}.attention.head_count": heads,
        f"{arch}.attention.head_count_kv": kv_heads,
        f"{arch}.attention.key_length": head_dim,
        f"{arch}.attention.value_length": head_dim,
        f"{arch}.embedding_length": embedding,
        f"{arch}.feed_forward_length": ffn,
        f"{arch}.vocab_size": vocab,
        f"{arch}.context_length": context,
    }
    if window:
        metadata[f"{arch}.attention.sliding_window"] = window
    return metadata


KNOWN_MODELS: dict[str, KnownModel] = {
    "devstral-small": KnownModel(
        # Mistral Small 3.1 text stack; Ollama reports it under the llama architecture.
        metadata=_llama_like("llama", blocks=40, heads=32, kv_heads=8, head_dim=128,
                             embedding=5120, ffn=32768, vocab=131072, context=131072,
                             params=23_572_403_200),
        weights_bytes=14_333_905_760,
        quantization="Q4_K_M",
        aliases=("devstral", "devstral:24b", "devstral-small:latest", "devstral:latest",
                 "mistral-small"),
    ),
    "llama3.1:8b": KnownModel(
        metadata=_llama_like("llama", blocks=32, heads=32, kv_heads=8, head_dim=128,
                             embedding=4096, ffn=14336, vocab=128256, context=131072,
                             params=8_030_261_248),
        weights_bytes=4_900_000_000,
        quantization="Q4_K_M",
        aliases=("llama3.1", "llama3.1:latest"),
    ),
    "qwen2.5:7b": KnownModel(
        metadata=_llama_like("qwen2", blocks=28, heads=28, kv_heads=4, head_dim=128,
                             embedding=3584, ffn=18944, vocab=152064, context=32768,
                             params=7_615_616_512),
        weights_bytes=4_700_000_000,
        quantization="Q4_K_M",
        aliases=("qwen2.5", "qwen2.5:latest"),
    ),
    "gemma2:9b": KnownModel(
        metadata=_llama_like("gemma2", blocks=42, heads=16, kv_heads=8, head_dim=256,
                             embedding=3584, ffn=14336, vocab=256000, context=8192,
                             params=9_241_705_984, window=4096),
        weights_bytes=5_400_000_000,
        quantization="Q4_0",
        aliases=("gemma2", "gemma2:latest"),
        tied_embeddings=True,
    ),
    "gemma3:12b": KnownModel(
        metadata=_llama_like("gemma3", blocks=48, heads=16, kv_heads=8, head_dim=256,
                             embedding=3840, ffn=15360, vocab=262144, context=131072,
                             params=11_766_034_176, window=1024),
        weights_bytes=8_100_000_000,
        quantization="Q4_K_M",
        aliases=("gemma3:12b-it-qat",),
        tied_embeddings=True,
    ),
}


def _lookup_key(name: str) -> str | None:
    wanted = name.strip().lower()
    for key, model in KNOWN_MODELS.items():
        if wanted == key or wanted in model.aliases:
            return key
    if wanted.endswith(":latest"):
        return _lookup_key(wanted.removesuffix(":latest")) if ":" in wanted else None
    return None


def known_model_names() -> list[str]:
    return sorted(KNOWN_MODELS)


def known_model_shape(name: str) -> ModelShape | None:
    key = _lookup_key(name)
    if key is None:
        return None
    model = KNOWN_MODELS[key]
    return shape_from_metadata(
        model.metadata,
        name=key,
        source="built-in table",
        weights_bytes=model.weights_bytes,
        quantization=model.quantization,
        token_embedding_bytes=known_token_embedding_bytes(key),
    )


def known_token_embedding_bytes(name: str, quantization: str | None = None) -> int | None:
    """The host-side token-embedding table of a table model, at `quantization` (default: the
    table's, the one Ollama ships); None when the model is not in the table or its embedding
    is tied to the output matrix."""
    key = _lookup_key(name)
    if key is None or KNOWN_MODELS[key].tied_embeddings:
        return None
    model = KNOWN_MODELS[key]
    arch = model.metadata["general.architecture"]
    return token_embedding_bytes_for(quantization or model.quantization,
                                     model.metadata[f"{arch}.vocab_size"],
                                     model.metadata[f"{arch}.embedding_length"])
