"""Parse one raw RFC 5322 message (IMAP ``BODY.PEEK[]`` bytes) into plain data for triage.

Pure: no network, no files. ``parse_email`` never raises: a mail server hands us whatever any
sender wrote (mislabelled charsets, raw 8-bit headers, truncated MIME), and one bad message must
never stop the mail loop. Everything that went wrong is reported in ``ParsedEmail.problems``.

Content is never dropped on purpose (a prompt-injection attempt stays in the body verbatim: the
defence lives in the prompt and in code that maps verdicts to actions, not here); only markup,
scripts, styles and invisible formatting characters are removed, and attachments are reduced to
name, type and size.

Modules, from the bytes up:

* ``charsets``: bytes to text when the declared charset is wrong, missing or unknown.
* ``plain_text``: line breaks, whitespace, invisible/control characters, format=flowed.
* ``html_text``: HTML to the visible text, links as "label (url)".
* ``problems``: ``email``'s defects in words; the problem list deduplicated and capped.
* ``headers``: From/To/Subject/Date/Message-ID from the raw header text; synthetic ids.
* ``mime``: the MIME walk: body parts, attachments, limits on nesting and part count.
* ``truncation``: cutting the body to a token budget with a visible marker.
* ``result``: ``ParsedEmail`` and ``Attachment``, the plain data handed on.
* ``message``: the entry points, ``parse_email`` and ``message_id_from_headers``.
"""

from __future__ import annotations

from tui.mail.parsing.headers import is_fingerprint, synthetic_message_id
from tui.mail.parsing.html_text import html_to_text
from tui.mail.parsing.message import message_id_from_headers, message_identity, parse_email
from tui.mail.parsing.result import Attachment, ParsedEmail
from tui.mail.parsing.truncation import truncate_to_tokens

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
