"""A loopback fake of the OpenAI-compatible API served by ``vllm serve`` and ``trtllm-serve``.

Neither server can run in the test environment (no GPU, no weights), so tests talk to this
fake through the official ``openai`` Python client (``base_url=server.base_url``).  The
wire shapes below follow the vLLM and TensorRT-LLM sources (github.com/vllm-project/vllm,
``vllm/entrypoints/openai/protocol.py`` and ``serving_engine.py``;
github.com/NVIDIA/TensorRT-LLM, ``tensorrt_llm/serve/openai_protocol.py``), so that code
which works against this fake also works against the real servers.

What is modelled (and why):

* ``GET /v1/models`` (vLLM's ModelCard carries ``root`` and ``max_model_len``, which clients
  read to size prompts; TensorRT-LLM's card has neither), ``GET /v1/models/{id}``,
  ``GET /health`` (200, empty body) and ``GET /version``.
* ``POST /v1/chat/completions``, streamed (SSE ``data: {json}`` events ending in
  ``data: [DONE]``) or as one ``chat.completion`` JSON.
* Validation in vLLM's order: API key (the AuthenticationMiddleware guards ``/v1`` only),
  request-body validation (400), ``stream_options`` without ``stream`` (400), unknown model
  (404), context length (400).  **vLLM rejects** a prompt + ``max_tokens`` that does not fit
  ``max_model_len``; it never truncates the prompt the way Ollama silently does.
* A reply longer than ``max_tokens`` is cut and reported with ``finish_reason: "length"``.
  Without ``max_tokens`` vLLM lets generation run to the end of the context window.

Error bodies: recent vLLM (0.10-era on) nests them,
``{"error": {"message", "type", "param", "code"}}`` (``ErrorResponse(error: ErrorInfo)``);
TensorRT-LLM (and older vLLM) send the flat
``{"object": "error", "message", "type", "param", "code"}``.  The openai client accepts
both: it uses ``body.get("error", body)`` as ``APIStatusError.body``.  The one exception is
vLLM's API-key middleware, which answers 401 with the bare ``{"error": "Unauthorized"}``.

Token counts are estimates (see :func:`count_tokens`); nothing here runs a tokenizer.
"""

from __future__ import annotations

import json
import math
import re
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler
from typing import Any, Literal, TypeAlias
from urllib.parse import unquote

from tests.services.loopback_http import LoopbackHandler, LoopbackService

JSONDict: TypeAlias = dict[str, Any]
Flavor: TypeAlias = Literal["vllm", "trtllm"]
LengthWording: TypeAlias = Literal["legacy", "current"]

#: vLLM's --max-model-len is taken from the model config; 8192 is a common small setting.
DEFAULT_MAX_MODEL_LEN = 8192
#: Estimated-token heuristics; module-level so tests can monkeypatch them.
CHARS_PER_TOKEN = 4
#: Chat templates wrap every message in role markers; this flat cost stands in for them.
MESSAGE_OVERHEAD_TOKENS = 4

DEFAULT_REPLY = "This is a reply from the fake OpenAI-compatible server."

_OWNED_BY: dict[str, str] = {"vllm": "vllm", "trtllm": "tensorrt_llm"}
_RESPONSE_FORMAT_TYPES = ("text", "json_object", "json_schema")
_JSON_FORMATS = ("json_object", "json_schema")
# vLLM's error "type" is the exception class name it maps the status from.
_ERROR_TYPES: dict[int, str] = {
    400: "BadRequestError",
    401: "Unauthorized",
    404: "NotFoundError",
    500: "InternalServerError",
    501: "NotImplementedError",
    503: "ServiceUnavailableError",
}


# --------------------------------------------------------------------------------------
# Token estimation
# --------------------------------------------------------------------------------------


def count_tokens(text: str) -> int:
    """Estimate tokens as ceil(characters / CHARS_PER_TOKEN), the usual BPE rule of thumb."""
    return math.ceil(len(text) / CHARS_PER_TOKEN)


