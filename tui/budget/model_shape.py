"""The shape of an LLM as the KV-cache and graph arithmetic needs it.

Ollama's `/api/show` `model_info` and a GGUF file's header use the same key names
(`<arch>.block_count`, `<arch>.attention.head_count_kv`, ...), so one parser serves both.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any


class ModelShapeError(ValueError):
    """The metadata lacks a key the budget cannot do without."""


# Architectures whose attention alternates between sliding-window and global layers, with
# the rule Ollama applies when the file does not carry an explicit per-layer pattern.
# gemma2: even layers are local (sliding), odd are global. gemma3: every 6th layer is global.
_SLIDING_WINDOW_RULES: dict[str, tuple[int, int]] = {
    # architecture: (period, index within the period that is global)
    "gemma2": (2, 1),
    "gemma3": (6, 5),
}


@dataclass(frozen=True)
class ModelShape:
    """Per-layer attention geometry plus what is known of the weights.

    `head_count_kv` and `head_count` are per layer because some architectures vary them;
    `sliding_layers[i]` is True where layer i only attends to the last `sliding_window` tokens.
    """

    name: str
    architecture: str
    block_count: int
    head_count: tuple[int, ...]
    head_count_kv: tuple[int, ...]
    key_length: int
    value_length: int
    embedding_length: int
    vocab_size: int | None = None
    # The widest feed-forward layer (`<arch>.feed_forward_length`); None when not known.
    feed_forward_length: int | None = None
    context_length: int | None = None
    sliding_window: int | None = None
    sliding_layers: tuple[bool, ...] = ()
    parameter_count: int | None = None
    weights_bytes: int | None = None
    quantization: str | None = None
    # Bytes of the token-embedding table when the model has a separate output matrix, so
    # that the table stays in host memory (see tui.budget.weights); None when it is not
    # known, or when the embedding doubles as the output matrix and so sits on the GPU.
    token_embedding_bytes: int | None = None
    source: str = "unknown"
    notes: tuple[str, ...] = field(default=())

    @property
    def head_count_max(self) -> int:
        return max(self.head_count)

    @property
    def head_count_kv_max(self) -> int:
        return max(self.head_count_kv)

    @property
    def embedding_head_count(self) -> int:
        return self.embedding_length // self.head_count_max

    def is_sliding(self, layer: int) -> bool:
        return bool(self.sliding_layers) and self.sliding_layers[layer]

    def with_weights(self, weights_bytes: int | None, note: str | None = None) -> ModelShape:
        notes = (*self.notes, note) if note else self.notes
        return replace(self, weights_bytes=weights_bytes, notes=notes)


def _per_layer(value: Any, block_count: int, key: str) -> tuple[int, ...]:
    if isinstance(value, Sequence) and not isinstance(value, (str, bytes)):
        layers = tuple(int(v) for v in value)
        if len(layers) != block_count:
            raise ModelShapeError(
                f"{key} lists {len(layers)} layers but block_count is {block_count}"
            )
        return layers
    return (int(value),) * block_count


def _sliding_layers(
    metadata: Mapping[str, Any], arch: str, block_count: int, window: int | None
) -> tuple[bool, ...]:
    if not window:
        return ()
    explicit = metadata.get(f"{arch}.attention.sliding_window_pattern")
    if isinstance(explicit, Sequence) and not isinstance(explicit, (str, bytes)):
        if len(explicit) != block_count:
            raise ModelShapeError(
                f"{arch}.attention.sliding_window_pattern lists {len(explicit)} layers "
                f"but block_count is {block_count}"
            )
        return tuple(bool(v) for v in explicit)
    rule = _SLIDING_WINDOW_RULES.get(arch)
    if rule is None:
        # A window with no known layout (e.g. Mistral v0.1 under the llama architecture):
        # llama.cpp and Ollama cache the full context on every layer, and so do we, which
        # is also the conservative choice for a budget.
        return ()
    period, global_index = rule
    return tuple(i % period != global_index for i in range(block_count))


def _required_int(metadata: Mapping[str, Any], key: str) -> int:
    value = metadata.get(key)
    if value is None:
        raise ModelShapeError(f"model metadata has no {key!r}")
    return int(value)


def shape_from_metadata(
    metadata: Mapping[str, Any],
    *,
    name: str,
    source: str,
    weights_bytes: int | None = None,
    quantization: str | None = None,
    token_embedding_bytes: int | None = None,
) -> ModelShape:
    """Build a shape from GGUF-style keys (Ollama's `model_info` or a GGUF header)."""
    arch = metadata.get("general.architecture")
    if not arch:
        raise ModelShapeError("model metadata has no 'general.architecture'")
    arch = str(arch)
    block_count = _required_int(metadata, f"{arch}.block_count")
    embedding_length = _required_int(metadata, f"{arch}.embedding_length")
    head_count_raw = metadata.get(f"{arch}.attention.head_count")
    if head_count_raw is None:
        raise ModelShapeError(f"model metadata has no '{arch}.attention.head_count'")
    head_count = _per_layer(head_count_raw, block_count, f"{arch}.attention.head_count")
    # Without an explicit KV head count the model is plain multi-head attention.
    head_count_kv = _per_layer(
        metadata.get(f"{arch}.attention.head_count_kv", head_count_raw),
        block_count,
        f"{arch}.attention.head_count_kv",
    )
    # Ollama's default when the file has no key_length: embedding / the smallest head count.
    default_head_dim = embedding_length // min(head_count)
    key_length = int(metadata.get(f"{arch}.attention.key_length") or default_head_dim)
    value_length = int(metadata.get(f"{arch}.attention.value_length") or key_length)
    window_raw = metadata.get(f"{arch}.attention.sliding_window")
    window = int(window_raw) if window_raw else None

    vocab_raw = metadata.get(f"{arch}.vocab_size")
    tokens = metadata.get("tokenizer.ggml.tokens")
    if vocab_raw is not None:
        vocab_size: int | None = int(vocab_raw)
    elif isinstance(tokens, Sequence) and not isinstance(tokens, (str, bytes)):
        vocab_size = len(tokens)
    else:
        vocab_size = None
    ffn_raw = metadata.get(f"{arch}.feed_forward_length")
    if isinstance(ffn_raw, Sequence) and not isinstance(ffn_raw, (str, bytes)):
        feed_forward: int | None = max((int(v) for v in ffn_raw), default=0) or None
    else:
        feed_forward = int(ffn_raw) if ffn_raw else None
    context_raw = metadata.get(f"{arch}.context_length")
    params_raw = metadata.get("general.parameter_count")
    return ModelShape(
        name=name,
        architecture=arch,
        block_count=block_count,
        head_count=head_count,
        head_count_kv=head_count_kv,
        key_length=key_length,
        value_length=value_length,
        embedding_length=embedding_length,
        vocab_size=vocab_size,
        feed_forward_length=feed_forward,
        context_length=int(context_raw) if context_raw else None,
        sliding_window=window,
        sliding_layers=_sliding_layers(metadata, arch, block_count, window),
        parameter_count=int(params_raw) if params_raw else None,
        weights_bytes=weights_bytes,
        quantization=quantization,
        token_embedding_bytes=token_embedding_bytes,
        source=source,
    )
