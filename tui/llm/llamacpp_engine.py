"""llama.cpp itself, through llama-cpp-python: one GGUF loaded once, one triage batch at a
time. This runs in the engine's own process (`llamacpp_process`), never in the dashboard's:
`llamacpp_backend.EmbeddedTriageModel` is the side the pipeline talks to.

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

`llama_cpp` (and numpy, jinja2) is imported on first use; its C library logs to our log, never
to the terminal.
"""

from __future__ import annotations

import codecs
import contextlib
import ctypes
import io
import json
import logging
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from tui.llm.protocol import (
    BackendUnavailable,
    BatchReply,
    ModelMissing,
    PromptTooLong,
    ReplyDeadline,
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


def _cxx_runtime_first() -> None:
    """Put libstdc++ in the process's global symbol scope before llama.cpp loads, as a C++
    program such as llama-server has it.

    Measured on an H200 with CUDA 13.0 (bench/GPU-RESULTS.md, "The embedded engine"):
    llama.cpp's CUDA library, which CMake links with the static CUDA runtime
    (`-lcudart_static`), exports a copy of C++ runtime symbols of its own (3,436 `std::`
    ones); in a Python process, which does not link libstdc++, the other llama.cpp libraries
    bound C++ symbols to that copy, and once CUDA was up, loading any model's tokenizer
    segfaulted inside it (in `std::regex`). llama-server, on the same libraries, did not.
    With libstdc++ loaded first every C++ symbol resolves to it, as in llama-server (not yet
    confirmed on the GPU; the engine runs in a process of its own either way). Harmless
    elsewhere: llama.cpp needs libstdc++ anyway."""
    if not sys.platform.startswith("linux"):
        return
    with contextlib.suppress(OSError):
        ctypes.CDLL("libstdc++.so.6", mode=ctypes.RTLD_GLOBAL)


def import_llama_cpp() -> Any:
    """The `llama_cpp` module, its logs routed to ours; BackendUnavailable naming the extra
    when it is not installed, or the library when it does not load."""
    global _log_callback
    _cxx_runtime_first()
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


def gpu_layers_for(requested: int, offload_supported: bool,
                   plan_fits: Callable[[], bool] | None) -> tuple[int, str]:
    """How many layers go to the GPU, and that in words: `requested` when it is a number
    (`[llamacpp] gpu_layers`); for -1 every layer when llama.cpp sees a GPU and `plan_fits()`
    says the plan keeps its headroom, else none."""
    if requested >= 0:
        return requested, f"{requested} layers on the GPU ([llamacpp] gpu_layers)"
    if not offload_supported:
        return 0, "on the CPU (llama.cpp sees no GPU)"
    if plan_fits is not None:
        try:
            fits = plan_fits()
        except Exception as error:  # planning is I/O; its failure must not stop triage
            log.warning("no plan for the GPU offload (%s): layers stay on the CPU", error)
            return 0, f"on the CPU: no plan ({error})"
        if not fits:
            return 0, ("on the CPU: the plan misses its headroom on the GPU (set "
                       "[llamacpp] gpu_layers to offload anyway)")
    return -1, "every layer on the GPU"


class LlamaCppEngine:
    """One GGUF in llama.cpp, loaded on the first batch. `plan_fits` is asked once, at load,
    when `gpu_layers` is -1 (see `gpu_layers_for`)."""

    def __init__(self, path: str, *, num_ctx: int, gpu_layers: int = -1,
                 flash_attention: bool = False, kv_cache_type: str = "f16", threads: int = 0,
                 plan_fits: Callable[[], bool] | None = None, model: str = "") -> None:
        self.path = Path(path)
        self.model = model or path
        self.num_ctx = num_ctx
        self.gpu_layers = gpu_layers
        self.flash_attention = flash_attention
        self.kv_cache_type = kv_cache_type
        self.threads = threads
        self._plan_fits = plan_fits
        self.loaded: _LoadedModel | None = None

    def load(self) -> _LoadedModel:
        if self.loaded is not None:
            return self.loaded
        path = self.path
        llama_cpp = import_llama_cpp()
        layers, placement = gpu_layers_for(self.gpu_layers,
                                           bool(llama_cpp.llama_supports_gpu_offload()),
                                           self._plan_fits)
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
        # /dev/null while loading; its prints go to the log.
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
        self.loaded = _LoadedModel(llama_cpp, llama, template, placement)
        return self.loaded

    def close(self) -> None:
        if self.loaded is not None:
            self.loaded.llama.close()
            self.loaded = None

    def run_batch(self, messages: list[dict[str, str]], schema: dict[str, Any],
                  on_text: Callable[[str], None], *, max_tokens: int, temperature: float,
                  timeout: float) -> BatchReply:
        """`messages` as sent (the system prompt already in them)."""
        loaded = self.load()
        prompt = loaded.prompt_tokens(messages)
        reserve = max(max_tokens, 1)
        room = self.num_ctx - reserve
        if len(prompt) > room:
            raise PromptTooLong(
                f"{LABEL}: the prompt is {len(prompt)} tokens by the model's tokenizer; "
                f"{room} fit beside the {reserve}-token reply reserve in num_ctx "
                f"{self.num_ctx}", prompt_tokens=len(prompt), context_limit=self.num_ctx)
        text, generated, finish = loaded.generate(
            prompt, loaded.grammar(schema), temperature=temperature, max_tokens=reserve,
            on_text=on_text, deadline=ReplyDeadline(timeout, LABEL))
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
