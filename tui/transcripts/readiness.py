"""When a dropped file is complete: pure rules, no file system access.

Writers over scp, rsync and Samba may never close the file we watch, use temporary names,
or pause mid-copy; a file is taken only when its name is final and its size and mtime have
not changed for `stable_seconds`.
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass, field
from pathlib import PurePath

# .part (browsers, curl, wget), .tmp, .crdownload (Chrome), .partial, .download (Safari),
# ~ (editors); rsync writes ".name.XXXXXX" beside the final name.
_TEMPORARY_SUFFIXES = (".part", ".tmp", ".crdownload", ".partial", ".download", "~", ".swp")
_RSYNC_TEMPORARY = re.compile(r"^\..+\.[A-Za-z0-9]{6}$")


def is_temporary_name(name: str) -> bool:
    lowered = name.lower()
    return (
        lowered.startswith(".")
        or lowered.endswith(_TEMPORARY_SUFFIXES)
        or bool(_RSYNC_TEMPORARY.match(name))
    )


def is_candidate(path: PurePath, patterns: list[str]) -> bool:
    """A file we should transcribe once it is stable: a final name matching a pattern."""
    name = path.name
    if is_temporary_name(name):
        return False
    lowered = name.lower()
    return any(fnmatch.fnmatch(lowered, pattern.lower()) for pattern in patterns)


@dataclass
class _Observation:
    size: int
    mtime_ns: int
    unchanged_since: float


@dataclass
class StabilityTracker:
    """Remembers each pending file's last size/mtime; ready once unchanged long enough."""

    stable_seconds: float
    _seen: dict[str, _Observation] = field(default_factory=dict)

    def observe(self, key: str, size: int, mtime_ns: int, now: float,
                stable_seconds: float | None = None) -> bool:
        """True once `key` has kept its size and mtime for `stable_seconds` (this file's
        own wait, e.g. one learned from its writer's pauses; default the tracker's)."""
        wait = self.stable_seconds if stable_seconds is None else stable_seconds
        previous = self._seen.get(key)
        if previous is None or (previous.size, previous.mtime_ns) != (size, mtime_ns):
            self._seen[key] = _Observation(size, mtime_ns, now)
            return wait <= 0
        # An empty file that stays empty is taken too: it then fails with a clear reason
        # instead of sitting in the folder unexplained.
        return now - previous.unchanged_since >= wait

    def unchanged_since(self, key: str) -> float | None:
        """When `key` was last seen to change (None if not tracked)."""
        seen = self._seen.get(key)
        return seen.unchanged_since if seen else None

    def forget(self, key: str) -> None:
        self._seen.pop(key, None)

    @property
    def pending(self) -> list[str]:
        return list(self._seen)
