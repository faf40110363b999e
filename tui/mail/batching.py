"""Cutting the inbox into batches that fit the context window, with room left to answer.

Ollama cuts an over-long prompt silently (FAILURE-MODES.md, Ollama), dropping the system
prompt first, so batches are sized from conservative estimates, and those estimates are
calibrated against the prompt_eval_count Ollama reports.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from tui.budget.tokens import BYTES_PER_TOKEN

T = TypeVar("T")


@dataclass
class TokenCalibration:
    """A factor that turns our token estimates into what the model's tokenizer really counts.

    The rule (conservative, and simple enough to reason about):

    * Every observation gives a ratio actual/estimated. The factor never drops below
      `floor`, which is max(1.0, the largest of the last `window` ratios × (1 + margin)).
    * A ratio above the current factor raises it at once to ratio × (1 + margin): an
      under-estimate risks a silently cut prompt, so it is corrected immediately.
    * Otherwise the factor relaxes by at most `relax` (2 %) per observation towards the floor.

    Never below 1.0, because a low prompt_eval_count is weak evidence: Ollama versions
    and prompt caching have reported only the newly evaluated tokens (ollama/ollama #16428),
    which would make our estimates look too high when they are not.
    """

    factor: float = 1.0
    margin: float = 0.10
    window: int = 20
    relax: float = 0.02
    _recent: deque[float] = field(default_factory=deque, init=False, repr=False)

    def __post_init__(self) -> None:
        if self.factor < 1.0:
            raise ValueError("factor must be at least 1.0")
        if self.window < 1:
            raise ValueError("window must be at least 1")
        self._recent = deque(maxlen=self.window)

    @property
    def bytes_per_token(self) -> float:
        """The estimate's bytes per token as this tokenizer counts them: what a reply of N
        tokens may hold (summary and verdict texts are sized by it)."""
        return BYTES_PER_TOKEN / self.factor

    @property
    def floor(self) -> float:
        """The lowest the factor may relax to, given recent observations."""
        if not self._recent:
            return 1.0
        return max(1.0, max(self._recent) * (1.0 + self.margin))

    def observe(self, estimated: int, actual: int) -> None:
        """Record one request's estimated prompt tokens against Ollama's prompt_eval_count.

        Non-positive values carry no information (a missing or zero count) and are ignored.
        """
        if estimated <= 0 or actual <= 0:
            return
        self._recent.append(actual / estimated)
        floor = self.floor
        if floor >= self.factor:
            self.factor = floor
        else:
            self.factor = max(floor, self.factor * (1.0 - self.relax))

    def apply(self, tokens: int) -> int:
        """Calibrated tokens, rounded up."""
        return math.ceil(tokens * self.factor)


class ItemTooLarge(Exception, Generic[T]):
    """An item whose calibrated size does not fit the room even in a batch of its own."""

    def __init__(self, item: T, tokens: int, room: int) -> None:
        super().__init__(f"item needs {tokens} tokens but a batch has room for {room}")
        self.item = item
        self.tokens = tokens
        self.room = room


def plan_batches(
    items: Sequence[T],
    tokens_of: Callable[[T], int],
    *,
    num_ctx: int,
    fixed_tokens: int,
    generation_reserve: int,
    calibration: TokenCalibration | None = None,
    max_items: int | None = None,
) -> list[list[T]]:
    """Greedy, order-preserving batches whose calibrated total fits `num_ctx`.

    For each batch: apply(fixed_tokens) + Σ apply(tokens_of(item)) + generation_reserve
    <= num_ctx. The calibration applies to the estimates (fixed prompt and items) but not
    to `generation_reserve`, which is a real token budget (num_predict), not an estimate.
    Each item is calibrated and rounded up on its own, which can only over-count.
    Raises ItemTooLarge for an item that cannot fit even alone, and ValueError when the
    fixed part and reserve leave no room at all.
    """
    if num_ctx <= 0:
        raise ValueError(f"num_ctx must be positive, got {num_ctx}")
    if fixed_tokens < 0 or generation_reserve < 0:
        raise ValueError("fixed_tokens and generation_reserve must not be negative")
    if max_items is not None and max_items < 1:
        raise ValueError(f"max_items must be at least 1, got {max_items}")
    calibrate = calibration.apply if calibration is not None else (lambda tokens: tokens)
    room = num_ctx - generation_reserve - calibrate(fixed_tokens)
    if room <= 0:
        raise ValueError(
            f"no room for any email: num_ctx {num_ctx} minus reserve {generation_reserve} "
            f"minus fixed prompt {calibrate(fixed_tokens)} is {room}"
        )

    batches: list[list[T]] = []
    current: list[T] = []
    used = 0
    for item in items:
        estimate = tokens_of(item)
        if estimate < 0:
            raise ValueError(f"tokens_of returned a negative count ({estimate})")
        tokens = calibrate(estimate)
        if tokens > room:
            raise ItemTooLarge(item, tokens, room)
        full = max_items is not None and len(current) >= max_items
        if current and (used + tokens > room or full):
            batches.append(current)
            current, used = [], 0
        current.append(item)
        used += tokens
    if current:
        batches.append(current)
    return batches


def split_batch(batch: list[T]) -> tuple[list[T], list[T]]:
    """Two halves for a retry after a failed batch; the first half gets the odd item."""
    if len(batch) < 2:
        raise ValueError("a batch of fewer than two items cannot be split")
    middle = (len(batch) + 1) // 2
    return batch[:middle], batch[middle:]
