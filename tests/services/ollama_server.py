"""A loopback fake of the Ollama HTTP API, limited to what triage-tui calls, faithful to the
v0.12.x wire protocol.

The real Ollama server cannot run in the test environment (no GPU, no model weights),
so tests talk to this server instead, through the official ``ollama`` Python client.
Every status code, error body and JSON field name below was copied from the Ollama
sources (github.com/ollama/ollama, tag v0.12.11 unless noted), so that code which
works against this fake also works against the real thing.  References are given as
``file:line`` at that tag.

What the product calls, and so what is modelled:

* ``GET /api/version`` (``doctor``: tui/adapters/ollama_models.py ``server_version``).
* ``POST /api/show`` (model check and planning: ``show_model``, ``model_shape_from_ollama``)
  and ``GET /api/tags`` (the weights' size: ``model_size_bytes``), with Ollama's name
  resolution ("x" is "x:latest", case-insensitively).
* ``POST /api/chat``, streamed NDJSON (tui/llm/ollama_backend.py, always ``stream=True`` with
  a JSON-schema ``format``, ``options`` num_ctx and temperature, and a ``keep_alive``), with the
  checks that request can meet, in ``ChatHandler`` order (server/routes.go:1844): body (400),
  model name (400 "model is required"), unknown model (404 "model 'X' not found"), keep_alive
  (400), model load, prompt truncation, format validation (**500**, raised by the runner).

And what only Ollama does, which the product must notice or survive:

* Silent context truncation: old messages are dropped first (server/prompt.go:30-70; with
  the product's [system, user] batch that drops the system prompt), then the runner cuts the
  token stream to ``num_ctx`` keeping ``num_keep`` leading tokens
  (runner/ollamarunner/runner.go:146-187).  The HTTP status stays 200; the only traces are
  ``prompt_eval_count`` and a warning in the server log, recorded here in ``server.log``.
* The scheduler's reload rule: a change of any runner option (``num_ctx``, ``num_batch``,
  ``num_gpu``, ``main_gpu``, ``use_mmap``, ``num_thread``) reloads the model
  (server/sched.go:625-657); tests read ``server.load_count`` and ``server.loaded_num_ctx``.
* ``num_predict`` (a Modelfile PARAMETER) ending a reply with ``done_reason: "length"``.
* Failures: HTTP errors before the stream (``fail_next``), a dropped connection
  (``drop_connection_next``), an in-band error line mid-stream (``error_mid_stream_next``)
  and a stalled stream (``chunk_delay_s``).

Not modelled, because the product never calls them: ``GET /``, ``/api/ps``, ``/api/generate``,
``/api/embed``, pulls/pushes/creates/copies/deletes (all answer gin's plain 404), non-streamed
chat (refused with 400), load/unload-only chat requests, ``think``, ``tools``, logprobs, the
request's ``truncate`` switch, Go's JSON type errors on malformed bodies, and option type
checking.

Token counts are estimates (see :func:`count_tokens`); nothing here runs a tokenizer.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler
from typing import Any, TypeAlias

from tests.services.loopback_http import LoopbackHandler, LoopbackService

JSONDict: TypeAlias = dict[str, Any]

# --------------------------------------------------------------------------------------
# Constants copied from Ollama so the fake's defaults match an unconfigured server.
# --------------------------------------------------------------------------------------

#: envconfig/config.go:204 -- OLLAMA_CONTEXT_LENGTH defaults to 4096 in 0.12.x.
DEFAULT_NUM_CTX = 4096
#: envconfig/config.go:103-118 -- OLLAMA_KEEP_ALIVE defaults to 5 minutes.
DEFAULT_KEEP_ALIVE_NS = 5 * 60 * 1_000_000_000
#: Go's time.Duration(math.MaxInt64): what a negative keep_alive turns into
#: (api/types.go:1033-1046, v0.12.11), i.e. "keep loaded forever" (~292 years).
FOREVER_NS = 2**63 - 1
#: api/types.go:878-904 (DefaultOptions) -- the ones this fake acts on.
_DEFAULT_OPTIONS: JSONDict = {"num_predict": -1, "num_keep": 4}
#: api/types.go:453-460 (type Runner) -- options that require a model reload.
_RUNNER_OPTION_KEYS = ("num_ctx", "num_batch", "num_gpu", "main_gpu", "use_mmap", "num_thread")
#: load_duration reported on a cold load and on a request to an already loaded model.
_COLD_LOAD_NS = 1_800_000_000
_WARM_LOAD_NS = 12_000_000

#: Estimated-token heuristics; exposed so tests can compute expected counts.
CHARS_PER_TOKEN = 4
#: Chat templates wrap every message in role markers ([INST], <|im_start|>, ...);
#: this flat per-message cost stands in for them.
MESSAGE_OVERHEAD_TOKENS = 4

# types/model/name.go:38-43 -- the parts ParseName fills in when they are omitted.
_DEFAULT_HOST = "registry.ollama.ai"
_DEFAULT_NAMESPACE = "library"
_DEFAULT_TAG = "latest"

# JSON Schema "type" values llama.cpp's json-schema-to-grammar accepts; anything else
# makes llama.SchemaToGrammar return nil -> "invalid JSON schema in format".
_SCHEMA_TYPES = frozenset({"object", "array", "string", "number", "integer", "boolean", "null"})

DEFAULT_REPLY = "This is a reply from the fake Ollama server."


# --------------------------------------------------------------------------------------
# Token estimation
# --------------------------------------------------------------------------------------


def count_tokens(text: str) -> int:
    """Estimate tokens as ceil(characters / 4), the usual rule of thumb for BPE vocabularies."""
    return math.ceil(len(text) / CHARS_PER_TOKEN)


def count_prompt_tokens(messages: Iterable[Mapping[str, Any]]) -> int:
    """Estimate the rendered prompt size of a chat request, in tokens: each message costs its
    content and ``MESSAGE_OVERHEAD_TOKENS`` for the role markers."""
    return sum(MESSAGE_OVERHEAD_TOKENS + count_tokens(str(message.get("content") or ""))
               for message in messages)


# --------------------------------------------------------------------------------------
# Small Go-compatibility helpers
# --------------------------------------------------------------------------------------


def _go_quote(s: str) -> str:
    """Approximate Go's %q / strconv.Quote (JSON string escaping is identical for ASCII)."""
    return json.dumps(s, ensure_ascii=False)


