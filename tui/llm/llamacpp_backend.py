"""One triage batch through llama.cpp in this process (llama-cpp-python), for a box without
Ollama: the GGUF file, or the Ollama model's own blob found by name, loaded once.

The numbers are the plan's, applied as llama.cpp's own settings: `n_ctx` = num_ctx, one
sequence (n_parallel 1), every layer on the GPU when there is one and the plan fits (none
otherwise), flash attention and the KV cache type as planned, `swa_full=False` (sliding-window
layers keep window + batch cells, as llama-server does) and `logits_all=False` (one row of
logits, not one per context token: GBs for a large vocabulary). llama-cpp-python's own server
turns both on; its memory is not what the plan counts.

Nothing is cut silently: the prompt is rendered with the model's own chat template and counted
with its own tokenizer, and a prompt that leaves less than the reply reserve is refused with
PromptTooLong before anything runs; a reply that stops at the reserve is `length`. Tokens are
generated here, one at a time, so the counts are exact and the deadline is checked between
tokens. The reply is held to the verdict schema by llama.cpp's grammar (from the JSON schema);
the pipeline still validates it.

`llama_cpp` (and numpy, jinja2) is imported on first use, off the UI thread; its C library
logs to our log file, never to the terminal. One model, one call at a time (a lock).
"""

from __future__ import annotations

import codecs
import contextlib
import ctypes
import io
import json
import logging
import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from tui.adapters.ollama_blobs import GgufNotFound, is_gguf_path, locate_gguf
from tui.llm.protocol import (
    BackendStatus,
    BackendUnavailable,
    BatchReply,
    ModelMissing,
    PromptTooLong,
    ReplyDeadline,
    with_system_prompt,
)

log = logging.getLogger(__name__)

LABEL = "llama.cpp (embedded)"
EXTRA = "llamacpp"
INSTALL = (f"install the `{EXTRA}` extra: .venv/bin/pip install -e '.[{EXTRA}]' "
           "(add CMAKE_ARGS=\"-DGGML_CUDA=on\" for an NVIDIA GPU)")
# llama.cpp's ggml types for the KV cache (ggml.h), by the plan's names.
_KV_CACHE_TYPES = {"f16": 1, "q4_0": 2, "q8_0": 8}
# ggml's log levels (ggml.h: NONE, DEBUG, INFO, WARN, ERROR; CONT continues the line
# before) as ours. Its INFO is a page per load: debug here.
_LOG_LEVELS = {0: logging.DEBUG, 1: logging.DEBUG, 2: logging.DEBUG, 3: logging.WARNING,
               4: logging.ERROR}
_GGML_LOG_CONT = 5
_log_callback: Any = None  # the C callback must outlive every call into llama.cpp
_last_level = logging.DEBUG


def import_llama_cpp() -> Any:
    """The `llama_cpp` module, its logs routed to ours; BackendUnavailable naming the extra
    when it is not installed, or the library when it does not load."""
    global _log_callback
    try:
        import llama_cpp
    except ModuleNotFoundError as error:
        if error.name and error.name.partition(".")[0] != "llama_cpp":
            # The package is there; one of its own dependencies is not.
            raise BackendUnavailable(f"llama-cpp-python is installed but cannot be imported "
                                     f"({error}): {INSTALL}") from error
        raise BackendUnavailable(f"llama-cpp-python is not installed: {INSTALL}") from error
    except ImportError as error:
        raise BackendUnavailable(f"llama-cpp-python is not installed: {INSTALL} ({error})"
                                 ) from error
    except (OSError, RuntimeError) as error:
        # The package is there, its shared library is not (or does not load).
        raise BackendUnavailable(f"llama-cpp-python's llama.cpp library did not load: {error} "
                                 "(reinstall the extra, or point LLAMA_CPP_LIB_PATH at a "
                                 "folder with libllama.so)") from error
    if _log_callback is None:
        @llama_cpp.llama_log_callback
        def to_our_log(level: int, text: bytes, _user_data: ctypes.c_void_p) -> None:
            global _last_level
            if level != _GGML_LOG_CONT:
                _last_level = _LOG_LEVELS.get(level, logging.DEBUG)
            message = text.decode("utf-8", "replace").rstrip()
            if message:
                log.log(_last_level, "llama.cpp: %s", message)

        llama_cpp.llama_log_set(to_our_log, ctypes.c_void_p(0))
        _log_callback = to_our_log
    return llama_cpp


