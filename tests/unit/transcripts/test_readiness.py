"""Pure readiness rules: which names are candidates, and when a file counts as stable."""

from __future__ import annotations

from pathlib import PurePath

import pytest

from tui.transcripts.readiness import StabilityTracker, is_candidate, is_temporary_name

AUDIO = ["*.wav", "*.mp3", "*.m4a"]


@pytest.mark.parametrize(
    "name",
    [
        "talk.wav.part",  # browsers, curl, wget
        "talk.wav.PART",  # suffix check must ignore case
        "talk.wav.tmp",
        "talk.wav.crdownload",  # Chrome
        "talk.wav.partial",
        "talk.wav.download",  # Safari
        "talk.wav~",  # editor backups
        "talk.wav.swp",
        ".talk.wav.AbC123",  # rsync's temporary name beside the final one
        ".talk.wav",  # hidden
        ".DS_Store",
    ],
)
def test_temporary_names_are_recognised(name: str) -> None:
    assert is_temporary_name(name)
    assert not is_candidate(PurePath("/drop") / name, AUDIO)


@pytest.mark.parametrize("name", ["talk.wav", "Talk Final.mp3", "meeting.2024-05-01.m4a"])
def test_final_names_are_not_temporary(name: str) -> None:
    assert not is_temporary_name(name)


@pytest.mark.parametrize("name", ["talk.wav", "TALK.WAV", "Talk.Wav", "call.MP3", "x.m4a"])
def test_matching_names_are_candidates_whatever_their_case(name: str) -> None:
    assert is_candidate(PurePath("/drop") / name, AUDIO)


def test_patterns_themselves_are_case_insensitive() -> None:
    # A user writing "*.WAV" in the config still expects lower-case files to be picked up.
    assert is_candidate(PurePath("talk.wav"), ["*.WAV"])
    assert is_candidate(PurePath("TALK.wav"), ["*.Wav"])


@pytest.mark.parametrize("name", ["notes.txt", "talk.wav.txt", "talk.wave", "talk", "wav"])
def test_non_matching_names_are_not_candidates(name: str) -> None:
    assert not is_candidate(PurePath("/drop") / name, AUDIO)


def test_no_patterns_means_no_candidates() -> None:
    assert not is_candidate(PurePath("talk.wav"), [])


def test_only_the_file_name_is_judged_not_its_folder() -> None:
    # A hidden or dotted parent folder must not turn a final name into a temporary one.
    assert is_candidate(PurePath("/home/u/.cache/drop.part/talk.wav"), AUDIO)


class FakeClock:
    """Injected time so stability is tested without sleeping."""

    def __init__(self) -> None:
        self.now = 1000.0

    def advance(self, seconds: float) -> float:
        self.now += seconds
        return self.now


def test_ready_only_after_unchanged_for_stable_seconds() -> None:
    clock = FakeClock()
    tracker = StabilityTracker(stable_seconds=2.0)
    assert not tracker.observe("a", 100, 5, clock.now)  # first sight is never enough
    assert not tracker.observe("a", 100, 5, clock.advance(1.0))
    # Binary-exact steps so "exactly 2.0 s" is not blurred by float rounding.
    assert not tracker.observe("a", 100, 5, clock.advance(0.75))
    assert tracker.observe("a", 100, 5, clock.advance(0.25))  # exactly 2.0 s unchanged
    assert tracker.observe("a", 100, 5, clock.advance(10.0))  # and stays ready


def test_size_change_resets_the_wait() -> None:
    clock = FakeClock()
    tracker = StabilityTracker(stable_seconds=2.0)
    tracker.observe("a", 100, 5, clock.now)
    assert not tracker.observe("a", 200, 5, clock.advance(1.5))  # grew: start over
    assert not tracker.observe("a", 200, 5, clock.advance(1.5))  # 1.5 s since the growth
    assert tracker.observe("a", 200, 5, clock.advance(0.5))


def test_mtime_change_alone_resets_the_wait() -> None:
    # Writers that overwrite in place keep the size; the mtime still shows activity.
    clock = FakeClock()
    tracker = StabilityTracker(stable_seconds=2.0)
    tracker.observe("a", 100, 5, clock.now)
    assert not tracker.observe("a", 100, 6, clock.advance(1.75))
    assert not tracker.observe("a", 100, 6, clock.advance(1.75))
    assert tracker.observe("a", 100, 6, clock.advance(0.25))


def test_shrinking_also_resets_the_wait() -> None:
    clock = FakeClock()
    tracker = StabilityTracker(stable_seconds=1.0)
    tracker.observe("a", 100, 5, clock.now)
    assert not tracker.observe("a", 0, 5, clock.advance(5.0))  # truncated for a re-copy


def test_zero_stable_seconds_is_ready_at_once() -> None:
    tracker = StabilityTracker(stable_seconds=0)
    assert tracker.observe("a", 100, 5, 0.0)
    assert tracker.observe("a", 100, 5, 0.0)
    assert tracker.observe("a", 120, 6, 0.0)  # even a change is ready immediately


def test_empty_file_that_stays_empty_becomes_ready() -> None:
    # It is handed over so it can fail with a clear reason rather than linger unexplained.
    clock = FakeClock()
    tracker = StabilityTracker(stable_seconds=1.0)
    assert not tracker.observe("empty", 0, 7, clock.now)
    assert tracker.observe("empty", 0, 7, clock.advance(1.0))


def test_files_are_tracked_independently() -> None:
    clock = FakeClock()
    tracker = StabilityTracker(stable_seconds=1.0)
    tracker.observe("a", 1, 1, clock.now)
    tracker.observe("b", 1, 1, clock.advance(0.5))
    clock.advance(0.5)
    assert tracker.observe("a", 1, 1, clock.now)
    assert not tracker.observe("b", 1, 1, clock.now)


def test_forget_drops_the_history_and_pending_lists_keys() -> None:
    clock = FakeClock()
    tracker = StabilityTracker(stable_seconds=1.0)
    tracker.observe("a", 1, 1, clock.now)
    tracker.observe("b", 1, 1, clock.now)
    assert sorted(tracker.pending) == ["a", "b"]
    tracker.forget("a")
    tracker.forget("missing")  # forgetting an unknown key is harmless
    assert tracker.pending == ["b"]
    # After forgetting, the next sighting is a first sighting again.
    assert not tracker.observe("a", 1, 1, clock.advance(5.0))
