"""How a transcript is cut into LLM passes that each fit the context: map passes over runs of
segments, then reduce passes over their notes, recursively, until one summary is left.

The arithmetic is the mail batches' own, not a copy: a map pass is `plan_batches` over the
transcript lines (fixed prompt + lines, calibrated by the server's counts, + the reply
reserve ≤ num_ctx; a line is never split, so chunks end at segment boundaries), and a reduce
pass takes as many notes as `fit_email_batch` fits beside the same fixed prompt and reserve.
A note is a reply, so it is at most `reserve` tokens by the server's own count (a longer
one stopped at `length` and was rejected): the reduce plan uses that bound, which makes the
whole plan known before the first call — the progress bar's total, and what the tests
compare with the passes the server saw.

Pure: no I/O. The estimates are `tui.budget.tokens`', the calibration the mail pipeline's
`TokenCalibration`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from tui.budget.batch_fit import fit_email_batch, fixed_prompt_tokens
from tui.budget.tokens import estimate_tokens
from tui.mail.batching import ItemTooLarge, TokenCalibration, plan_batches
from tui.summaries.prompt import LONGEST_TASK, SUMMARY_SYSTEM_PROMPT

# Estimated tokens around each note in a reduce prompt: `<notes part="12">`, `</notes>` and
# the blank line between notes (about 10; generous, like the mail framing).
NOTE_FRAME_TOKENS = 16

PassKind = Literal["map", "reduce"]


class PlanError(Exception):
    """The transcript cannot be summarised within this budget; the message says why and
    what to change."""


@dataclass(frozen=True)
class PlannedPass:
    index: int
    kind: PassKind
    level: int                        # 0 for map passes, 1.. for reduce levels
    first: int = 0                    # map: the first and last segment (list positions)
    last: int = -1
    inputs: tuple[int, ...] = ()      # reduce: the passes whose notes it merges

    @property
    def segment_count(self) -> int:
        return self.last - self.first + 1 if self.kind == "map" else 0


@dataclass(frozen=True)
class SummaryPlan:
    passes: tuple[PlannedPass, ...]
    fan_in: int                       # notes per reduce pass

    @property
    def map_passes(self) -> int:
        return sum(1 for p in self.passes if p.kind == "map")

    @property
    def reduce_passes(self) -> int:
        return sum(1 for p in self.passes if p.kind == "reduce")

    @property
    def total(self) -> int:
        return len(self.passes)

    @property
    def final(self) -> PlannedPass:
        return self.passes[-1]


def summary_fixed_tokens() -> int:
    """What every pass carries whatever its content: the system prompt, the longest task
    line and the mail batches' framing allowance (`fixed_prompt_tokens`)."""
    return fixed_prompt_tokens(SUMMARY_SYSTEM_PROMPT, LONGEST_TASK)


def line_tokens(line: str) -> int:
    """Estimated tokens of one transcript line in the prompt (its newline included)."""
    return estimate_tokens(line) + 1


def note_tokens_bound(reserve: int) -> int:
    """The most a note can weigh in a reduce prompt, in the server's tokens: one reply (at
    most `reserve` tokens) plus its frame."""
    return reserve + NOTE_FRAME_TOKENS


def reduce_fan_in(num_ctx: int, reserve: int,
                  calibration: TokenCalibration | None = None) -> int:
    """How many notes one reduce pass merges: the mail batch rule with a note for an email."""
    calibrate = calibration.apply if calibration is not None else (lambda tokens: tokens)
    fit = fit_email_batch(num_ctx, system_prompt_tokens=calibrate(summary_fixed_tokens()),
                          email_tokens=note_tokens_bound(reserve),
                          generation_reserve_tokens=reserve)
    return fit.emails


def map_chunks(lines: Sequence[str], *, num_ctx: int, reserve: int,
               calibration: TokenCalibration | None = None) -> list[tuple[int, int]]:
    """(first, last) segment positions of each map pass, in order."""
    try:
        batches = plan_batches(list(range(len(lines))), lambda i: line_tokens(lines[i]),
                               num_ctx=num_ctx, fixed_tokens=summary_fixed_tokens(),
                               generation_reserve=reserve, calibration=calibration)
    except ItemTooLarge as error:
        raise PlanError(f"segment {error.item} alone needs {error.tokens} tokens but a pass "
                        f"has room for {error.room} (num_ctx {num_ctx}, reply reserve "
                        f"{reserve}): raise [budget] num_ctx") from None
    except ValueError as error:
        raise PlanError(f"{error}: raise [budget] num_ctx or lower "
                        "generation_reserve_tokens") from None
    return [(batch[0], batch[-1]) for batch in batches]


def plan_summary(lines: Sequence[str], *, num_ctx: int, reserve: int,
                 calibration: TokenCalibration | None = None) -> SummaryPlan:
    """Every pass of the summary of a transcript of `lines`, in the order they run (each
    reduce after its inputs). Raises PlanError when it cannot fit."""
    if not lines:
        raise PlanError("the transcript has no segments: nothing to summarise")
    if reserve <= 0:
        raise PlanError("[budget] generation_reserve_tokens is 0: no room for the summary")
    chunks = map_chunks(lines, num_ctx=num_ctx, reserve=reserve, calibration=calibration)
    passes = [PlannedPass(i, "map", 0, first=first, last=last)
              for i, (first, last) in enumerate(chunks)]
    fan_in = reduce_fan_in(num_ctx, reserve, calibration)
    if len(passes) > 1 and fan_in < 2:
        raise PlanError(
            f"a {len(lines)}-segment transcript needs {len(passes)} parts, and num_ctx "
            f"{num_ctx} holds {fan_in} note(s) of up to {note_tokens_bound(reserve)} tokens "
            "beside the prompt and the reply reserve, so the notes cannot be merged: raise "
            "[budget] num_ctx or lower generation_reserve_tokens")
    level_inputs = [p.index for p in passes]
    level = 0
    while len(level_inputs) > 1:
        level += 1
        next_inputs: list[int] = []
        for start in range(0, len(level_inputs), fan_in):
            group = tuple(level_inputs[start:start + fan_in])
            if len(group) == 1:
                next_inputs.append(group[0])  # a lone note goes up a level as it is
                continue
            reduce = PlannedPass(len(passes), "reduce", level, inputs=group)
            passes.append(reduce)
            next_inputs.append(reduce.index)
        level_inputs = next_inputs
    return SummaryPlan(tuple(passes), fan_in)