def engine_detail() -> str:
    """Which llama-cpp-python, and whether its llama.cpp can offload to a GPU here;
    BackendUnavailable (naming the extra) when it cannot be imported."""
    llama_cpp = import_llama_cpp()
    offload = "GPU offload available" if llama_cpp.llama_supports_gpu_offload() else "CPU only"
    return f"llama-cpp-python {getattr(llama_cpp, '__version__', '?')}, {offload}"


class _PrintsToLog(io.TextIOBase):
    """What llama-cpp-python prints while loading (system info, metadata), to the log."""

    def write(self, text: str) -> int:
        if text.strip():
            log.debug("llama-cpp-python: %s", text.rstrip())
        return len(text)


def describe_file(path: Path) -> str:
    return f"{path.name} ({path.stat().st_size / 2**30:.2f} GiB)"


class EmbeddedTriageModel:
    label = LABEL

    def __init__(self, model: str, *, num_ctx: int, temperature: float, max_tokens: int,
                 timeout: float, ollama_models: Path | None = None, gpu_layers: int = -1,
                 flash_attention: bool = False, kv_cache_type: str = "f16", threads: int = 0,
                 system_prompt: str = "",
                 plan_fits: Callable[[], bool] | None = None) -> None:
        """`model`: a .gguf path or an Ollama model name (its blob under `ollama_models`).
        `gpu_layers` -1 = every layer when llama.cpp sees a GPU and `plan_fits()` says the
        plan keeps its headroom (asked once, at load), else none; a number = that many.
        `system_prompt`: sent when a batch carries no system message, as Ollama sends its
        Modelfile's SYSTEM (there is no Modelfile here)."""
        self.model = model
        self.num_ctx = num_ctx
        self.temperature = temperature
        self.max_tokens = max_tokens
        self.timeout = timeout
        self.ollama_models = ollama_models
        self.gpu_layers = gpu_layers
        self.flash_attention = flash_attention
        self.kv_cache_type = kv_cache_type
        self.threads = threads
        self.system_prompt = system_prompt
        self._plan_fits = plan_fits
        self._lock = threading.Lock()
        self._loaded: _LoadedModel | None = None

    # -- status ---------------------------------------------------------------------------

    def locate(self) -> Path:
        try:
            return locate_gguf(self.model, self.ollama_models)
        except GgufNotFound as error:
            raise ModelMissing(str(error), model=self.model) from error

    def missing_fix(self) -> str:
        if is_gguf_path(self.model):
            return "set [llamacpp] model to a GGUF file that exists"
        return (f"ollama pull {self.model} (or set [llamacpp] ollama_models to Ollama's models "
                "folder, or [llamacpp] model to a .gguf path)")

    def check(self) -> BackendStatus:
        """The model's file, then llama-cpp-python: two problems, two fixes. Nothing is
        loaded here (that takes as long as reading the weights)."""
        try:
            path = self.locate()
        except ModelMissing as error:
            return BackendStatus(False, "model-missing", str(error), self.missing_fix())
        try:
            engine = engine_detail()
        except BackendUnavailable as error:
            return BackendStatus(False, "unavailable", str(error), INSTALL)
        loaded = self._loaded
        return BackendStatus(True, "ready", f"{describe_file(path)}, num_ctx {self.num_ctx}, "
                                            f"{loaded.placement if loaded else engine}")

    # -- loading --------------------------------------------------------------------------

    def _layers(self, llama_cpp: Any) -> tuple[int, str]:
        if self.gpu_layers >= 0:
            return self.gpu_layers, f"{self.gpu_layers} layers on the GPU ([llamacpp] gpu_layers)"
        if not llama_cpp.llama_supports_gpu_offload():
            return 0, "on the CPU (llama.cpp sees no GPU)"
        if self._plan_fits is not None:
            try:
                fits = self._plan_fits()
            except Exception as error:  # planning is I/O; its failure must not stop triage
                log.warning("no plan for the GPU offload (%s): layers stay on the CPU", error)
                return 0, f"on the CPU: no plan ({error})"
            if not fits:
                return 0, ("on the CPU: the plan misses its headroom on the GPU (set "
                           "[llamacpp] gpu_layers to offload anyway)")
        return -1, "every layer on the GPU"

    def _load(self) -> _LoadedModel:
        if self._loaded is not None:
            return self._loaded
        path = self.locate()
        llama_cpp = import_llama_cpp()
        layers, placement = self._layers(llama_cpp)
        settings: dict[str, Any] = {
            # A quantised KV cache needs flash attention in llama.cpp, as the plan assumes.
            "n_ctx": self.num_ctx, "n_gpu_layers": layers,
            "flash_attn": self.flash_attention or self.kv_cache_type != "f16",
            "swa_full": False, "logits_all": False,
            "type_k": _KV_CACHE_TYPES[self.kv_cache_type],
            "type_v": _KV_CACHE_TYPES[self.kv_cache_type],
            # One card: the plan budgets one, and a layer split would reach WhisperX's.
            "split_mode": llama_cpp.LLAMA_SPLIT_MODE_NONE, "main_gpu": 0,
        }
        if self.threads:
            settings["n_threads"] = settings["n_threads_batch"] = self.threads
        log.info("loading %s into llama.cpp: %s (%s)", path, settings, placement)
        # verbose=True keeps llama-cpp-python from pointing file descriptors 1 and 2 at
        # /dev/null while loading (the dashboard draws on them); its prints go to the log.
        try:
            with contextlib.redirect_stdout(_PrintsToLog()), \
                    contextlib.redirect_stderr(_PrintsToLog()):
                llama = llama_cpp.Llama(model_path=str(path), verbose=True, **settings)
        except (ValueError, RuntimeError, OSError) as error:
            raise BackendUnavailable(f"llama.cpp could not load {path}: {error} (details in "
                                     "the log file)") from error
        llama.verbose = False  # no per-call prints from here on
        template = llama.metadata.get("tokenizer.chat_template")
        if not template:
            llama.close()
            raise ModelMissing(f"{path} has no chat template (a base model?): use an "
                               "instruct model", model=self.model)
        self._loaded = _LoadedModel(llama_cpp, llama, template, placement)
        return self._loaded

    # -- one batch ------------------------------------------------------------------------

    def run_batch(self, messages: list[dict[str, str]], schema: dict[str, Any],
                  on_text: Callable[[str], None]) -> BatchReply:
        messages = with_system_prompt(messages, self.system_prompt)
        with self._lock:
            loaded = self._load()
            prompt = loaded.prompt_tokens(messages)
            reserve = max(self.max_tokens, 1)
            room = self.num_ctx - reserve
            if len(prompt) > room:
                raise PromptTooLong(
                    f"{LABEL}: the prompt is {len(prompt)} tokens by the model's tokenizer; "
                    f"{room} fit beside the {reserve}-token reply reserve in num_ctx "
                    f"{self.num_ctx}", prompt_tokens=len(prompt), context_limit=self.num_ctx)
            text, generated, finish = loaded.generate(
                prompt, loaded.grammar(schema), temperature=self.temperature,
                max_tokens=reserve, on_text=on_text,
                deadline=ReplyDeadline(self.timeout, LABEL))
        return BatchReply(text, len(prompt), generated, finish)


