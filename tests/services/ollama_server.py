"""A loopback fake of the Ollama HTTP API, faithful to the v0.12.x wire protocol.

The real Ollama server cannot run in the test environment (no GPU, no model weights),
so tests talk to this server instead, through the official ``ollama`` Python client.
Every status code, error body and JSON field name below was copied from the Ollama
sources (github.com/ollama/ollama, tag v0.12.11 unless noted), so that code which
works against this fake also works against the real thing.  References are given as
``file:line`` at that tag.

What is modelled (and why):

* ``GET /``, ``GET /api/version``, ``GET /api/tags``, ``POST /api/show``, ``GET /api/ps``
  and ``POST /api/chat`` (streaming NDJSON and single-JSON modes).
* Request validation in the same order as ``ChatHandler`` (server/routes.go:1844):
  body decoding (400), ``top_logprobs`` range (400), model name (400 "model is
  required"), unknown model (404 "model 'X' not found"), unload/load-only requests,
  capabilities (400), options type errors (**500**, via handleScheduleError),
  model load, prompt truncation, format validation (**500**, raised by the runner).
* Silent context truncation: old messages are dropped first (server/prompt.go:30-70),
  then the runner cuts the token stream to ``num_ctx`` keeping ``num_keep`` leading
  tokens (runner/ollamarunner/runner.go:146-187).  The HTTP status stays 200; the
  only trace is a warning in the server log, recorded here in ``server.log``.
* The scheduler's reload rule: a change of any runner option (``num_ctx``, ``num_batch``,
  ``num_gpu``, ``main_gpu``, ``use_mmap``, ``num_thread``) reloads the model
  (server/sched.go:625-657); tests read ``server.load_count``.

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
#: (Newer releases pick 4k/32k/256k from the amount of VRAM; see routes.go HEAD:2050.)
DEFAULT_NUM_CTX = 4096
#: envconfig/config.go:103-118 -- OLLAMA_KEEP_ALIVE defaults to 5 minutes.
DEFAULT_KEEP_ALIVE_NS = 5 * 60 * 1_000_000_000
#: Go's time.Duration(math.MaxInt64): what a negative keep_alive turns into
#: (api/types.go:1033-1046, v0.12.11), i.e. "keep loaded forever" (~292 years).
FOREVER_NS = 2**63 - 1
#: api/types.go:878-904 (DefaultOptions) -- the values a runner starts from.
_DEFAULT_OPTIONS: JSONDict = {
    "num_predict": -1,
    "num_keep": 4,
    "temperature": 0.8,
    "top_k": 40,
    "top_p": 0.9,
    "typical_p": 1.0,
    "repeat_last_n": 64,
    "repeat_penalty": 1.1,
    "presence_penalty": 0.0,
    "frequency_penalty": 0.0,
    "seed": -1,
    "num_batch": 512,
    "num_gpu": -1,
    "num_thread": 0,
    "main_gpu": 0,
    "use_mmap": None,
}
#: api/types.go:433-460 -- every option key Ollama 0.12 knows, with the Go kind that
#: Options.FromMap (api/types.go:784-870) checks values against.  Keys outside this
#: table (e.g. the Python client's ``mirostat``, ``tfs_z``, ``penalize_newline``,
#: ``low_vram``...) are silently ignored with a log warning, not rejected.
_OPTION_KINDS: dict[str, str] = {
    "num_ctx": "int",
    "num_batch": "int",
    "num_gpu": "int",
    "main_gpu": "int",
    "use_mmap": "bool",
    "num_thread": "int",
    "num_keep": "int",
    "seed": "int",
    "num_predict": "int",
    "top_k": "int",
    "top_p": "float32",
    "min_p": "float32",
    "typical_p": "float32",
    "repeat_last_n": "int",
    "temperature": "float32",
    "repeat_penalty": "float32",
    "presence_penalty": "float32",
    "frequency_penalty": "float32",
    "stop": "[]string",
}
#: api/types.go:453-460 (type Runner) -- options that require a model reload.
_RUNNER_OPTION_KEYS = ("num_ctx", "num_batch", "num_gpu", "main_gpu", "use_mmap", "num_thread")

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


def count_prompt_tokens(
    messages: Iterable[Mapping[str, Any]], tools: Sequence[Any] | None = None
) -> int:
    """Estimate the rendered prompt size of a chat request, in tokens.

    Each message costs its content (plus thinking and serialized tool calls, which
    templates also render) and ``MESSAGE_OVERHEAD_TOKENS`` for the role markers.  Tool
    definitions are rendered into the prompt by tool-capable templates, so they count too.
    """
    total = 0
    for message in messages:
        total += MESSAGE_OVERHEAD_TOKENS
        total += count_tokens(str(message.get("content") or ""))
        total += count_tokens(str(message.get("thinking") or ""))
        if message.get("tool_calls"):
            total += count_tokens(json.dumps(message["tool_calls"], separators=(",", ":")))
    if tools:
        total += count_tokens(json.dumps(list(tools), separators=(",", ":")))
    return total


# --------------------------------------------------------------------------------------
# Small Go-compatibility helpers
# --------------------------------------------------------------------------------------


def _go_quote(s: str) -> str:
    """Approximate Go's %q / strconv.Quote (JSON string escaping is identical for ASCII)."""
    return json.dumps(s, ensure_ascii=False)


