"""The parent's handle on the WhisperX worker process: start it, feed it files, watch it die.

Runs in the parent (the dashboard, `triage-tui transcribe`/`watch`); the process it spawns
runs `tui.transcripts.worker.process_main.worker_main`. Nothing here imports torch or
whisperx.

`multiprocessing` with the spawn start method (never fork: the parent may hold threads and
CUDA must initialise fresh). Events come back on a queue; if the process dies (a native
crash, the OOM killer) the parent hears `WorkerExited` and decides what happens to the
files it held; the next file gets a fresh worker.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import time
from dataclasses import dataclass
from typing import Any

from tui.adapters.child_process import ensure_resource_tracker, spawn_context
from tui.transcripts.options import TranscribeOptions

log = logging.getLogger(__name__)

_POLL_SECONDS = 0.2
_STOP_GRACE_SECONDS = 5.0


@dataclass(frozen=True)
class WorkerExited:
    """The worker process is gone: `cancelled` when `cancel` (quitting) ended it, else it
    died (a native crash, the OOM killer) with `exit_code`."""

    exit_code: int | None
    cancelled: bool


class WorkerProcess:
    """One WhisperX worker process, seen from the parent: started on the first file,
    stopped when idle (`idle_unload_seconds`) or asked, restarted after a crash. It holds
    several files at once (it batches across them); the parent reads their events in the
    order the worker sends them."""

    def __init__(self, options: TranscribeOptions, idle_unload_seconds: float = 0.0,
                 log_path: str | None = None) -> None:
        self.options = options
        self.log_path = log_path
        self.idle_unload_seconds = idle_unload_seconds
        self._context = spawn_context()
        self._process: Any = None
        self._requests: Any = None
        self._events: Any = None
        self._last_used = time.monotonic()
        self._cancelled = False

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    @property
    def is_running(self) -> bool:
        return self._process is not None and self._process.is_alive()

    def start(self) -> None:
        if self.is_running:
            return
        from tui.transcripts.worker.process_main import worker_main

        ensure_resource_tracker()
        self._requests = self._context.Queue()
        self._events = self._context.Queue()
        self._process = self._context.Process(
            target=worker_main,
            args=(self.options.as_dict(), self._requests, self._events, self.log_path),
            name="triage-tui-whisperx",
            daemon=True,
        )
        self._process.start()
        log.info("WhisperX worker started (pid %s)", self._process.pid)

    def _close_channels(self) -> None:
        for channel in (self._requests, self._events):
            if channel is not None:
                channel.close()
                channel.cancel_join_thread()
        self._requests = self._events = None

    def kill(self) -> None:
        """End the worker now, mid-file: every file it holds is abandoned (the caller puts
        them back); the next file gets a fresh worker."""
        process = self._process
        if process is not None and process.is_alive():
            process.kill()
            process.join(_STOP_GRACE_SECONDS)
        self._process = None
        self._close_channels()

    def stop(self) -> None:
        """Ask the worker to exit (its VRAM goes back to the card); kill it if it hangs."""
        process = self._process
        if process is None:
            return
        if process.is_alive():
            with contextlib.suppress(OSError, ValueError):
                self._requests.put(None)
            process.join(_STOP_GRACE_SECONDS)
            if process.is_alive():
                process.terminate()
                process.join(_STOP_GRACE_SECONDS)
            if process.is_alive():
                process.kill()
                process.join()
        self._process = None
        self._close_channels()

    def cancel(self) -> None:
        """Abandon the file in progress (quitting): the worker is killed, not drained."""
        self._cancelled = True
        if self._process is not None and self._process.is_alive():
            self._process.kill()

    def unload_if_idle(self) -> bool:
        if (self.idle_unload_seconds > 0 and self.is_running
                and time.monotonic() - self._last_used >= self.idle_unload_seconds):
            log.info("WhisperX idle for %ss: unloading models", self.idle_unload_seconds)
            self.stop()
            return True
        return False

    def submit(self, content_hash: str, path: str) -> None:
        """Hand a file to the worker (started if need be); its events follow through
        `next_event`, ending with FileDone, FileFailed or RemoteAsrUnreachable."""
        self._cancelled = False
        self.start()
        self._requests.put((content_hash, path))
        self._last_used = time.monotonic()

    def next_event(self, timeout: float = _POLL_SECONDS) -> object | None:
        """The worker's next event; None when there was none within `timeout`; WorkerExited
        when the process is gone (a crash, or `cancel`)."""
        if self._process is None:
            return WorkerExited(None, self._cancelled)
        try:
            event = self._events.get(timeout=timeout)
        except queue.Empty:
            if self._process.is_alive():
                return None
            code = self._process.exitcode
            self._process = None
            self._close_channels()
            return WorkerExited(code, self._cancelled)
        self._last_used = time.monotonic()
        return event
