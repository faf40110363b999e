"""Logging to a file under the XDG state dir; the terminal belongs to the UI."""

from __future__ import annotations

import logging
import logging.handlers
from pathlib import Path

from tui.paths import default_log_file

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def setup_logging(log_file: Path | None = None, level: int = logging.INFO) -> Path:
    path = log_file or default_log_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.handlers.RotatingFileHandler(path, maxBytes=5_000_000, backupCount=3,
                                                   encoding="utf-8")
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    root = logging.getLogger()
    root.handlers = [h for h in root.handlers
                     if not isinstance(h, logging.handlers.RotatingFileHandler)]
    root.addHandler(handler)
    root.setLevel(level)
    # httpx logs every request line (with URLs) at INFO: keep it to warnings.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    return path
