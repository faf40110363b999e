"""How a search hit looks, without Textual: one line per hit, the matched words marked."""

from __future__ import annotations

from pathlib import Path

from rich.text import Text

from tui.search.query import clock
from tui.search.records import SEGMENT, Marked, SearchHit
from tui.ui.transcript_view import speaker_style

MATCH_STYLE = "bold reverse"


def marked_text(marked: Marked, style: str = "") -> Text:
    text = Text(style=style)
    for part, matched in marked.parts:
        text.append(part.replace("\n", " "), style=MATCH_STYLE if matched else "")
    return text


def hit_line(hit: SearchHit) -> Text:
    """`standup.m4a 00:12:04 Ana: …the warehouse lease…` or
    `m12 Ana Ruiz · Contract v3: …sign the contract…`."""
    line = Text(no_wrap=True, overflow="ellipsis")
    if hit.kind == SEGMENT:
        line.append(f"{Path(hit.label).name or hit.ref[:12]} ", style="bold")
        line.append(f"{clock(hit.at)} ", style="dim")
        if hit.who.plain:
            line.append_text(marked_text(hit.who, speaker_style(hit.who.plain)))
            line.append(": ")
    else:
        line.append(f"{hit.mail_id} ", style="bold")
        line.append_text(marked_text(hit.who))
        line.append(" · ", style="dim")
        line.append_text(marked_text(hit.title, "italic"))
        line.append(": " + ("summary: " if hit.in_note else ""), style="dim")
    line.append_text(marked_text(hit.snippet))
    return line


def hits_status(count: int, limit: int) -> str:
    if count == 0:
        return "no matches"
    more = " (the best; refine to see others)" if count >= limit else ""
    return f"{count} match{'' if count == 1 else 'es'}{more}"
