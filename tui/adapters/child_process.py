"""What a process that runs native inference code for us needs, on both sides: spawn it
(never fork: the parent holds threads, and CUDA must initialise fresh), keep multiprocessing's
resource tracker happy under Textual, tie the child to the parent's life, send its output
(native libraries' too) to the log file, and say in words how it ended.

Used by the WhisperX worker (`tui/transcripts/worker/handle.py`, `process_main.py`) and the
embedded llama.cpp engine (`tui/llm/llamacpp_process.py`).
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import sys
import threading
import time
from typing import Any


def spawn_context() -> Any:
    """multiprocessing with the spawn start method."""
    return multiprocessing.get_context("spawn")


def _has_real_fileno(stream: object) -> bool:
    try:
        return stream is not None and stream.fileno() >= 0  # type: ignore[attr-defined]
    except (AttributeError, OSError, ValueError):
        return False


def ensure_resource_tracker() -> None:
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


def die_with_parent(poll_seconds: float = 1.0) -> None:
    """In the child: if the parent dies (SIGKILL, OOM killer), end this process and free its
    VRAM too, within `poll_seconds`.

    A watching thread, not PR_SET_PDEATHSIG: Linux sends that signal when the *thread* that
    spawned the child ends, and the thread that starts a child here (a batch's) may end long
    before the parent does (seen: an engine killed between two batches). Native code that
    holds no GIL (llama.cpp's calls through ctypes release it) does not stop the watch."""
    parent = os.getppid()

    def watch() -> None:
        while True:
            time.sleep(poll_seconds)
            if os.getppid() != parent:
                os._exit(1)

    threading.Thread(target=watch, name="die-with-parent", daemon=True).start()


def redirect_output(log_path: str) -> None:
    """In the child: stdout and stderr (native libraries' too) to the log file: under the
    dashboard, anything printed would scribble over the screen."""
    descriptor = os.open(log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    os.dup2(descriptor, 1)
    os.dup2(descriptor, 2)
    os.close(descriptor)


def how_it_ended(exitcode: int | None) -> str:
    """A child's end in words: "signal 11, SIGSEGV", "exit code 3"."""
    if exitcode is None:
        return "still running"
    if exitcode < 0:
        try:
            name = signal.Signals(-exitcode).name
        except ValueError:
            return f"signal {-exitcode}"
        return f"signal {-exitcode}, {name}"
    return f"exit code {exitcode}"
