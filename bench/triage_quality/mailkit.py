"""Building the labelled mails as RFC 5322 bytes, deterministically.

Each mail of the set is written by hand in one of the `themes/` modules as a `Mail`: headers,
a plain and/or HTML body, attachments, the charset and transfer encoding to send it in, and
its label with the reason for it. This module only turns that into bytes (CRLF line ends,
fixed MIME boundaries, RFC 2047 headers), so regenerating the set gives the same files.
A mail whose oddity cannot be expressed that way (raw 8-bit headers, a wrong charset label)
gives its bytes directly in `raw`.
"""

from __future__ import annotations

import base64
import quopri
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from email.header import Header
from email.utils import format_datetime, formataddr, parseaddr

ME = "Sam Keller <sam.keller@fernhill.example>"

PRIORITIES = ("urgent", "high", "normal", "low")
ACTIONS = ("none", "flag", "mark_read", "move", "archive")
CATEGORIES = ("action", "reply", "meeting", "fyi", "newsletter", "receipt", "notification",
              "spam", "other")


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str
    data: bytes
    inline_text: bool = False  # a text/* attachment sent as 8bit text rather than base64


@dataclass
class Mail:
    slug: str
    sender: str
    subject: str
    date: str
    # The label: what a careful assistant should suggest (README.md has the rules).
    priority: str
    action: str
    category: str
    why: str
    injection: bool = False
    folder: str | None = None
    text: str | None = None
    html: str | None = None
    to: str = ME
    cc: str | None = None
    charset: str = "utf-8"
    encoding: str = "8bit"  # 7bit, 8bit, quoted-printable or base64 for the body parts
    attachments: tuple[Attachment, ...] = ()
    headers: tuple[tuple[str, str], ...] = ()
    message_id: str | None = "auto"  # None: no Message-ID header at all
    raw: bytes | None = None
    tags: tuple[str, ...] = field(default_factory=tuple)  # what the mail exercises

    def __post_init__(self) -> None:
        if self.priority not in PRIORITIES:
            raise ValueError(f"{self.slug}: priority {self.priority!r}")
        if self.action not in ACTIONS:
            raise ValueError(f"{self.slug}: action {self.action!r}")
        if self.category not in CATEGORIES:
            raise ValueError(f"{self.slug}: category {self.category!r}")
        if (self.action == "move") != (self.folder is not None):
            raise ValueError(f"{self.slug}: a folder goes with move, and only with move")
        if self.raw is None and self.text is None and self.html is None:
            raise ValueError(f"{self.slug}: no body")

    def label(self, file_name: str) -> dict[str, object]:
        row: dict[str, object] = {"file": file_name, "priority": self.priority,
                                  "action": self.action}
        if self.folder is not None:
            row["folder"] = self.folder
        row.update(category=self.category, injection=self.injection, why=self.why)
        if self.tags:
            row["tags"] = list(self.tags)
        return row


def _crlf(text: str) -> str:
    return re.sub(r"\r\n|\r|\n", "\r\n", text)


def _header_value(value: str, charset: str) -> str:
    if value.isascii():
        return value
    return Header(value, charset if charset != "us-ascii" else "utf-8").encode(
        maxlinelen=76, linesep="\r\n")


def _address_list(value: str) -> str:
    """Display names quoted where RFC 5322 wants it ("Dr. X", "dependabot[bot]") and
    RFC 2047-encoded when not ASCII."""
    encoded = []
    for item in value.split(", "):
        name, addr = parseaddr(item)
        encoded.append(formataddr((name, addr), charset="utf-8"))
    return ", ".join(encoded)


def _encode_body(text: str, charset: str, encoding: str) -> bytes:
    data = _crlf(text).encode(charset)
    if encoding in ("7bit", "8bit"):
        if encoding == "7bit" and not data.isascii():
            raise ValueError("7bit body with non-ASCII bytes")
        return data
    if encoding == "quoted-printable":
        return _crlf(quopri.encodestring(data).decode("ascii")).encode("ascii")
    if encoding == "base64":
        return base64.encodebytes(data).replace(b"\n", b"\r\n")
    raise ValueError(f"unknown encoding {encoding}")


def _text_part(subtype: str, text: str, charset: str, encoding: str) -> bytes:
    head = (f"Content-Type: text/{subtype}; charset=\"{charset}\"\r\n"
            f"Content-Transfer-Encoding: {encoding}\r\n\r\n")
    body = _encode_body(text, charset, encoding)
    return head.encode("ascii") + body


