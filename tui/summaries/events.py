"""What the summaries tell their subscribers: plain values, so views import them without the
runner."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class SummaryQueued:
    content_hash: str
    reason: str = "transcript finished"


@dataclass(frozen=True)
class SummaryPlanned:
    """The passes this summary takes (known before the first call: see planner.py)."""

    content_hash: str
    map_passes: int
    reduce_passes: int
    done: int = 0      # passes already done (resumed after a restart)


@dataclass(frozen=True)
class SummaryProgress:
    """Pass `index` (0-based) of `total` is running (`percent` of its reply budget streamed)
    or just finished (`finished`)."""

    content_hash: str
    index: int
    total: int
    kind: str
    percent: float = 0.0
    finished: bool = False


@dataclass(frozen=True)
class SummaryRetried:
    content_hash: str
    index: int
    reason: str


@dataclass(frozen=True)
class SummaryReady:
    content_hash: str
    markdown: str
    summary: dict[str, object] = field(default_factory=dict)
    outputs: tuple[str, ...] = ()


@dataclass(frozen=True)
class SummaryFailed:
    content_hash: str
    reason: str


@dataclass(frozen=True)
class SummaryDeferred:
    """The LLM call failed (server down, model missing): the summary waits and tries again."""

    content_hash: str
    reason: str
    retry_in: float
