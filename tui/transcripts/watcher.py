"""Watch the drop folder with watchdog and hand over files once they are complete.

Events only say "look here": every candidate is re-checked by size and mtime until it has
been stable for `stable_seconds` (writers that never close, rsync temp names, slow scp).
A periodic scan of the folder catches what events miss (network mounts send none for remote
writes) and files present at start-up. Duplicate events are harmless: the pipeline queues by
content hash.
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

from tui.transcripts.readiness import StabilityTracker, is_candidate

log = logging.getLogger(__name__)

CHECK_INTERVAL_SECONDS = 0.5
RESCAN_INTERVAL_SECONDS = 30.0


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
                 rescan_seconds: float = RESCAN_INTERVAL_SECONDS) -> None:
        self.folder = folder
        self.patterns = patterns
        self.on_ready = on_ready
        self.recursive = recursive
        self.rescan_seconds = rescan_seconds
        self._tracker = StabilityTracker(stable_seconds)
        self._pending: set[Path] = set()
        self._taken: dict[Path, tuple[int, int]] = {}
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
            if self._taken.get(path) == signature:
                # Already handed over unchanged; a touch or rescan is not a new file.
                with self._lock:
                    self._pending.discard(path)
                continue
            if self._tracker.observe(key, stat.st_size, stat.st_mtime_ns, now):
                with self._lock:
                    self._pending.discard(path)
                self._tracker.forget(key)
                self._taken[path] = signature
                try:
                    self.on_ready(path)
                except Exception:  # the watcher keeps running whatever one file does
                    log.exception("handling %s failed", path)

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
        self.folder.mkdir(parents=True, exist_ok=True)
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
