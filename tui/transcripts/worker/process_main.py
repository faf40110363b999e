"""The worker process's entry point: `worker_main` is what the parent's `WorkerProcess`
spawns (by module path, so it must stay a module-level function here).

It ties the process to its parent's life, sends its output to the log file, pins itself to
the configured card before CUDA starts, and serves (content_hash, path) requests through
one resident `WhisperxSession` until told to stop: local Whisper through the
cross-file scheduler, a remote ASR server one file at a time.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from tui.budget.placement import pin_process
from tui.transcripts.options import TranscribeOptions
from tui.transcripts.worker.scheduler import CrossFileScheduler
from tui.transcripts.worker.session import WhisperxSession


def _redirect_output(log_path: str) -> None:
    """Send this process's stdout/stderr (native libraries' too) to the log file: under the
    dashboard, anything printed would scribble over the screen."""
    descriptor = os.open(log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    os.dup2(descriptor, 1)
    os.dup2(descriptor, 2)
    os.close(descriptor)


def _die_with_parent() -> None:
    """If the dashboard is killed (SIGKILL, OOM killer), take the worker and its VRAM too."""
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        pr_set_pdeathsig = 1
        libc.prctl(pr_set_pdeathsig, 9)  # SIGKILL
    except (OSError, AttributeError):
        pass  # not Linux: the closed request pipe still ends the worker


def worker_main(options: dict[str, Any], requests: Any, events: Any,
                log_path: str | None = None) -> None:
    """Entry point of the spawned process: serve (content_hash, path) requests until None."""
    _die_with_parent()
    if log_path:
        _redirect_output(log_path)
    logging.basicConfig(level=logging.WARNING,
                        format="%(asctime)s %(levelname)s whisperx-worker %(name)s: %(message)s")
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
    transcribe_options = TranscribeOptions(**options)
    # Before torch or CTranslate2 initialise CUDA: every model of the worker (Whisper,
    # alignment, diarization) then lands on the one configured card.
    pin_process(transcribe_options.gpu, os.environ)
    session = WhisperxSession(transcribe_options, events.put)
    if transcribe_options.asr_backend != "openai":
        CrossFileScheduler(session, transcribe_options.batch_size).serve(requests)
        return
    # A remote ASR server batches on its side: one file at a time, in order.
    while True:
        try:
            request = requests.get()
        except (EOFError, OSError):  # the parent is gone
            break
        if request is None:
            break
        content_hash, path = request
        session.transcribe_file(content_hash, path)