def _attachment_part(attachment: Attachment) -> bytes:
    name = attachment.filename
    if name.isascii():
        name_param = f'filename="{name}"'
        type_param = f'; name="{name}"'
    else:
        # RFC 2231, as most clients write it.
        from urllib.parse import quote

        name_param = f"filename*=utf-8''{quote(name)}"
        type_param = ""
    if attachment.content_type == "message/rfc822":
        # A forwarded message travels as itself (RFC 2046: no base64 for message/*).
        head = (f"Content-Type: message/rfc822{type_param}\r\n"
                f"Content-Disposition: attachment; {name_param}\r\n\r\n")
        return head.encode("ascii") + attachment.data
    if attachment.inline_text:
        head = (f"Content-Type: {attachment.content_type}; charset=\"utf-8\"{type_param}\r\n"
                f"Content-Disposition: attachment; {name_param}\r\n"
                "Content-Transfer-Encoding: 8bit\r\n\r\n")
        return head.encode("ascii") + _crlf(attachment.data.decode("utf-8")).encode("utf-8")
    head = (f"Content-Type: {attachment.content_type}{type_param}\r\n"
            f"Content-Disposition: attachment; {name_param}\r\n"
            "Content-Transfer-Encoding: base64\r\n\r\n")
    return head.encode("ascii") + base64.encodebytes(attachment.data).replace(b"\n", b"\r\n")


def _multipart(subtype: str, boundary: str, parts: list[bytes]) -> bytes:
    out = [f"Content-Type: multipart/{subtype}; boundary=\"{boundary}\"\r\n\r\n".encode(),
           b"This is a multi-part message in MIME format.\r\n"]
    for part in parts:
        out.append(f"\r\n--{boundary}\r\n".encode())
        out.append(part)
    out.append(f"\r\n--{boundary}--\r\n".encode())
    return b"".join(out)


def build(mail: Mail, index: int) -> bytes:
    """The mail as bytes; `index` only seeds its Message-ID and boundaries."""
    if mail.raw is not None:
        return mail.raw
    headers: list[tuple[str, str]] = [
        ("From", _address_list(mail.sender)),
        ("To", _address_list(mail.to)),
    ]
    if mail.cc:
        headers.append(("Cc", _address_list(mail.cc)))
    headers += [("Subject", _header_value(mail.subject, mail.charset)), ("Date", mail.date)]
    if mail.message_id == "auto":
        domain = parseaddr(mail.sender)[1].rpartition("@")[2] or "example.net"
        headers.append(("Message-ID", f"<tq{index:03d}.{mail.slug}@{domain}>"))
    elif mail.message_id is not None:
        headers.append(("Message-ID", mail.message_id))
    headers += list(mail.headers)
    headers.append(("MIME-Version", "1.0"))

    body_parts: list[bytes] = []
    if mail.text is not None:
        body_parts.append(_text_part("plain", mail.text, mail.charset, mail.encoding))
    if mail.html is not None:
        body_parts.append(_text_part("html", mail.html, mail.charset, mail.encoding))
    if len(body_parts) == 2:
        body = _multipart("alternative", f"=_alt{index:03d}_{mail.slug}", body_parts)
    else:
        body = body_parts[0]
    if mail.attachments:
        body = _multipart("mixed", f"=_mix{index:03d}_{mail.slug}",
                          [body, *(_attachment_part(a) for a in mail.attachments)])

    head = "".join(f"{name}: {value}\r\n" for name, value in headers)
    return head.encode("ascii") + body


def at(stamp: str, offset_hours: float = 1) -> str:
    """RFC 5322 date for "MM-DD HH:MM" in 2026 (the set's "now" is Wed 2 Dec 2026, 09:00
    Berlin time), in the sender's time zone."""
    moment = datetime.strptime(f"2026-{stamp}", "%Y-%m-%d %H:%M")
    zone = timezone(timedelta(hours=offset_hours))
    return format_datetime(moment.replace(tzinfo=zone))


def pdf_stub(title: str) -> bytes:
    """A small, well-formed-looking PDF: the parser only lists attachments by name and size."""
    return (b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n"
            b"2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\n"
            + f"% {title}\n".encode() + b"trailer << /Root 1 0 R >>\n%%EOF\n")
