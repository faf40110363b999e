"""Pipeline events from any thread, handed to the UI thread a burst at a time."""

from __future__ import annotations

import threading
from collections.abc import Callable


class EventInbox:
    """Threads `put` events; the first event of a burst calls `notify` (which posts one
    message to the app); the UI thread `take`s everything that arrived meanwhile. Widgets are
    only ever touched on the UI thread, by whoever takes."""

    def __init__(self, notify: Callable[[], None]) -> None:
        self._notify = notify
        self._events: list[object] = []
        self._lock = threading.Lock()
        self._notified = False

    def put(self, event: object) -> None:
        with self._lock:
            self._events.append(event)
            if self._notified:
                return
            self._notified = True
        self._notify()

    def take(self) -> list[object]:
        with self._lock:
            events, self._events = self._events, []
            self._notified = False
        return events
