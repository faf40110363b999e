"""Find an LLM's shape: Ollama `/api/show`, then a GGUF file, then the built-in table.

Every attempt is recorded, so the planner can say which source it used and why the ones
before it failed; nothing is guessed silently.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from tui.adapters.gguf_file import GgufReadError, shape_from_gguf
from tui.adapters.ollama_models import model_shape_from_ollama
from tui.budget.known_models import known_model_names, known_model_shape
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
            if shape.weights_bytes is None:
                table = known_model_shape(name)
                if table is not None and table.weights_bytes is not None:
                    shape = shape.with_weights(
                        table.weights_bytes, "weights size from the built-in table"
                    )
            return ShapeLookup(shape, attempts)
    table_shape = known_model_shape(name)
    if table_shape is not None:
        return ShapeLookup(table_shape, attempts)
    attempts.append("not in the built-in table")
    raise ModelShapeUnavailable(name, attempts)
