"""`triage-tui watch`: the drop folder, headless (systemd, tmux)."""

from __future__ import annotations

import logging
import signal
import sys
import threading

from tui.config import Config
from tui.transcripts.events import StepUnavailable

log = logging.getLogger(__name__)


class _ConsoleFormat(logging.Formatter):
    """One line per record on the terminal: a traceback becomes its last line (the full
    one is in the log file, whose handler formats the record on its own)."""

    def format(self, record: logging.LogRecord) -> str:
        if not record.exc_info:
            return super().format(record)
        error = record.exc_info[1]
        line = logging.makeLogRecord({**record.__dict__, "exc_info": None, "exc_text": None})
        text = super().format(line)
        return f"{text}: {type(error).__name__}: {error}" if error is not None else text


def _not_reported_twice(record: logging.LogRecord) -> bool:
    """The runtime logs a service that failed to start with its traceback, and reports it
    to us as a `ServiceStarted(ok=False)`, which `run_watch` prints as one clear line."""
    return not (record.name == "tui.runtime" and record.exc_info)


def run_watch(config: Config) -> int:
    """Headless watcher for systemd or tmux: progress goes to stderr and the log file."""
    from tui.runtime import Services, ServiceStarted
    from tui.transcripts.model_check import missing_model_reason
    from tui.transcripts.options import TranscribeOptions

    console = logging.StreamHandler(sys.stderr)
    console.setFormatter(_ConsoleFormat("%(asctime)s %(message)s"))
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
    with Services(config) as services:
        started = services.start_transcripts(report)
        if not started.ok:
            return 1
        log.info("watching %s; outputs to %s; Ctrl-C stops", config.paths.drop_folder,
                 services.output_dir)
        stop.wait()
    return 0