class _LoadedModel:
    """A loaded Llama with what each call needs from it: its chat template and its
    end-of-generation tokens."""

    def __init__(self, llama_cpp: Any, llama: Any, template: str, placement: str) -> None:
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter

        self.llama_cpp = llama_cpp
        self.llama = llama
        self.placement = placement
        self._vocab = llama_cpp.llama_model_get_vocab(llama.model)

        def token_text(token: int) -> str:
            if token < 0:
                return ""
            return (llama_cpp.llama_vocab_get_text(self._vocab, token) or b"").decode(
                "utf-8", "replace")

        self._formatter = Jinja2ChatFormatter(template=template,
                                              eos_token=token_text(llama.token_eos()),
                                              bos_token=token_text(llama.token_bos()))

    def _render(self, messages: list[dict[str, str]]) -> str:
        try:
            return str(self._formatter(messages=messages).prompt)  # type: ignore[arg-type]
        except Exception as error:  # jinja2 errors, a template's raise_exception
            raise BackendUnavailable(f"{LABEL}: the model's chat template failed on the "
                                     f"batch: {type(error).__name__}: {error}") from error

    def _tokens(self, text: str, *, special: bool) -> list[int]:
        if not text:
            return []
        return list(self.llama.tokenize(text.encode("utf-8"), add_bos=False, special=special))

    def prompt_tokens(self, messages: list[dict[str, str]]) -> list[int]:
        """The chat as the model's template renders it, in the model's own tokens. The
        template's own text is read with its special tokens (BOS, turn markers); the
        messages' text never is, so a mail that writes `<|im_end|>` or `[INST]` stays text
        inside its turn instead of closing it (what a whole-prompt tokenization would do).
        Each message is rendered as a marker first, and its text tokenized in its place."""
        tag = uuid.uuid4().hex
        markers = [f"@@{tag}:{index}@@" for index in range(len(messages))]
        rendered = self._render([{**message, "content": marker}
                                 for message, marker in zip(messages, markers, strict=True)])
        if any(rendered.count(marker) != 1 for marker in markers):
            # A template that drops or repeats a message: render it as it is. Special-token
            # text in mail is then read as special tokens, as llama-server would.
            log.warning("the chat template does not place each message once; tokenizing the "
                        "whole prompt with its special tokens")
            return self._tokens(self._render(messages), special=True)
        tokens: list[int] = []
        position = 0
        for message, marker in zip(messages, markers, strict=True):
            at = rendered.index(marker, position)
            tokens += self._tokens(rendered[position:at], special=True)
            tokens += self._tokens(message["content"], special=False)
            position = at + len(marker)
        return tokens + self._tokens(rendered[position:], special=True)

    def grammar(self, schema: dict[str, Any]) -> Any:
        """llama.cpp's grammar for the verdict schema; plain JSON if the schema's
        translation fails (the pipeline validates the reply either way)."""
        from llama_cpp.llama_grammar import JSON_GBNF, LlamaGrammar, json_schema_to_gbnf

        try:
            gbnf = json_schema_to_gbnf(json.dumps(schema))  # LlamaGrammar.from_json_schema's
        except Exception as error:  # the translator raises whatever it meets
            log.warning("the verdict schema did not translate to a grammar (%s): any JSON",
                        error)
            return LlamaGrammar.from_string(JSON_GBNF, verbose=False)
        # llama.cpp parses the grammar when sampling starts, and llama-cpp-python hands a
        # grammar it refused (NULL) straight on: a crash. Parse it here first.
        sampler = self.llama_cpp.llama_sampler_init_grammar(self._vocab, gbnf.encode("utf-8"),
                                                            b"root")
        if not sampler:
            log.warning("llama.cpp refused the verdict schema's grammar: any JSON")
            return LlamaGrammar.from_string(JSON_GBNF, verbose=False)
        self.llama_cpp.llama_sampler_free(sampler)
        return LlamaGrammar.from_string(gbnf, verbose=False)

    def generate(self, prompt: list[int], grammar: Any, *, temperature: float,
                 max_tokens: int, on_text: Callable[[str], None],
                 deadline: ReplyDeadline) -> tuple[str, int, str]:
        """Sample until an end-of-generation token ("stop") or `max_tokens` ("length"),
        streaming the text as it decodes; returns the text, the tokens generated and why
        it stopped."""
        decoder = codecs.getincrementaldecoder("utf-8")("replace")
        parts: list[str] = []
        generated = 0
        finish = "length"
        tokens: Iterator[int] = self.llama.generate(prompt, temp=temperature, grammar=grammar)
        try:
            for token in tokens:
                if self.llama_cpp.llama_vocab_is_eog(self._vocab, token):
                    finish = "stop"
                    break
                generated += 1
                text = decoder.decode(self.llama.detokenize([token]))
                if text:
                    parts.append(text)
                    on_text(text)
                if generated >= max_tokens:
                    break
                deadline.check(tokens)
        except RuntimeError as error:  # llama_decode failed (out of memory, cache full)
            raise BackendUnavailable(f"{LABEL}: {error}") from error
        finally:
            close = getattr(tokens, "close", None)
            if callable(close):
                close()
        tail = decoder.decode(b"", final=True)
        if tail:
            parts.append(tail)
            on_text(tail)
        return "".join(parts), generated, finish
