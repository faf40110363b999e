"""The remote ASR retry schedule, with a hand-driven clock and random source."""

from __future__ import annotations

import email.utils

import pytest

from tui.transcripts.backoff import (
    RetryBackoff,
    backoff_delay,
    display_url,
    retry_after_seconds,
)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_delay_doubles_from_5_s_to_at_most_5_min() -> None:
    assert [backoff_delay(n) for n in range(0, 9)] == [0, 5, 10, 20, 40, 80, 160, 300, 300]
    assert backoff_delay(10_000) == 300  # a week-long outage does not overflow


def test_jitter_only_shortens_the_wait_by_up_to_a_fifth() -> None:
    clock = Clock()
    draws = iter([0.0, 1.0, 0.5])
    backoff = RetryBackoff(random=lambda: next(draws), clock=clock)
    assert backoff.fail() == 5.0  # random 0: the full delay
    assert backoff.fail() == pytest.approx(8.0)  # random 1: 10 s less 20 %
    assert backoff.fail() == pytest.approx(18.0)  # 20 s less 10 %
    assert backoff.failures == 3 and backoff.waiting


def test_the_wait_counts_down_on_the_clock_and_success_resets_it() -> None:
    clock = Clock()
    backoff = RetryBackoff(random=lambda: 0.0, clock=clock)
    assert not backoff.waiting and backoff.remaining() == 0
    backoff.fail()
    backoff.fail()
    assert backoff.remaining() == 10.0
    clock.now += 4
    assert backoff.remaining() == 6.0
    clock.now += 7
    assert backoff.remaining() == 0 and backoff.waiting  # time to try; not answered yet
    assert backoff.succeed() is True
    assert not backoff.waiting and backoff.remaining() == 0
    assert backoff.succeed() is False  # nothing to end
    assert backoff.fail() == 5.0  # the schedule starts again


def test_retry_after_is_honoured_but_never_shortens_the_schedule_or_stalls() -> None:
    clock = Clock()
    backoff = RetryBackoff(random=lambda: 0.0, clock=clock)
    assert backoff.fail(retry_after=42.0) == 42.0  # later than the schedule's 5 s: as asked
    assert backoff.remaining() == 42.0
    assert backoff.fail(retry_after=0.0) == 10.0  # "now": the schedule, not a busy loop
    assert backoff.fail(retry_after=86_400.0) == 300.0  # a bogus day-long wait
    assert backoff.failures == 3


def test_retry_after_headers() -> None:
    now = 1_700_000_000.0
    assert retry_after_seconds({"Retry-After": "7"}, now) == 7.0
    assert retry_after_seconds({"retry-after": "1.5"}, now) == 1.5
    assert retry_after_seconds({"Retry-After-Ms": "250", "Retry-After": "9"}, now) == 0.25
    date = email.utils.formatdate(now + 30, usegmt=True)
    assert retry_after_seconds({"Retry-After": date}, now) == pytest.approx(30.0)
    past = email.utils.formatdate(now - 30, usegmt=True)
    assert retry_after_seconds({"Retry-After": past}, now) == 0.0
    assert retry_after_seconds({"Retry-After": "soon"}, now) is None
    assert retry_after_seconds({}, now) is None


def test_the_url_shown_never_carries_credentials() -> None:
    assert display_url("http://gpu-box:8001/v1") == "http://gpu-box:8001/v1"
    assert display_url("https://user:secret@gpu-box:8001/v1") == "https://gpu-box:8001/v1"
    assert display_url("http://key@[::1]:8001/v1") == "http://[::1]:8001/v1"
