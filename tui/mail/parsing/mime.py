"""Walking a message's MIME tree: which parts are the body, which are attachments.

The choice (plain text over HTML unless the plain part is empty, forwarded messages as
attachments, alternative renderings not listed) and the limits against hostile nesting live
here, apart from how each part's text is decoded.
"""

from __future__ import annotations

import email.policy
from dataclasses import dataclass, field
from email.message import Message

from tui.mail.parsing.charsets import decode_bytes, desurrogate
from tui.mail.parsing.headers import decode_encoded_words
from tui.mail.parsing.html_text import html_to_text
from tui.mail.parsing.plain_text import LINEBREAK_RE, normalise_text, one_line, unflow
from tui.mail.parsing.result import Attachment

# Deeper nesting is not legitimate mail; it only exists to exhaust recursion.
MAX_MIME_DEPTH = 32
# email's header parsing costs ~0.5 ms per part; 20 000 tiny parts would stall the loop.
MAX_PARTS = 1000


@dataclass
class WalkState:
    segments: list[tuple[str, str]] = field(default_factory=list)  # (source type, text)
    attachments: list[Attachment] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    visited: int = 0


_BODY_SUBTYPES = ("plain", "html")
# Alternative renderings of the same body that are neither shown nor worth listing.
_ALT_RENDERINGS = {
    "text/plain",
    "text/html",
    "text/x-amp-html",
    "text/watch-html",
    "text/enriched",
    "text/richtext",
}


def content_type_of(part: Message) -> str:
    try:
        return part.get_content_type()
    except Exception:
        return "text/plain"


def _filename(part: Message, problems: list[str]) -> str:
    try:
        name = part.get_filename() or ""
    except Exception:
        name = ""
    if not isinstance(name, str):
        name = ""
    name, used = desurrogate(name)
    if used:
        problems.append(f"attachment name contains raw 8-bit bytes; decoded as {used}")
    # Outlook and others put RFC 2047 encoded-words inside the (quoted) filename parameter.
    if "=?" in name:
        name = decode_encoded_words(name, problems, "attachment filename")
    return one_line(name)


def _disposition(part: Message) -> str | None:
    try:
        return part.get_content_disposition()
    except Exception:
        return None


def _is_body_text(part: Message, ctype: str, problems: list[str]) -> bool:
    maintype, _, subtype = ctype.partition("/")
    if maintype != "text" or subtype not in _BODY_SUBTYPES:
        return False
    return _disposition(part) != "attachment" and not _filename(part, problems)


def _payload_bytes(part: Message) -> bytes:
    try:
        data = part.get_payload(decode=True)
    except Exception:
        data = None
    if isinstance(data, bytes):
        return data
    try:
        payload = part.get_payload()
    except Exception:
        return b""
    if isinstance(payload, str):
        return payload.encode("utf-8", errors="surrogateescape")
    if isinstance(payload, list):
        return b"".join(_message_bytes(p) for p in payload if isinstance(p, Message))
    return b""


def _message_bytes(msg: Message) -> bytes:
    try:
        return msg.as_bytes(policy=email.policy.default.clone(linesep="\r\n"))
    except Exception:
        try:
            return msg.as_bytes()
        except Exception:
            return b""


def _decode_text_part(part: Message, ctype: str, problems: list[str]) -> str:
    data = _payload_bytes(part)
    try:
        charset = part.get_content_charset()
    except Exception:
        charset = None
    text, note = decode_bytes(data, charset)
    if note:
        problems.append(f"{ctype} part: {note}")
    if ctype == "text/plain":
        try:
            flowed = str(part.get_param("format") or "").lower() == "flowed"
            delsp = str(part.get_param("delsp") or "").lower() == "yes"
        except Exception:
            flowed = delsp = False
        if flowed:
            text = unflow(LINEBREAK_RE.sub("\n", text), delsp)
        return normalise_text(text)
    return html_to_text(text)


def _add_attachment(part: Message, ctype: str, state: WalkState) -> None:
    state.attachments.append(
        Attachment(
            filename=_filename(part, state.problems),
            content_type=ctype,
            size=len(_payload_bytes(part)),
        )
    )


def walk(part: Message, state: WalkState, depth: int, want_body: bool) -> None:
    if depth > MAX_MIME_DEPTH:
        state.problems.append(f"MIME nesting deeper than {MAX_MIME_DEPTH} levels; rest skipped")
        return
    state.visited += 1
    if state.visited > MAX_PARTS:
        state.problems.append(f"more than {MAX_PARTS} MIME parts; the rest are not listed")
        return
    ctype = content_type_of(part)
    maintype = ctype.partition("/")[0]
    if maintype == "message" and depth > 0:
        # A forwarded or bounced message is an attachment; its own parts stay inside it.
        _add_attachment(part, ctype, state)
        return
    try:
        children = part.get_payload() if part.is_multipart() else None
    except Exception:
        children = None
    if isinstance(children, list):
        subparts = [c for c in children if isinstance(c, Message)]
        if ctype == "multipart/alternative":
            _walk_alternative(subparts, state, depth, want_body)
        else:
            for child in subparts:
                walk(child, state, depth + 1, want_body)
        return
    if maintype == "multipart":
        # Broken multipart (no or wrong boundary): email leaves the raw body as one string.
        if want_body:
            state.segments.append(
                ("text/plain", _decode_text_part(part, "text/plain", state.problems))
            )
        return
    if depth == 0 and maintype in ("text", "message"):
        # A single-part text message is its own body, even when it carries a filename or is
        # text/enriched, text/calendar or an unparsed message/*: there is nothing else to show.
        body_type = "text/html" if ctype == "text/html" else "text/plain"
        state.segments.append((body_type, _decode_text_part(part, body_type, state.problems)))
        return
    if _is_body_text(part, ctype, state.problems):
        if want_body:
            state.segments.append((ctype, _decode_text_part(part, ctype, state.problems)))
        return
    if not want_body and ctype in _ALT_RENDERINGS and not _filename(part, []):
        return
    _add_attachment(part, ctype, state)


def _walk_alternative(parts: list[Message], state: WalkState, depth: int, want_body: bool) -> None:
    if not want_body:
        for child in parts:
            walk(child, state, depth + 1, False)
        return
    chosen: Message | None = None
    # text/plain is preferred: it is what the sender wrote for humans without markup. An empty
    # plain alternative ("view this mail in a browser" senders) does not count.
    for child in parts:
        if content_type_of(child) == "text/plain" and _is_body_text(child, "text/plain", []):
            trial = WalkState()
            walk(child, trial, depth + 1, True)
            if any(text.strip() for _, text in trial.segments):
                chosen = child
                break
    if chosen is None:
        # Else the richest rendering we can read: the last HTML or multipart alternative
        # (RFC 2046 orders alternatives from plainest to richest; calendars come last).
        readable = [c for c in parts if content_type_of(c) == "text/html" or c.is_multipart()]
        chosen = readable[-1] if readable else (parts[-1] if parts else None)
    for child in parts:
        walk(child, state, depth + 1, child is chosen)


def all_parts(msg: Message) -> list[Message]:
    """Every part, nested messages included; iterative because Message.walk() recurses."""
    found: list[Message] = []
    stack = [msg]
    while stack and len(found) < MAX_PARTS:
        part = stack.pop()
        found.append(part)
        try:
            payload = part.get_payload() if part.is_multipart() else None
        except Exception:
            payload = None
        if isinstance(payload, list):
            stack.extend(reversed([p for p in payload if isinstance(p, Message)]))
    return found
