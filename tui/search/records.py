"""What a search returns, without SQLite: one `SearchHit` per matching segment or mail."""

from __future__ import annotations

from dataclasses import dataclass

# The kinds of row the index holds (each is one `IndexSource`). A summary source would add
# its kind here and to TRANSCRIPT_KINDS.
SEGMENT = "segment"
MAIL = "mail"
TRANSCRIPT_KINDS: tuple[str, ...] = (SEGMENT,)
MAIL_KINDS: tuple[str, ...] = (MAIL,)
# What a user can ask to search in (`triage-tui search --in`, the panes' `/`).
SCOPES: dict[str, tuple[str, ...] | None] = {
    "all": None, "transcripts": TRANSCRIPT_KINDS, "mail": MAIL_KINDS,
}


@dataclass(frozen=True)
class Marked:
    """Text with the words that matched marked: (text, matched) parts, in order."""

    parts: tuple[tuple[str, bool], ...] = ()

    @property
    def plain(self) -> str:
        return "".join(text for text, _ in self.parts)

    @property
    def spans(self) -> list[tuple[int, int]]:
        """[start, end) offsets of the matched parts in `plain`."""
        spans, offset = [], 0
        for text, matched in self.parts:
            if matched:
                spans.append((offset, offset + len(text)))
            offset += len(text)
        return spans

    @property
    def has_match(self) -> bool:
        return any(matched for _, matched in self.parts)


@dataclass(frozen=True)
class SearchHit:
    """One matching row. For a segment: `ref` is the recording's content hash, `position`
    the segment's index, `at` its start (s), `label` the recording's path, `who` the speaker
    (their name once renamed). For a mail: `ref` its key (shown as m<key>), `label` its
    Message-ID, `who` the sender, `title` the subject. `snippet` is the matching passage of
    the text (or of the verdict's summary, `in_note`); `score` is bm25's, lower is better."""

    kind: str
    ref: str
    position: int | None
    at: float | None
    label: str
    who: Marked
    title: Marked
    snippet: Marked
    in_note: bool
    score: float

    @property
    def mail_id(self) -> str:
        return f"m{self.ref}"
