"""A model download in words, for the transcript pane and `triage-tui models pull`. Pure."""

from __future__ import annotations

from tui.transcripts.events import ModelDownload


def human_bytes(count: int) -> str:
    for unit, size in (("GB", 10**9), ("MB", 10**6), ("kB", 10**3)):
        if count >= size:
            return f"{count / size:.1f} {unit}"
    return f"{count} B"


def describe_download(event: ModelDownload) -> str:
    """`downloading large-v3: model.bin 38 % (1.2 GB of 3.1 GB)`, for people."""
    percent = event.percent
    if percent is None:
        return f"downloading {event.model}: {event.file} {human_bytes(event.done_bytes)}"
    verb = "downloaded" if event.finished else "downloading"
    return (f"{verb} {event.model}: {event.file} {int(percent)} % "
            f"({human_bytes(event.done_bytes)} of {human_bytes(event.total_bytes)})")
