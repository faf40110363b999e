"""`triage-tui watch`: the drop folder, headless (systemd, tmux)."""

from __future__ import annotations

import logging
import signal
import threading

from tui.config import Config
from tui.transcripts.events import StepUnavailable

log = logging.getLogger(__name__)


def run_watch(config: Config) -> int:
    """Headless watcher for systemd or tmux: progress goes to stderr and the log file."""
    from tui.logs import console_handler
    from tui.runtime.events import ServiceStarted
    from tui.runtime.services import Services

    logging.getLogger("tui").addHandler(console_handler())

    def report(event: object) -> None:
        if isinstance(event, StepUnavailable):
            log.warning("%s (fix: %s)", event.reason, event.fix)
        elif isinstance(event, ServiceStarted) and not event.ok:
            log.error("triage-tui watch: %s", event.detail)

    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    with Services(config) as services:
        started = services.start_transcripts(report)
        if not started.ok:
            return 1
        log.info("watching %s; outputs to %s; Ctrl-C stops", config.paths.drop_folder,
                 services.output_dir)
        stop.wait()
    return 0