def _go_time(ns: int, *, utc: bool) -> str:
    """Format a Unix-nanosecond instant like Go's time.Time JSON (RFC 3339, nanoseconds).

    Go trims trailing zeros of the fraction and writes "Z" for UTC.  created_at is sent
    in UTC (``time.Now().UTC()``) while expires_at/modified_at carry the local offset.
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
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ValueError(f"Unsupported type: '{_go_type_of(value)}'")
    if isinstance(value, (int, float)):
        return FOREVER_NS if value < 0 else int(value * 1_000_000_000)
    ns = _parse_go_duration(value)
    return FOREVER_NS if ns < 0 else ns


def _go_type_of(value: Any) -> str:
    """The reflect.TypeOf name Go prints for a value decoded into ``any``."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "float64"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "[]interface {}"
    return "map[string]interface {}"


def _json_kind(value: Any) -> str:
    """The JSON type name Go's UnmarshalTypeError uses."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _unmarshal_error(value: Any, struct_field: str, go_type: str) -> str:
    return (
        f"json: cannot unmarshal {_json_kind(value)} into Go struct field "
        f"{struct_field} of type {go_type}"
    )


def _decode_body(raw: bytes) -> tuple[Any, str | None]:
    """Decode a request body the way gin's ShouldBindJSON does.

    Go's json.Decoder reads only the first JSON value, so trailing bytes are ignored;
    an empty body is io.EOF, which Ollama turns into "missing request body".  Syntax
    error texts are approximations of Go's (status 400 is what matters).
    """
    text = raw.decode("utf-8", errors="replace").lstrip()
    if not text:
        return None, "missing request body"
    try:
        value, _ = json.JSONDecoder().raw_decode(text)
    except json.JSONDecodeError as exc:
        if exc.pos >= len(text.rstrip()):
            return None, "unexpected EOF"
        return None, f"invalid character {text[exc.pos]!r} looking for beginning of value"
    return value, None


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
    def full(self) -> str:
        """Name.String(): what ``scheduleRunner`` puts in capability errors."""
        return f"{self.host}/{self.namespace}/{self.model}:{self.tag}"

    @property
    def shortest(self) -> str:
        """Name.DisplayShortest() (name.go:231): the form /api/tags and /api/ps report."""
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
    template: str
    system: str
    capabilities: list[str]
    options: JSONDict  # parsed from ``parameters`` (the Modelfile PARAMETER lines)
    digest: str
    modified_at_ns: int
    license: str = ""

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
      automatically when ``options.num_predict`` cuts the reply short.
    * :meth:`fail_next`, :meth:`drop_connection_next`, :meth:`error_mid_stream_next`.

    And inspect ``requests``, ``completions``, ``load_count``, ``loaded`` and ``log``.
    """

    def __init__(
        self,
        *,
        version: str = "0.12.11",
        default_num_ctx: int = DEFAULT_NUM_CTX,
        default_keep_alive_ns: int = DEFAULT_KEEP_ALIVE_NS,
    ) -> None:
        self.version = version
        #: OLLAMA_CONTEXT_LENGTH: the num_ctx used when neither the request nor the
        #: model's Modelfile sets one.
        self.default_num_ctx = default_num_ctx
        #: OLLAMA_KEEP_ALIVE in nanoseconds.
        self.default_keep_alive_ns = default_keep_alive_ns
        self.default_reply = DEFAULT_REPLY
        self.done_reason = "stop"
        #: Seconds to sleep between streamed chunks (to test cancellation/UI updates).
        self.chunk_delay_s = 0.0
        #: Fraction of a loaded model's memory reported as size_vram (1.0 = "100% GPU").
        self.gpu_offload_fraction = 1.0
        #: Nanoseconds reported as load_duration on a cold load / a warm request.
        self.cold_load_duration_ns = 1_800_000_000
        self.warm_load_duration_ns = 12_000_000

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
        template: str = "",
        system: str = "",
        *,
        capabilities: Sequence[str] = ("completion", "tools"),
        license: str = "",
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
            if template:
                lines.append(f'TEMPLATE """{template}"""')
            if system:
                lines.append(f'SYSTEM """{system}"""')
            lines += [f"PARAMETER {line.strip()}" for line in parameters.splitlines() if line]
            modelfile = "\n".join(lines) + "\n"
        model = FakeModel(
            name=parsed,
            model_info=dict(model_info),
            details=full_details,
            size_bytes=size_bytes,
            parameters=parameters,
            modelfile=modelfile,
            template=template,
            system=system,
            capabilities=list(capabilities),
            options=_parse_parameters(parameters),
            digest=digest,
            modified_at_ns=time.time_ns(),
            license=license,
        )
        with self._lock:
            self._models[parsed.key] = model
        return parsed.shortest

    def remove_model(self, name: str) -> None:
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

    def unload_all(self) -> None:
        """Forget every loaded model, as if each keep_alive had just expired."""
        with self._lock:
            self.loaded.clear()

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

        With ``stream=false`` (or ``after_chunks=0``) nothing is sent at all.  The
        client sees a transport error (httpx.RemoteProtocolError), not a ResponseError.
        """
        with self._lock:
            self._stream_faults.append(_StreamFault(after_chunks, None))

    def error_mid_stream_next(self, error: str, after_chunks: int = 1) -> None:
        """Make the next generation fail the way a crashing runner does.

        Streaming: after ``after_chunks`` chunks an ``{"error": ...}`` line is written
        into the 200 NDJSON stream (routes.go:1697-1705); the Python client raises
        ResponseError with status_code -1.  Non-streaming: HTTP 500 {"error": ...}.
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


