"""How transcript lines look, without Textual: timestamps, speakers, their colours, and how a
line wraps (under its text, not under its timestamp)."""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

from rich.console import Console
from rich.text import Text

if TYPE_CHECKING:
    from tui.transcripts.records import StoredSegment

SPEAKER_STYLES = ("bold cyan", "bold magenta", "bold green", "bold yellow", "bold blue",
                  "bold red", "bold bright_cyan", "bold bright_magenta")
# Narrower than this beside the gutter, wrapped lines start at the left edge instead of
# hanging under the text: a column of a few letters is harder to read than no indent.
MIN_HANGING_WIDTH = 20


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


@dataclass(frozen=True)
class LogEntry:
    """One line of a log before wrapping: a gutter (the timestamp) and the body after it."""

    gutter: Text
    body: Text

    @property
    def plain(self) -> str:
        return self.gutter.plain + self.body.plain


def segment_entry(segment: StoredSegment, names: dict[str, str],
                  marked: bool = False) -> LogEntry:
    """`[hh:mm:ss] ` in the gutter; `SPEAKER_00: text` (the speaker in colour) as the body.
    A `marked` line (the segment a search jumped to) has its timestamp in reverse."""
    stamp, speaker, text = transcript_line(segment, names)
    body = Text()
    if speaker:
        body.append(f"{speaker}: ", style=speaker_style(speaker))
    body.append(text)
    return LogEntry(Text(stamp + " ", style="reverse" if marked else "dim"), body)


def transcript_entries(segments: list[StoredSegment], names: dict[str, str],
                       marked_index: int | None = None) -> tuple[list[LogEntry], int | None]:
    """A whole transcript's lines, and which line holds segment `marked_index` (if any)."""
    ordered = sorted(segments, key=lambda s: s.index)
    entries = [segment_entry(s, names, s.index == marked_index) for s in ordered]
    line = next((n for n, s in enumerate(ordered) if s.index == marked_index), None)
    return entries, line


def wrap_entry(console: Console, entry: LogEntry, width: int) -> list[Text]:
    """The entry as lines of at most `width` cells, every character of it kept: words wrap,
    a word longer than a line is folded. Wrapped lines hang under the body when there is
    room for it beside the gutter."""
    gutter_width = entry.gutter.cell_len
    body = entry.body.copy()
    body.overflow = "fold"
    if width - gutter_width < MIN_HANGING_WIDTH:
        whole = Text.assemble(entry.gutter, body)
        whole.overflow = "fold"
        return list(whole.wrap(console, max(1, width))) or [Text()]
    lines = list(body.wrap(console, width - gutter_width)) or [Text()]
    indent = Text(" " * gutter_width)
    return [Text.assemble(entry.gutter if number == 0 else indent, line)
            for number, line in enumerate(lines)]


def summary_entries(markdown: str) -> list[LogEntry]:
    """A `<name>.summary.md` as log lines above the transcript: headings bold, the rest as
    written (its times are the transcript's clock times)."""
    entries = []
    for line in markdown.splitlines():
        if line.startswith("#"):
            entries.append(LogEntry(Text(), Text(line.lstrip("# "), style="bold")))
        else:
            entries.append(LogEntry(Text(), Text(line)))
    return entries
