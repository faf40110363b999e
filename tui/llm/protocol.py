"""What the mail pipeline needs from whichever server triages: a status check and one
streamed batch. Ollama (`ollama_triage`) and OpenAI-compatible servers (`openai_triage`:
vLLM, TensorRT-LLM, Triton) implement it; the batching, budget and review flow stay the same."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True)
class BatchReply:
    text: str
    prompt_eval_count: int | None
    eval_count: int | None
    done_reason: str | None


@dataclass(frozen=True)
class BackendStatus:
    ready: bool
    state: str            # ready, unavailable, model-missing
    detail: str
    fix: str = ""
    context_limit: int | None = None   # the server's own cap on prompt + reply, if it says


class PromptTooLong(Exception):
    """The server refused the prompt as longer than its context (vLLM does; Ollama cuts)."""


class TriageBackend(Protocol):
    label: str
    num_ctx: int

    def check(self) -> BackendStatus: ...

    def run_batch(self, messages: list[dict[str, str]], schema: dict[str, Any],
                  on_text: Callable[[str], None]) -> BatchReply: ...
