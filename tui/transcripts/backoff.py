"""When to try an unreachable remote ASR server again: exponential backoff with jitter, and
the server's own Retry-After. Pure: the clock and the random source are parameters."""

from __future__ import annotations

import email.utils
import math
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit, urlunsplit

INITIAL_SECONDS = 5.0
MAXIMUM_SECONDS = 300.0


def backoff_delay(failures: int, *, initial: float = INITIAL_SECONDS,
                  maximum: float = MAXIMUM_SECONDS, factor: float = 2.0) -> float:
    """The wait after the `failures`-th failure in a row, before jitter: 5, 10, 20 … 300 s."""
    if failures < 1:
        return 0.0
    # The exponent is bounded so a long outage cannot overflow the float.
    return min(maximum, initial * factor ** min(failures - 1, 64))


def retry_after_seconds(headers: Mapping[str, str], now: float) -> float | None:
    """The server's Retry-After (seconds, or an HTTP date; `retry-after-ms` first, as the
    openai client reads it) as seconds from `now` (wall-clock time); None when absent."""
    lowered = {name.lower(): value for name, value in headers.items()}
    for name, divisor in (("retry-after-ms", 1000.0), ("retry-after", 1.0)):
        value = lowered.get(name)
        if value is None:
            continue
        try:
            seconds = float(value) / divisor
        except ValueError:
            continue
        if math.isfinite(seconds):
            return max(0.0, seconds)
    value = lowered.get("retry-after")
    if not value:
        return None
    try:
        when = email.utils.parsedate_tz(value)
        return None if when is None else max(0.0, email.utils.mktime_tz(when) - now)
    except (TypeError, ValueError, OverflowError):
        return None


@dataclass
class RetryBackoff:
    """The queue's pause while the remote ASR server does not answer.

    `fail()` after each failed try gives the wait before the next one: `backoff_delay`
    shortened by up to `jitter` (20 %) at random, so clients that lost the same server do not
    all come back in the same second. A Retry-After from the server is honoured: never a try
    sooner than it asks (nor sooner than the schedule: "Retry-After: 0" must not make a busy
    loop), and never a wait over `maximum`, so a bogus header cannot stall the queue for
    hours. `succeed()` ends the pause and starts the schedule again from `initial`.
    """

    initial: float = INITIAL_SECONDS
    maximum: float = MAXIMUM_SECONDS
    factor: float = 2.0
    jitter: float = 0.2
    random: Callable[[], float] = field(default=random.random, repr=False)
    clock: Callable[[], float] = field(default=time.monotonic, repr=False)
    failures: int = 0
    retry_at: float | None = None

    def fail(self, retry_after: float | None = None) -> float:
        """Count one failed try; the seconds until the next one (also kept in `retry_at`)."""
        self.failures += 1
        delay = backoff_delay(self.failures, initial=self.initial, maximum=self.maximum,
                              factor=self.factor)
        delay *= 1.0 - self.jitter * self.random()
        if retry_after is not None:
            delay = min(self.maximum, max(delay, retry_after))
        self.retry_at = self.clock() + delay
        return delay

    def succeed(self) -> bool:
        """The server answered: the pause is over. True when there was one to end."""
        was_waiting = self.failures > 0
        self.failures = 0
        self.retry_at = None
        return was_waiting

    @property
    def waiting(self) -> bool:
        """Failed last time and not yet answered since (even if the wait is over)."""
        return self.failures > 0

    def remaining(self) -> float:
        """Seconds until the next try may start; 0 when it may start now."""
        if self.retry_at is None:
            return 0.0
        return max(0.0, self.retry_at - self.clock())


def display_url(url: str) -> str:
    """The server's URL for the status line and logs, without any user:password in it."""
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    if ":" in host:  # IPv6
        host = f"[{host}]"
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))
