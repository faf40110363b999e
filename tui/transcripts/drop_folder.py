"""Can the drop folder be used: a folder that exists, or one that can be created?

Shared by the watcher (which creates it, and must say clearly why it cannot) and `doctor`
(which must not call a folder fine when a parent on its path is a file).
"""

from __future__ import annotations

import os
from pathlib import Path

FIX = "set [paths] drop_folder to a folder you can create and write"


class DropFolderUnusable(Exception):
    """The drop folder is not a folder and cannot be made one; the message says why."""


def drop_folder_problem(folder: Path) -> str | None:
    """Why `folder` cannot be the drop folder, or None; looks only, creates nothing."""
    if folder.exists():
        return None if folder.is_dir() else f"the drop folder {folder} is a file, not a folder"
    if folder.is_symlink():
        return f"the drop folder {folder} is a broken symbolic link"
    # The nearest part of the path that exists must be a folder we may create folders in.
    ancestor = next((parent for parent in folder.parents if parent.exists()), None)
    if ancestor is None:
        return f"cannot create the drop folder {folder}: no part of its path exists"
    if not ancestor.is_dir():
        return f"cannot create the drop folder {folder}: {ancestor} is a file, not a folder"
    if not os.access(ancestor, os.W_OK | os.X_OK):
        return (f"cannot create the drop folder {folder}: no permission to create folders "
                f"in {ancestor}")
    return None


def prepare_drop_folder(folder: Path) -> None:
    """Create the drop folder if needed; `DropFolderUnusable` (with the fix) when it cannot
    be done."""
    problem = drop_folder_problem(folder)
    if problem is None:
        try:
            folder.mkdir(parents=True, exist_ok=True)
            return
        except OSError as error:
            problem = f"cannot create the drop folder {folder}: {error.strerror or error}"
    raise DropFolderUnusable(f"{problem} (fix: {FIX})")