def _apply_options(opts: JSONDict, overrides: Mapping[str, Any], server: FakeOllamaServer) -> None:
    """Options.FromMap (api/types.go:784-870): typed merge, unknown keys only warned about."""
    for key, val in overrides.items():
        kind = _OPTION_KINDS.get(key)
        if kind is None:
            server._log("WARN", "invalid option provided", option=key)
            continue
        if val is None:
            continue
        quoted = _go_quote(key)
        if kind == "int":
            if isinstance(val, bool) or not isinstance(val, (int, float)):
                raise _ChatError(500, f"option {quoted} must be of type integer")
            opts[key] = int(val)  # Go truncates float64 -> int64 toward zero
        elif kind == "bool":
            if not isinstance(val, bool):
                raise _ChatError(500, f"option {quoted} must be of type boolean")
            opts[key] = val
        elif kind == "float32":
            if isinstance(val, bool) or not isinstance(val, (int, float)):
                raise _ChatError(500, f"option {quoted} must be of type float32")
            opts[key] = float(val)
        else:  # []string
            if not isinstance(val, list):
                raise _ChatError(500, f"option {quoted} must be of type array")
            if not all(isinstance(item, str) for item in val):
                raise _ChatError(500, f"option {quoted} must be of an array of strings")
            opts[key] = list(val)


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


