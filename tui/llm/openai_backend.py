"""One triage batch through an OpenAI-compatible server (vLLM, trtllm-serve, Triton's OpenAI
front end) with the official `openai` client: streamed chat completions, the verdict schema as
`response_format`, token usage for calibration. Errors are the backend-neutral ones from
`tui.llm.protocol`."""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from typing import Any

import httpx
import openai

from tui.llm.protocol import (
    BackendStatus,
    BackendUnavailable,
    BatchReply,
    ModelMissing,
    PromptTooLong,
    ReplyDeadline,
)

# vLLM's refusal names its cap, and the prompt's size in one of its wordings: "... you
# requested 9000 tokens (7000 in the messages, 2048 in the completion)", "... your prompt
# contains at least 7000 input tokens", "... your request has 7000 input tokens", "... you
# requested 7000 tokens in the messages".
_CONTEXT_LIMIT_RE = re.compile(r"maximum context length is (\d+)")
_PROMPT_TOKENS_RES = (
    re.compile(r"\((\d+) in the messages"),
    re.compile(r"(\d+) input tokens"),
    re.compile(r"requested (\d+) tokens in the messages"),
)


def _first_number(pattern: re.Pattern[str], text: str) -> int | None:
    match = pattern.search(text)
    return int(match.group(1)) if match else None


def prompt_too_long(message: str) -> PromptTooLong | None:
    """The PromptTooLong a 400 reply's message describes, with the server's numbers where it
    gives them; None for any other bad request."""
    if "context length" not in message and "maximum context" not in message:
        return None
    prompt = next((number for pattern in _PROMPT_TOKENS_RES
                   if (number := _first_number(pattern, message)) is not None), None)
    return PromptTooLong(message, prompt_tokens=prompt,
                         context_limit=_first_number(_CONTEXT_LIMIT_RE, message))


class OpenAITriageModel:
    label = "LLM (OpenAI API)"

    def __init__(self, base_url: str, model: str, *, num_ctx: int, api_key_env: str,
                 temperature: float, max_tokens: int, timeout: float) -> None:
        self.base_url = base_url
        self.model = model
        self.num_ctx = num_ctx
        self.temperature = temperature
        self.max_tokens = max_tokens
        # Local servers often want no key; the client insists on one being set.
        api_key = os.environ.get(api_key_env) or "no-key"
        self.timeout = timeout
        self._client = openai.OpenAI(base_url=base_url, api_key=api_key, timeout=timeout,
                                     max_retries=0)

    def check(self) -> BackendStatus:
        """No server at the address, or a server serving another model: different fixes."""
        serve = f"`vllm serve {self.model} --max-model-len {self.num_ctx}`"
        try:
            model = self._client.models.retrieve(self.model)
        except openai.NotFoundError:
            return BackendStatus(
                False, "model-missing", f"{self.base_url} does not serve {self.model!r}",
                f"restart the server with that model, e.g. {serve}, or set [openai] model "
                f"to one it serves ({self.base_url}/models lists them)")
        except openai.APIError as error:
            return BackendStatus(
                False, "unavailable",
                f"{self.base_url} not reachable ({type(error).__name__})",
                f"start the server, e.g. {serve} (see `triage-tui plan --export vllm`), "
                f"or set [openai] base_url")
        # vLLM reports its context cap as `max_model_len`, outside the OpenAI schema.
        extra = getattr(model, "model_extra", None) or {}
        limit = extra.get("max_model_len")
        context = int(limit) if isinstance(limit, int) else None
        detail = f"{self.model} at {self.base_url}" + (f", max_model_len {context}"
                                                       if context else "")
        return BackendStatus(True, "ready", detail, context_limit=context)

    def run_batch(self, messages: list[dict[str, str]], schema: dict[str, Any],
                  on_text: Callable[[str], None]) -> BatchReply:
        parts: list[str] = []
        finish: str | None = None
        usage: Any = None
        try:
            stream = self._client.chat.completions.create(
                model=self.model, messages=messages, stream=True,  # type: ignore[arg-type]
                stream_options={"include_usage": True}, temperature=self.temperature,
                max_tokens=self.max_tokens,
                response_format={"type": "json_schema", "json_schema": {
                    "name": "verdicts", "schema": schema, "strict": True}},
            )
            deadline = ReplyDeadline(self.timeout, self.base_url)
            for chunk in stream:
                deadline.check(stream)
                if chunk.usage is not None:
                    usage = chunk.usage
                for choice in chunk.choices:
                    text = choice.delta.content or ""
                    if text:
                        parts.append(text)
                        on_text(text)
                    if choice.finish_reason:
                        finish = choice.finish_reason
        except openai.NotFoundError as error:
            raise ModelMissing(str(error), model=self.model) from error
        except openai.BadRequestError as error:
            message = str(error)
            too_long = prompt_too_long(message)
            if too_long is not None:
                raise too_long from error
            raise BackendUnavailable(f"{self.base_url}: {message}") from error
        except openai.APIError as error:
            raise BackendUnavailable(f"{self.base_url}: {type(error).__name__}: {error}"
                                     ) from error
        except (httpx.HTTPError, OSError) as error:
            # Reading the stream itself surfaces raw transport errors (a dropped connection).
            raise BackendUnavailable(f"{self.base_url}: {type(error).__name__}: {error}"
                                     ) from error
        except (ValueError, TypeError, AttributeError) as error:
            # An event of the stream that is not the API's JSON: the client raises decoding it.
            raise BackendUnavailable(f"{self.base_url}: unreadable reply stream: "
                                     f"{type(error).__name__}: {str(error)[:200]}") from error
        return BatchReply("".join(parts), usage.prompt_tokens if usage else None,
                          usage.completion_tokens if usage else None, finish)
