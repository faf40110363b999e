"""The parent's handle on the WhisperX worker process: start it, feed it files, watch it die.

Runs in the parent (the dashboard, `triage-tui transcribe`/`watch`); the process it spawns
runs `tui.transcripts.worker.process_main.worker_main`. Nothing here imports torch or
whisperx.

`multiprocessing` with the spawn start method (never fork: the parent may hold threads and
CUDA must initialise fresh). Events come back on a queue; if the process dies mid-file (a
native crash, the OOM killer) the file fails with that reason and the next file gets a
fresh worker.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import queue
import sys
import time
from collections.abc import Callable
from typing import Any

from tui.transcripts.events import FileDone, FileFailed, RemoteAsrUnreachable
from tui.transcripts.options import TranscribeOptions

log = logging.getLogger(__name__)

_POLL_SECONDS = 0.2
_STOP_GRACE_SECONDS = 5.0


class WorkerCrashed(Exception):
    pass


def _has_real_fileno(stream: object) -> bool:
    try:
        return stream is not None and stream.fileno() >= 0  # type: ignore[attr-defined]
    except (AttributeError, OSError, ValueError):
        return False


def _ensure_resource_tracker() -> None:
    """Start multiprocessing's resource tracker with a real stderr.

    The tracker is spawned with `sys.stderr.fileno()` among its inherited descriptors; under
    Textual, sys.stderr is a capture object without one ("bad value(s) in fds_to_keep").
    """
    from multiprocessing import resource_tracker

    if _has_real_fileno(sys.stderr):
        resource_tracker.ensure_running()
        return
    saved = sys.stderr
    with open(os.devnull, "w", encoding="utf-8") as devnull:
        sys.stderr = sys.__stderr__ if _has_real_fileno(sys.__stderr__) else devnull
        try:
            resource_tracker.ensure_running()
        finally:
            sys.stderr = saved


class WorkerProcess:
    """One WhisperX worker process, seen from the parent: started on the first file,
    stopped when idle (`idle_unload_seconds`) or asked, restarted after a crash."""

    def __init__(self, options: TranscribeOptions, idle_unload_seconds: float = 0.0,
                 log_path: str | None = None) -> None:
        self.options = options
        self.log_path = log_path
        self.idle_unload_seconds = idle_unload_seconds
        self._context = multiprocessing.get_context("spawn")
        self._process: Any = None
        self._requests: Any = None
        self._events: Any = None
        self._last_used = time.monotonic()
        self._cancelled = False
        self._cancel_file: str | None = None

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

        _ensure_resource_tracker()
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

    def _kill(self) -> None:
        """End the worker now, mid-file: what it was doing is abandoned."""
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

    def cancel_file(self, content_hash: str | None) -> None:
        """Abandon the run of `content_hash` (its file changed): `transcribe` kills the worker
        within a poll and raises `WorkerCrashed`; the next file gets a fresh worker. Any
        thread may call it, before the run starts too; None withdraws the request."""
        self._cancel_file = content_hash

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

    def transcribe(self, content_hash: str, path: str,
                   on_event: Callable[[object], None]
                   ) -> FileDone | FileFailed | RemoteAsrUnreachable:
        """Run one file through the worker, passing every event on; returns the last one."""
        self._cancelled = False
        try:
            if self._cancel_file == content_hash:
                raise WorkerCrashed("cancelled: the file changed")
            self.start()
            self._requests.put((content_hash, path))
            while True:
                if self._cancel_file == content_hash:
                    log.info("cancelling the run of %s: its file changed", content_hash[:12])
                    self._kill()
                    raise WorkerCrashed("cancelled: the file changed")
                try:
                    event = self._events.get(timeout=_POLL_SECONDS)
                except queue.Empty:
                    if not self._process.is_alive():
                        code = self._process.exitcode
                        self._process = None
                        if self._cancelled:
                            raise WorkerCrashed("cancelled") from None
                        return FileFailed(content_hash, f"the WhisperX worker died (exit code "
                                                        f"{code}) while on this file",
                                          kind="crash")
                    continue
                if isinstance(event, (FileDone, FileFailed, RemoteAsrUnreachable)):
                    return event
                on_event(event)
        finally:
            if self._cancel_file == content_hash:
                self._cancel_file = None
            self._last_used = time.monotonic()
