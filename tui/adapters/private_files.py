"""State, logs and transcripts hold the user's mail and speech: private to the user (0600 files,
0700 folders), whatever the umask, and tightened when an older run left them readable."""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path

PRIVATE_UMASK = 0o077
PRIVATE_DIR_MODE = 0o700
PRIVATE_FILE_MODE = 0o600


def make_private_dir(path: Path) -> Path:
    """Create `path` (and missing parents) as 0700; an existing folder is left as it is
    unless it has no other owner than us and is group/world readable, then it is tightened."""
    missing = [parent for parent in (path, *path.parents) if not parent.exists()]
    for folder in reversed(missing):
        with contextlib.suppress(FileExistsError):
            folder.mkdir(mode=PRIVATE_DIR_MODE)
        os.chmod(folder, PRIVATE_DIR_MODE)  # mkdir's mode is masked by the umask
    if path not in missing:
        _tighten(path, PRIVATE_DIR_MODE)
    return path


def make_private_file(path: Path) -> None:
    """0600 for a file that exists (a database, its WAL, a log)."""
    if path.exists():
        _tighten(path, PRIVATE_FILE_MODE)


def _tighten(path: Path, mode: int) -> None:
    info = path.stat()
    if info.st_uid == os.getuid() and stat.S_IMODE(info.st_mode) & 0o077:
        os.chmod(path, stat.S_IMODE(info.st_mode) & mode)
