"""One triage batch through llama.cpp (llama-cpp-python) for a box without Ollama: the GGUF
file, or the Ollama model's own blob found by name, loaded once in a process of its own.

This module is the side the pipeline talks to; llama.cpp runs in a spawned child
(`llamacpp_process`, serving `llamacpp_engine.LlamaCppEngine`), never in the dashboard's
process, as WhisperX runs in its worker: a native crash of llama.cpp (measured: a segfault on
an H200, bench/GPU-RESULTS.md) ends the child, costs the batch in flight, which the pipeline
defers and retries, and the next batch starts a fresh engine. The dashboard never imports
llama_cpp or initialises CUDA for it; the engine's VRAM is its own process's in NVML, and goes
back to the card when the engine stops.

What the child is sent per batch: the messages (with the system prompt), the verdict schema,
the reply reserve, temperature and deadline; what comes back: the streamed text, then the
reply or the error (BackendUnavailable, ModelMissing, PromptTooLong with its numbers). The
plan's word on the GPU offload is asked here, before the engine starts (it reads NVML and the
GGUF header), and handed to it. One call at a time (a lock).
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import importlib.util
import itertools
import logging
import queue
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tui.adapters.child_process import ensure_resource_tracker, how_it_ended, spawn_context
from tui.adapters.ollama_blobs import GgufNotFound, is_gguf_path, locate_gguf
from tui.llm.llamacpp_engine import (
    EXTRA,
    INSTALL,
    LABEL,
    engine_detail,
    gpu_layers_for,
)
from tui.llm.llamacpp_process import ENGINE, decode_error
from tui.llm.protocol import (
    BackendStatus,
    BackendUnavailable,
    BatchReply,
    ModelMissing,
    with_system_prompt,
)

__all__ = ["EXTRA", "INSTALL", "LABEL", "EmbeddedTriageModel", "describe_file",
           "engine_detail"]

log = logging.getLogger(__name__)

_POLL_SECONDS = 0.2
_STOP_GRACE_SECONDS = 5.0
# Starting the engine and reading a model in: a 14 GB GGUF from a cold disk takes minutes.
LOAD_TIMEOUT_SECONDS = 900.0
# Beyond the reply deadline (which the engine enforces between tokens) before the parent
# gives up on a silent engine and stops it.
_DEADLINE_GRACE_SECONDS = 30.0


def describe_file(path: Path) -> str:
    return f"{path.name} ({path.stat().st_size / 2**30:.2f} GiB)"


def _engine_missing() -> str | None:
    """Why llama-cpp-python cannot be used, found without importing it (importing it loads
    llama.cpp's libraries, and with them CUDA, into this process); None when it is there."""
    try:
        spec = importlib.util.find_spec("llama_cpp")
    except (ImportError, ValueError):
        spec = None
    return None if spec is not None else f"llama-cpp-python is not installed: {INSTALL}"


def _engine_version() -> str:
    try:
        return importlib.metadata.version("llama-cpp-python")
    except importlib.metadata.PackageNotFoundError:
        return "?"


class EmbeddedTriageModel:
    label = LABEL

    def __init__(self, model: str, *, num_ctx: int, temperature: float, max_tokens: int,
                 timeout: float, ollama_models: Path | None = None, gpu_layers: int = -1,
                 flash_attention: bool = False, kv_cache_type: str = "f16", threads: int = 0,
                 system_prompt: str = "",
                 plan_fits: Callable[[], bool] | None = None, log_path: str | None = None,
                 engine: str = ENGINE,
                 load_timeout: float = LOAD_TIMEOUT_SECONDS) -> None:
        """`model`: a .gguf path or an Ollama model name (its blob under `ollama_models`).
        `gpu_layers` -1 = every layer when llama.cpp sees a GPU and `plan_fits()` says the
        plan keeps its headroom (asked when the engine starts), else none; a number = that
        many. `system_prompt`: sent when a batch carries no system message, as Ollama sends
        its Modelfile's SYSTEM (there is no Modelfile here). `log_path`: where the engine's
        process writes (llama.cpp's lines, a crash's stack); `engine`: the class it serves
        ("module:Class", the tests' stand-ins)."""
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
        self.log_path = log_path
        self.engine = engine
        self.load_timeout = load_timeout
        self._plan_fits = plan_fits
        self._lock = threading.Lock()
        self._batch_ids = itertools.count(1)
        self._process: Any = None
        self._requests: Any = None
        self._events: Any = None
        self._placement: str | None = None
        self._last_end: str | None = None  # how the last engine ended, when it crashed
        self._closing = False

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

    @property
    def engine_pid(self) -> int | None:
        """The engine process's pid while it runs (the GPU panel, tests)."""
        process = self._process
        return process.pid if process is not None and process.is_alive() else None

    def check(self) -> BackendStatus:
        """The model's file, then llama-cpp-python: two problems, two fixes. Nothing is
        loaded or imported here (the engine starts with the first batch)."""
        try:
            path = self.locate()
        except ModelMissing as error:
            return BackendStatus(False, "model-missing", str(error), self.missing_fix())
        missing = _engine_missing()
        if missing:
            return BackendStatus(False, "unavailable", missing, INSTALL)
        if self.engine_pid is not None and self._placement:
            engine = f"{self._placement} (engine pid {self.engine_pid})"
        else:
            engine = f"llama-cpp-python {_engine_version()}; the engine starts with a batch"
            if self._last_end:
                engine += f" (the last one crashed: {self._last_end})"
        return BackendStatus(True, "ready", f"{describe_file(path)}, num_ctx {self.num_ctx}, "
                                            f"{engine}")

    def _layers(self, llama_cpp: Any) -> tuple[int, str]:
        """Where the layers go for the llama.cpp `llama_cpp` (what the engine decides)."""
        return gpu_layers_for(self.gpu_layers, bool(llama_cpp.llama_supports_gpu_offload()),
                              self._plan_fits)

    # -- the engine process ---------------------------------------------------------------

    def _plan_answer(self) -> bool | str | None:
        if self.gpu_layers >= 0 or self._plan_fits is None:
            return None
        try:
            return bool(self._plan_fits())
        except Exception as error:  # planning is I/O; the engine says "no plan (...)"
            return str(error) or type(error).__name__

    def _start(self, path: Path) -> None:
        if self.engine_pid is not None:
            return
        self._forget()
        self._closing = False  # a close() that killed the last engine mid-batch is over
        from tui.llm.llamacpp_process import engine_main

        ensure_resource_tracker()
        context = spawn_context()
        self._requests, self._events = context.Queue(), context.Queue()
        settings = {"engine": self.engine, "plan_fits": self._plan_answer(), "kwargs": {
            "path": str(path), "model": self.model, "num_ctx": self.num_ctx,
            "gpu_layers": self.gpu_layers, "flash_attention": self.flash_attention,
            "kv_cache_type": self.kv_cache_type, "threads": self.threads}}
        self._process = context.Process(
            target=engine_main, args=(settings, self._requests, self._events, self.log_path),
            name="triage-tui-llamacpp", daemon=True)
        self._process.start()
        log.info("embedded llama.cpp engine started (pid %s) for %s", self._process.pid, path)

    def _forget(self) -> None:
        for channel in (self._requests, self._events):
            if channel is not None:
                channel.close()
                channel.cancel_join_thread()
        self._process = self._requests = self._events = None
        self._placement = None

    def _kill(self) -> None:
        process = self._process
        if process is not None and process.is_alive():
            process.kill()
            process.join(_STOP_GRACE_SECONDS)
        self._forget()

    def close(self) -> None:
        """Stop the engine (its memory goes back); the next batch starts another. With a
        batch in flight (quitting), the engine is killed and that batch goes back to the
        queue."""
        self._closing = True
        if not self._lock.acquire(blocking=False):
            process = self._process
            if process is not None:
                process.kill()
            return
        try:
            process = self._process
            if process is None:
                return
            if process.is_alive():
                with contextlib.suppress(OSError, ValueError):
                    self._requests.put(None)
                process.join(_STOP_GRACE_SECONDS)
                if process.is_alive():
                    process.kill()
                    process.join(_STOP_GRACE_SECONDS)
            self._forget()
        finally:
            self._closing = False
            self._lock.release()

    def _crashed(self) -> BackendUnavailable:
        ended = how_it_ended(self._process.exitcode)
        if self._closing:
            self._forget()
            return BackendUnavailable(f"{LABEL}: the engine was stopped during this batch")
        self._last_end = ended
        self._forget()
        log.error("the embedded llama.cpp engine died (%s) during a batch", ended)
        where = f" ({self.log_path})" if self.log_path else ""
        return BackendUnavailable(
            f"the embedded LLM engine crashed ({ended}) during this batch; the batch goes "
            f"back to the queue and the next one starts a fresh engine; see the log{where}")

    # -- one batch ------------------------------------------------------------------------

    def run_batch(self, messages: list[dict[str, str]], schema: dict[str, Any],
                  on_text: Callable[[str], None]) -> BatchReply:
        messages = with_system_prompt(messages, self.system_prompt)
        path = self.locate()
        missing = _engine_missing()
        if missing:
            raise BackendUnavailable(missing)
        with self._lock:
            self._start(path)
            batch_id = next(self._batch_ids)
            options = {"max_tokens": self.max_tokens, "temperature": self.temperature,
                       "timeout": self.timeout}
            self._requests.put(("batch", batch_id, messages, schema, options))
            return self._await(batch_id, on_text)

    def _await(self, batch_id: int, on_text: Callable[[str], None]) -> BatchReply:
        """The batch's events until its reply or error. A dead engine is a crash; a silent
        one past the deadline, or a batch abandoned here, is stopped (its next batch gets a
        fresh one)."""
        deadline = time.monotonic() + self.load_timeout
        while True:
            try:
                event = self._events.get(timeout=_POLL_SECONDS)
            except queue.Empty:
                if not self._process.is_alive():
                    raise self._crashed() from None
                if time.monotonic() > deadline:
                    self._kill()
                    raise BackendUnavailable(
                        f"{LABEL}: the engine gave no answer in time; it was stopped and the "
                        "next batch starts a fresh one") from None
                continue
            kind, event_id = event[0], event[1]
            if event_id != batch_id:
                continue  # left over from a batch abandoned before
            if kind == "loading":
                deadline = time.monotonic() + self.load_timeout
            elif kind == "started":
                self._placement = event[2]
                deadline = time.monotonic() + self.timeout + _DEADLINE_GRACE_SECONDS
            elif kind == "text":
                try:
                    on_text(event[2])
                except BaseException:  # the batch is abandoned: the engine must not go on
                    self._kill()
                    raise
            elif kind == "reply":
                return BatchReply(*event[2])
            elif kind == "error":
                raise decode_error(*event[2:])
