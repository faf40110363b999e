"""The real DropFolderWatcher (watchdog's inotify observer) on a temporary folder.

Every wait polls against a deadline, so a test ends as soon as its condition holds. To show
that something was *not* handed over, a later "sentinel" file is awaited instead of sleeping:
the watcher checks all pending files in the same pass, so once the sentinel has arrived an
earlier file would have arrived too.
"""

from __future__ import annotations

import errno
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import tui.transcripts.watcher as watcher_module
from tui.transcripts.watcher import DropFolderWatcher

PATTERNS = ["*.wav", "*.mp3"]
# A catch-all pattern matches temporary names too ("talk.wav.part" never matches "*.wav"),
# so with it only the temporary-name rules keep a half-written file from being taken.
CATCH_ALL = ["*"]
DEADLINE_SECONDS = 8.0


def wait_until(condition: Callable[[], bool], timeout: float = DEADLINE_SECONDS,
               interval: float = 0.05) -> bool:
    """Poll `condition` until it holds or the deadline passes; returns its last value."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(interval)
    return condition()


class Collector:
    """on_ready that records each hand-over (thread-safe: it runs on the watcher's thread)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: list[tuple[Path, int, float]] = []

    def __call__(self, path: Path) -> None:
        # The size at hand-over proves the file was complete when it was given to us.
        try:
            size = path.stat().st_size
        except FileNotFoundError:
            size = -1  # handed over a file that does not exist: a bug the tests catch
        with self._lock:
            self._items.append((path, size, time.monotonic()))

    @property
    def items(self) -> list[tuple[Path, int, float]]:
        with self._lock:
            return list(self._items)

    @property
    def names(self) -> list[str]:
        return [path.name for path, _, _ in self.items]

    def has(self, name: str) -> bool:
        return name in self.names


WatcherFactory = Callable[..., DropFolderWatcher]


@pytest.fixture
def drop(tmp_path: Path) -> Path:
    folder = tmp_path / "drop"
    folder.mkdir()
    return folder


@pytest.fixture
def collector() -> Collector:
    return Collector()


@pytest.fixture
def make_watcher(drop: Path, collector: Collector) -> Iterator[WatcherFactory]:
    """Start real watchers; always stop them, even when an assertion fails mid-test."""
    started: list[DropFolderWatcher] = []

    def make(on_ready: Callable[[Path], None] | None = None, *, start: bool = True,
             patterns: list[str] = PATTERNS, **kwargs: Any) -> DropFolderWatcher:
        kwargs.setdefault("stable_seconds", 0.5)
        watcher = DropFolderWatcher(drop, patterns, on_ready or collector, **kwargs)
        started.append(watcher)
        if start:
            watcher.start()
        return watcher

    yield make
    for watcher in started:
        watcher.stop()


def count_rescans(watcher: DropFolderWatcher) -> Callable[[], int]:
    """Wrap the instance's rescan so a test can wait for N periodic scans to have run."""
    calls = [0]
    original = watcher.rescan

    def counting() -> None:
        original()
        calls[0] += 1

    watcher.rescan = counting  # type: ignore[method-assign]
    return lambda: calls[0]


def test_slowly_written_file_is_handed_over_once_after_the_last_chunk(
        drop: Path, collector: Collector, make_watcher: WatcherFactory) -> None:
    make_watcher(stable_seconds=1.0)
    target = drop / "talk.wav"
    chunk = b"\x01" * 4096
    # Like scp or Samba: one open file, written in bursts with pauses shorter than
    # stable_seconds, so the watcher must keep waiting.
    with target.open("wb", buffering=0) as stream:
        for n in range(6):
            if n:
                time.sleep(0.3)
            stream.write(chunk)
            assert not collector.items, f"handed over after only {n + 1} chunks"
        last_write = time.monotonic()
    final_size = target.stat().st_size
    assert final_size == 6 * len(chunk)

    assert wait_until(lambda: collector.has("talk.wav"))
    (drop / "sentinel.wav").write_bytes(b"s")
    assert wait_until(lambda: collector.has("sentinel.wav"))

    talk = [item for item in collector.items if item[0].name == "talk.wav"]
    assert len(talk) == 1, talk
    path, size_at_handover, handed_at = talk[0]
    assert path == target
    assert size_at_handover == final_size
    assert handed_at - last_write >= 0.9  # it waited out stable_seconds after completion


def test_part_file_renamed_is_handed_over_under_its_final_name_only(
        drop: Path, collector: Collector, make_watcher: WatcherFactory) -> None:
    make_watcher(stable_seconds=0.5, patterns=CATCH_ALL)
    partial = drop / "talk.wav.part"
    with partial.open("wb", buffering=0) as stream:
        for n in range(3):
            if n:
                time.sleep(0.35)  # long enough together to outlast stable_seconds
            stream.write(b"\x02" * 2048)
        # The finished .part sits unchanged over two check passes (0.5 s apart), which is
        # stable enough to be taken if its name were acceptable.
        time.sleep(1.1)
    partial.rename(drop / "talk.wav")

    assert wait_until(lambda: collector.has("talk.wav"))
    (drop / "sentinel.wav").write_bytes(b"s")
    assert wait_until(lambda: collector.has("sentinel.wav"))
    assert collector.names.count("talk.wav") == 1
    assert "talk.wav.part" not in collector.names
    path, size, _ = next(item for item in collector.items if item[0].name == "talk.wav")
    assert path == drop / "talk.wav"
    assert size == 3 * 2048


def test_files_present_at_start_up_are_handed_over(
        drop: Path, collector: Collector, make_watcher: WatcherFactory) -> None:
    # Dropped while the app was not running: no event will ever come for these.
    (drop / "one.wav").write_bytes(b"1" * 10)
    (drop / "two.MP3").write_bytes(b"2" * 20)
    (drop / "left.wav.part").write_bytes(b"p")
    (drop / "notes.txt").write_text("not audio")
    make_watcher(stable_seconds=0.5)

    assert wait_until(lambda: {"one.wav", "two.MP3"} <= set(collector.names))
    (drop / "sentinel.wav").write_bytes(b"s")
    assert wait_until(lambda: collector.has("sentinel.wav"))
    assert sorted(collector.names) == ["one.wav", "sentinel.wav", "two.MP3"]


def test_rsync_temporary_name_is_never_handed_over(
        drop: Path, collector: Collector, make_watcher: WatcherFactory) -> None:
    make_watcher(stable_seconds=0.5, patterns=CATCH_ALL)
    temporary = drop / ".talk.wav.XyZ123"  # rsync writes here, then renames
    with temporary.open("wb", buffering=0) as stream:
        stream.write(b"\x03" * 1000)
        # Unchanged over two check passes: stability alone would take it; the name must not.
        time.sleep(1.1)
        stream.write(b"\x03" * 1000)
    temporary.rename(drop / "talk.wav")

    assert wait_until(lambda: collector.has("talk.wav"))
    (drop / "sentinel.wav").write_bytes(b"s")
    assert wait_until(lambda: collector.has("sentinel.wav"))
    assert sorted(collector.names) == ["sentinel.wav", "talk.wav"]
    assert next(size for path, size, _ in collector.items if path.name == "talk.wav") == 2000


def test_non_matching_files_are_ignored(
        drop: Path, collector: Collector, make_watcher: WatcherFactory) -> None:
    make_watcher(stable_seconds=0.5, rescan_seconds=0.5)
    (drop / "notes.txt").write_text("meeting notes")
    (drop / "talk.wav.txt").write_text("still text")
    (drop / "sentinel.wav").write_bytes(b"s")
    assert wait_until(lambda: collector.has("sentinel.wav"))
    assert collector.names == ["sentinel.wav"]


def test_subfolder_files_are_ignored_unless_recursive(
        drop: Path, collector: Collector, make_watcher: WatcherFactory) -> None:
    sub = drop / "sub"
    sub.mkdir()
    (sub / "before.wav").write_bytes(b"b")
    watcher = make_watcher(stable_seconds=0.5, rescan_seconds=0.5, start=False)
    rescans = count_rescans(watcher)
    watcher.start()
    (sub / "inner.wav").write_bytes(b"i")
    (drop / "top.wav").write_bytes(b"t")
    assert wait_until(lambda: collector.has("top.wav"))
    # Let a few periodic scans pass too, so the scan cannot pick the subfolder up either.
    done = rescans()
    assert wait_until(lambda: rescans() >= done + 3)
    assert collector.names == ["top.wav"]


def test_recursive_watcher_hands_over_subfolder_files(
        drop: Path, collector: Collector, make_watcher: WatcherFactory) -> None:
    (drop / "old").mkdir()
    (drop / "old" / "before.wav").write_bytes(b"b")
    make_watcher(stable_seconds=0.5, recursive=True)
    (drop / "old" / "inner.wav").write_bytes(b"i")
    nested = drop / "new" / "deeper"
    nested.mkdir(parents=True)  # a folder created while watching gets watched too
    (nested / "deep.wav").write_bytes(b"d")
    (nested / "deep.wav.part").write_bytes(b"p")

    expected = {"before.wav", "inner.wav", "deep.wav"}
    assert wait_until(lambda: expected <= set(collector.names))
    paths = {path for path, _, _ in collector.items}
    assert nested / "deep.wav" in paths
    assert drop / "old" / "inner.wav" in paths
    assert "deep.wav.part" not in collector.names


def test_unchanged_file_is_not_handed_over_twice_by_the_rescan(
        drop: Path, collector: Collector, make_watcher: WatcherFactory) -> None:
    watcher = make_watcher(stable_seconds=0.5, rescan_seconds=0.5, start=False)
    rescans = count_rescans(watcher)
    watcher.start()
    target = drop / "talk.wav"
    target.write_bytes(b"\x04" * 500)
    assert wait_until(lambda: collector.has("talk.wav"))

    # Reading it (as the pipeline does to hash it) sends open/close events but no change.
    target.read_bytes()
    done = rescans()
    # _run rescans and then checks pending in the same pass: after done+3 scans, at least
    # two full rescan-and-check passes have happened since the hand-over.
    assert wait_until(lambda: rescans() >= done + 3)
    assert collector.names == ["talk.wav"]


def test_file_deleted_before_it_settled_is_never_handed_over(
        drop: Path, collector: Collector, make_watcher: WatcherFactory) -> None:
    make_watcher(stable_seconds=1.0, rescan_seconds=0.5)
    doomed = drop / "doomed.wav"
    doomed.write_bytes(b"\x05" * 100)
    time.sleep(0.6)  # one check pass (0.5 s) sees it, well short of stable_seconds
    doomed.unlink()
    (drop / "sentinel.wav").write_bytes(b"s")
    assert wait_until(lambda: collector.has("sentinel.wav"))
    assert collector.names == ["sentinel.wav"]


def test_on_ready_failing_for_one_file_does_not_stop_the_watcher(
        drop: Path, collector: Collector, make_watcher: WatcherFactory,
        caplog: pytest.LogCaptureFixture) -> None:
    attempted: list[str] = []

    def on_ready(path: Path) -> None:
        attempted.append(path.name)
        if path.name == "bad.wav":
            raise RuntimeError("decoder exploded")
        collector(path)

    caplog.set_level(logging.ERROR, logger=watcher_module.__name__)
    make_watcher(on_ready, stable_seconds=0.5)
    (drop / "bad.wav").write_bytes(b"b")
    assert wait_until(lambda: "bad.wav" in attempted)
    (drop / "good.wav").write_bytes(b"g")
    assert wait_until(lambda: collector.has("good.wav"))
    assert attempted.count("bad.wav") == 1  # a failure is not retried in a loop
    assert "bad.wav" in caplog.text  # and the failure is logged, not swallowed silently


def test_unreadable_candidate_does_not_stop_the_watcher(
        drop: Path, collector: Collector, make_watcher: WatcherFactory) -> None:
    make_watcher(stable_seconds=0.5)
    # A name that matches but cannot be stat()ed: a symlink pointing at itself.
    os.symlink("loop.wav", drop / "loop.wav")
    time.sleep(0.6)  # one check pass meets it before the next file arrives
    (drop / "good.wav").write_bytes(b"g")
    # A short deadline: good.wav normally arrives in about a second.
    assert wait_until(lambda: collector.has("good.wav"), timeout=3.0)
    assert "loop.wav" not in collector.names


class _WatchLimitObserver:
    """Stands in for the inotify Observer when fs.inotify.max_user_watches is used up."""

    instances: list[_WatchLimitObserver] = []

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.scheduled: list[tuple[Any, ...]] = []
        _WatchLimitObserver.instances.append(self)

    def schedule(self, *args: Any, **kwargs: Any) -> None:
        self.scheduled.append(args)

    def start(self) -> None:
        # The same error watchdog's inotify_c raises for ENOSPC from inotify_add_watch.
        raise OSError(errno.ENOSPC, "inotify watch limit reached")

    def stop(self) -> None:
        pass

    def join(self, timeout: float | None = None) -> None:
        pass


def test_inotify_watch_limit_falls_back_to_polling(
        drop: Path, collector: Collector, make_watcher: WatcherFactory,
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    _WatchLimitObserver.instances = []
    monkeypatch.setattr(watcher_module, "Observer", _WatchLimitObserver)
    caplog.set_level(logging.WARNING, logger=watcher_module.__name__)
    before = set(threading.enumerate())
    # The rescan is left at its 30 s default: only the polling observer can see the file.
    watcher = make_watcher(stable_seconds=0.5)

    assert _WatchLimitObserver.instances, "the inotify observer was never tried"
    assert watcher.using_polling
    assert "max_user_watches" in caplog.text  # the limit is reported with its remedy

    (drop / "talk.wav").write_bytes(b"\x06" * 300)
    assert wait_until(lambda: collector.has("talk.wav"))

    started = time.monotonic()
    watcher.stop()
    assert time.monotonic() - started < 2.0
    assert wait_until(lambda: not (set(threading.enumerate()) - before), timeout=2.0)


def test_stop_is_prompt_and_leaves_no_threads(
        drop: Path, collector: Collector, make_watcher: WatcherFactory) -> None:
    before = set(threading.enumerate())
    watcher = make_watcher(stable_seconds=0.5)
    assert not watcher.using_polling  # inotify works here, so this is the event path
    assert set(threading.enumerate()) - before, "start() should have started threads"
    (drop / "talk.wav").write_bytes(b"t")
    assert wait_until(lambda: collector.has("talk.wav"))

    started = time.monotonic()
    watcher.stop()
    assert time.monotonic() - started < 2.0
    leftover = set(threading.enumerate()) - before
    assert not leftover, [thread.name for thread in leftover]
    watcher.stop()  # stopping twice is harmless (the fixture stops it again too)


def test_stop_without_start_is_harmless(make_watcher: WatcherFactory) -> None:
    watcher = make_watcher(start=False)
    started = time.monotonic()
    watcher.stop()
    assert time.monotonic() - started < 0.5


def test_start_creates_a_missing_drop_folder(
        tmp_path: Path, collector: Collector) -> None:
    folder = tmp_path / "not" / "yet"
    watcher = DropFolderWatcher(folder, PATTERNS, collector, stable_seconds=0.5)
    watcher.start()
    try:
        assert folder.is_dir()
        (folder / "talk.wav").write_bytes(os.urandom(64))
        assert wait_until(lambda: collector.has("talk.wav"))
    finally:
        watcher.stop()
