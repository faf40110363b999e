"""Plain-text clean-up shared by bodies and headers: line breaks, whitespace, invisible and
control characters, and RFC 3676 format=flowed.

Kept apart from the HTML converter because plain-text parts, the converter's output and header
values all go through the same rules before they reach a prompt or a terminal.
"""

from __future__ import annotations

import re

# Zero-width and soft-hyphen characters pad newsletter preheaders by the hundred and cost
# tokens while showing nothing; U+200D (joiner) stays because emoji sequences need it.
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u2060\ufeff\u034f\u00ad\u180e"), None)
# Control characters (terminal escapes included) are never content and must not reach a TUI.
_CONTROL_RE = re.compile(r"[\x00-\x08\x0e-\x1f\x7f-\x9f]")
LINEBREAK_RE = re.compile(r"\r\n|[\r\x0b\x0c\x1c-\x1e\x85\u2028\u2029]")
_HSPACE_RE = re.compile(r"[^\S\n]+")
_BLANKS_RE = re.compile(r"\n{3,}")


def normalise_text(text: str) -> str:
    text = LINEBREAK_RE.sub("\n", text)
    text = _CONTROL_RE.sub("", text.translate(_INVISIBLE))
    text = "\n".join(line.strip() for line in _HSPACE_RE.sub(" ", text).split("\n"))
    return _BLANKS_RE.sub("\n\n", text).strip()


def one_line(text: str) -> str:
    """Header values: one line, no control characters, single spaces."""
    return " ".join(_CONTROL_RE.sub(" ", text.translate(_INVISIBLE)).split())


def unflow(text: str, delsp: bool) -> str:
    """Join RFC 3676 format=flowed soft line breaks (a line ending in a space continues)."""
    out: list[str] = []
    buf: str | None = None
    buf_depth = 0
    for line in text.split("\n"):
        depth = len(line) - len(line.lstrip(">"))
        content = line[depth:]
        if content.startswith(" "):  # space-stuffing
            content = content[1:]
        soft = content.endswith(" ") and content != "-- "
        if soft and delsp:
            content = content[:-1]
        if buf is not None and depth != buf_depth:
            out.append(">" * buf_depth + (" " if buf_depth else "") + buf)
            buf = None
        buf = content if buf is None else buf + content
        buf_depth = depth
        if not soft:
            out.append(">" * depth + (" " if depth else "") + buf)
            buf = None
    if buf is not None:
        out.append(">" * buf_depth + (" " if buf_depth else "") + buf)
    return "\n".join(out)
