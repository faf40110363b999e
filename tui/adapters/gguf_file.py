"""Read a model's shape from a GGUF file's header with the `gguf` package."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tui.budget.model_shape import ModelShape, shape_from_metadata

# Large arrays (the tokenizer's vocabulary) are only needed for their length.
_LENGTH_ONLY_KEYS = ("tokenizer.ggml.tokens",)


class GgufReadError(Exception):
    pass


def read_gguf_header(path: Path) -> tuple[dict[str, Any], int, str | None, int | None]:
    """Metadata key/values, the bytes of all tensors, the file type name if known, and the
    bytes of the token-embedding table that llama.cpp keeps on the host: `token_embd.weight`
    when the file has a separate `output.weight` (None when the embedding doubles as the
    output matrix)."""
    from gguf import GGUFReader, LlamaFileType  # the reader pulls numpy: import on demand

    try:
        reader = GGUFReader(path, "r")
    except (OSError, ValueError, IndexError) as error:  # IndexError: a file cut short
        raise GgufReadError(f"{path}: not a readable GGUF file: {error}") from error
    metadata: dict[str, Any] = {}
    for name, field in reader.fields.items():
        if name in _LENGTH_ONLY_KEYS:
            metadata[name] = [None] * len(field.data)
            continue
        try:
            metadata[name] = field.contents()
        except (ValueError, IndexError, UnicodeDecodeError):
            continue
    tensor_bytes = sum(int(tensor.n_bytes) for tensor in reader.tensors)
    sizes = {tensor.name: int(tensor.n_bytes) for tensor in reader.tensors}
    embedding = sizes.get("token_embd.weight") if "output.weight" in sizes else None
    file_type = metadata.get("general.file_type")
    quantization: str | None = None
    if file_type is not None:
        try:
            quantization = LlamaFileType(int(file_type)).name.removeprefix("MOSTLY_")
        except ValueError:
            quantization = None
    return metadata, tensor_bytes, quantization, embedding


def shape_from_gguf(path: Path) -> ModelShape:
    metadata, tensor_bytes, quantization, embedding = read_gguf_header(path)
    name = str(metadata.get("general.name") or path.stem)
    return shape_from_metadata(
        metadata,
        name=name,
        source=f"GGUF header of {path}",
        weights_bytes=tensor_bytes,
        quantization=quantization,
        token_embedding_bytes=embedding,
    )
