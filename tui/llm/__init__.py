"""The LLM layer: what the mail pipeline needs from whichever server triages.

`protocol` holds the interface and the errors every backend raises (BackendUnavailable,
ModelMissing, PromptTooLong); one module per backend (`ollama_backend`, `openai_backend`)
imports only `protocol` and the adapters; `make_backend` picks the one `[llm] backend` names,
importing it only then, so nothing here imports a backend's client library up front.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tui.llm.protocol import (
    BackendError,
    BackendStatus,
    BackendUnavailable,
    BatchReply,
    ModelMissing,
    PromptTooLong,
    TriageBackend,
)

if TYPE_CHECKING:
    from tui.config import Config

__all__ = ["BackendError", "BackendStatus", "BackendUnavailable", "BatchReply", "ModelMissing",
           "PromptTooLong", "TriageBackend", "make_backend"]


def make_backend(config: Config) -> TriageBackend:
    """The backend `[llm] backend` names, configured from the matching section and the
    settings every backend shares (`[llm] temperature`, `[budget]`)."""
    num_ctx = config.budget.num_ctx
    temperature = config.llm.temperature
    if config.llm.backend == "openai":
        from tui.llm.openai_backend import OpenAITriageModel

        openai_config = config.openai
        return OpenAITriageModel(openai_config.base_url, openai_config.model, num_ctx=num_ctx,
                                 api_key_env=openai_config.api_key_env,
                                 temperature=temperature,
                                 max_tokens=config.budget.generation_reserve_tokens,
                                 timeout=openai_config.timeout_seconds)
    from tui.llm.ollama_backend import TriageModel

    ollama_config = config.ollama
    return TriageModel(ollama_config.host, ollama_config.model, num_ctx=num_ctx,
                       keep_alive=ollama_config.keep_alive, temperature=temperature,
                       timeout=ollama_config.timeout_seconds)
