"""Bytes to text for mail whose charset labels cannot be trusted.

Senders mislabel (iso-8859-1 that is really windows-1252 or UTF-8), omit the label, or name
codecs Python does not know; ``email`` itself replaces what it cannot decode with U+FFFD. These
helpers pick the charset a sender meant and say in a problem note when they had to guess, for
bodies and headers alike.
"""

from __future__ import annotations

import codecs

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


def guess_decode(data: bytes) -> tuple[str, str]:
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


def decode_bytes(data: bytes, declared: str | None) -> tuple[str, str | None]:
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
        text, used = guess_decode(data)
        return text, f"unknown charset {label!r}; decoded as {used}"
    try:
        text = data.decode(codec)
    except UnicodeDecodeError:
        pass
    except Exception:  # exotic codecs can fail in other ways; never let them escape
        text, used = guess_decode(data)
        return text, f"charset {label!r} failed to decode; decoded as {used}"
    else:
        if label in ("", "us-ascii", "ascii"):
            return text, f"8-bit bytes in a {label or 'us-ascii'} part; decoded as windows-1252"
        return text, None
    if codec == "utf-8":
        text, used = guess_decode(data)
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
        text, used = guess_decode(data)
        return text, f"charset {label!r} failed to decode; decoded as {used}"


def desurrogate(text: str) -> tuple[str, str | None]:
    """Recover raw 8-bit bytes that ``email`` kept as lone surrogates (surrogateescape)."""
    if not any("\udc80" <= c <= "\udcff" for c in text):
        return text, None
    data = text.encode("utf-8", errors="surrogateescape")
    try:
        return data.decode("utf-8"), "UTF-8"
    except UnicodeDecodeError:
        guessed, used = guess_decode(data)
        # Anything still unencodable (a surrogate that was not an escaped byte) goes too.
        return guessed.encode("utf-8", errors="replace").decode("utf-8"), used