def _go_time(ns: int, *, utc: bool) -> str:
    """Format a Unix-nanosecond instant like Go's time.Time JSON (RFC 3339, nanoseconds).

    Go trims trailing zeros of the fraction and writes "Z" for UTC.  created_at is sent
    in UTC (``time.Now().UTC()``) while modified_at carries the local offset.
    """
    seconds, nanos = divmod(ns, 1_000_000_000)
    base = datetime(1970, 1, 1, tzinfo=timezone.utc) + timedelta(seconds=seconds)
    if not utc:
        base = base.astimezone()
    stamp = base.strftime("%Y-%m-%dT%H:%M:%S")
    fraction = f"{nanos:09d}".rstrip("0")
    if fraction:
        stamp += "." + fraction
    offset = base.utcoffset() or timedelta(0)
    if offset == timedelta(0):
        return stamp + "Z"
    minutes = int(offset.total_seconds()) // 60
    sign = "+" if minutes >= 0 else "-"
    minutes = abs(minutes)
    return f"{stamp}{sign}{minutes // 60:02d}:{minutes % 60:02d}"


_DURATION_UNITS_NS = {
    "ns": 1,
    "us": 1_000,
    "µs": 1_000,  # U+00B5 micro sign
    "μs": 1_000,  # U+03BC Greek mu
    "ms": 1_000_000,
    "s": 1_000_000_000,
    "m": 60 * 1_000_000_000,
    "h": 3600 * 1_000_000_000,
}
_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)")


def _parse_go_duration(text: str) -> int:
    """Parse a Go time.ParseDuration string into nanoseconds, raising ValueError with Go's text."""
    orig = text
    sign = 1
    if text[:1] in "+-":
        sign = -1 if text[0] == "-" else 1
        text = text[1:]
    if text == "0":
        return 0
    if not text:
        raise ValueError(f"time: invalid duration {_go_quote(orig)}")
    total = 0.0
    pos = 0
    while pos < len(text):
        match = _DURATION_PART.match(text, pos)
        if match is None:
            if re.match(r"(\d+(?:\.\d*)?|\.\d+)$", text[pos:]):
                raise ValueError(f"time: missing unit in duration {_go_quote(orig)}")
            unit = re.match(r"(\d+(?:\.\d*)?|\.\d+)([^\d.]+)", text[pos:])
            if unit:
                raise ValueError(
                    f"time: unknown unit {_go_quote(unit.group(2))} in duration {_go_quote(orig)}"
                )
            raise ValueError(f"time: invalid duration {_go_quote(orig)}")
        total += float(match.group(1)) * _DURATION_UNITS_NS[match.group(2)]
        pos = match.end()
    return sign * int(total)


def _keep_alive_ns(value: Any) -> int:
    """Mirror api.Duration.UnmarshalJSON (api/types.go:1024-1050): seconds or Go duration."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return FOREVER_NS if value < 0 else int(value * 1_000_000_000)
    ns = _parse_go_duration(str(value))
    return FOREVER_NS if ns < 0 else ns


def _decode_body(raw: bytes) -> Any:
    """The request's JSON; like gin's ShouldBindJSON only the first JSON value counts, and an
    empty body is Ollama's "missing request body"."""
    text = raw.decode("utf-8", errors="replace").lstrip()
    if not text:
        raise _ChatError(400, "missing request body")
    try:
        value, _ = json.JSONDecoder().raw_decode(text)
    except json.JSONDecodeError:
        raise _ChatError(400, "invalid request body") from None
    if not isinstance(value, dict):
        raise _ChatError(400, "invalid request body")
    return value


# --------------------------------------------------------------------------------------
# Model names (types/model/name.go)
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ModelName:
    """A parsed Ollama model name (host/namespace/model:tag), as model.ParseName builds it."""

    host: str
    namespace: str
    model: str
    tag: str

    @property
    def key(self) -> str:
        """Case-folded identity: getExistingName matches every part case-insensitively."""
        return f"{self.host}/{self.namespace}/{self.model}:{self.tag}".lower()

    @property
    def shortest(self) -> str:
        """Name.DisplayShortest() (name.go:231): the form /api/tags reports."""
        prefix = ""
        if self.host.lower() != _DEFAULT_HOST:
            prefix = f"{self.host}/{self.namespace}/"
        elif self.namespace.lower() != _DEFAULT_NAMESPACE:
            prefix = f"{self.namespace}/"
        return f"{prefix}{self.model}:{self.tag}"


