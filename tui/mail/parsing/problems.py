"""The wording of ``ParsedEmail.problems``: ``email``'s defect classes in plain words, and the
list deduplicated and capped so that a hostile message cannot flood the UI or the prompt."""

from __future__ import annotations

import re
from collections.abc import Iterable

from tui.mail.parsing.plain_text import one_line

# A hostile message can produce thousands of defects; the UI and the prompt need only a few.
MAX_PROBLEMS = 20

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


def defect_text(defect: object) -> str:
    name = type(defect).__name__
    return _DEFECT_TEXT.get(name) or str(defect) or re.sub(r"(?<!^)(?=[A-Z])", " ", name).lower()


def dedupe_problems(problems: Iterable[str]) -> tuple[str, ...]:
    unique = list(dict.fromkeys(one_line(p) for p in problems if p))
    if len(unique) > MAX_PROBLEMS:
        extra = len(unique) - (MAX_PROBLEMS - 1)
        unique = [*unique[: MAX_PROBLEMS - 1], f"… and {extra} more problems"]
    return tuple(unique)
