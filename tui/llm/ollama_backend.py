"""One triage batch through Ollama's `/api/chat`, streamed, with the numbers we must check.

Always `/api/chat` with explicit options (the OpenAI-compatible endpoint ignores num_ctx),
always the same num_ctx (a different one reloads the model) and a keep_alive. Errors are
the backend-neutral ones from `tui.llm.protocol`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import ollama

from tui.adapters.ollama_models import show_model
from tui.llm.protocol import (
    BackendStatus,
    BackendUnavailable,
    BatchReply,
    ModelMissing,
    PromptTooLong,
    ReplyDeadline,
)


class TriageModel:
    label = "Ollama"

    def __init__(self, host: str, model: str, *, num_ctx: int, keep_alive: str,
                 temperature: float, timeout: float, max_tokens: int | None = None) -> None:
        self.host = host
        self.model = model
        self.num_ctx = num_ctx
        # Sent as num_predict: Ollama's default (-1) lets a reply run on past the reserve
        # the budget counts, to the end of the context.
        self.max_tokens = max_tokens
        self.keep_alive = keep_alive
        self.temperature = temperature
        self.timeout = timeout
        self._client = ollama.Client(host=host, timeout=timeout)

    def check(self) -> BackendStatus:
        """Two different problems, two different fixes: no server at the address, or a
        server without the triage model."""
        try:
            show_model(self.host, self.model, timeout=5.0)
        except BackendUnavailable as error:
            reason = str(error).removeprefix(f"{self.host}: ")
            return BackendStatus(False, "unavailable",
                                 f"Ollama not reachable at {self.host} ({reason})",
                                 "start it with `ollama serve` (or set [ollama] host)")
        except ModelMissing:
            return BackendStatus(False, "model-missing",
                                 f"Ollama at {self.host} has no model {self.model!r}",
                                 f"ollama create {self.model} -f modelfiles/Modelfile.triage")
        return BackendStatus(True, "ready", f"{self.model}, num_ctx {self.num_ctx}")

    def _options(self) -> dict[str, int | float]:
        options: dict[str, int | float] = {"num_ctx": self.num_ctx,
                                           "temperature": self.temperature}
        if self.max_tokens is not None:
            options["num_predict"] = self.max_tokens
        return options

    def run_batch(self, messages: list[dict[str, str]], schema: dict[str, Any],
                  on_text: Callable[[str], None]) -> BatchReply:
        parts: list[str] = []
        final: Any = None
        try:
            stream = self._client.chat(
                model=self.model, messages=messages, stream=True, format=schema,
                options=self._options(),
                keep_alive=self.keep_alive,
            )
            deadline = ReplyDeadline(self.timeout, self.host)
            for chunk in stream:
                deadline.check(stream)
                text = chunk.message.content or ""
                if text:
                    parts.append(text)
                    on_text(text)
                if chunk.done:
                    final = chunk
        except ollama.ResponseError as error:
            if error.status_code == 404:
                raise ModelMissing(str(error.error), model=self.model) from error
            if error.status_code == 400 and "exceeds the context length" in str(error.error):
                # Ollama cuts an over-long prompt unless the request says `truncate: false`;
                # then it refuses, like vLLM.
                raise PromptTooLong(f"{self.host}: {error.error}",
                                    context_limit=self.num_ctx) from error
            raise BackendUnavailable(f"{self.host}: HTTP {error.status_code}: {error.error}"
                                     ) from error
        except (ConnectionError, httpx.HTTPError, OSError) as error:
            # Streaming calls surface raw httpx errors (connect, read, dropped connection).
            raise BackendUnavailable(f"{self.host}: {type(error).__name__}: {error}") from error
        except (ValueError, TypeError, AttributeError) as error:
            # A line of the stream that is not Ollama's JSON (a proxy's error page, garbage):
            # the client raises while decoding it.
            raise BackendUnavailable(f"{self.host}: unreadable reply stream: "
                                     f"{type(error).__name__}: {str(error)[:200]}") from error
        if final is None:
            raise BackendUnavailable(f"{self.host}: the reply ended without a final chunk")
        return BatchReply("".join(parts), final.prompt_eval_count, final.eval_count,
                          final.done_reason)
