"""One owner of a state database at a time: an OS file lock held for the process's life.

Two processes on one database would both "resume" the file or the mail batch the other is
working on, and do it twice (on a GPU, with a second WhisperX beside the planned one). The
kernel's `flock` is released when the owner exits, however it exits (kill -9 included), so
no stale lock is ever left to clean up. The lock file names the owner, so a refusal can say
who holds it.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import time
from pathlib import Path

from tui.adapters.private_files import PRIVATE_FILE_MODE, make_private_dir


class StateInUse(Exception):
    """Another process owns this state database; the message names it."""

    def __init__(self, database: Path, owner: dict[str, object]) -> None:
        self.database = database
        self.owner = owner
        pid = owner.get("pid", "?")
        command = owner.get("command") or "triage-tui"
        since = owner.get("since")
        started = time.strftime("%H:%M:%S", time.localtime(float(since))) \
            if isinstance(since, (int, float)) else "an unknown time"
        super().__init__(
            f"{database} is in use by `{command}` (pid {pid}, since {started}); stop it "
            "first (one process owns a state database at a time), or give this one another "
            "[paths] database")


def lock_path_for(database: Path) -> Path:
    return database.with_name(database.name + ".lock")


class StateLock:
    def __init__(self, database: Path, command: str = "triage-tui") -> None:
        self.database = database
        self.path = lock_path_for(database)
        self.command = command
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self) -> None:
        """Take the lock or raise `StateInUse` naming the owner; never waits."""
        if self._fd is not None:
            return
        make_private_dir(self.path.parent)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, PRIVATE_FILE_MODE)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            owner = _read_owner(fd)
            os.close(fd)
            raise StateInUse(self.database, owner) from None
        os.ftruncate(fd, 0)
        os.write(fd, json.dumps({"pid": os.getpid(), "command": self.command,
                                 "since": time.time()}).encode())
        self._fd = fd

    def release(self) -> None:
        if self._fd is None:
            return
        with contextlib.suppress(OSError):
            os.ftruncate(self._fd, 0)
        os.close(self._fd)  # closing the descriptor drops the flock
        self._fd = None


def _read_owner(fd: int) -> dict[str, object]:
    try:
        os.lseek(fd, 0, os.SEEK_SET)
        owner = json.loads(os.read(fd, 4096) or b"{}")
    except (OSError, ValueError):
        return {}
    return owner if isinstance(owner, dict) else {}
