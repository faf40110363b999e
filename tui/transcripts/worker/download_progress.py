"""A model download the worker starts on demand, shown while it happens.

`whisperx.load_model` (faster-whisper), `load_align_model` (torchaudio or transformers) and
pyannote's pipeline fetch their weights on first use, gigabytes without a word. Wrapped in
`downloads_reported`, each byte update becomes a `ModelDownload` event on the worker's queue
(the transcript pane draws it as a progress line); when nothing needs downloading, nothing is
sent. Nothing is printed: the library's own bars are replaced for the block
(`tui.adapters.hub_downloads.reported_bytes`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from tui.adapters.hub_downloads import reported_bytes
from tui.transcripts.model_pull import DownloadTracker

Emit = Callable[[object], None]


@contextmanager
def downloads_reported(emit: Emit, model: str) -> Iterator[DownloadTracker]:
    """Inside the block, every model download reports its progress to `emit` as
    `ModelDownload(model, file, done_bytes, total_bytes)` events, `model` being what the user
    knows it as ("large-v3", "alignment (en)"). Exceptions pass through unchanged."""
    tracker = DownloadTracker(model, emit)
    with reported_bytes(tracker.update):
        yield tracker
