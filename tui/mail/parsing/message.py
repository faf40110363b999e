"""The entry points: one raw message to a ``ParsedEmail`` (never raising), and a header block
to the Message-ID that ``parse_email`` would report for the whole message.

Here the pieces are put together, and here failures are caught: a message ``email`` cannot
parse at all still yields its headers and raw text.
"""

from __future__ import annotations

import email
import email.parser
import email.policy
from datetime import datetime

from tui.mail.parsing.charsets import guess_decode
from tui.mail.parsing.headers import (
    header_message_id,
    header_text,
    message_id_or_synthetic,
    parse_date,
    synthetic_message_id,
)
from tui.mail.parsing.mime import WalkState, all_parts, content_type_of, walk
from tui.mail.parsing.plain_text import normalise_text
from tui.mail.parsing.problems import dedupe_problems, defect_text
from tui.mail.parsing.result import ParsedEmail
from tui.mail.parsing.truncation import truncate_to_tokens


def _as_bytes(raw: object) -> bytes:
    if isinstance(raw, bytes):
        return raw
    if isinstance(raw, (bytearray, memoryview)):
        return bytes(raw)
    if isinstance(raw, str):
        return raw.encode("utf-8", errors="surrogateescape")
    return b""


def message_id_from_headers(header_bytes: bytes) -> str:
    """The Message-ID as ``parse_email`` reports it, from a header block alone (e.g. IMAP
    ``BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)]``); "" when missing, since a synthetic id needs
    the whole message. Never raises."""
    try:
        headers = email.parser.BytesHeaderParser(policy=email.policy.default).parsebytes(
            _as_bytes(header_bytes)
        )
        return header_message_id(headers)
    except Exception:
        return ""


def _parse(
    raw: bytes, max_body_tokens: int, *, original: bytes | None = None, note: str = ""
) -> ParsedEmail:
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    problems: list[str] = [note] if note else []
    sender = header_text(msg, "From", problems, check_syntax=True)
    to = header_text(msg, "To", problems, all_values=True, check_syntax=True)
    subject = header_text(msg, "Subject", problems)
    date = parse_date(msg, problems)
    # A synthetic id hashes the bytes as fetched, so a cleaned-up retry keeps the same id.
    message_id = message_id_or_synthetic(msg, raw if original is None else original)

    state = WalkState()
    walk(msg, state, 0, True)
    # After walk: decoding payloads records defects (bad base64) on the parts too.
    for part in all_parts(msg):
        defects = getattr(part, "defects", ())
        if defects:
            where = "message" if part is msg else f"{content_type_of(part)} part"
            problems.extend(f"{where}: {defect_text(d)}" for d in defects)
    problems.extend(state.problems)

    texts = [text for _, text in state.segments if text]
    sources = {source for source, text in state.segments if text}
    if not texts:
        body_source = "none"
    elif "text/html" in sources:
        body_source = "text/html"
    else:
        body_source = "text/plain"
    # Each segment is normalised already; normalising again would strip list indentation.
    body, truncated = truncate_to_tokens("\n\n".join(texts), max_body_tokens)
    return ParsedEmail(
        message_id=message_id,
        sender=sender,
        to=to,
        subject=subject,
        date=date,
        body=body,
        body_source=body_source,
        truncated=truncated,
        attachments=tuple(state.attachments),
        problems=dedupe_problems(problems),
    )


def _fallback(raw: bytes, max_body_tokens: int, exc: Exception) -> ParsedEmail:
    """Result when the MIME parse failed (e.g. RecursionError on absurd nesting inside email's
    own parser): headers from a headers-only parse, the raw text after them as body."""
    problems = [f"message could not be parsed ({type(exc).__name__}); showing its raw text"]
    sender = to = subject = ""
    date: datetime | None = None
    message_id = synthetic_message_id(raw)
    try:
        headers = email.parser.BytesHeaderParser(policy=email.policy.default).parsebytes(raw)
        sender = header_text(headers, "From", problems)
        to = header_text(headers, "To", problems, all_values=True)
        subject = header_text(headers, "Subject", problems)
        date = parse_date(headers, problems)
        message_id = message_id_or_synthetic(headers, raw)
    except Exception:
        pass
    try:
        _, sep, rest = raw.partition(b"\r\n\r\n")
        if not sep:
            _, sep, rest = raw.partition(b"\n\n")
        text, _ = guess_decode(rest if sep else raw)
        body, truncated = truncate_to_tokens(normalise_text(text), max_body_tokens)
    except Exception:
        body, truncated = "", False
    return ParsedEmail(
        message_id=message_id,
        sender=sender,
        to=to,
        subject=subject,
        date=date,
        body=body,
        body_source="text/plain" if body else "none",
        truncated=truncated,
        attachments=(),
        problems=dedupe_problems(problems),
    )


def parse_email(raw: bytes, *, max_body_tokens: int) -> ParsedEmail:
    """Parse one raw message; never raises, whatever the bytes are."""
    data = _as_bytes(raw)
    try:
        return _parse(data, max_body_tokens)
    except Exception as exc:  # one bad message must never stop the mail loop
        failure = exc
    if b"\x00" in data:
        # email's parser raises ValueError on a NUL inside some header parameters (an RFC 2231
        # charset name, for one); NUL is never meaningful in mail text, so retry without it.
        try:
            return _parse(
                data.replace(b"\x00", b""),
                max_body_tokens,
                original=data,
                note="NUL bytes removed before parsing (the parser rejected them)",
            )
        except Exception as exc:
            failure = exc
    return _fallback(data, max_body_tokens, failure)


def message_identity(raw: bytes) -> str:
    """The identity ``parse_email(raw).message_id`` gives, without parsing the body: the
    Message-ID, or the content fingerprint for mail without one. Never raises."""
    data = _as_bytes(raw)
    return message_id_from_headers(data) or synthetic_message_id(data)