_MISSING = "!MISSING!"  # name.go:36 -- placeholder for a part promised by a separator


def _cut_promised(s: str, sep: str) -> tuple[str, str, bool]:
    i = s.rfind(sep)
    if i < 0:
        return s, "", False
    return s[:i] or _MISSING, s[i + len(sep) :] or _MISSING, True


def _valid_part(kind: str, s: str) -> bool:
    """name.go:333-372 (isValidLen/isValidPart)."""
    limit = 350 if kind == "host" else 80
    if not 1 <= len(s) <= limit:
        return False
    for i, ch in enumerate(s):
        alnum = ch.isascii() and (ch.isalnum() or ch == "_")
        if i == 0:
            if not alnum:
                return False
        elif ch in "_-":
            continue
        elif ch == ".":
            if kind == "namespace":
                return False
        elif ch == ":":
            if kind != "host":
                return False
        elif not alnum:
            return False
    return True


def parse_model_name(name: str) -> ModelName | None:
    """model.ParseName + IsValid (name.go:140-180, 262-281); None for an invalid name."""
    host = namespace = tag = ""
    s = name
    if s.rfind(":") > s.rfind("/"):
        s, tag, _ = _cut_promised(s, ":")
    s, model, promised = _cut_promised(s, "/")
    if not promised:
        model = s
    else:
        s, namespace, promised = _cut_promised(s, "/")
        if not promised:
            namespace = s
        else:
            scheme_host = s.split("://", 1)
            host = scheme_host[-1]
    parsed = ModelName(
        host or _DEFAULT_HOST, namespace or _DEFAULT_NAMESPACE, model, tag or _DEFAULT_TAG
    )
    parts = (
        ("host", parsed.host),
        ("namespace", parsed.namespace),
        ("model", parsed.model),
        ("tag", parsed.tag),
    )
    if not all(_valid_part(kind, part) for kind, part in parts):
        return None
    return parsed


# --------------------------------------------------------------------------------------
# Public data types
# --------------------------------------------------------------------------------------

ReplyFn: TypeAlias = Callable[[JSONDict], "str | Reply"]


@dataclass
class Reply:
    """A scripted assistant reply.

    ``chunks`` overrides how ``content`` is split into streamed pieces; ``done_reason``
    overrides ``FakeOllamaServer.done_reason`` for this reply only.
    """

    content: str
    done_reason: str | None = None
    chunks: Sequence[str] | None = None


ReplySpec: TypeAlias = "str | Reply | ReplyFn"


