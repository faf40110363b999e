"""Logging to a file under the XDG state dir; the terminal belongs to the UI."""

from __future__ import annotations

import logging
import logging.handlers
from pathlib import Path

from tui.adapters.private_files import make_private_dir, make_private_file
from tui.paths import default_log_file

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def setup_logging(log_file: Path | None = None, level: int = logging.INFO) -> Path:
    path = log_file or default_log_file()
    make_private_dir(path.parent)
    handler = logging.handlers.RotatingFileHandler(path, maxBytes=5_000_000, backupCount=3,
                                                   encoding="utf-8")
    make_private_file(path)  # verdicts and failures name senders and subjects
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    root = logging.getLogger()
    root.handlers = [h for h in root.handlers
                     if not isinstance(h, logging.handlers.RotatingFileHandler)]
    root.addHandler(handler)
    root.setLevel(level)
    # httpx logs every request line (with URLs) at INFO: keep it to warnings.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    return path


class _WithoutTraceback(logging.Formatter):
    """A terminal gets one line per problem; the traceback stays in the log file."""

    def format(self, record: logging.LogRecord) -> str:
        plain = logging.makeLogRecord(record.__dict__)
        plain.exc_info = plain.exc_text = plain.stack_info = None
        return super().format(plain)


def console_handler() -> logging.Handler:
    """stderr for the headless commands (`watch`): time and message, never a traceback."""
    handler = logging.StreamHandler()
    handler.setFormatter(_WithoutTraceback("%(asctime)s %(message)s"))
    return handler
