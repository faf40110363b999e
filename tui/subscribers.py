"""Subscribers to a pipeline's events: each is called in turn; one that fails is logged and
never stops the pipeline."""

from __future__ import annotations

import logging
from collections.abc import Callable

log = logging.getLogger(__name__)
Listener = Callable[[object], None]


class Subscribers:
    def __init__(self, name: str) -> None:
        self.name = name
        self._listeners: list[Listener] = []

    def add(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def publish(self, event: object) -> None:
        for listener in list(self._listeners):
            try:
                listener(event)
            except Exception:  # a broken subscriber must not stop the pipeline
                log.exception("%s listener failed on %s", self.name, type(event).__name__)
