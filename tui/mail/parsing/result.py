"""What parsing hands to the rest of the program: plain, frozen data with no ``email`` objects in
it, so the store, the prompt and the UI never depend on how a message was parsed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Attachment:
    filename: str  # decoded (RFC 2231 / encoded-words), "" if none
    content_type: str
    size: int  # decoded payload bytes


@dataclass(frozen=True)
class ParsedEmail:
    message_id: str
    sender: str
    to: str
    subject: str
    date: datetime | None
    body: str
    body_source: str  # "text/plain", "text/html" or "none"
    truncated: bool
    attachments: tuple[Attachment, ...]
    problems: tuple[str, ...]