# --------------------------------------------------------------------------------------
# Request-body type checks (Go's encoding/json into api.ChatRequest / api.ShowRequest)
# --------------------------------------------------------------------------------------

_CHAT_FIELDS: dict[str, tuple[str, Callable[[Any], bool]]] = {
    "model": ("string", lambda v: isinstance(v, str)),
    "messages": ("[]api.Message", lambda v: isinstance(v, list)),
    "stream": ("bool", lambda v: isinstance(v, bool)),
    "options": ("map[string]interface {}", lambda v: isinstance(v, dict)),
    "tools": ("api.Tools", lambda v: isinstance(v, list)),
    "truncate": ("bool", lambda v: isinstance(v, bool)),
    "shift": ("bool", lambda v: isinstance(v, bool)),
    "logprobs": ("bool", lambda v: isinstance(v, bool)),
    "top_logprobs": ("int", lambda v: isinstance(v, int) and not isinstance(v, bool)),
}
_MESSAGE_STRING_FIELDS = ("role", "content", "thinking", "tool_name")
_SHOW_FIELDS: dict[str, tuple[str, Callable[[Any], bool]]] = {
    "model": ("string", lambda v: isinstance(v, str)),
    "name": ("string", lambda v: isinstance(v, str)),
    "system": ("string", lambda v: isinstance(v, str)),
    "template": ("string", lambda v: isinstance(v, str)),
    "verbose": ("bool", lambda v: isinstance(v, bool)),
    "options": ("map[string]interface {}", lambda v: isinstance(v, dict)),
}


def _check_fields(
    body: JSONDict, fields: Mapping[str, tuple[str, Callable[[Any], bool]]], struct: str
) -> None:
    for key, (go_type, ok) in fields.items():
        value = body.get(key)
        if value is not None and not ok(value):
            raise _ChatError(400, _unmarshal_error(value, f"{struct}.{key}", go_type))


def _validate_chat_body(body: Any) -> JSONDict:
    if not isinstance(body, dict):
        raise _ChatError(
            400, f"json: cannot unmarshal {_json_kind(body)} into Go value of type api.ChatRequest"
        )
    _check_fields(body, _CHAT_FIELDS, "ChatRequest")
    for message in body.get("messages") or []:
        if message is None:
            continue
        if not isinstance(message, dict):
            raise _ChatError(400, _unmarshal_error(message, "ChatRequest.messages", "api.Message"))
        for key in _MESSAGE_STRING_FIELDS:
            value = message.get(key)
            if value is not None and not isinstance(value, str):
                raise _ChatError(
                    400, _unmarshal_error(value, f"ChatRequest.messages.{key}", "string")
                )
    if body.get("keep_alive") is not None:
        try:
            _keep_alive_ns(body["keep_alive"])
        except ValueError as exc:
            raise _ChatError(400, str(exc)) from None
    think = body.get("think")
    if think is not None and not isinstance(think, bool):
        if isinstance(think, str):
            if think not in ("high", "medium", "low"):
                raise _ChatError(
                    400,
                    f"invalid think value: {_go_quote(think)} "
                    '(must be "high", "medium", "low", true, or false)',
                )
        else:
            raise _ChatError(
                400, 'think must be a boolean or string ("high", "medium", "low", true, or false)'
            )
    return body


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


