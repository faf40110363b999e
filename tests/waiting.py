"""Polling with a deadline, for tests that wait on other threads, processes or servers."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


def wait_until(predicate: Callable[[], T], timeout: float = 15.0, what: str = "a condition",
               interval: float = 0.05) -> T:
    """The predicate's first truthy value; AssertionError naming `what` at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


async def dashboard_settled(pilot: Any, timeout: float = 15.0) -> None:
    """The dashboard's start-up work is done: workers finished, the first GPU reading shown,
    every pipeline event delivered."""
    import asyncio

    app = pilot.app
    await app.workers.wait_for_complete()
    panel = app.query_one("#gpu")
    deadline = asyncio.get_running_loop().time() + timeout
    while panel.reading is None:
        if asyncio.get_running_loop().time() >= deadline:
            raise AssertionError(f"no GPU reading reached the panel within {timeout}s")
        await pilot.pause(0.05)
    await pilot.pause()