@dataclass
class RecordedRequest:
    """One HTTP request as the server received it."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    json: Any = None  # parsed body, or None when absent or malformed


@dataclass
class CompletionRecord:
    """What the fake "runner" did for one chat request that reached generation."""

    model: str
    num_ctx: int
    prompt_tokens: int  # estimate for all messages, before any truncation
    prompt_eval_count: int  # what was reported to the client (after truncation)
    dropped_messages: int  # whole messages removed by chatPrompt
    truncated: bool  # whether any truncation (message or token level) happened
    eval_count: int
    done_reason: str


@dataclass
class LogEntry:
    """A line the real server would write to its log (slog level, message, attributes)."""

    level: str
    message: str
    attrs: JSONDict = field(default_factory=dict)


@dataclass
class FakeModel:
    """A model known to the fake server, as /api/show and /api/tags describe it."""

    name: ModelName
    model_info: JSONDict
    details: JSONDict
    size_bytes: int
    parameters: str
    modelfile: str
    capabilities: list[str]
    options: JSONDict  # parsed from ``parameters`` (the Modelfile PARAMETER lines)
    digest: str
    modified_at_ns: int

    @property
    def architecture(self) -> str:
        return str(self.model_info.get("general.architecture") or self.details.get("family", ""))

    def info_int(self, key: str) -> int:
        value = self.model_info.get(f"{self.architecture}.{key}")
        return int(value) if isinstance(value, (int, float)) else 0


@dataclass
class LoadedModel:
    """A model "resident in VRAM", as the scheduler tracks it."""

    model: FakeModel
    runner_options: JSONDict
    num_ctx: int
    keep_alive_ns: int
    expires_at_ns: int
    active: int = 0  # in-flight requests; a busy runner never expires


class _NameCounter(Counter):  # type: ignore[type-arg]
    """A Counter keyed by canonical model name that also accepts any spelling of it.

    ``load_count["devstral-small"]`` and ``load_count["devstral-small:latest"]`` are the
    same entry, because Ollama resolves both to one model.
    """

    def _norm(self, key: object) -> object:
        if isinstance(key, str):
            parsed = parse_model_name(key)
            if parsed is not None:
                return parsed.shortest
        return key

    def __getitem__(self, key: object) -> int:
        return int(super().__getitem__(self._norm(key)))

    def __contains__(self, key: object) -> bool:
        return super().__contains__(self._norm(key))

    def get(self, key: object, default: Any = None) -> Any:
        return super().get(self._norm(key), default)


@dataclass
class _Failure:
    status: int
    error: str


@dataclass
class _StreamFault:
    after_chunks: int
    error: str | None  # None: drop the socket; otherwise send {"error": ...} in-band
    garbage: bytes | None = None  # set: write these raw bytes as a line instead, then EOF


class _ChatError(Exception):
    """An HTTP error response produced while handling /api/chat or /api/show."""

    def __init__(self, status: int, message: str, content_type: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.content_type = content_type


# --------------------------------------------------------------------------------------
# The server
# --------------------------------------------------------------------------------------


class FakeOllamaServer(LoopbackService):
    """A fake Ollama server on 127.0.0.1:<ephemeral port>.

    Use as a context manager (or call :meth:`start` / :meth:`stop`), point
    ``ollama.Client(host=server.host)`` at it, and script it with:

    * ``server.replies`` -- a deque of reply specs (str, :class:`Reply`, or a callable
      taking the request JSON); when empty, ``server.default_reply`` is used (``"{}"``
      when the request asks for a ``format``, since a grammar-constrained model would
      emit JSON).
    * ``server.done_reason`` -- "stop" by default; "length" is also produced
      automatically when ``num_predict`` cuts the reply short.
    * ``server.chunk_delay_s`` -- a pause between streamed chunks (a slow or stalled model).
    * :meth:`fail_next`, :meth:`drop_connection_next`, :meth:`error_mid_stream_next`.

    And inspect ``requests``, ``completions``, ``load_count``, ``loaded`` and ``log``.
    """

    def __init__(self, *, version: str = "0.12.11") -> None:
        self.version = version
        self.default_reply: str | ReplyFn = DEFAULT_REPLY
        self.done_reason = "stop"
        #: Seconds to sleep between streamed chunks (to test timeouts and UI updates).
        self.chunk_delay_s = 0.0

        self.replies: deque[ReplySpec] = deque()
        self.requests: list[RecordedRequest] = []
        self.completions: list[CompletionRecord] = []
        self.log: list[LogEntry] = []
        self.load_count: Counter[str] = _NameCounter()
        self.loaded: dict[str, LoadedModel] = {}  # keyed by ModelName.key

        self._models: dict[str, FakeModel] = {}  # keyed by ModelName.key
        self._failures: dict[str, deque[_Failure]] = {}
        self._stream_faults: deque[_StreamFault] = deque()
        self._lock = threading.RLock()

    # ---- lifecycle (start, stop, context manager, port, host: LoopbackService) ------

    thread_name = "fake-ollama"

    def handler_class(self) -> type[BaseHTTPRequestHandler]:
        return _Handler

    # ---- model registry ------------------------------------------------------------

    @staticmethod
    def devstral_small_model_info() -> JSONDict:
        """/api/show ``model_info`` for Devstral Small 24B (2505), as Ollama reports it.

        Ollama converts Mistral-architecture checkpoints to GGUF arch "llama", so the
        keys carry the ``llama.`` prefix.  Hyper-parameters follow the upstream
        config.json (Mistral Small 3.1 text tower: 40 layers, GQA 32/8, head_dim 128,
        rope_theta 1e9).  Large tokenizer arrays are omitted, as Ollama does without
        ``verbose`` (routes.go:1194-1202).
        """
        return {
            "general.architecture": "llama",
            "general.basename": "Devstral",
            "general.file_type": 15,  # GGML_FTYPE_MOSTLY_Q4_K_M
            "general.finetune": "Small",
            "general.license": "apache-2.0",
            "general.parameter_count": 23572403200,
            "general.quantization_version": 2,
            "general.size_label": "24B",
            "general.type": "model",
            "general.version": "2505",
            "llama.attention.head_count": 32,
            "llama.attention.head_count_kv": 8,
            "llama.attention.key_length": 128,
            "llama.attention.layer_norm_rms_epsilon": 1e-05,
            "llama.attention.value_length": 128,
            "llama.block_count": 40,
            "llama.context_length": 131072,
            "llama.embedding_length": 5120,
            "llama.feed_forward_length": 32768,
            "llama.rope.dimension_count": 128,
            "llama.rope.freq_base": 1000000000,
            "llama.vocab_size": 131072,
            "tokenizer.ggml.add_bos_token": True,
            "tokenizer.ggml.add_eos_token": False,
            "tokenizer.ggml.bos_token_id": 1,
            "tokenizer.ggml.eos_token_id": 2,
            "tokenizer.ggml.model": "gpt2",
            "tokenizer.ggml.pre": "tekken",
            "tokenizer.ggml.unknown_token_id": 0,
        }

    @staticmethod
    def devstral_small_details() -> JSONDict:
        """/api/show ``details`` for the Q4_K_M build of Devstral Small 24B."""
        return {
            "parent_model": "",
            "format": "gguf",
            "family": "llama",
            "families": ["llama"],
            "parameter_size": "23.6B",
            "quantization_level": "Q4_K_M",
        }

    #: Approximate on-disk size of the Q4_K_M GGUF (Ollama lists devstral:24b as 14 GB).
    DEVSTRAL_SMALL_SIZE_BYTES = 14_333_927_918

    def add_devstral_small(self, name: str = "devstral-small", **kwargs: Any) -> str:
        """Register Devstral Small 24B under ``name``; returns the canonical name."""
        return self.add_model(
            name,
            self.devstral_small_model_info(),
            self.devstral_small_details(),
            kwargs.pop("size_bytes", self.DEVSTRAL_SMALL_SIZE_BYTES),
            **kwargs,
        )

    def add_model(
        self,
        name: str,
        model_info: dict[str, Any],
        details: dict[str, Any],
        size_bytes: int,
        parameters: str = "",
        modelfile: str = "",
        *,
        capabilities: Sequence[str] = ("completion", "tools"),
    ) -> str:
        """Register a model; returns its canonical name (e.g. "devstral-small:latest").

        ``parameters`` uses /api/show's format (one ``key value`` per line, values as Go
        %#v prints them, e.g. ``num_ctx 8192`` or ``stop "[INST]"``); they become the
        model's default options, exactly like Modelfile PARAMETER lines.
        """
        parsed = parse_model_name(name)
        if parsed is None:
            raise ValueError(f"invalid Ollama model name: {name!r}")
        full_details: JSONDict = {
            "parent_model": "",
            "format": "",
            "family": "",
            "families": None,
            "parameter_size": "",
            "quantization_level": "",
        }
        full_details.update(details)
        digest = hashlib.sha256(parsed.key.encode()).hexdigest()
        if not modelfile:
            # routes.go:1146-1152 -- the header "ollama show" puts on generated Modelfiles.
            lines = [
                '# Modelfile generated by "ollama show"',
                "# To build a new Modelfile based on this, replace FROM with:",
                f"# FROM {parsed.shortest}",
                "",
                f"FROM /root/.ollama/models/blobs/sha256-{digest}",
            ]
            lines += [f"PARAMETER {line.strip()}" for line in parameters.splitlines() if line]
            modelfile = "\n".join(lines) + "\n"
        model = FakeModel(
            name=parsed,
            model_info=dict(model_info),
            details=full_details,
            size_bytes=size_bytes,
            parameters=parameters,
            modelfile=modelfile,
            capabilities=list(capabilities),
            options=_parse_parameters(parameters),
            digest=digest,
            modified_at_ns=time.time_ns(),
        )
        with self._lock:
            self._models[parsed.key] = model
        return parsed.shortest

    def remove_model(self, name: str) -> None:
        """`ollama rm NAME` while the app runs: the model and its loaded runner are gone."""
        parsed = parse_model_name(name)
        if parsed is None:
            return
        with self._lock:
            self._models.pop(parsed.key, None)
            self.loaded.pop(parsed.key, None)

    def get_model(self, name: str) -> FakeModel | None:
        parsed = parse_model_name(name)
        with self._lock:
            return None if parsed is None else self._models.get(parsed.key)

    def loaded_num_ctx(self, name: str) -> int | None:
        """The context size ``name`` is loaded with, None when it is not loaded (what
        Ollama's /api/ps reports as ``context_length``)."""
        parsed = parse_model_name(name)
        with self._lock:
            self._expire_idle(time.time_ns())
            runner = None if parsed is None else self.loaded.get(parsed.key)
            return None if runner is None else runner.num_ctx

    # ---- failure injection --------------------------------------------------------

    def fail_next(
        self, status: int, error: str, *, path: str = "/api/chat", times: int = 1
    ) -> None:
        """Answer the next ``times`` requests to ``path`` with ``status`` and {"error": error}.

        This is the shape of every error Ollama returns before a stream starts, e.g.
        503 "server busy, please try again.  maximum pending requests exceeded"
        (sched.go:64) or 500 from a crashed runner.
        """
        with self._lock:
            queue = self._failures.setdefault(path, deque())
            queue.extend(_Failure(status, error) for _ in range(times))

    def drop_connection_next(self, after_chunks: int = 1) -> None:
        """Close the socket of the next /api/chat generation after ``after_chunks`` chunks.

        With ``after_chunks=0`` nothing is sent at all.  The client sees a transport error
        (httpx.RemoteProtocolError), not a ResponseError.
        """
        with self._lock:
            self._stream_faults.append(_StreamFault(after_chunks, None))

    def error_mid_stream_next(self, error: str, after_chunks: int = 1) -> None:
        """Make the next generation fail the way a crashing runner does.

        After ``after_chunks`` chunks an ``{"error": ...}`` line is written into the 200
        NDJSON stream (routes.go:1697-1705); the Python client raises ResponseError with
        status_code -1.  With ``after_chunks=0`` it is HTTP 500 {"error": ...} instead.
        """
        with self._lock:
            self._stream_faults.append(_StreamFault(after_chunks, error))

    def garbage_in_stream_next(
        self, line: bytes = b"<html><body>502 Bad Gateway</body></html>", after_chunks: int = 1
    ) -> None:
        """Make the next streamed generation write ``line`` (not JSON) after ``after_chunks``
        chunks, then end the stream: what a proxy or a broken runner in front of Ollama can
        send.  The Python client raises while decoding the line (json.JSONDecodeError)."""
        with self._lock:
            self._stream_faults.append(_StreamFault(after_chunks, None, line))

    # ---- internals shared with the handler ---------------------------------------

    def _log(self, level: str, message: str, **attrs: Any) -> None:
        with self._lock:
            self.log.append(LogEntry(level, message, attrs))

    def _take_failure(self, path: str) -> _Failure | None:
        with self._lock:
            queue = self._failures.get(path)
            return queue.popleft() if queue else None

    def _take_stream_fault(self) -> _StreamFault | None:
        with self._lock:
            return self._stream_faults.popleft() if self._stream_faults else None

    def _expire_idle(self, now_ns: int) -> None:
        with self._lock:
            for key, runner in list(self.loaded.items()):
                if runner.active == 0 and runner.expires_at_ns <= now_ns:
                    del self.loaded[key]

    def _next_reply(self, request: JSONDict) -> Reply:
        with self._lock:
            spec: ReplySpec | None = self.replies.popleft() if self.replies else None
        if spec is None:
            if callable(self.default_reply):
                # A scripted model: answers every request without queueing replies.
                spec = self.default_reply
            else:
                wants_json = request.get("format") not in (None, "")
                return Reply("{}" if wants_json else self.default_reply)
        if isinstance(spec, Reply):
            return spec
        if isinstance(spec, str):
            return Reply(spec)
        produced = spec(request)
        return produced if isinstance(produced, Reply) else Reply(str(produced))


def _parse_parameters(parameters: str) -> JSONDict:
    """Turn /api/show-style parameter lines into an options map (stop accumulates)."""
    options: JSONDict = {}
    for line in parameters.splitlines():
        parts = line.strip().split(None, 1)
        if len(parts) != 2:
            continue
        key, raw = parts
        try:
            value: Any = json.loads(raw)
        except json.JSONDecodeError:
            value = raw
        if key == "stop":
            options.setdefault("stop", []).append(str(value))
        else:
            options[key] = value
    return options


def _check_format(fmt: Any) -> None:
    """llm/server.go:1468-1487 -- the runner's format check (it surfaces as HTTP 500)."""
    if fmt is None or fmt == "" or fmt == "json":
        return
    if not isinstance(fmt, dict):
        raw = json.dumps(fmt, separators=(",", ":"), ensure_ascii=False)
        raise _ChatError(
            500, f'invalid format: {_go_quote(raw)}; expected "json" or a valid JSON Schema object'
        )
    if not _schema_ok(fmt):
        raise _ChatError(500, "invalid JSON schema in format")


def _schema_ok(schema: Any) -> bool:
    """A rough stand-in for llama.cpp's json-schema-to-grammar acceptance test."""
    if isinstance(schema, bool):
        return True
    if not isinstance(schema, dict):
        return False
    kind = schema.get("type")
    kinds = kind if isinstance(kind, list) else [kind] if kind is not None else []
    if any(not isinstance(k, str) or k not in _SCHEMA_TYPES for k in kinds):
        return False
    children: list[Any] = []
    props = schema.get("properties")
    if props is not None:
        if not isinstance(props, dict):
            return False
        children.extend(props.values())
    for key in ("items", "additionalProperties", "not"):
        if isinstance(schema.get(key), dict):
            children.append(schema[key])
    for key in ("anyOf", "oneOf", "allOf", "prefixItems"):
        if isinstance(schema.get(key), list):
            children.extend(schema[key])
    return all(_schema_ok(child) for child in children)


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


def _omit_zero(metrics: Mapping[str, int]) -> JSONDict:
    """api.Metrics fields are `omitempty`: zero counts/durations are absent from the JSON."""
    return {key: value for key, value in metrics.items() if value}


# --------------------------------------------------------------------------------------
# HTTP plumbing
# --------------------------------------------------------------------------------------

_ROUTES: dict[tuple[str, str], str] = {
    ("GET", "/api/version"): "_handle_version",
    ("GET", "/api/tags"): "_handle_tags",
    ("POST", "/api/show"): "_handle_show",
    ("POST", "/api/chat"): "_handle_chat",
}


class _Handler(LoopbackHandler):
    # Go streams NDJSON with chunked transfer encoding; its net/http sends Date but no
    # Server header (the base's default).

    @property
    def fake(self) -> FakeOllamaServer:
        return self.server.fake

    # ---- response helpers ---------------------------------------------------------

    def _send_json(self, status: int, obj: Any, content_type: str | None = None) -> None:
        # gin's c.JSON: compact JSON, "application/json; charset=utf-8".
        payload = json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()
        self._send_bytes(status, content_type or "application/json; charset=utf-8", payload)

    def _send_error_json(self, status: int, message: str, content_type: str | None = None) -> None:
        self._send_json(status, {"error": message}, content_type)

    def _dispatch(self) -> None:
        path = self.path.split("?", 1)[0]
        body = self._read_body()
        try:
            parsed = json.loads(body) if body.strip() else None
        except ValueError:
            parsed = None
        record = RecordedRequest(self.command, path, dict(self.headers.items()), body, parsed)
        with self.fake._lock:
            self.fake.requests.append(record)

        handler = _ROUTES.get((self.command, path))
        if handler is None:
            # gin's default 404 body is plain text, not JSON.
            self._send_bytes(404, "text/plain", b"404 page not found")
            return
        failure = self.fake._take_failure(path)
        if failure is not None:
            self._send_error_json(failure.status, failure.error)
            return
        try:
            getattr(self, handler)(body)
        except _ChatError as exc:
            self._send_error_json(exc.status, exc.message, exc.content_type)
        except (BrokenPipeError, ConnectionResetError):
            # The client went away mid-response (e.g. it stopped iterating a stream).
            self.close_connection = True

    do_GET = _dispatch
    do_POST = _dispatch
    do_HEAD = _dispatch
    do_PUT = _dispatch
    do_DELETE = _dispatch
    do_PATCH = _dispatch

    # ---- endpoints -----------------------------------------------------------------

    def _handle_version(self, _body: bytes) -> None:
        self._send_json(200, {"version": self.fake.version})

    def _handle_tags(self, _body: bytes) -> None:
        """routes.go:1208-1258 (ListHandler): most recently modified first."""
        with self.fake._lock:
            models = sorted(self.fake._models.values(), key=lambda m: -m.modified_at_ns)
        self._send_json(
            200,
            {
                "models": [
                    {
                        "name": m.name.shortest,
                        "model": m.name.shortest,
                        "modified_at": _go_time(m.modified_at_ns, utc=False),
                        "size": m.size_bytes,
                        "digest": m.digest,
                        "details": dict(m.details),
                    }
                    for m in models
                ]
            },
        )

    def _handle_show(self, raw: bytes) -> None:
        """routes.go:1016-1052 (ShowHandler) + GetModelInfo (routes.go:1054-1190)."""
        body = _decode_body(raw)
        requested = body.get("model") or body.get("name") or ""
        if not requested:
            raise _ChatError(400, "model is required")
        if parse_model_name(requested) is None:
            # GetModelInfo returns ErrModelPathInvalid, which falls to the 500 branch.
            raise _ChatError(500, "invalid model path")
        model = self.fake.get_model(requested)
        if model is None:
            # 0.12.x echoes the name as sent; newer servers print DisplayShortest
            # ("x:latest"), so clients must not parse the name back out of this text.
            raise _ChatError(404, f"model '{requested}' not found")
        response: JSONDict = {
            "modelfile": model.modelfile,
            "parameters": model.parameters,
            "details": dict(model.details),
            "model_info": dict(model.model_info),
            "capabilities": list(model.capabilities),
            "modified_at": _go_time(model.modified_at_ns, utc=False),
        }
        # ShowResponse fields are `omitempty` except model_info (api/types.go:589-607).
        response = {k: v for k, v in response.items() if v or k == "model_info"}
        self._send_json(200, response)

    # ---- /api/chat -----------------------------------------------------------------

    def _handle_chat(self, raw: bytes) -> None:
        """ChatHandler (routes.go:1844-2335), step by step in the same order."""
        fake = self.fake
        start_ns = time.time_ns()
        req = _decode_body(raw)
        if req.get("stream") is False:
            # Not Ollama's behaviour: a loud refusal so that no test relies on a mode the
            # product never uses.
            raise _ChatError(400, "FakeOllamaServer only streams /api/chat (stream=false)")

        req_model = str(req.get("model") or "")
        if parse_model_name(req_model) is None:
            raise _ChatError(400, "model is required")  # routes.go:1861-1864
        model = fake.get_model(req_model)
        if model is None:
            raise _ChatError(404, f"model '{req_model}' not found")  # routes.go:1877

        messages: list[JSONDict] = [
            {**m, "role": str(m.get("role") or "").lower()}  # Message.UnmarshalJSON lowercases
            for m in (req.get("messages") or [])
            if isinstance(m, dict)
        ]
        keep_alive = DEFAULT_KEEP_ALIVE_NS
        if req.get("keep_alive") is not None:
            try:
                keep_alive = _keep_alive_ns(req["keep_alive"])
            except ValueError as exc:
                raise _ChatError(400, str(exc)) from None

        # Options.FromMap over the defaults, then the Modelfile's PARAMETERs, then the request.
        opts: JSONDict = {**_DEFAULT_OPTIONS, "num_ctx": DEFAULT_NUM_CTX, **model.options,
                          **(req.get("options") or {})}
        opts["num_ctx"] = max(int(opts["num_ctx"]), 4)  # sched.go:85-87

        cold = self._load(model, opts, keep_alive, start_ns)
        try:
            self._generate(req, req_model, model, messages, opts,
                           _COLD_LOAD_NS if cold else _WARM_LOAD_NS)
        finally:
            self._release(model, keep_alive)

    def _load(self, model: FakeModel, opts: JSONDict, keep_alive_ns: int, now_ns: int) -> bool:
        """Scheduler: reuse the runner unless a runner option changed; returns True on (re)load."""
        fake = self.fake
        fake._expire_idle(now_ns)
        runner_opts = {key: opts.get(key) for key in _RUNNER_OPTION_KEYS}
        with fake._lock:
            current = fake.loaded.get(model.name.key)
            if current is not None and current.runner_options == runner_opts:
                current.active += 1
                current.keep_alive_ns = keep_alive_ns
                current.expires_at_ns = now_ns + keep_alive_ns
                return False
            train_ctx = model.info_int("context_length")
            if train_ctx and opts["num_ctx"] > train_ctx:
                fake._log(
                    "WARN",
                    "requested context size too large for model",
                    num_ctx=opts["num_ctx"],
                    n_ctx_train=train_ctx,
                )
            fake.loaded[model.name.key] = LoadedModel(
                model=model,
                runner_options=runner_opts,
                num_ctx=int(opts["num_ctx"]),
                keep_alive_ns=keep_alive_ns,
                expires_at_ns=now_ns + keep_alive_ns,
                active=1,
            )
            fake.load_count[model.name.shortest] += 1
            return True

    def _release(self, model: FakeModel, keep_alive_ns: int) -> None:
        fake = self.fake
        with fake._lock:
            runner = fake.loaded.get(model.name.key)
            if runner is None:
                return
            runner.active = max(0, runner.active - 1)
            if runner.active == 0:
                if keep_alive_ns == 0:
                    del fake.loaded[model.name.key]  # keep_alive 0: unload once idle
                else:
                    runner.expires_at_ns = time.time_ns() + keep_alive_ns

    def _generate(
        self,
        req: JSONDict,
        req_model: str,
        model: FakeModel,
        messages: list[JSONDict],
        opts: JSONDict,
        load_ns: int,
    ) -> None:
        fake = self.fake
        num_ctx = int(opts["num_ctx"])
        prompt_tokens = count_prompt_tokens(messages)

        kept, dropped = _fit_messages(messages, num_ctx)
        if dropped:
            fake._log(
                "DEBUG",
                "truncating input messages which exceed context length",
                truncated=len(messages) - dropped,
            )
        # The runner validates the format before it tokenizes anything.
        _check_format(req.get("format"))

        # The runner's context is capped at the model's training context (llm/server.go:165).
        train_ctx = model.info_int("context_length")
        runner_ctx = min(num_ctx, train_ctx) if train_ctx else num_ctx
        kept_tokens = count_prompt_tokens(kept)
        prompt_eval_count = kept_tokens
        if kept_tokens > runner_ctx:
            num_keep = int(opts["num_keep"])
            num_keep = kept_tokens if num_keep < 0 else num_keep
            num_keep = min(num_keep, runner_ctx - 1)
            prompt_eval_count = runner_ctx  # keep num_keep head tokens + the newest tail
            fake._log(
                "WARN",
                "truncating input prompt",
                limit=runner_ctx,
                prompt=kept_tokens,
                keep=num_keep,
                new=prompt_eval_count,
            )

        fault = fake._take_stream_fault()
        reply = fake._next_reply(req)
        content = reply.content
        done_reason = reply.done_reason or fake.done_reason
        chunks = list(reply.chunks) if reply.chunks is not None else _split_chunks(content)
        num_predict = int(opts["num_predict"])
        if num_predict > 0 and count_tokens(content) > num_predict:
            # The runner stops after num_predict tokens and reports done_reason "length".
            content = content[: num_predict * CHARS_PER_TOKEN]
            chunks = _split_chunks(content)
            done_reason = "length"
        eval_count = max(1, count_tokens(content))

        with fake._lock:
            fake.completions.append(
                CompletionRecord(
                    model=model.name.shortest,
                    num_ctx=num_ctx,
                    prompt_tokens=prompt_tokens,
                    prompt_eval_count=prompt_eval_count,
                    dropped_messages=dropped,
                    truncated=dropped > 0 or prompt_eval_count < kept_tokens,
                    eval_count=eval_count,
                    done_reason=done_reason,
                )
            )

        prompt_ns = max(1, prompt_eval_count) * 150_000  # ~6.7k tokens/s prompt processing
        eval_ns = eval_count * 25_000_000  # ~40 tokens/s generation
        final = _final_chunk(req_model, done_reason)
        final.update(
            _omit_zero(
                {
                    "total_duration": load_ns + prompt_ns + eval_ns + 2_000_000,
                    "load_duration": load_ns,
                    "prompt_eval_count": prompt_eval_count,
                    "prompt_eval_duration": prompt_ns,
                    "eval_count": eval_count,
                    "eval_duration": eval_ns,
                }
            )
        )

        if fault is not None and fault.garbage is not None:
            self._start(200, "application/x-ndjson", None)
            for piece in chunks[: fault.after_chunks]:
                line = {
                    "model": req_model,
                    "created_at": _go_time(time.time_ns(), utc=True),
                    "message": {"role": "assistant", "content": piece},
                    "done": False,
                }
                self._write_chunk(json.dumps(line, separators=(",", ":")).encode() + b"\n")
            self._write_chunk(fault.garbage.rstrip(b"\n") + b"\n")
            self._end_chunks()
            return
        if fault is not None and fault.after_chunks <= 0:
            if fault.error is None:
                self._drop()
                return
            # streamResponse before anything was written: a real HTTP error status.
            raise _ChatError(500, fault.error, content_type="application/json")
        self._start(200, "application/x-ndjson", None)
        for index, piece in enumerate(chunks):
            if fault is not None and index >= fault.after_chunks:
                break
            line = {
                "model": req_model,
                "created_at": _go_time(time.time_ns(), utc=True),
                "message": {"role": "assistant", "content": piece},
                "done": False,
            }
            self._write_chunk(json.dumps(line, separators=(",", ":")).encode() + b"\n")
            if fake.chunk_delay_s:
                time.sleep(fake.chunk_delay_s)
        if fault is not None:
            if fault.error is None:
                self._drop()
                return
            # streamResponse after the first write: an in-band error line, then EOF.
            self._write_chunk(
                json.dumps({"error": fault.error}, separators=(",", ":")).encode() + b"\n"
            )
            self._end_chunks()
            return
        final["created_at"] = _go_time(time.time_ns(), utc=True)
        self._write_chunk(json.dumps(final, separators=(",", ":")).encode() + b"\n")
        self._end_chunks()


def _final_chunk(model: str, done_reason: str) -> JSONDict:
    return {
        "model": model,
        "created_at": _go_time(time.time_ns(), utc=True),
        "message": {"role": "assistant", "content": ""},
        "done": True,
        "done_reason": done_reason,
    }


def _fit_messages(messages: list[JSONDict], num_ctx: int) -> tuple[list[JSONDict], int]:
    """chatPrompt (server/prompt.go:23-70): drop the oldest messages that do not fit.

    Walks backwards from the newest message, always keeping it and every system message
    before the cut.  Returns (kept messages, number of messages dropped).  Mirrors the
    Go loop exactly, including which ``system`` slice survives the final iteration.
    """
    n = len(messages) - 1
    system: list[JSONDict] = []
    for i in range(len(messages) - 2, -1, -1):
        system = [m for m in messages[:i] if m.get("role") == "system"]
        tokens = count_prompt_tokens([*system, *messages[i:]])
        if tokens > num_ctx:
            break
        n = i
    else:
        system = []
    kept = [*system, *messages[n:]]
    return kept, len(messages) - len(kept)
