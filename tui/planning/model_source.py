"""Find an LLM's shape: Ollama `/api/show`, then a GGUF file, then the built-in table.

Every attempt is recorded, so the planner can say which source it used and why the ones
before it failed; nothing is guessed silently.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

from tui.adapters.gguf_file import GgufReadError, shape_from_gguf
from tui.adapters.ollama_models import model_shape_from_ollama
from tui.budget.known_models import (
    known_model_names,
    known_model_shape,
    known_token_embedding_bytes,
)
from tui.budget.model_shape import ModelShape, ModelShapeError
from tui.llm.protocol import BackendUnavailable, ModelMissing


class ModelShapeUnavailable(Exception):
    def __init__(self, name: str, attempts: list[str]) -> None:
        self.attempts = attempts
        tried = "; ".join(attempts)
        super().__init__(
            f"no shape for model {name!r} ({tried}). Start Ollama and pull the model, pass "
            f"--llm PATH.gguf, or use a known model: {', '.join(known_model_names())}"
        )


@dataclass
class ShapeLookup:
    shape: ModelShape
    attempts: list[str] = field(default_factory=list)


def resolve_model_shape(
    name: str, *, ollama_host: str | None, timeout: float = 5.0
) -> ShapeLookup:
    attempts: list[str] = []
    path = Path(name).expanduser()
    if name.endswith(".gguf") or path.is_file():
        try:
            return ShapeLookup(shape_from_gguf(path), attempts)
        except (GgufReadError, ModelShapeError, OSError) as error:
            attempts.append(f"GGUF {path}: {error}")
    elif ollama_host:
        try:
            shape = model_shape_from_ollama(ollama_host, name, timeout)
        except BackendUnavailable as error:
            attempts.append(f"Ollama unreachable ({error})")
        except ModelMissing as error:
            attempts.append(f"Ollama has no model {name!r} ({error})")
        except ModelShapeError as error:
            attempts.append(f"Ollama /api/show incomplete ({error})")
        else:
            table = known_model_shape(name)
            if shape.weights_bytes is None and table is not None \
                    and table.weights_bytes is not None:
                shape = shape.with_weights(
                    table.weights_bytes, "weights size from the built-in table"
                )
            return ShapeLookup(_with_host_embedding(name, shape, table), attempts)
    table_shape = known_model_shape(name)
    if table_shape is not None:
        return ShapeLookup(table_shape, attempts)
    attempts.append("not in the built-in table")
    raise ModelShapeUnavailable(name, attempts)


def _with_host_embedding(name: str, shape: ModelShape, table: ModelShape | None) -> ModelShape:
    """/api/show lists no tensors, so whether the token embedding has its own output matrix
    (and stays on the host) is taken from the table, for a table model of the same shape."""
    if table is None or (table.architecture, table.vocab_size, table.embedding_length) != (
            shape.architecture, shape.vocab_size, shape.embedding_length):
        return shape
    embedding = known_token_embedding_bytes(name, shape.quantization)
    return replace(shape, token_embedding_bytes=embedding) if embedding else shape
