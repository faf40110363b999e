"""What the runtime reports besides the pipelines' own events: services starting, the checks,
the plan, and how a stop went. Plain values, so views import them without the runtime."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tui.check_result import CheckResult
    from tui.planning.service import PlanResult


@dataclass(frozen=True)
class ServiceStarted:
    """A service came up (ok) or could not start (the reason in `detail`)."""

    name: str      # "watcher" or "IMAP"
    ok: bool
    detail: str


@dataclass(frozen=True)
class ChecksDone:
    """`triage-tui doctor`'s checks came back (the status line starts from them)."""

    results: tuple[CheckResult, ...]


@dataclass(frozen=True)
class PlanComputed:
    """The GPU budget for this config and the cards NVML sees, or why there is none."""

    result: PlanResult | None
    error: str | None = None


@dataclass(frozen=True)
class StoppedCleanly:
    """What `Services.stop` found: every thread joined and the worker process gone."""

    threads_alive: tuple[str, ...]
    worker_alive: bool

    @property
    def ok(self) -> bool:
        return not self.threads_alive and not self.worker_alive
