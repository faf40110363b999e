"""One triage batch through an OpenAI-compatible server (vLLM, llama.cpp's llama-server,
trtllm-serve, Triton's OpenAI front end) with the official `openai` client: streamed chat
completions, the verdict schema as `response_format`, token usage for calibration. Errors are
the backend-neutral ones from `tui.llm.protocol`.

Servers differ outside the OpenAI schema, so nothing here relies on one server's wording:
llama-server does not serve `GET /models/{id}` (404) but lists its model at `/models`, and
says its context as `meta.n_ctx` there (vLLM: `max_model_len`; llama-server also `GET /props`);
an over-long prompt is known by the error's type or code (llama.cpp:
`exceed_context_size_error` with `n_prompt_tokens` and `n_ctx`), vLLM's wording only as a
fallback."""

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
    with_system_prompt,
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


# Error types or codes that mean "the prompt does not fit the context": llama.cpp's, OpenAI's.
_CONTEXT_ERROR_KINDS = frozenset({"exceed_context_size_error", "context_length_exceeded"})


def _int_field(body: dict[str, Any], *names: str) -> int | None:
    for name in names:
        value = body.get(name)
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    return None


def refused_as_too_long(error: openai.APIError) -> PromptTooLong | None:
    """The PromptTooLong an error reply describes (before or inside the stream), with the
    server's own numbers where it gives them; None for any other error."""
    body = error.body if isinstance(error.body, dict) else {}
    kinds = {str(body.get("type") or ""), str(body.get("code") or "")}
    message = str(body.get("message") or error.message or error)
    if kinds & _CONTEXT_ERROR_KINDS:
        prompt = _int_field(body, "n_prompt_tokens", "prompt_tokens")
        limit = _int_field(body, "n_ctx", "context_limit", "max_model_len")
        return PromptTooLong(
            f"{message} (prompt {prompt if prompt is not None else '?'} tokens, context "
            f"{limit if limit is not None else '?'})", prompt_tokens=prompt, context_limit=limit)
    if isinstance(error, openai.BadRequestError):
        return prompt_too_long(message)
    return None


def prompt_too_long(message: str) -> PromptTooLong | None:
    """vLLM's refusal, which says it only in words: the PromptTooLong a 400 reply's message
    describes, with its numbers where it gives them; None for any other bad request."""
    if "context length" not in message and "maximum context" not in message:
        return None
    prompt = next((number for pattern in _PROMPT_TOKENS_RES
                   if (number := _first_number(pattern, message)) is not None), None)
    return PromptTooLong(message, prompt_tokens=prompt,
                         context_limit=_first_number(_CONTEXT_LIMIT_RE, message))


class OpenAITriageModel:
    label = "LLM (OpenAI API)"

    def __init__(self, base_url: str, model: str, *, num_ctx: int, api_key_env: str,
                 temperature: float, max_tokens: int, timeout: float,
                 system_prompt: str = "") -> None:
        """`system_prompt`: sent when a batch carries no system message, as Ollama sends its
        Modelfile's SYSTEM (an OpenAI-compatible server has no Modelfile)."""
        self.base_url = base_url
        self.system_prompt = system_prompt
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
        try:
            try:
                info: dict[str, Any] | None = _extra(self._client.models.retrieve(self.model))
                owners: set[str] = {str(info.get("owned_by") or "")}
            except openai.NotFoundError:
                # Not served by every server (llama-server answers 404): the list decides.
                info, owners = self._listed_model()
        except openai.APIError as error:
            return BackendStatus(
                False, "unavailable",
                f"{self.base_url} not reachable ({type(error).__name__})",
                f"start the server, e.g. {self._serve_hint(set())} (see `triage-tui plan "
                f"--export vllm`), or set [openai] base_url")
        if info is None:
            return BackendStatus(
                False, "model-missing", f"{self.base_url} does not serve {self.model!r}",
                f"restart the server with that model, e.g. {self._serve_hint(owners)}, or set "
                f"[openai] model to one it serves ({self.base_url}/models lists them)")
        context, source = _context_of(info)
        if context is None:
            context, source = self._props_context()
        detail = f"{self.model} at {self.base_url}" + (f", {source} {context}"
                                                       if context else "")
        return BackendStatus(True, "ready", detail, context_limit=context)

    def _serve_hint(self, owners: set[str]) -> str:
        """The command that serves the model, for the server the models list names
        (`owned_by`: "llamacpp", "vllm"); both when the server is not known."""
        llama = f"`llama-server -m MODEL.gguf --alias {self.model} -c {self.num_ctx} -np 1`"
        vllm = f"`vllm serve {self.model} --max-model-len {self.num_ctx}`"
        if "llamacpp" in owners:
            return llama
        if "vllm" in owners:
            return vllm
        return f"{vllm} or {llama}"

    def _listed_model(self) -> tuple[dict[str, Any] | None, set[str]]:
        """The model's entry in `GET /models` (by id or one of its aliases), None if absent,
        and who the server says owns its models (its kind)."""
        owners: set[str] = set()
        for entry in self._client.models.list():
            info = _extra(entry)
            owners.add(str(getattr(entry, "owned_by", "") or ""))
            aliases = info.get("aliases")
            names = {entry.id, *(a for a in aliases if isinstance(a, str))} \
                if isinstance(aliases, list) else {entry.id}
            if self.model in names:
                return info, owners
        return None, owners

    def _props_context(self) -> tuple[int | None, str]:
        """llama-server's `GET /props` (at the server's root, beside `/v1`): the per-slot
        context as `default_generation_settings.n_ctx`. Absent elsewhere: (None, "")."""
        root = self.base_url.rstrip("/").removesuffix("/v1")
        try:
            reply = httpx.get(f"{root}/props", timeout=min(self.timeout, 10.0))
            settings = reply.json().get("default_generation_settings") \
                if reply.status_code == 200 else None
        except (httpx.HTTPError, ValueError, AttributeError):
            return None, ""
        if isinstance(settings, dict):
            context = _int_field(settings, "n_ctx")
            if context:
                return context, "n_ctx"
        return None, ""

    def run_batch(self, messages: list[dict[str, str]], schema: dict[str, Any],
                  on_text: Callable[[str], None]) -> BatchReply:
        parts: list[str] = []
        finish: str | None = None
        usage: Any = None
        messages = with_system_prompt(messages, self.system_prompt)
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
        except openai.APIError as error:
            # Refused before the stream (HTTP 400) or inside it (an `error` event).
            too_long = refused_as_too_long(error)
            if too_long is not None:
                raise too_long from error
            if isinstance(error, openai.BadRequestError):
                raise BackendUnavailable(f"{self.base_url}: {error}") from error
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


def _extra(model: Any) -> dict[str, Any]:
    """A model entry's fields outside the OpenAI schema (where servers put their context)."""
    extra = getattr(model, "model_extra", None)
    return dict(extra) if isinstance(extra, dict) else {}


def _context_of(info: dict[str, Any]) -> tuple[int | None, str]:
    """The context cap a model entry states, and the field that said it: vLLM's
    `max_model_len`, llama.cpp's `meta.n_ctx` (per slot: what one request can use)."""
    context = _int_field(info, "max_model_len")
    if context:
        return context, "max_model_len"
    meta = info.get("meta")
    if isinstance(meta, dict) and (context := _int_field(meta, "n_ctx")):
        return context, "n_ctx"
    return None, ""
