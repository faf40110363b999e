"""The summary planner: map chunks by the mail batch rule, a reduce tree over the notes."""

from __future__ import annotations

import itertools

import pytest

from tui.budget.batch_fit import fixed_prompt_tokens
from tui.mail.batching import TokenCalibration
from tui.summaries.planner import (
    PlanError,
    line_tokens,
    map_chunks,
    note_tokens_bound,
    plan_summary,
    reduce_fan_in,
    summary_fixed_tokens,
)
from tui.summaries.prompt import LONGEST_TASK, SUMMARY_SYSTEM_PROMPT


def lines(count: int, width: int = 80) -> list[str]:
    return [f"[{i * 4.0:.1f}] SPEAKER_0{i % 3}: " + "w" * width for i in range(count)]


def test_the_fixed_part_is_the_mail_batch_rule() -> None:
    assert summary_fixed_tokens() == fixed_prompt_tokens(SUMMARY_SYSTEM_PROMPT, LONGEST_TASK)


def test_a_short_meeting_is_one_pass() -> None:
    plan = plan_summary(lines(5), num_ctx=8192, reserve=2048)
    assert plan.total == 1 and plan.final.kind == "map"
    assert (plan.final.first, plan.final.last) == (0, 4)


@pytest.mark.parametrize(("num_ctx", "reserve"), [(2048, 448), (4096, 1024), (8192, 2048)])
def test_every_map_chunk_fits_and_ends_at_a_segment(num_ctx: int, reserve: int) -> None:
    text = lines(400)
    calibration = TokenCalibration(factor=1.3)
    chunks = map_chunks(text, num_ctx=num_ctx, reserve=reserve, calibration=calibration)
    assert chunks[0][0] == 0 and chunks[-1][1] == len(text) - 1
    for (_, last), (first, _) in itertools.pairwise(chunks):
        assert first == last + 1                    # contiguous, nothing dropped
    for first, last in chunks:
        used = calibration.apply(summary_fixed_tokens()) + sum(
            calibration.apply(line_tokens(line)) for line in text[first:last + 1])
        assert used + reserve <= num_ctx
        if last + 1 < len(text):                    # greedy: the next line would not fit
            assert used + calibration.apply(line_tokens(text[last + 1])) + reserve > num_ctx


def test_the_reduce_tree_merges_every_note_once_up_to_one_summary() -> None:
    plan = plan_summary(lines(400), num_ctx=2048, reserve=448)
    assert plan.fan_in == reduce_fan_in(2048, 448) == 2
    maps = [p for p in plan.passes if p.kind == "map"]
    reduces = [p for p in plan.passes if p.kind == "reduce"]
    consumed = [i for p in reduces for i in p.inputs]
    assert sorted(consumed) == sorted(p.index for p in plan.passes if p is not plan.final)
    for reduce in reduces:
        assert 2 <= len(reduce.inputs) <= plan.fan_in
        assert all(i < reduce.index for i in reduce.inputs)   # inputs run first
    assert plan.total == len(maps) + len(reduces)
    # n notes and fan-in k: a tree of n − 1 merges at most … and exactly for k = 2.
    assert len(reduces) == len(maps) - 1


def test_the_fan_in_counts_whole_replies_beside_the_prompt() -> None:
    num_ctx, reserve = 8192, 1024
    k = reduce_fan_in(num_ctx, reserve)
    room = num_ctx - reserve - summary_fixed_tokens()
    assert k * note_tokens_bound(reserve) <= room < (k + 1) * note_tokens_bound(reserve)


def test_a_calibration_that_grows_means_more_passes() -> None:
    text = lines(400)
    plain = plan_summary(text, num_ctx=4096, reserve=1024)
    calibrated = plan_summary(text, num_ctx=4096, reserve=1024,
                              calibration=TokenCalibration(factor=1.5))
    assert calibrated.map_passes > plain.map_passes


def test_what_cannot_fit_says_what_to_change() -> None:
    with pytest.raises(PlanError, match="raise \\[budget\\] num_ctx"):
        plan_summary(lines(3, width=9000), num_ctx=2048, reserve=448)
    with pytest.raises(PlanError, match="cannot be merged"):
        plan_summary(lines(400), num_ctx=2048, reserve=700)
    with pytest.raises(PlanError, match="no segments"):
        plan_summary([], num_ctx=2048, reserve=448)
