"""How transcript lines look, without Textual: timestamps, speakers, their colours."""

from __future__ import annotations

import zlib

from tui.transcripts.records import StoredSegment

SPEAKER_STYLES = ("bold cyan", "bold magenta", "bold green", "bold yellow", "bold blue",
                  "bold red", "bold bright_cyan", "bold bright_magenta")


def clock(seconds: float) -> str:
    total = max(0, int(seconds))
    return f"{total // 3600:02d}:{total % 3600 // 60:02d}:{total % 60:02d}"


def speaker_style(speaker: str) -> str:
    """The same speaker label gets the same colour everywhere, run after run."""
    return SPEAKER_STYLES[zlib.crc32(speaker.encode()) % len(SPEAKER_STYLES)]


def speaker_label(segment: StoredSegment, names: dict[str, str]) -> str | None:
    if not segment.speaker:
        return None
    return names.get(segment.speaker, segment.speaker)


def transcript_line(segment: StoredSegment, names: dict[str, str]) -> tuple[str, str | None, str]:
    """(timestamp, speaker or None, text) for `[hh:mm:ss] SPEAKER_00: text`."""
    return f"[{clock(segment.start)}]", speaker_label(segment, names), segment.text
