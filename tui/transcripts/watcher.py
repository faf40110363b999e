"""Watch the drop folder with watchdog and hand over files once they are complete.

Events only say "look here": every candidate is re-checked by size and mtime until it has
been stable for `stable_seconds` (writers that never close, rsync temp names, slow scp).
A periodic scan of the folder catches what events miss (network mounts send none for remote
writes) and files present at start-up. Duplicate events are harmless: the pipeline queues by
content hash.

A writer may pause for longer than `stable_seconds` without renaming (a slow upload, a
recorder flushing every few seconds): the file then looks complete before it is. A file
that changes after it was handed over is reported at once (`on_changed`: the pipeline drops
the stale version, cancelling it if running) and handed over again once it has stopped
changing — for that file the wait is now twice the longest pause seen (up to
`MAX_LEARNED_SECONDS`), so a writer that keeps pausing yields one more version, not one per
pause.
"""

from __future__ import annotations

import errno
import logging
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer
from watchdog.observers.polling import PollingObserver

from tui.transcripts.drop_folder import prepare_drop_folder
from tui.transcripts.readiness import StabilityTracker, is_candidate

log = logging.getLogger(__name__)

CHECK_INTERVAL_SECONDS = 0.5
RESCAN_INTERVAL_SECONDS = 30.0
# The longest stability wait learned from a writer's pauses.
MAX_LEARNED_SECONDS = 120.0


class WatchLimitReached(Exception):
    pass


class _Handler(FileSystemEventHandler):
    def __init__(self, notice: Callable[[Path], None]) -> None:
        self._notice = notice

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.is_directory:
            return
        # A move into the folder (the `.part` → final rename) names the file at dest_path.
        target = getattr(event, "dest_path", "") or event.src_path
        self._notice(Path(str(target)))


class DropFolderWatcher:
    def __init__(self, folder: Path, patterns: list[str], on_ready: Callable[[Path], None], *,
                 recursive: bool = False, stable_seconds: float = 2.0,
                 rescan_seconds: float = RESCAN_INTERVAL_SECONDS,
                 on_changed: Callable[[Path], None] | None = None) -> None:
        self.folder = folder
        self.patterns = patterns
        self.on_ready = on_ready
        self.on_changed = on_changed
        self.recursive = recursive
        self.rescan_seconds = rescan_seconds
        self.stable_seconds = stable_seconds
        self._tracker = StabilityTracker(stable_seconds)
        self._pending: set[Path] = set()
        self._taken: dict[Path, tuple[int, int]] = {}
        # Per handed-over file: when it last changed before the hand-over; files that changed
        # after it: since when; and the stability wait learned from their writer's pauses.
        self._settled_at: dict[Path, float] = {}
        self._changing: set[Path] = set()
        self._windows: dict[Path, float] = {}
        self._lock = threading.Lock()
        self._started_threads: list[threading.Thread] = []
        self._stop = threading.Event()
        self._observer: Observer | PollingObserver | None = None
        self._thread: threading.Thread | None = None
        self.using_polling = False

    def _notice(self, path: Path) -> None:
        if is_candidate(path, self.patterns):
            with self._lock:
                self._pending.add(path)

    def _scan(self) -> Iterator[Path]:
        pattern = "**/*" if self.recursive else "*"
        for path in self.folder.glob(pattern):
            if path.is_file() and is_candidate(path, self.patterns):
                yield path

    def rescan(self) -> None:
        for path in self._scan():
            self._notice(path)

    def _check_pending(self) -> None:
        now = time.monotonic()
        with self._lock:
            pending = list(self._pending)
        for path in pending:
            key = str(path)
            try:
                stat = path.stat()
            except FileNotFoundError:  # renamed or deleted before it settled
                with self._lock:
                    self._pending.discard(path)
                self._tracker.forget(key)
                continue
            except OSError as error:  # a symlink loop, no permission: skip this entry only
                log.warning("cannot stat %s: %s", path, error.strerror or error)
                with self._lock:
                    self._pending.discard(path)
                self._tracker.forget(key)
                continue
            signature = (stat.st_size, stat.st_mtime_ns)
            taken = self._taken.get(path)
            if taken == signature:
                # Already handed over unchanged; a rescan or a stray event is not a new file.
                with self._lock:
                    self._pending.discard(path)
                continue
            if taken is not None and path not in self._changing:
                self._changed_after_handover(path, now)
            window = self._windows.get(path)
            if self._tracker.observe(key, stat.st_size, stat.st_mtime_ns, now, window):
                with self._lock:
                    self._pending.discard(path)
                self._settled_at[path] = self._tracker.unchanged_since(key) or now
                self._tracker.forget(key)
                self._taken[path] = signature
                self._changing.discard(path)
                try:
                    self.on_ready(path)
                except Exception:  # the watcher keeps running whatever one file does
                    log.exception("handling %s failed", path)

    def _changed_after_handover(self, path: Path, now: float) -> None:
        """A file handed over as complete changed again: its writer had only paused. Learn
        the pause, and tell the pipeline, which drops the version it has."""
        self._changing.add(path)
        pause = now - self._settled_at.get(path, now)
        if 2 * pause <= MAX_LEARNED_SECONDS:  # longer: a new recording under the same name
            window = max(self._windows.get(path, self.stable_seconds), 2 * pause)
            self._windows[path] = window
            log.info("%s changed after it was taken (a pause of %.1f s in writing it): taken "
                     "again once it has not changed for %.1f s", path, pause, window)
        if self.on_changed is not None:
            try:
                self.on_changed(path)
            except Exception:  # the watcher keeps running whatever one file does
                log.exception("handling the change of %s failed", path)

    def _start_observer(self) -> None:
        observer: Observer | PollingObserver = Observer()
        observer.schedule(_Handler(self._notice), str(self.folder), recursive=self.recursive)
        try:
            observer.start()
        except OSError as error:
            if error.errno not in (errno.ENOSPC, errno.EMFILE):
                raise
            # inotify's per-user limits (fs.inotify.max_user_watches, max_user_instances)
            # are used up: poll instead of failing.
            log.warning("inotify limit reached (%s); polling %s instead (raise "
                        "fs.inotify.max_user_watches / max_user_instances to get events)",
                        error.strerror or error, self.folder)
            observer = PollingObserver(timeout=2)
            observer.schedule(_Handler(self._notice), str(self.folder),
                              recursive=self.recursive)
            observer.start()
            self.using_polling = True
        self._observer = observer
        self._started_threads.append(observer)

    def start(self) -> None:
        self._stop.clear()
        prepare_drop_folder(self.folder)  # DropFolderUnusable says why, with the fix
        self._start_observer()
        self.rescan()
        self._thread = threading.Thread(target=self._run, name="drop-folder-watcher",
                                        daemon=True)
        self._thread.start()
        self._started_threads.append(self._thread)
        log.info("watching %s (%s)", self.folder,
                 "polling" if self.using_polling else "events")

    def _run(self) -> None:
        last_scan = time.monotonic()
        while not self._stop.wait(CHECK_INTERVAL_SECONDS):
            if time.monotonic() - last_scan >= self.rescan_seconds:
                self.rescan()
                last_scan = time.monotonic()
            self._check_pending()

    def stop(self) -> None:
        self._stop.set()
        if self._observer is not None:
            self._observer.stop()
            self._observer.join(timeout=5)
            self._observer = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def live_threads(self) -> list[str]:
        """Threads this watcher started that still run (none once `stop` returned)."""
        return [thread.name for thread in self._started_threads if thread.is_alive()]
