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

from tui.adapters.child_process import die_with_parent, redirect_output
from tui.budget.placement import pin_process
from tui.transcripts.options import TranscribeOptions
from tui.transcripts.worker.scheduler import CrossFileScheduler
from tui.transcripts.worker.session import WhisperxSession


def worker_main(options: dict[str, Any], requests: Any, events: Any,
                log_path: str | None = None) -> None:
    """Entry point of the spawned process: serve (content_hash, path) requests until None."""
    die_with_parent()
    if log_path:
        redirect_output(log_path)
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
