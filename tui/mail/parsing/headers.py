"""Header values as a reader would read them: From, To, Subject, Date and Message-ID.

``email``'s own header objects lose information on real-world mail (raw 8-bit bytes become
U+FFFD, odd Message-IDs are cut short, encoded-words in unknown charsets stay garbled), so the
raw header text is decoded here with our charset rules; ``email`` is used only to check syntax.
"""

from __future__ import annotations

import base64
import binascii
import email.policy
import hashlib
import re
from datetime import datetime, timezone
from email.message import Message

from tui.mail.parsing.charsets import decode_bytes, desurrogate
from tui.mail.parsing.plain_text import one_line
from tui.mail.parsing.problems import defect_text

SYNTHETIC_ID_DOMAIN = "triage-tui.invalid"

_ENCODED_WORD_RE = re.compile(r"=\?([^?\s]+)\?([QqBb])\?([^?\s]*)\?=")
_EW_GAP_RE = re.compile(r"(=\?[^?\s]+\?[QqBb]\?[^?\s]*\?=)\s+(?==\?[^?\s]+\?[QqBb]\?)")
# Unfolding (RFC 5322 §2.2.3) removes the line break and keeps the whitespace after it.
_FOLD_RE = re.compile(r"\r\n|[\r\n]")


def decode_encoded_words(value: str, problems: list[str], where: str) -> str:
    """RFC 2047 decoding, with our own charset fallbacks instead of email's U+FFFD."""
    # Whitespace between two adjacent encoded-words is not part of the text (RFC 2047 §6.2).
    value = _EW_GAP_RE.sub(r"\1", value)

    def decode(match: re.Match[str]) -> str:
        charset = match.group(1).split("*", 1)[0]  # RFC 2231 language suffix: utf-8*en
        encoding, payload = match.group(2).upper(), match.group(3)
        try:
            if encoding == "Q":
                raw = re.sub(
                    rb"=([0-9A-Fa-f]{2})",
                    lambda m: bytes([int(m.group(1), 16)]),
                    payload.replace("_", " ").encode("ascii", "surrogateescape"),
                )
            else:
                padded = payload + "=" * (-len(payload) % 4)
                raw = base64.b64decode(padded.encode("ascii", "surrogateescape"))
        except (binascii.Error, ValueError, UnicodeError):
            problems.append(f"{where} header: undecodable encoded-word left as is")
            return match.group(0)
        text, note = decode_bytes(raw, charset)
        if note:
            problems.append(f"{where} header: {note}")
        return text

    return _ENCODED_WORD_RE.sub(decode, value)


def _raw_headers(msg: Message, name: str) -> list[str]:
    try:
        return [str(v) for k, v in msg.raw_items() if str(k).lower() == name.lower()]
    except Exception:
        return []


def _unfold(value: str) -> str:
    return _FOLD_RE.sub("", value)


def header_text(
    msg: Message,
    name: str,
    problems: list[str],
    *,
    all_values: bool = False,
    check_syntax: bool = False,
) -> str:
    values = _raw_headers(msg, name)
    if not values:
        return ""
    decoded: list[str] = []
    for raw in values if all_values else values[:1]:
        value, used = desurrogate(_unfold(raw))
        if used:
            problems.append(f"{name} header contains raw 8-bit bytes; decoded as {used}")
        if check_syntax:
            problems.extend(_header_defects(name, value))
        decoded.append(decode_encoded_words(value, problems, name))
    return one_line(", ".join(d for d in decoded if d.strip()))


def _header_defects(name: str, value: str) -> list[str]:
    """Syntax complaints from email's own header parser (it is used for checking only)."""
    try:
        header = email.policy.default.header_factory(name, value)
        defects = list(getattr(header, "defects", ()))
    except Exception as exc:
        return [f"{name} header is malformed ({type(exc).__name__})"]
    return [f"{name} header is malformed: {defect_text(d)}" for d in defects]


def parse_date(msg: Message, problems: list[str]) -> datetime | None:
    values = _raw_headers(msg, "Date")
    if not values:
        return None
    value, _ = desurrogate(_unfold(values[0]))
    try:
        header = email.policy.default.header_factory("date", value.strip())
        parsed = getattr(header, "datetime", None)
    except Exception:
        parsed = None
    if not isinstance(parsed, datetime):
        problems.append(f"Date header is not a valid date: {one_line(value)[:80]!r}")
        return None
    if parsed.tzinfo is None:
        # RFC 5322 "-0000" means "time zone unknown"; UTC is the least wrong reading.
        problems.append("Date header has no usable time zone (-0000); assumed UTC")
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed


def header_message_id(msg: Message) -> str:
    # The raw header, unfolded: email's MessageIDHeader parse cuts odd ids short ("<a b@c>"
    # becomes "<a") and replaces 8-bit bytes with U+FFFD.
    values = _raw_headers(msg, "Message-ID")
    if not values:
        return ""
    value, _ = desurrogate(_unfold(values[0]))
    return one_line(value)


def message_id_or_synthetic(msg: Message, raw: bytes) -> str:
    return header_message_id(msg) or synthetic_message_id(raw)



def synthetic_message_id(raw: bytes) -> str:
    """Stable stand-in for a missing Message-ID: same bytes, same id. It is the message's
    content fingerprint (SHA-256 of the bytes the server hands out, which IMAP never changes
    for a stored message, across copies and moves), written as an id in the reserved
    ``.invalid`` domain so it shares the Message-ID column and never equals a real one."""
    return f"<{hashlib.sha256(raw).hexdigest()[:32]}@{SYNTHETIC_ID_DOMAIN}>"


def is_fingerprint(identity: str) -> bool:
    """True for a `synthetic_message_id`: the server cannot search for it by header."""
    return identity.endswith(f"@{SYNTHETIC_ID_DOMAIN}>")