def _content_text(content: Any) -> str:
    """Text of a message ``content``: a string or a list of ``{"type": "text"}`` parts."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(
            str(part.get("text") or "")
            for part in content
            if isinstance(part, dict) and part.get("type") == "text"
        )
    return str(content)


def count_prompt_tokens(messages: Iterable[Mapping[str, Any]]) -> int:
    """Estimate the rendered prompt of a chat request: content tokens + overhead per message."""
    total = 0
    for message in messages:
        total += MESSAGE_OVERHEAD_TOKENS + count_tokens(_content_text(message.get("content")))
        if message.get("tool_calls"):
            # Templates render tool calls as text, so they take context space too.
            total += count_tokens(json.dumps(message["tool_calls"], separators=(",", ":")))
    return total


def _split_chunks(text: str) -> list[str]:
    """Split text into word-sized pieces with leading whitespace, like token streams look."""
    pieces = re.findall(r"\s*\S+", text)
    tail = text[len("".join(pieces)) :]
    if tail:
        if pieces:
            pieces[-1] += tail
        else:
            pieces.append(tail)
    return pieces


# --------------------------------------------------------------------------------------
# Public data types
# --------------------------------------------------------------------------------------

ReplyFn: TypeAlias = Callable[[JSONDict], "str | Reply"]


@dataclass
class Reply:
    """A scripted assistant reply.

    ``chunks`` overrides how ``content`` is split into streamed deltas; ``finish_reason``
    overrides the computed one ("stop", or "length" when ``max_tokens`` cut the reply).
    """

    content: str
    finish_reason: str | None = None
    chunks: Sequence[str] | None = None


ReplySpec: TypeAlias = "str | Reply | ReplyFn"


@dataclass
class RecordedRequest:
    """One HTTP request as the server received it."""

    method: str
    path: str
    headers: dict[str, str]  # names lower-cased
    body: bytes
    json: Any = None  # parsed body, or None when absent or malformed


@dataclass
class CompletionRecord:
    """What the fake "engine" did for one chat request that passed validation."""

    model: str
    prompt_tokens: int
    completion_tokens: int
    finish_reason: str
    max_tokens: int  # the effective limit: requested, or what is left of the context
    stream: bool


@dataclass
class FakeModelCard:
    """A served model name, as ``/v1/models`` lists it."""

    id: str
    max_model_len: int
    root: str
    created: int


@dataclass
class _Failure:
    status: int
    message: str
    err_type: str
    headers: Mapping[str, str] | None = None


@dataclass
class _StreamFault:
    after_chunks: int
    error: str | None  # None: drop the socket; otherwise an in-band SSE error event


class _APIError(Exception):
    """An error response (status + vLLM ErrorInfo fields) raised inside a handler."""

    def __init__(
        self, status: int, message: str, err_type: str | None = None, param: str | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.err_type = err_type or _error_type(status)
        self.param = param


def _error_type(status: int) -> str:
    if status in _ERROR_TYPES:
        return _ERROR_TYPES[status]
    try:
        return HTTPStatus(status).phrase.replace(" ", "").replace("-", "") + "Error"
    except ValueError:
        return "Error"


# --------------------------------------------------------------------------------------
# The server
# --------------------------------------------------------------------------------------


class FakeOpenAIServer(LoopbackService):
    """A fake vLLM / TensorRT-LLM OpenAI-compatible server on 127.0.0.1:<ephemeral port>.

    Use as a context manager (or call :meth:`start` / :meth:`stop`), register models with
    :meth:`add_model`, point ``openai.OpenAI(base_url=server.base_url, api_key=...)`` at it
    and script it with:

    * ``server.replies`` -- a deque of reply specs (str, :class:`Reply`, or a callable taking
      the request JSON); when empty, ``server.default_reply`` (a str or such a callable) is
      used, except that a request with a JSON ``response_format`` gets ``"{}"`` by default,
      since a guided-decoding engine would emit JSON.
    * :meth:`fail_next`, :meth:`drop_connection_next`, :meth:`error_mid_stream_next`,
      ``chunk_delay_s``.

    And inspect ``requests`` and ``completions``.

    ``flavor="trtllm"`` switches the wire details that differ in ``trtllm-serve``: flat
    error bodies, ``owned_by: "tensorrt_llm"`` and model cards without ``max_model_len``.
    ``length_wording`` picks vLLM's context-length message: "legacy" (older vLLM:
    "...you requested N tokens (P in the messages, M in the completion)...") or "current"
    (newer vLLM: "...you requested M output tokens and your prompt contains at least P
    input tokens...", with ``param: "input_tokens"``).
    """

    def __init__(
        self,
        *,
        api_key: str | None = None,
        flavor: Flavor = "vllm",
        length_wording: LengthWording = "legacy",
        version: str = "0.10.1",
    ) -> None:
        #: When set, /v1 requests need ``Authorization: Bearer <api_key>`` (vllm --api-key).
        self.api_key = api_key
        self.flavor: Flavor = flavor
        self.length_wording: LengthWording = length_wording
        self.version = version
        self.default_reply: str | ReplyFn = DEFAULT_REPLY
        #: Seconds to sleep between streamed chunks (to test cancellation/UI updates).
        self.chunk_delay_s = 0.0

        #: Segments (start, end, text) the transcription endpoint answers with, or a callable
        #: taking the uploaded audio bytes (this server cannot run Whisper).
        self.transcription_script: Any = [
            (0.3, 3.0, "The quarterly budget meeting starts at nine."),
            (3.7, 6.3, "Please send the contract to the legal team."),
        ]
        self.transcriptions: list[JSONDict] = []
        self.replies: deque[ReplySpec] = deque()
        self.requests: list[RecordedRequest] = []
        self.completions: list[CompletionRecord] = []

        self._models: dict[str, FakeModelCard] = {}
        self._failures: dict[str, deque[_Failure]] = {}
        self._stream_faults: deque[_StreamFault] = deque()
        self._lock = threading.RLock()

    # ---- lifecycle (start, stop, context manager, port, host: LoopbackService) ------

    thread_name = "fake-openai"

    def handler_class(self) -> type[BaseHTTPRequestHandler]:
        return _Handler

    @property
    def base_url(self) -> str:
        """What to pass as ``openai.OpenAI(base_url=...)``."""
        return f"{self.host}/v1"

    # ---- model registry ------------------------------------------------------------

    def add_model(
        self, name: str, max_model_len: int = DEFAULT_MAX_MODEL_LEN, *, root: str | None = None
    ) -> str:
        """Serve ``name`` (vllm --served-model-name) with a ``max_model_len`` context window."""
        card = FakeModelCard(
            id=name, max_model_len=int(max_model_len), root=root or name, created=int(time.time())
        )
        with self._lock:
            self._models[name] = card
        return name

    def remove_model(self, name: str) -> None:
        with self._lock:
            self._models.pop(name, None)

    def get_model(self, name: str) -> FakeModelCard | None:
        # vLLM matches served model names exactly (case-sensitive, no tag defaults).
        with self._lock:
            return self._models.get(name)

    # ---- failure injection --------------------------------------------------------

    def fail_next(
        self,
        status: int,
        message: str,
        *,
        path: str = "/v1/chat/completions",
        times: int = 1,
        err_type: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        """Answer the next ``times`` requests to ``path`` with ``status`` and an error body.

        The body has the flavor's error shape, e.g. for vLLM ``{"error": {"message":
        message, "type": err_type or e.g. "ServiceUnavailableError", "param": null,
        "code": status}}``.  Authentication is still checked first, as in the real server.
        ``headers`` go with the answer (``{"Retry-After": "2"}`` on a 429 or 503).
        """
        failure = _Failure(status, message, err_type or _error_type(status), headers)
        with self._lock:
            self._failures.setdefault(path, deque()).extend(failure for _ in range(times))

    def drop_connection_next(self, after_chunks: int = 1) -> None:
        """Close the socket of the next chat generation after ``after_chunks`` SSE events.

        Events are counted from the first (the ``role`` delta).  With ``stream=false`` or
        ``after_chunks=0`` nothing at all is sent.  The openai client raises
        ``openai.APIConnectionError`` (its ``__cause__`` is an httpx2 RemoteProtocolError).
        """
        with self._lock:
            self._stream_faults.append(_StreamFault(after_chunks, None))

    def error_mid_stream_next(self, message: str, after_chunks: int = 1) -> None:
        """Make the next generation fail the way vLLM reports an engine error.

        Streaming: after ``after_chunks`` events a ``data: {"error": {...}}`` event and
        ``data: [DONE]`` are sent in the 200 stream (vLLM's create_streaming_error_response);
        the openai client raises a plain ``openai.APIError``.  Non-streaming: HTTP 500.
        """
        with self._lock:
            self._stream_faults.append(_StreamFault(after_chunks, message))

    # ---- internals shared with the handler ---------------------------------------

    def _take_failure(self, path: str) -> _Failure | None:
        with self._lock:
            queue = self._failures.get(path)
            return queue.popleft() if queue else None

    def _take_stream_fault(self) -> _StreamFault | None:
        with self._lock:
            return self._stream_faults.popleft() if self._stream_faults else None

    def _next_reply(self, request: JSONDict) -> Reply:
        with self._lock:
            spec: ReplySpec | None = self.replies.popleft() if self.replies else None
        if spec is None:
            if callable(self.default_reply):
                spec = self.default_reply  # a scripted model answering every request
            else:
                fmt = request.get("response_format") or {}
                wants_json = isinstance(fmt, dict) and fmt.get("type") in _JSON_FORMATS
                return Reply("{}" if wants_json else self.default_reply)
        if isinstance(spec, Reply):
            return spec
        if isinstance(spec, str):
            return Reply(spec)
        produced = spec(request)
        return produced if isinstance(produced, Reply) else Reply(str(produced))

    def _error_body(self, exc: _APIError) -> JSONDict:
        info = {
            "message": exc.message,
            "type": exc.err_type,
            "param": exc.param,
            "code": exc.status,
        }
        if self.flavor == "trtllm":
            return {"object": "error", **info}
        return {"error": info}

    def _model_card(self, card: FakeModelCard) -> JSONDict:
        if self.flavor == "trtllm":
            owned_by = _OWNED_BY["trtllm"]
            return {"id": card.id, "object": "model", "created": card.created, "owned_by": owned_by}
        return {
            "id": card.id,
            "object": "model",
            "created": card.created,
            "owned_by": _OWNED_BY["vllm"],
            "root": card.root,
            "parent": None,
            "max_model_len": card.max_model_len,
            "permission": [
                {
                    "id": f"modelperm-{uuid.uuid5(uuid.NAMESPACE_URL, card.id).hex}",
                    "object": "model_permission",
                    "created": card.created,
                    "allow_create_engine": False,
                    "allow_sampling": True,
                    "allow_logprobs": True,
                    "allow_search_indices": False,
                    "allow_view": True,
                    "allow_fine_tuning": False,
                    "organization": "*",
                    "group": None,
                    "is_blocking": False,
                }
            ],
        }

    def _length_error(self, max_model_len: int, prompt: int, max_tokens: int | None) -> _APIError:
        """vLLM's context-length refusal (serving_engine._validate_input / its successors)."""
        head = f"This model's maximum context length is {max_model_len} tokens. "
        if self.length_wording == "current":
            out = max_tokens or 0
            return _APIError(
                400,
                head + f"However, you requested {out} output tokens and your prompt contains "
                f"at least {prompt} input tokens, for a total of at least {prompt + out} "
                "tokens. Please reduce the length of the input prompt or the number of "
                f"requested output tokens. (parameter=input_tokens, value={prompt})",
                param="input_tokens",
            )
        if max_tokens is None:
            # Sic: vLLM's text has a comma where a full stop belongs.
            return _APIError(
                400,
                head + f"However, you requested {prompt} tokens in the messages, "
                "Please reduce the length of the messages.",
            )
        return _APIError(
            400,
            head + f"However, you requested {prompt + max_tokens} tokens ({prompt} in the "
            f"messages, {max_tokens} in the completion). Please reduce the length of the "
            "messages or completion.",
        )


# --------------------------------------------------------------------------------------
# Request validation (what pydantic does to vLLM's ChatCompletionRequest)
# --------------------------------------------------------------------------------------


def _validation_error(loc: str, msg: str) -> _APIError:
    # vLLM turns RequestValidationError into a 400 BadRequestError with pydantic's text.
    return _APIError(400, f"1 validation error for ChatCompletionRequest\n{loc}\n  {msg}")


def _optional_int(body: JSONDict, key: str) -> int | None:
    value = body.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise _validation_error(key, "Input should be a valid integer")
    return value


def _validate_chat_body(body: Any) -> JSONDict:
    if not isinstance(body, dict):
        raise _APIError(400, "Expected a JSON object as the request body")
    messages = body.get("messages")
    if messages is None:
        raise _validation_error("messages", "Field required")
    if not isinstance(messages, list):
        raise _validation_error("messages", "Input should be a valid list")
    if not messages:
        # pydantic accepts [], but there is nothing to render: vLLM's chat template step
        # fails the request with a 400.  (Exact text varies by template; status is stable.)
        raise _APIError(400, "messages must contain at least one message", param="messages")
    for index, message in enumerate(messages):
        if not isinstance(message, dict) or not isinstance(message.get("role"), str):
            raise _validation_error(f"messages.{index}", "Input should be a valid message")
    model = body.get("model")
    if model is not None and not isinstance(model, str):
        raise _validation_error("model", "Input should be a valid string")
    stream = body.get("stream")
    if stream is not None and not isinstance(stream, bool):
        raise _validation_error("stream", "Input should be a valid boolean")
    _check_response_format(body.get("response_format"))
    for key in ("max_tokens", "max_completion_tokens"):
        value = _optional_int(body, key)
        if value is not None and value < 1:
            # SamplingParams._verify_args, surfaced as a 400.
            raise _APIError(400, f"max_tokens must be at least 1, got {value}.", param=key)
    if body.get("stream_options") is not None and not stream:
        # ChatCompletionRequest.check_stream_options (a model_validator).
        raise _validation_error(
            "Value error", "Stream options can only be defined when `stream=True`."
        )
    return body


def _check_response_format(fmt: Any) -> None:
    """ResponseFormat: type is "text" | "json_object" | "json_schema" (+ json_schema.name)."""
    if fmt is None:
        return
    if not isinstance(fmt, dict):
        raise _validation_error("response_format", "Input should be a valid dictionary")
    kind = fmt.get("type")
    if kind not in _RESPONSE_FORMAT_TYPES:
        allowed = ", ".join(f"'{t}'" for t in _RESPONSE_FORMAT_TYPES[:-1])
        raise _validation_error(
            "response_format.type",
            f"Input should be {allowed} or '{_RESPONSE_FORMAT_TYPES[-1]}' "
            f"[type=literal_error, input_value={kind!r}]",
        )
    if kind != "json_schema":
        return
    spec = fmt.get("json_schema")
    if not isinstance(spec, dict):
        # vLLM's structured-output setup refuses a json_schema format without a schema.
        raise _APIError(400, "response_format.json_schema is required for type json_schema")
    if not isinstance(spec.get("name"), str):
        raise _validation_error("response_format.json_schema.name", "Field required")
    schema = spec.get("schema")
    if schema is not None and not isinstance(schema, dict):
        raise _validation_error(
            "response_format.json_schema.schema", "Input should be a valid dictionary"
        )
    strict = spec.get("strict")
    if strict is not None and not isinstance(strict, bool):
        raise _validation_error(
            "response_format.json_schema.strict", "Input should be a valid boolean"
        )


def _decode_body(raw: bytes) -> tuple[Any, bool]:
    try:
        return json.loads(raw.decode("utf-8")), True
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None, False


# --------------------------------------------------------------------------------------
# HTTP plumbing
# --------------------------------------------------------------------------------------


class _Handler(LoopbackHandler):
    # uvicorn streams SSE with chunked transfer encoding, and sends "server: uvicorn".
    server_header = "uvicorn"

    @property
    def fake(self) -> FakeOpenAIServer:
        return self.server.fake

    # ---- response helpers ---------------------------------------------------------

    def _send_json(self, status: int, obj: Any,
                   headers: Mapping[str, str] | None = None) -> None:
        payload = json.dumps(obj, ensure_ascii=False).encode()
        self._send_bytes(status, "application/json", payload, headers)

    def _send_error(self, exc: _APIError, headers: Mapping[str, str] | None = None) -> None:
        self._send_json(exc.status, self.fake._error_body(exc), headers)

    def _write_event(self, obj: Any) -> None:
        self._write_chunk(b"data: " + json.dumps(obj, ensure_ascii=False).encode() + b"\n\n")

    def _authorized(self) -> bool:
        key = self.fake.api_key
        if key is None:
            return True
        scheme, _, token = (self.headers.get("Authorization") or "").partition(" ")
        return scheme.lower() == "bearer" and token == key

    def _dispatch(self) -> None:
        path = self.path.split("?", 1)[0]
        body = self._read_body()
        parsed, _ = _decode_body(body) if body.strip() else (None, True)
        # Lower-cased names: clients differ in casing (httpx2 sends "authorization").
        headers = {name.lower(): value for name, value in self.headers.items()}
        record = RecordedRequest(self.command, path, headers, body, parsed)
        with self.fake._lock:
            self.fake.requests.append(record)
        try:
            # vLLM's AuthenticationMiddleware runs before routing and guards /v1 only, so
            # /health stays open and an unknown /v1 path without a key is a 401, not 404.
            if path.startswith("/v1") and not self._authorized():
                self._send_json(401, {"error": "Unauthorized"})
                return
            failure = self.fake._take_failure(path)
            if failure is not None:
                self._send_error(_APIError(failure.status, failure.message, failure.err_type),
                                 failure.headers)
                return
            self._route(path, body)
        except _APIError as exc:
            self._send_error(exc)
        except (BrokenPipeError, ConnectionResetError):
            # The client went away mid-response (e.g. it closed a stream early).
            self.close_connection = True

    def _route(self, path: str, body: bytes) -> None:
        method = self.command
        if path == "/health":
            if method != "GET":
                self._send_json(405, {"detail": "Method Not Allowed"})
                return
            self._send_bytes(200, "application/json", b"")
            return
        if path == "/version":
            self._send_json(200, {"version": self.fake.version})
            return
        if path == "/v1/models":
            if method != "GET":
                self._send_json(405, {"detail": "Method Not Allowed"})
                return
            with self.fake._lock:
                cards = [self.fake._model_card(card) for card in self.fake._models.values()]
            self._send_json(200, {"object": "list", "data": cards})
            return
        if path.startswith("/v1/models/"):
            # {model_id:path}: HuggingFace ids contain "/" and arrive unescaped.
            model_id = unquote(path[len("/v1/models/") :])
            card = self.fake.get_model(model_id)
            if card is None:
                raise _APIError(404, f"The model `{model_id}` does not exist.")
            self._send_json(200, self.fake._model_card(card))
            return
        if path == "/v1/chat/completions":
            if method != "POST":
                self._send_json(405, {"detail": "Method Not Allowed"})
                return
            self._handle_chat(body)
            return
        if path == "/v1/audio/transcriptions":
            if method != "POST":
                self._send_json(405, {"detail": "Method Not Allowed"})
                return
            self._handle_transcription(body)
            return
        # FastAPI's default for unknown routes.
        self._send_json(404, {"detail": "Not Found"})

    do_GET = _dispatch
    do_POST = _dispatch
    do_HEAD = _dispatch
    do_PUT = _dispatch
    do_DELETE = _dispatch
    do_PATCH = _dispatch

    # ---- /v1/audio/transcriptions ----------------------------------------------------

    def _form_fields(self, body: bytes) -> dict[str, list[Any]]:
        """multipart/form-data as the openai client sends it: name → values (bytes for files)."""
        import email.parser
        import email.policy

        content_type = self.headers.get("Content-Type", "")
        if "multipart/form-data" not in content_type:
            raise _APIError(400, "Expected multipart/form-data")
        message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
            b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body)
        fields: dict[str, list[Any]] = {}
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            payload = part.get_payload(decode=True) or b""
            value: Any = payload if part.get_filename() else payload.decode("utf-8", "replace")
            fields.setdefault(str(name), []).append(value)
        return fields

    def _handle_transcription(self, body: bytes) -> None:
        fake = self.fake
        fields = self._form_fields(body)
        model = (fields.get("model") or [""])[0]
        if not model:
            raise _APIError(400, "Field required: model")
        if fake.get_model(model) is None:
            raise _APIError(404, f"The model `{model}` does not exist.")
        audio = (fields.get("file") or [b""])[0]
        if not isinstance(audio, bytes) or not audio:
            raise _APIError(400, "Field required: file")
        script = fake.transcription_script
        segments = script(audio) if callable(script) else list(script)
        fake.transcriptions.append({"model": model, "bytes": len(audio),
                                    "fields": {k: v for k, v in fields.items() if k != "file"}})
        words = []
        for start, end, text in segments:
            tokens = text.split()
            step = (end - start) / max(1, len(tokens))
            words += [{"word": token, "start": round(start + i * step, 3),
                       "end": round(start + (i + 1) * step, 3)} for i, token in enumerate(tokens)]
        response_format = (fields.get("response_format") or ["json"])[0]
        text = " ".join(t for _, _, t in segments)
        if response_format == "text":
            self._send_bytes(200, "text/plain", text.encode())
            return
        document: JSONDict = {"text": text}
        if response_format == "verbose_json":
            document.update(task="transcribe", language="english",
                            duration=segments[-1][1] if segments else 0.0,
                            segments=[{"id": i, "seek": 0, "start": s, "end": e, "text": t,
                                       "tokens": [], "temperature": 0.0, "avg_logprob": -0.1,
                                       "compression_ratio": 1.0, "no_speech_prob": 0.01}
                                      for i, (s, e, t) in enumerate(segments)])
            granularities = fields.get("timestamp_granularities[]", [])
            if "word" in granularities:
                document["words"] = words
        self._send_json(200, document)

    # ---- /v1/chat/completions ------------------------------------------------------

    def _handle_chat(self, raw: bytes) -> None:
        fake = self.fake
        body, ok = _decode_body(raw)
        if not ok:
            raise _APIError(400, "JSON decode error")
        req = _validate_chat_body(body)
        model_name = req.get("model") or ""
        card = fake.get_model(model_name)
        if card is None:
            raise _APIError(404, f"The model `{model_name}` does not exist.")

        messages: list[JSONDict] = req["messages"]
        prompt_tokens = count_prompt_tokens(messages)
        # max_completion_tokens wins over the deprecated max_tokens, as in vLLM.
        requested = req.get("max_completion_tokens") or req.get("max_tokens")
        limit = card.max_model_len
        if requested is None:
            if prompt_tokens >= limit:
                raise fake._length_error(limit, prompt_tokens, None)
            max_tokens = limit - prompt_tokens  # generation may fill the rest of the window
        else:
            if prompt_tokens + requested > limit:
                raise fake._length_error(limit, prompt_tokens, requested)
            max_tokens = int(requested)

        fault = fake._take_stream_fault()
        reply = fake._next_reply(req)
        content = reply.content
        chunks = list(reply.chunks) if reply.chunks is not None else _split_chunks(content)
        finish_reason = "stop"
        if count_tokens(content) > max_tokens:
            content = content[: max_tokens * CHARS_PER_TOKEN]
            chunks = _split_chunks(content)
            finish_reason = "length"
        finish_reason = reply.finish_reason or finish_reason
        completion_tokens = count_tokens(content)
        stream = bool(req.get("stream"))
        with fake._lock:
            fake.completions.append(
                CompletionRecord(
                    model=model_name,
                    prompt_tokens=prompt_tokens,
                    completion_tokens=completion_tokens,
                    finish_reason=finish_reason,
                    max_tokens=max_tokens,
                    stream=stream,
                )
            )
        usage = {
            "prompt_tokens": prompt_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
            "completion_tokens": completion_tokens,
            "prompt_tokens_details": None,
        }
        completion_id = f"chatcmpl-{uuid.uuid4().hex}"
        created = int(time.time())

        if not stream:
            if fault is not None:
                if fault.error is None:
                    self._drop()
                    return
                raise _APIError(500, fault.error)
            self._send_json(
                200,
                {
                    "id": completion_id,
                    "object": "chat.completion",
                    "created": created,
                    "model": model_name,
                    "choices": [
                        {
                            "index": 0,
                            "message": {
                                "role": "assistant",
                                "content": "".join(chunks),
                                "reasoning_content": None,
                                "tool_calls": [],
                            },
                            "logprobs": None,
                            "finish_reason": finish_reason,
                            "stop_reason": None,
                        }
                    ],
                    "usage": usage,
                    "prompt_logprobs": None,
                },
            )
            return
        self._stream(req, fault, completion_id, created, model_name, chunks, finish_reason, usage)

    def _stream(
        self,
        req: JSONDict,
        fault: _StreamFault | None,
        completion_id: str,
        created: int,
        model_name: str,
        chunks: list[str],
        finish_reason: str,
        usage: JSONDict,
    ) -> None:
        fake = self.fake
        if fault is not None and fault.after_chunks <= 0 and fault.error is None:
            self._drop()
            return
        options = req.get("stream_options") or {}
        include_usage = bool(options.get("include_usage"))

        def chunk(delta: JSONDict, finish: str | None) -> JSONDict:
            event: JSONDict = {
                "id": completion_id,
                "object": "chat.completion.chunk",
                "created": created,
                "model": model_name,
                "choices": [
                    {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
                ],
            }
            if finish is not None:
                event["choices"][0]["stop_reason"] = None
            if include_usage:
                event["usage"] = None  # vLLM: null on every chunk but the last
            return event

        # vLLM: a role-only first delta, one delta per detokenized piece, and the
        # finish_reason on the last content delta.
        events = [chunk({"role": "assistant", "content": ""}, None)]
        pieces = chunks or [""]
        for index, piece in enumerate(pieces):
            last = index == len(pieces) - 1
            events.append(chunk({"content": piece}, finish_reason if last else None))

        self._start(200, "text/event-stream; charset=utf-8", None)
        for sent, event in enumerate(events):
            if fault is not None and sent >= fault.after_chunks:
                break
            self._write_event(event)
            if fake.chunk_delay_s:
                time.sleep(fake.chunk_delay_s)
        if fault is not None:
            if fault.error is None:
                self._drop()
                return
            # create_streaming_error_response: an in-band error event, then [DONE].
            self._write_event(fake._error_body(_APIError(500, fault.error)))
            self._write_chunk(b"data: [DONE]\n\n")
            self._end_chunks()
            return
        if include_usage:
            final = {
                "id": completion_id,
                "object": "chat.completion.chunk",
                "created": created,
                "model": model_name,
                "choices": [],
                "usage": usage,
            }
            self._write_event(final)
        self._write_chunk(b"data: [DONE]\n\n")
        self._end_chunks()
