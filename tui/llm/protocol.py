"""What the mail pipeline needs from whichever server triages: a status check and one
streamed batch, and the errors every backend raises. Ollama (`ollama_backend`) and
OpenAI-compatible servers (`openai_backend`: vLLM, TensorRT-LLM, Triton) implement it; the
batching, budget and review flow stay the same.

This module imports no backend, so backends, adapters and callers can all depend on it.
"""

from __future__ import annotations

import time
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


class BackendError(Exception):
    """Anything a triage backend raises about its server; catch a subclass where it matters."""


class BackendUnavailable(BackendError):
    """The server did not answer or failed: not running, wrong address, timeout, an HTTP
    error, a reply cut off mid-stream. Worth retrying later; the mail is kept."""


class ModelMissing(BackendError):
    """The server answered but does not have (or does not serve) the model."""

    def __init__(self, message: str, *, model: str | None = None) -> None:
        super().__init__(message)
        self.model = model


class PromptTooLong(BackendError):
    """The server refused the prompt as longer than its context (vLLM does; Ollama cuts
    unless told not to). `context_limit` is the server's cap on prompt + reply and
    `prompt_tokens` its own count of the prompt, where the server says them."""

    def __init__(self, message: str, *, prompt_tokens: int | None = None,
                 context_limit: int | None = None) -> None:
        super().__init__(message)
        self.prompt_tokens = prompt_tokens
        self.context_limit = context_limit


class TriageBackend(Protocol):
    label: str
    num_ctx: int

    def check(self) -> BackendStatus: ...

    def run_batch(self, messages: list[dict[str, str]], schema: dict[str, Any],
                  on_text: Callable[[str], None]) -> BatchReply:
        """Raises BackendUnavailable, ModelMissing or PromptTooLong, nothing else of its own."""
        ...


def with_system_prompt(messages: list[dict[str, str]], system_prompt: str
                       ) -> list[dict[str, str]]:
    """`messages` led by `system_prompt` when they carry no system message of their own: what
    Ollama does with its Modelfile's SYSTEM, for servers that have no Modelfile."""
    if not system_prompt or any(m.get("role") == "system" for m in messages):
        return messages
    return [{"role": "system", "content": system_prompt}, *messages]


class ReplyDeadline:
    """The whole reply must arrive within `seconds`. A client's read timeout alone never fires
    on a server that keeps trickling bytes, which would hold a batch (and its mail) forever."""

    def __init__(self, seconds: float, server: str) -> None:
        self.seconds = seconds
        self.server = server
        self._ends = time.monotonic() + seconds

    def check(self, stream: object) -> None:
        """Between chunks: past the deadline, close the stream and raise."""
        if time.monotonic() <= self._ends:
            return
        close = getattr(stream, "close", None)
        if callable(close):
            close()
        raise BackendUnavailable(f"{self.server}: no complete reply within "
                                 f"{self.seconds:.0f} s (timeout_seconds); the server is "
                                 "answering too slowly")
