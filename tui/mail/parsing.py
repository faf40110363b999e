"""Parse one raw RFC 5322 message (IMAP ``BODY.PEEK[]`` bytes) into plain data for triage.

Pure: no network, no files. ``parse_email`` never raises: a mail server hands us whatever any
sender wrote (mislabelled charsets, raw 8-bit headers, truncated MIME), and one bad message must
never stop the mail loop. Everything that went wrong is reported in ``ParsedEmail.problems``.

Content is never dropped on purpose (a prompt-injection attempt stays in the body verbatim: the
defence lives in the prompt and in code that maps verdicts to actions, not here); only markup,
scripts, styles and invisible formatting characters are removed, and attachments are reduced to
name, type and size.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import email
import email.parser
import email.policy
import hashlib
import html
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.message import Message
from html.parser import HTMLParser

from tui.budget.tokens import BYTES_PER_TOKEN, estimate_tokens

__all__ = [
    "Attachment",
    "ParsedEmail",
    "html_to_text",
    "is_fingerprint",
    "message_id_from_headers",
    "message_identity",
    "parse_email",
    "synthetic_message_id",
    "truncate_to_tokens",
]

SYNTHETIC_ID_DOMAIN = "triage-tui.invalid"
# Deeper nesting is not legitimate mail; it only exists to exhaust recursion.
MAX_MIME_DEPTH = 32
# A hostile message can produce thousands of defects; the UI and the prompt need only a few.
MAX_PROBLEMS = 20
# email's header parsing costs ~0.5 ms per part; 20 000 tiny parts would stall the loop.
MAX_PARTS = 1000


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


# --------------------------------------------------------------------------------------------
# Charsets


# Decode with the superset that senders actually mean (the WHATWG Encoding Standard does the
# same): mail labelled iso-8859-1 routinely carries windows-1252 smart quotes, Shift_JIS mail
# carries cp932 symbols such as ①, gb2312 mail carries GBK characters. Also a few labels
# Python's codec registry does not know.
_CHARSET_ALIASES: dict[str, str] = {
    "us-ascii": "cp1252",
    "ascii": "cp1252",
    "iso-8859-1": "cp1252",
    "iso8859-1": "cp1252",
    "latin1": "cp1252",
    "latin-1": "cp1252",
    "shift_jis": "cp932",
    "shift-jis": "cp932",
    "sjis": "cp932",
    "x-sjis": "cp932",
    "ms_kanji": "cp932",
    "windows-31j": "cp932",
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "x-gbk": "gb18030",
    "euc-cn": "gb18030",
    "ks_c_5601-1987": "cp949",
    "euc-kr": "cp949",
    "big5": "big5hkscs",
    "iso-8859-8-i": "iso-8859-8",
    "windows-874": "cp874",
    "unicode-1-1-utf-7": "utf-7",
    "utf8": "utf-8",
}

# Labels under which the bytes are often really UTF-8 (sender never set a charset, or a client
# left its default in place); valid UTF-8 with non-ASCII in such a part is read as UTF-8.
_WEAK_LABELS = {
    "",
    "us-ascii",
    "ascii",
    "iso-8859-1",
    "iso8859-1",
    "latin1",
    "latin-1",
    "windows-1252",
    "cp1252",
}

# Codecs that are "text encodings" to Python but are no charset any mail could mean; some
# of them raise even with errors="replace" ("undefined") or reinterpret backslashes.
_UNSAFE_CODECS = {
    "undefined",
    "unicode_escape",
    "raw_unicode_escape",
    "idna",
    "punycode",
    "mbcs",
    "oem",
    "rot_13",
}


def _lookup_codec(label: str) -> str | None:
    """Python codec name for a MIME charset label, or None if unknown or unusable."""
    name = _CHARSET_ALIASES.get(label, label)
    try:
        info = codecs.lookup(name)
    except (LookupError, ValueError, TypeError):
        return None
    # Bytes-to-bytes codecs (base64, zlib, ...) are registered too; they are no charset.
    unsafe = info.name.replace("-", "_") in _UNSAFE_CODECS  # codec names use either spelling
    if not getattr(info, "_is_text_encoding", True) or unsafe:
        return None
    return info.name


def _guess_decode(data: bytes) -> tuple[str, str]:
    """Decode bytes of unknown charset; returns (text, what was used)."""
    try:
        return data.decode("utf-8"), "UTF-8"
    except UnicodeDecodeError:
        pass
    replaced = data.decode("utf-8", errors="replace")
    # Mostly-valid UTF-8 with a few broken sequences (a cut multibyte character) is still
    # UTF-8; reading it as windows-1252 would garble every valid non-ASCII character.
    if any(ord(c) > 0x7F and c != "\ufffd" for c in replaced):
        return replaced, "UTF-8 with invalid bytes replaced"
    try:
        return data.decode("cp1252"), "windows-1252"
    except UnicodeDecodeError:
        # latin-1 maps every byte, so this is the last resort that cannot fail.
        return data.decode("latin-1"), "latin-1"


def _decode_bytes(data: bytes, declared: str | None) -> tuple[str, str | None]:
    """Decode text with its declared charset; returns (text, problem note or None)."""
    label = (declared or "").strip().strip("\"'").lower()
    if data.isascii() and label in _WEAK_LABELS:
        return data.decode("ascii"), None
    if label in _WEAK_LABELS:
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            pass
        else:
            note = (
                f"declared charset {label!r} but content is UTF-8"
                if label
                else "no charset declared; decoded as UTF-8"
            )
            return text, note
    codec = _lookup_codec(label or "us-ascii")
    if codec is None:
        text, used = _guess_decode(data)
        return text, f"unknown charset {label!r}; decoded as {used}"
    try:
        text = data.decode(codec)
    except UnicodeDecodeError:
        pass
    except Exception:  # exotic codecs can fail in other ways; never let them escape
        text, used = _guess_decode(data)
        return text, f"charset {label!r} failed to decode; decoded as {used}"
    else:
        if label in ("", "us-ascii", "ascii"):
            return text, f"8-bit bytes in a {label or 'us-ascii'} part; decoded as windows-1252"
        return text, None
    if codec == "utf-8":
        text, used = _guess_decode(data)
        return text, f"declared UTF-8 but bytes are not valid UTF-8; decoded as {used}"
    if codec == "cp1252":
        # Only the five bytes windows-1252 leaves undefined get here; latin-1 keeps them all.
        if label in ("", "us-ascii", "ascii"):
            return data.decode("latin-1"), (
                f"8-bit bytes in a {label or 'us-ascii'} part; decoded as latin-1"
            )
        return data.decode("latin-1"), None
    try:
        return data.decode("utf-8"), f"declared charset {label!r} but content is UTF-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode(codec, errors="replace"), f"invalid bytes for {label!r} replaced"
    except Exception:
        text, used = _guess_decode(data)
        return text, f"charset {label!r} failed to decode; decoded as {used}"


def _desurrogate(text: str) -> tuple[str, str | None]:
    """Recover raw 8-bit bytes that ``email`` kept as lone surrogates (surrogateescape)."""
    if not any("\udc80" <= c <= "\udcff" for c in text):
        return text, None
    data = text.encode("utf-8", errors="surrogateescape")
    try:
        return data.decode("utf-8"), "UTF-8"
    except UnicodeDecodeError:
        guessed, used = _guess_decode(data)
        # Anything still unencodable (a surrogate that was not an escaped byte) goes too.
        return guessed.encode("utf-8", errors="replace").decode("utf-8"), used


# --------------------------------------------------------------------------------------------
# Whitespace and invisible characters

# Zero-width and soft-hyphen characters pad newsletter preheaders by the hundred and cost
# tokens while showing nothing; U+200D (joiner) stays because emoji sequences need it.
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u2060\ufeff\u034f\u00ad\u180e"), None)
# Control characters (terminal escapes included) are never content and must not reach a TUI.
_CONTROL_RE = re.compile(r"[\x00-\x08\x0e-\x1f\x7f-\x9f]")
_LINEBREAK_RE = re.compile(r"\r\n|[\r\x0b\x0c\x1c-\x1e\x85\u2028\u2029]")
_HSPACE_RE = re.compile(r"[^\S\n]+")
_BLANKS_RE = re.compile(r"\n{3,}")


def _normalise_text(text: str) -> str:
    text = _LINEBREAK_RE.sub("\n", text)
    text = _CONTROL_RE.sub("", text.translate(_INVISIBLE))
    text = "\n".join(line.strip() for line in _HSPACE_RE.sub(" ", text).split("\n"))
    return _BLANKS_RE.sub("\n\n", text).strip()


def _one_line(text: str) -> str:
    """Header values: one line, no control characters, single spaces."""
    return " ".join(_CONTROL_RE.sub(" ", text.translate(_INVISIBLE)).split())


def _unflow(text: str, delsp: bool) -> str:
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


# --------------------------------------------------------------------------------------------
# HTML to text

# Mail clients run no scripts, so <noscript> content is visible and stays.
_SKIP_TAGS = {"script", "style", "head", "title", "template", "svg", "math"}
_BLOCK_TAGS = {
    "div",
    "tr",
    "table",
    "thead",
    "tbody",
    "tfoot",
    "ul",
    "ol",
    "dl",
    "dt",
    "dd",
    "blockquote",
    "section",
    "article",
    "header",
    "footer",
    "nav",
    "aside",
    "main",
    "form",
    "fieldset",
    "address",
    "center",
    "figure",
    "figcaption",
    "pre",
    "hr",
    "caption",
    "details",
    "summary",
}
_PARAGRAPH_TAGS = {"p", "h1", "h2", "h3", "h4", "h5", "h6"}
_VOID_TAGS = {
    "br",
    "hr",
    "img",
    "meta",
    "link",
    "input",
    "col",
    "area",
    "base",
    "wbr",
    "source",
    "embed",
    "param",
    "track",
}
_LINK_SCHEMES = ("http://", "https://", "mailto:")
# Nested-list indentation must survive whitespace normalisation, which strips line starts; a
# private-use character stands in for it until then.
_INDENT = "\ue000"


def _same_link(label: str, href: str) -> bool:
    """True when the label already says where the link goes (no need to repeat the URL)."""

    def canon(value: str) -> str:
        value = value.strip().lower()
        for prefix in ("mailto:", "https://", "http://", "www."):
            value = value.removeprefix(prefix)
        return value.rstrip("/")

    return canon(label) == canon(href)


class _TextExtractor(HTMLParser):
    """Collects visible text; never resolves, fetches or runs anything it sees."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip: list[str] = []
        self._pre = 0
        self._list_depth = 0
        self._cells = 0
        self._links: list[tuple[str, int]] = []
        # True right after "- ": Outlook wraps every list item's text in <p>, which must not
        # push the text onto a line of its own.
        self._after_bullet = False

    def _tail(self) -> tuple[int, bool]:
        """(newlines at the end of the output, whether the current line has text)."""
        newlines = 0
        for chunk in reversed(self.parts):
            for char in reversed(chunk):
                if char == "\n":
                    newlines += 1
                elif not (char.isspace() or char == _INDENT):
                    return newlines, newlines == 0
        return -1, False  # start of the document: no line breaks needed

    def _newlines(self, count: int) -> None:
        # Adjacent block boundaries share their line breaks instead of stacking blank lines.
        if self._after_bullet:
            return
        have, _ = self._tail()
        if 0 <= have < count:
            self.parts.append("\n" * (count - have))

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "body":
            # An unclosed <head> must not swallow the whole document.
            self._skip.clear()
            return
        if tag in _SKIP_TAGS:
            self._skip.append(tag)
            return
        if self._skip:
            return
        if tag == "br":
            self.parts.append("\n")
        elif tag == "li":
            self._after_bullet = False
            self._newlines(1)
            self.parts.append(_INDENT * max(self._list_depth - 1, 0) + "- ")
            self._after_bullet = True
        elif tag in ("ul", "ol"):
            self._list_depth += 1
            self._newlines(1)
        elif tag in _PARAGRAPH_TAGS:
            self._newlines(1 if self._list_depth else 2)  # no blank lines inside a list
        elif tag in ("td", "th"):
            # Layout tables (most HTML mail) put whole blocks in cells: a separator only
            # between cells that share a line with text.
            if self._cells and self._tail()[1]:
                self.parts.append(" | ")
            self._cells += 1
        elif tag in _BLOCK_TAGS:
            if tag == "tr":
                self._cells = 0
            if tag == "pre":
                self._pre += 1
            self._newlines(1)
        elif tag == "a":
            href = next((v for k, v in attrs if k == "href" and v), "")
            self._links.append((href.strip(), len(self.parts)))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in _VOID_TAGS:  # "<div/>" is an empty element, "<br/>" one line break
            self.handle_endtag(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP_TAGS:
            if tag in self._skip:
                while self._skip and self._skip.pop() != tag:
                    pass
            return
        if self._skip:
            return
        if tag in ("ul", "ol"):
            self._list_depth = max(self._list_depth - 1, 0)
            self._newlines(1)
        elif tag in _PARAGRAPH_TAGS:
            self._newlines(1 if self._list_depth else 2)  # no blank lines inside a list
        elif tag == "li" or tag in _BLOCK_TAGS:
            if tag == "pre":
                self._pre = max(self._pre - 1, 0)
            self._newlines(1)
        elif tag == "a" and self._links:
            href, start = self._links.pop()
            label = " ".join("".join(self.parts[start:]).split())
            if href.lower().startswith(_LINK_SCHEMES) and not _same_link(label, href):
                self.parts.append(f" ({href})" if label else href)

    def handle_data(self, data: str) -> None:
        if self._skip or not data:
            return
        if not data.isspace():
            self._after_bullet = False
        # Outside <pre>, HTML whitespace (newlines included) renders as one space.
        self.parts.append(data if self._pre else re.sub(r"\s+", " ", data))

    def parse_marked_section(self, i: int, report: int = 1) -> int:
        # html.parser asserts on unknown "<![keyword[" sections; skip them like a browser.
        try:
            return super().parse_marked_section(i, report)
        except AssertionError:
            end = self.rawdata.find(">", i + 3)
            return -1 if end < 0 else end + 1


_TAG_RE = re.compile(r"<[^>]*>")
_DROP_BLOCK_RE = re.compile(r"<(script|style|head|title)\b.*?(?:</\1\s*>|\Z)", re.I | re.S)


def html_to_text(html_source: str) -> str:
    """Visible text of an HTML document, with links as "label (url)"; pure and offline."""
    try:
        parser = _TextExtractor()
        parser.feed(html_source)
        parser.close()
        text = "".join(parser.parts)
    except Exception:
        # Last resort for HTML that trips the parser: strip tags with regular expressions.
        stripped = _DROP_BLOCK_RE.sub(" ", html_source)
        stripped = re.sub(r"<(br|/p|/div|/li|/tr|/h\d)\b[^>]*>", "\n", stripped, flags=re.I)
        text = html.unescape(_TAG_RE.sub(" ", stripped))
    return _normalise_text(text).replace(_INDENT, "  ")


# --------------------------------------------------------------------------------------------
# Truncation


def _marker(remaining: int) -> str:
    return f"\n[… truncated: {remaining} more characters]"


def truncate_to_tokens(text: str, max_tokens: int) -> tuple[str, bool]:
    """Cut ``text`` so that, with the truncation marker, ``estimate_tokens`` <= ``max_tokens``.

    Guaranteed for ``max_tokens >= 16`` (the marker alone fits). With a budget too small even
    for the marker, the result is "" (still within the budget), truncated=True.
    """
    if estimate_tokens(text) <= max_tokens:
        return text, False
    total = len(text)

    def fits(kept: str) -> bool:
        return estimate_tokens(kept + _marker(total - len(kept))) <= max_tokens

    if not fits(""):
        return "", True
    # Every character is at least one UTF-8 byte, so no prefix longer than the byte budget can
    # fit; bounding the search keeps it cheap for multi-megabyte bodies. Binary search is
    # valid because fits(text[:k]) is monotone in k: one more character adds at least one
    # byte, while the marker's count loses at most one digit.
    lo, hi = 0, min(total, int(max(max_tokens, 0) * BYTES_PER_TOKEN) + 1)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if fits(text[:mid]):
            lo = mid
        else:
            hi = mid - 1
    cut = lo
    # Prefer a word boundary shortly before the limit over cutting a word in half.
    window = min(200, cut // 4)
    for j in range(cut, cut - window - 1, -1):
        if 0 < j < total and (text[j].isspace() or text[j - 1].isspace()):
            cut = j
            break
    kept = text[:cut].rstrip()
    while kept and not fits(kept):  # defensive; the search above already guarantees this
        kept = kept[:-1]
    result = kept + _marker(total - len(kept)) if kept else _marker(total).lstrip("\n")
    return result, True


# --------------------------------------------------------------------------------------------
# Headers

_ENCODED_WORD_RE = re.compile(r"=\?([^?\s]+)\?([QqBb])\?([^?\s]*)\?=")
_EW_GAP_RE = re.compile(r"(=\?[^?\s]+\?[QqBb]\?[^?\s]*\?=)\s+(?==\?[^?\s]+\?[QqBb]\?)")
# Unfolding (RFC 5322 §2.2.3) removes the line break and keeps the whitespace after it.
_FOLD_RE = re.compile(r"\r\n|[\r\n]")


def _decode_encoded_words(value: str, problems: list[str], where: str) -> str:
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
        text, note = _decode_bytes(raw, charset)
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


def _header_text(
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
        value, used = _desurrogate(_unfold(raw))
        if used:
            problems.append(f"{name} header contains raw 8-bit bytes; decoded as {used}")
        if check_syntax:
            problems.extend(_header_defects(name, value))
        decoded.append(_decode_encoded_words(value, problems, name))
    return _one_line(", ".join(d for d in decoded if d.strip()))


def _header_defects(name: str, value: str) -> list[str]:
    """Syntax complaints from email's own header parser (it is used for checking only)."""
    try:
        header = email.policy.default.header_factory(name, value)
        defects = list(getattr(header, "defects", ()))
    except Exception as exc:
        return [f"{name} header is malformed ({type(exc).__name__})"]
    return [f"{name} header is malformed: {_defect_text(d)}" for d in defects]


def _parse_date(msg: Message, problems: list[str]) -> datetime | None:
    values = _raw_headers(msg, "Date")
    if not values:
        return None
    value, _ = _desurrogate(_unfold(values[0]))
    try:
        header = email.policy.default.header_factory("date", value.strip())
        parsed = getattr(header, "datetime", None)
    except Exception:
        parsed = None
    if not isinstance(parsed, datetime):
        problems.append(f"Date header is not a valid date: {_one_line(value)[:80]!r}")
        return None
    if parsed.tzinfo is None:
        # RFC 5322 "-0000" means "time zone unknown"; UTC is the least wrong reading.
        problems.append("Date header has no usable time zone (-0000); assumed UTC")
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed


def _header_message_id(msg: Message) -> str:
    # The raw header, unfolded: email's MessageIDHeader parse cuts odd ids short ("<a b@c>"
    # becomes "<a") and replaces 8-bit bytes with U+FFFD.
    values = _raw_headers(msg, "Message-ID")
    if not values:
        return ""
    value, _ = _desurrogate(_unfold(values[0]))
    return _one_line(value)


def _message_id(msg: Message, raw: bytes) -> str:
    return _header_message_id(msg) or synthetic_message_id(raw)


def message_id_from_headers(header_bytes: bytes) -> str:
    """The Message-ID as ``parse_email`` reports it, from a header block alone (e.g. IMAP
    ``BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)]``); "" when missing, since a synthetic id needs
    the whole message. Never raises."""
    try:
        headers = email.parser.BytesHeaderParser(policy=email.policy.default).parsebytes(
            _as_bytes(header_bytes)
        )
        return _header_message_id(headers)
    except Exception:
        return ""


def synthetic_message_id(raw: bytes) -> str:
    """Stable stand-in for a missing Message-ID: same bytes, same id. It is the message's
    content fingerprint (SHA-256 of the bytes the server hands out, which IMAP never changes
    for a stored message, across copies and moves), written as an id in the reserved
    ``.invalid`` domain so it shares the Message-ID column and never equals a real one."""
    return f"<{hashlib.sha256(raw).hexdigest()[:32]}@{SYNTHETIC_ID_DOMAIN}>"


def is_fingerprint(identity: str) -> bool:
    """True for a `synthetic_message_id`: the server cannot search for it by header."""
    return identity.endswith(f"@{SYNTHETIC_ID_DOMAIN}>")


def message_identity(raw: bytes) -> str:
    """The identity ``parse_email(raw).message_id`` gives, without parsing the body: the
    Message-ID, or the content fingerprint for mail without one. Never raises."""
    data = _as_bytes(raw)
    return message_id_from_headers(data) or synthetic_message_id(data)


# --------------------------------------------------------------------------------------------
# MIME structure

_DEFECT_TEXT = {
    "NoBoundaryInMultipartDefect": "multipart part without a boundary; read as plain text",
    "StartBoundaryNotFoundDefect": "multipart boundary never found; read as plain text",
    "CloseBoundaryNotFoundDefect": "multipart end boundary missing (message truncated?)",
    "FirstHeaderLineIsContinuationDefect": "first header line is a continuation line",
    "MisplacedEnvelopeHeaderDefect": "'From ' envelope line inside the headers",
    "MissingHeaderBodySeparatorDefect": "a header line without a colon; the rest was read as body",
    "MultipartInvariantViolationDefect": "declared multipart but has no parts",
    "InvalidMultipartContentTransferEncodingDefect": "invalid transfer encoding on a multipart",
    "InvalidBase64PaddingDefect": "base64 padding is wrong",
    "InvalidBase64CharactersDefect": "invalid characters in base64 data",
    "InvalidBase64LengthDefect": "base64 data has an impossible length (truncated?); left "
    "undecoded",
    "UndecodableBytesDefect": "undecodable bytes",
}


def _defect_text(defect: object) -> str:
    name = type(defect).__name__
    return _DEFECT_TEXT.get(name) or str(defect) or re.sub(r"(?<!^)(?=[A-Z])", " ", name).lower()


@dataclass
class _Walk:
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


def _content_type(part: Message) -> str:
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
    name, used = _desurrogate(name)
    if used:
        problems.append(f"attachment name contains raw 8-bit bytes; decoded as {used}")
    # Outlook and others put RFC 2047 encoded-words inside the (quoted) filename parameter.
    if "=?" in name:
        name = _decode_encoded_words(name, problems, "attachment filename")
    return _one_line(name)


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
    text, note = _decode_bytes(data, charset)
    if note:
        problems.append(f"{ctype} part: {note}")
    if ctype == "text/plain":
        try:
            flowed = str(part.get_param("format") or "").lower() == "flowed"
            delsp = str(part.get_param("delsp") or "").lower() == "yes"
        except Exception:
            flowed = delsp = False
        if flowed:
            text = _unflow(_LINEBREAK_RE.sub("\n", text), delsp)
        return _normalise_text(text)
    return html_to_text(text)


def _add_attachment(part: Message, ctype: str, state: _Walk) -> None:
    state.attachments.append(
        Attachment(
            filename=_filename(part, state.problems),
            content_type=ctype,
            size=len(_payload_bytes(part)),
        )
    )


def _walk(part: Message, state: _Walk, depth: int, want_body: bool) -> None:
    if depth > MAX_MIME_DEPTH:
        state.problems.append(f"MIME nesting deeper than {MAX_MIME_DEPTH} levels; rest skipped")
        return
    state.visited += 1
    if state.visited > MAX_PARTS:
        state.problems.append(f"more than {MAX_PARTS} MIME parts; the rest are not listed")
        return
    ctype = _content_type(part)
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
                _walk(child, state, depth + 1, want_body)
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


def _walk_alternative(parts: list[Message], state: _Walk, depth: int, want_body: bool) -> None:
    if not want_body:
        for child in parts:
            _walk(child, state, depth + 1, False)
        return
    chosen: Message | None = None
    # text/plain is preferred: it is what the sender wrote for humans without markup. An empty
    # plain alternative ("view this mail in a browser" senders) does not count.
    for child in parts:
        if _content_type(child) == "text/plain" and _is_body_text(child, "text/plain", []):
            trial = _Walk()
            _walk(child, trial, depth + 1, True)
            if any(text.strip() for _, text in trial.segments):
                chosen = child
                break
    if chosen is None:
        # Else the richest rendering we can read: the last HTML or multipart alternative
        # (RFC 2046 orders alternatives from plainest to richest; calendars come last).
        readable = [c for c in parts if _content_type(c) == "text/html" or c.is_multipart()]
        chosen = readable[-1] if readable else (parts[-1] if parts else None)
    for child in parts:
        _walk(child, state, depth + 1, child is chosen)


# --------------------------------------------------------------------------------------------
# Entry point


def _all_parts(msg: Message) -> list[Message]:
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


def _as_bytes(raw: object) -> bytes:
    if isinstance(raw, bytes):
        return raw
    if isinstance(raw, (bytearray, memoryview)):
        return bytes(raw)
    if isinstance(raw, str):
        return raw.encode("utf-8", errors="surrogateescape")
    return b""


def _dedupe(problems: Iterable[str]) -> tuple[str, ...]:
    unique = list(dict.fromkeys(_one_line(p) for p in problems if p))
    if len(unique) > MAX_PROBLEMS:
        extra = len(unique) - (MAX_PROBLEMS - 1)
        unique = [*unique[: MAX_PROBLEMS - 1], f"… and {extra} more problems"]
    return tuple(unique)


def _parse(
    raw: bytes, max_body_tokens: int, *, original: bytes | None = None, note: str = ""
) -> ParsedEmail:
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    problems: list[str] = [note] if note else []
    sender = _header_text(msg, "From", problems, check_syntax=True)
    to = _header_text(msg, "To", problems, all_values=True, check_syntax=True)
    subject = _header_text(msg, "Subject", problems)
    date = _parse_date(msg, problems)
    # A synthetic id hashes the bytes as fetched, so a cleaned-up retry keeps the same id.
    message_id = _message_id(msg, raw if original is None else original)

    state = _Walk()
    _walk(msg, state, 0, True)
    # After _walk: decoding payloads records defects (bad base64) on the parts too.
    for part in _all_parts(msg):
        defects = getattr(part, "defects", ())
        if defects:
            where = "message" if part is msg else f"{_content_type(part)} part"
            problems.extend(f"{where}: {_defect_text(d)}" for d in defects)
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
        problems=_dedupe(problems),
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
        sender = _header_text(headers, "From", problems)
        to = _header_text(headers, "To", problems, all_values=True)
        subject = _header_text(headers, "Subject", problems)
        date = _parse_date(headers, problems)
        message_id = _message_id(headers, raw)
    except Exception:
        pass
    try:
        _, sep, rest = raw.partition(b"\r\n\r\n")
        if not sep:
            _, sep, rest = raw.partition(b"\n\n")
        text, _ = _guess_decode(rest if sep else raw)
        body, truncated = truncate_to_tokens(_normalise_text(text), max_body_tokens)
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
        problems=_dedupe(problems),
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
