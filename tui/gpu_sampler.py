"""NVML readings on a thread, as events: the dashboard's GPU panel shows them as they come.

Headless like the pipelines: a reading goes to a listener (the dashboard's inbox), never to
a widget. A machine without a GPU gives one `unavailable` reading and no more polls.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

from tui.adapters.nvml import GpuMemorySample, GpuUnavailable

log = logging.getLogger(__name__)

POLL_SECONDS = 2.0
GpuReader = Callable[[], "list[GpuMemorySample] | GpuUnavailable"]


@dataclass(frozen=True)
class GpuReading:
    """The latest NVML poll: samples for every card, or why there are none."""

    samples: tuple[GpuMemorySample, ...] = ()
    unavailable: GpuUnavailable | None = None
    process_names: dict[int, str] | None = None

    def card(self, index: int) -> GpuMemorySample | None:
        return self.samples[index] if index < len(self.samples) else None


def take_reading(reader: GpuReader, process_namer: Callable[[int], str]) -> GpuReading:
    gpus = reader()
    if isinstance(gpus, GpuUnavailable):
        return GpuReading(unavailable=gpus)
    names = {p.pid: process_namer(p.pid) for card in gpus for p in card.processes}
    return GpuReading(samples=tuple(gpus), process_names=names)


class GpuSampler:
    def __init__(self, reader: GpuReader, process_namer: Callable[[int], str],
                 listener: Callable[[object], None], *,
                 interval_seconds: float = POLL_SECONDS) -> None:
        self.reader = reader
        self.process_namer = process_namer
        self.listener = listener
        self.interval_seconds = interval_seconds
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="gpu-sampler", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                reading = take_reading(self.reader, self.process_namer)
            except Exception as error:  # NVML errors are values; anything else is a bug
                log.exception("GPU reading failed")
                reading = GpuReading(unavailable=GpuUnavailable("reading failed", str(error)))
            self.listener(reading)
            if reading.unavailable is not None:
                return  # no GPU (or no driver): nothing will change while we run
            self._stop.wait(self.interval_seconds)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def live_threads(self) -> list[str]:
        return [self._thread.name] if self._thread is not None and self._thread.is_alive() \
            else []
