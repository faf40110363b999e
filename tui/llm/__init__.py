"""The LLM layer: what the mail pipeline needs from whichever server triages.

`protocol` holds the interface and its errors; one module per backend (`ollama_backend`,
`openai_backend`); `make_backend` picks the one `[llm] backend` names.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tui.llm.protocol import BackendStatus, BatchReply, PromptTooLong, TriageBackend

if TYPE_CHECKING:
    from tui.config import Config

__all__ = ["BackendStatus", "BatchReply", "PromptTooLong", "TriageBackend", "make_backend"]


def make_backend(config: Config) -> TriageBackend:
    """The backend `[llm] backend` names, configured from the matching section."""
    num_ctx = config.budget.num_ctx
    if config.llm.backend == "openai":
        from tui.llm.openai_backend import OpenAITriageModel

        openai_config = config.openai
        return OpenAITriageModel(openai_config.base_url, openai_config.model, num_ctx=num_ctx,
                                 api_key_env=openai_config.api_key_env,
                                 temperature=config.ollama.temperature,
                                 max_tokens=config.budget.generation_reserve_tokens,
                                 timeout=openai_config.timeout_seconds)
    from tui.llm.ollama_backend import TriageModel

    ollama_config = config.ollama
    return TriageModel(ollama_config.host, ollama_config.model, num_ctx=num_ctx,
                       keep_alive=ollama_config.keep_alive,
                       temperature=ollama_config.temperature,
                       timeout=ollama_config.timeout_seconds)
