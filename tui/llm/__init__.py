"""The LLM layer: what the mail pipeline needs from whichever server triages.

`protocol` holds the interface and the errors every backend raises (BackendUnavailable,
ModelMissing, PromptTooLong); one module per backend (`ollama_backend`, `openai_backend`,
`llamacpp_backend`: llama.cpp in a process of its own, `llamacpp_process` running
`llamacpp_engine`) imports only `protocol` and the adapters;
`make_backend` picks the one `[llm] backend` names, importing it only then, so nothing here
imports a backend's client library up front.
"""

from __future__ import annotations

from collections.abc import Callable
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
from tui.prompts import TRIAGE_SYSTEM_PROMPT

if TYPE_CHECKING:
    from tui.config import Config

__all__ = ["BackendError", "BackendStatus", "BackendUnavailable", "BatchReply", "ModelMissing",
           "PromptTooLong", "TriageBackend", "make_backend"]


def make_backend(config: Config, *, plan_fits: Callable[[], bool] | None = None,
                 log_path: str | None = None) -> TriageBackend:
    """The backend `[llm] backend` names, configured from the matching section and the
    settings every backend shares (`[llm] temperature`, `[budget]`). For the embedded engine
    only: `plan_fits` says, when it starts, whether the plan keeps its headroom on the LLM's
    card (without it, a GPU llama.cpp sees gets every layer), and `log_path` is where its
    process writes (without it, that process's output goes where this one's does)."""
    num_ctx = config.budget.num_ctx
    temperature = config.llm.temperature
    # Neither the embedded engine nor an OpenAI-compatible server has a Modelfile holding a
    # SYSTEM: the built-in prompt (the one the budget counts while [llm] system_prompt is
    # empty) goes with every batch that carries none.
    if config.llm.backend == "llamacpp":
        from tui.llm.llamacpp_backend import EmbeddedTriageModel

        embedded = config.llamacpp
        return EmbeddedTriageModel(
            embedded.model, num_ctx=num_ctx, temperature=temperature,
            max_tokens=config.budget.generation_reserve_tokens,
            timeout=embedded.timeout_seconds, ollama_models=embedded.ollama_models,
            gpu_layers=embedded.gpu_layers, flash_attention=embedded.flash_attention,
            kv_cache_type=embedded.kv_cache_type, threads=embedded.threads,
            system_prompt=TRIAGE_SYSTEM_PROMPT, plan_fits=plan_fits, log_path=log_path)
    if config.llm.backend == "openai":
        from tui.llm.openai_backend import OpenAITriageModel

        openai_config = config.openai
        return OpenAITriageModel(openai_config.base_url, openai_config.model, num_ctx=num_ctx,
                                 api_key_env=openai_config.api_key_env,
                                 temperature=temperature,
                                 max_tokens=config.budget.generation_reserve_tokens,
                                 timeout=openai_config.timeout_seconds,
                                 system_prompt=TRIAGE_SYSTEM_PROMPT)
    from tui.llm.ollama_backend import TriageModel

    ollama_config = config.ollama
    return TriageModel(ollama_config.host, ollama_config.model, num_ctx=num_ctx,
                       keep_alive=ollama_config.keep_alive, temperature=temperature,
                       timeout=ollama_config.timeout_seconds,
                       max_tokens=config.budget.generation_reserve_tokens)
