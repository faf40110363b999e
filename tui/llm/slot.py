"""One LLM slot, two jobs: mail triage and meeting summaries take turns on the same server,
with the same num_ctx and one sequence (the plan's OLLAMA_NUM_PARALLEL=1 / `-np 1`), so the
summaries cost no GPU memory beyond what the plan already counts.

Mail goes first. A summary holds the slot for one call (one pass: a chunk or a reduce) and
asks again for the next one; while mail is waiting, or has been announced (new mail stored,
the triage thread about to wake), a summary does not get the slot. So a new mail waits at
most for the one summary call in flight.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Literal

Job = Literal["mail", "summary"]

# An announcement that no triage round picked up within this time is dropped, so summaries
# never wait forever on mail that the triage thread will not send (its server is down, its
# mail all deferred).
ANNOUNCEMENT_SECONDS = 30.0


class LlmSlot:
    """A lock with a priority: `use("mail")` waits only for the call in flight; `use("summary")`
    also waits while mail waits or is announced. Thread-safe; never held across anything but
    LLM calls."""

    def __init__(self, announcement_seconds: float = ANNOUNCEMENT_SECONDS) -> None:
        self._condition = threading.Condition()
        self._holder: Job | None = None
        self._mail_waiting = 0
        self._announced_until = 0.0
        self._announcement_seconds = announcement_seconds

    @property
    def holder(self) -> Job | None:
        with self._condition:
            return self._holder

    def announce_mail(self) -> None:
        """Mail arrived and a triage round will follow: summaries hold back until it starts
        (or ANNOUNCEMENT_SECONDS pass)."""
        with self._condition:
            self._announced_until = time.monotonic() + self._announcement_seconds

    def _mail_first(self) -> bool:
        return self._mail_waiting > 0 or time.monotonic() < self._announced_until

    def acquire(self, job: Job, *, stop: threading.Event | None = None) -> bool:
        """Take the slot; False when `stop` was set while waiting (nothing taken)."""
        with self._condition:
            if job == "mail":
                self._mail_waiting += 1
            try:
                while self._holder is not None or (job == "summary" and self._mail_first()):
                    if stop is not None and stop.is_set():
                        return False
                    # Wake at least every 0.2 s: announcements expire, `stop` gets set.
                    self._condition.wait(0.2)
                self._holder = job
                if job == "mail":
                    self._announced_until = 0.0
                return True
            finally:
                if job == "mail":
                    self._mail_waiting -= 1

    def release(self) -> None:
        with self._condition:
            self._holder = None
            self._condition.notify_all()

    @contextmanager
    def use(self, job: Job, *, stop: threading.Event | None = None) -> Iterator[bool]:
        """`with slot.use("summary", stop=event) as got:` — `got` is False when stopped."""
        got = self.acquire(job, stop=stop)
        try:
            yield got
        finally:
            if got:
                self.release()
