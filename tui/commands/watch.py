"""`triage-tui watch`: the drop folder, headless (systemd, tmux)."""

from __future__ import annotations

import logging
import signal
import sys
import threading
from typing import TYPE_CHECKING

from tui.transcripts.events import StepUnavailable

if TYPE_CHECKING:
    from tui.config import Config

log = logging.getLogger(__name__)


def _not_reported_twice(record: logging.LogRecord) -> bool:
    """The runtime logs a service that failed to start with its traceback, and reports it
    to us as a `ServiceStarted(ok=False)`, which `run_watch` prints as one clear line."""
    return not (record.name.startswith("tui.runtime") and record.exc_info)


def run_watch(config: Config) -> int:
    """Headless watcher for systemd or tmux: progress goes to stderr and the log file."""
    from tui.logs import console_handler
    from tui.runtime.events import ServiceStarted
    from tui.runtime.services import Services
    from tui.transcripts.model_check import missing_model_reason
    from tui.transcripts.options import TranscribeOptions

    console = console_handler()
    console.addFilter(_not_reported_twice)
    logging.getLogger("tui").addHandler(console)

    options = TranscribeOptions.from_config(config.whisperx)
    if options.asr_backend == "whisperx":
        reason = missing_model_reason(options.model, options.model_dir)
        if reason is not None:  # said now; each file would fail with it
            log.warning("%s", reason)

    def report(event: object) -> None:
        if isinstance(event, StepUnavailable):
            log.warning("%s (fix: %s)", event.reason, event.fix)
        elif isinstance(event, ServiceStarted) and not event.ok:
            print(f"triage-tui watch: {event.detail}", file=sys.stderr)

    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    with Services(config, role="watch") as services:
        started = services.start_transcripts(report)
        if not started.ok:
            return 1
        # Each finished transcript is summarised as it goes, when [summaries] enabled.
        if services.start_summaries(report) is not None:
            log.info("summaries on: each finished transcript is summarised by %s",
                     services.llm_backend().label)
        log.info("watching %s; outputs to %s; Ctrl-C stops", config.paths.drop_folder,
                 services.output_dir)
        stop.wait()
    return 0