_ROUTES: dict[str, frozenset[str]] = {
    "/": frozenset({"GET", "HEAD"}),
    "/api/version": frozenset({"GET", "HEAD"}),
    "/api/tags": frozenset({"GET", "HEAD"}),
    "/api/show": frozenset({"POST"}),
    "/api/ps": frozenset({"GET"}),
    "/api/chat": frozenset({"POST"}),
    # Real routes this fake does not implement: answered with 501 so a test notices.
    "/api/generate": frozenset({"POST"}),
    "/api/embed": frozenset({"POST"}),
    "/api/embeddings": frozenset({"POST"}),
    "/api/pull": frozenset({"POST"}),
    "/api/push": frozenset({"POST"}),
    "/api/create": frozenset({"POST"}),
    "/api/copy": frozenset({"POST"}),
    "/api/delete": frozenset({"DELETE"}),
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
        parsed, _ = _decode_body(body) if body.strip() else (None, None)
        record = RecordedRequest(self.command, path, dict(self.headers.items()), body, parsed)
        with self.fake._lock:
            self.fake.requests.append(record)

        methods = _ROUTES.get(path)
        if methods is None:
            # gin's default 404/405 bodies are plain text, not JSON.
            self._send_bytes(404, "text/plain", b"404 page not found")
            return
        if self.command not in methods:
            self._send_bytes(405, "text/plain", b"405 method not allowed")
            return
        failure = self.fake._take_failure(path)
        if failure is not None:
            self._send_error_json(failure.status, failure.error)
            return
        try:
            if path == "/":
                self._send_bytes(200, "text/plain; charset=utf-8", b"Ollama is running")
            elif path == "/api/version":
                self._send_json(200, {"version": self.fake.version})
            elif path == "/api/tags":
                self._handle_tags()
            elif path == "/api/ps":
                self._handle_ps()
            elif path == "/api/show":
                self._handle_show(body)
            elif path == "/api/chat":
                self._handle_chat(body)
            else:
                self._send_error_json(501, f"{path} is not implemented by FakeOllamaServer")
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

    def _handle_tags(self) -> None:
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

    def _handle_ps(self) -> None:
        """routes.go:1791-1833 (PsHandler): longest remaining keep-alive first."""
        fake = self.fake
        now = time.time_ns()
        fake._expire_idle(now)
        with fake._lock:
            runners = sorted(fake.loaded.values(), key=lambda r: -r.expires_at_ns)
            models = []
            for runner in runners:
                size = runner.model.size_bytes + _kv_cache_bytes(runner.model, runner.num_ctx)
                models.append(
                    {
                        "name": runner.model.name.shortest,
                        "model": runner.model.name.shortest,
                        "size": size,
                        "digest": runner.model.digest,
                        "details": dict(runner.model.details),
                        "expires_at": _go_time(runner.expires_at_ns, utc=False),
                        "size_vram": int(size * fake.gpu_offload_fraction),
                        "context_length": runner.num_ctx,
                    }
                )
        self._send_json(200, {"models": models})

    def _handle_show(self, raw: bytes) -> None:
        """routes.go:1016-1052 (ShowHandler) + GetModelInfo (routes.go:1054-1190)."""
        body, err = _decode_body(raw)
        if err is not None:
            raise _ChatError(400, err)
        if not isinstance(body, dict):
            raise _ChatError(
                400,
                f"json: cannot unmarshal {_json_kind(body)} into Go value of type api.ShowRequest",
            )
        _check_fields(body, _SHOW_FIELDS, "ShowRequest")
        requested = body.get("model") or body.get("name") or ""
        if not requested:
            raise _ChatError(400, "model is required")
        parsed = parse_model_name(requested)
        if parsed is None:
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
            "template": model.template,
            "system": body.get("system") or model.system,
            "license": model.license,
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
        body, err = _decode_body(raw)
        if err is not None:
            raise _ChatError(400, err)
        req = _validate_chat_body(body)
        top_logprobs = req.get("top_logprobs") or 0
        if top_logprobs < 0 or top_logprobs > 20:
            raise _ChatError(400, "top_logprobs must be between 0 and 20")

        req_model: str = req.get("model") or ""
        parsed = parse_model_name(req_model)
        if parsed is None:
            raise _ChatError(400, "model is required")  # routes.go:1861-1864
        model = fake.get_model(req_model)
        if model is None:
            raise _ChatError(404, f"model '{req_model}' not found")  # routes.go:1877

        messages: list[JSONDict] = [
            {**m, "role": str(m.get("role") or "").lower()}  # Message.UnmarshalJSON lowercases
            for m in (req.get("messages") or [])
            if isinstance(m, dict)
        ]
        keep_alive = (
            _keep_alive_ns(req["keep_alive"])
            if req.get("keep_alive") is not None
            else fake.default_keep_alive_ns
        )
        if not messages and req.get("keep_alive") is not None and keep_alive == 0:
            with fake._lock:
                fake.loaded.pop(model.name.key, None)
            self._send_json(200, _final_chunk(req_model, "unload"))  # routes.go:1892-1903
            return

        think = req.get("think")
        if "thinking" not in model.capabilities and think not in (None, False):
            raise _ChatError(400, f"{_go_quote(req_model)} does not support thinking")
        # scheduleRunner -> CheckCapabilities (routes.go:135-137, 2010-2016).
        if "completion" not in model.capabilities:
            raise _ChatError(400, f"{_go_quote(req_model)} does not support chat")
        if req.get("tools") and "tools" not in model.capabilities:
            raise _ChatError(400, f"{model.name.full} does not support tools")

        opts = dict(_DEFAULT_OPTIONS, num_ctx=fake.default_num_ctx)
        _apply_options(opts, model.options, fake)
        _apply_options(opts, req.get("options") or {}, fake)
        opts["num_ctx"] = max(int(opts["num_ctx"]), 4)  # sched.go:85-87

        cold = self._load(model, opts, keep_alive, start_ns)
        load_ns = fake.cold_load_duration_ns if cold else fake.warm_load_duration_ns
        try:
            if not messages:
                self._send_json(200, _final_chunk(req_model, "load"))  # routes.go:2020-2029
                return
            self._generate(req, req_model, model, messages, opts, load_ns)
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
                current.expires_at_ns = _add_ns(now_ns, keep_alive_ns)
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
                expires_at_ns=_add_ns(now_ns, keep_alive_ns),
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
                    runner.expires_at_ns = _add_ns(time.time_ns(), keep_alive_ns)

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
        # routes.go:2032-2035 -- the model's SYSTEM is prepended unless the caller sent one.
        if model.system and messages[0].get("role") != "system":
            messages = [{"role": "system", "content": model.system}, *messages]
        tools = req.get("tools") or None
        num_ctx = int(opts["num_ctx"])
        truncate = req.get("truncate") is not False
        prompt_tokens = count_prompt_tokens(messages, tools)

        kept, dropped = _fit_messages(messages, tools, num_ctx, truncate)
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
        kept_tokens = count_prompt_tokens(kept, tools)
        prompt_eval_count = kept_tokens
        if kept_tokens > runner_ctx:
            if not truncate:
                raise _ChatError(400, "the input length exceeds the context length")
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

        if req.get("stream") is False:
            if fault is not None:
                if fault.error is None:
                    self._drop()
                    return
                raise _ChatError(500, fault.error)  # writeChatResponse: status 500
            final["message"]["content"] = "".join(chunks)
            self._send_json(200, final)
            return

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


def _fit_messages(
    messages: list[JSONDict], tools: Sequence[Any] | None, num_ctx: int, truncate: bool
) -> tuple[list[JSONDict], int]:
    """chatPrompt (server/prompt.go:23-70): drop the oldest messages that do not fit.

    Walks backwards from the newest message, always keeping it and every system message
    before the cut.  Returns (kept messages, number of messages dropped).  Mirrors the
    Go loop exactly, including which ``system`` slice survives the final iteration.
    """
    n = len(messages) - 1
    system: list[JSONDict] = []
    for i in range(len(messages) - 2, -1, -1):
        system = [m for m in messages[:i] if m.get("role") == "system"]
        tokens = count_prompt_tokens([*system, *messages[i:]], tools)
        if truncate and tokens > num_ctx:
            break
        n = i
    else:
        system = []
    kept = [*system, *messages[n:]]
    return kept, len(messages) - len(kept)


def _kv_cache_bytes(model: FakeModel, num_ctx: int) -> int:
    """f16 K and V caches: 2 tensors x layers x kv_heads x head_dim x num_ctx x 2 bytes."""
    layers = model.info_int("block_count")
    kv_heads = model.info_int("attention.head_count_kv")
    head_dim = model.info_int("attention.key_length") or 128
    return 2 * layers * kv_heads * head_dim * num_ctx * 2


def _add_ns(now_ns: int, duration_ns: int) -> int:
    # Cap "forever" so the timestamp stays inside Python's datetime range (year 9999).
    return min(now_ns + duration_ns, 253_402_300_799 * 1_000_000_000)
