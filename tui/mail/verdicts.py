"""The closed set of triage verdicts the model may choose from, and parsing of its replies.

The model only ever *suggests*; code maps a validated `Verdict` to an IMAP action later
(FAILURE-MODES.md, prompt injection). Everything here is pure: no I/O, no network.

Two entry points read a reply:

* `parse_reply` is the authority. It validates the whole reply against the schema and
  demands exactly one verdict per expected id. It never repairs a reply: a missing,
  extra or duplicated id is a `ReplyProblem`, so the caller retries smaller or quarantines
  the batch with the raw text kept.
* `VerdictStream` is a preview for the UI while Ollama streams: it yields each verdict as
  soon as its object closes. What it yields is not applied to mail until `parse_reply`
  has accepted the complete text.
"""

from __future__ import annotations

import copy
import json
import re
import unicodedata
from collections.abc import Sequence
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    StringConstraints,
    ValidationError,
    field_validator,
    model_validator,
)

from tui.mail.verdict_fields import Category, Priority, SuggestedAction

SUMMARY_MAX_CHARS = 400
REASON_MAX_CHARS = 400
FOLDER_MAX_CHARS = 200


# Control and format characters have no business in a mailbox name: CR/LF could smuggle an
# IMAP command line, and bidi overrides (Cf) make a name display differently from what it is.
_FORBIDDEN_FOLDER_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})
# LIST wildcards: a "folder" containing them is never a real destination.
_FORBIDDEN_FOLDER_CHARS = frozenset("*%")


def _check_folder_name(name: str) -> str:
    """Return the stripped name if it is a plausible IMAP mailbox name, else raise ValueError.

    Plausible, not existing: whether the mailbox exists (or is allowed) is for the code that
    maps verdicts to actions, which knows the server's folder list.
    """
    name = name.strip()
    if not name:
        raise ValueError("folder is empty")
    if len(name) > FOLDER_MAX_CHARS:
        raise ValueError(f"folder is longer than {FOLDER_MAX_CHARS} characters")
    for char in name:
        if unicodedata.category(char) in _FORBIDDEN_FOLDER_CATEGORIES:
            raise ValueError(f"folder contains a control character U+{ord(char):04X}")
        if char in _FORBIDDEN_FOLDER_CHARS:
            raise ValueError(f"folder contains the IMAP wildcard {char!r}")
    return name


class Verdict(BaseModel):
    """One email's triage suggestion. Field names match what TRIAGE_SYSTEM_PROMPT asks for."""

    model_config = ConfigDict(extra="forbid")

    id: Annotated[str, StringConstraints(min_length=1)]
    priority: Priority
    category: Category
    action: SuggestedAction
    # Only meaningful for MOVE; see `_folder_only_for_move`.
    folder: str | None = None
    summary: Annotated[str, StringConstraints(strip_whitespace=True, max_length=SUMMARY_MAX_CHARS)]
    reason: Annotated[str, StringConstraints(strip_whitespace=True, max_length=REASON_MAX_CHARS)]
    injection_suspected: bool = False

    @field_validator("folder")
    @classmethod
    def _plausible_folder(cls, value: str | None) -> str | None:
        return None if value is None else _check_folder_name(value)

    @model_validator(mode="after")
    def _folder_only_for_move(self) -> Verdict:
        # A folder is required for MOVE: without one the action cannot be carried out.
        # A folder beside any other action is dropped rather than rejected: it is harmless
        # noise, and failing the whole batch over it would cost a retry for nothing.
        if self.action is SuggestedAction.MOVE:
            if self.folder is None:
                raise ValueError("action 'move' needs a folder")
        elif self.folder is not None:
            self.folder = None
        return self


class VerdictList(BaseModel):
    model_config = ConfigDict(extra="forbid")

    verdicts: list[Verdict]


# Fields the model must write out even where pydantic has a default: the grammar then forces
# the model to decide on injection_suspected instead of silently leaving it False.
_REQUIRED_FROM_MODEL = (
    "id", "priority", "category", "action", "folder", "summary", "reason",
    "injection_suspected",
)


def _inline_refs(node: Any, defs: dict[str, Any]) -> Any:
    """Replace every local `$ref` with a copy of its definition, recursively."""
    if isinstance(node, dict):
        if "$ref" in node:
            ref = node["$ref"]
            prefix = "#/$defs/"
            if not isinstance(ref, str) or not ref.startswith(prefix):
                raise ValueError(f"cannot inline schema reference {ref!r}")
            target = copy.deepcopy(defs[ref[len(prefix):]])
            # Sibling keywords beside $ref (pydantic may add a description) override.
            target.update({k: v for k, v in node.items() if k != "$ref"})
            return _inline_refs(target, defs)
        return {k: _inline_refs(v, defs) for k, v in node.items() if k != "$defs"}
    if isinstance(node, list):
        return [_inline_refs(item, defs) for item in node]
    return node


#: The shortest summary and reason a verdict is ever asked for, however small its share.
TEXT_MIN_CHARS = 40
#: Bytes the reply's JSON spends outside the verdicts (`{"verdicts":[` … `]}`).
_REPLY_WRAPPER = '{"verdicts":[]}'


def _verdict_skeleton(ids: Sequence[str]) -> str:
    """The longest a verdict is without its two texts (and with no folder): the fields the
    grammar forces, their longest values, the JSON around them."""
    longest = {"id": max(ids, key=len), "priority": max((p.value for p in Priority), key=len),
               "category": max((c.value for c in Category), key=len),
               "action": max((a.value for a in SuggestedAction), key=len), "folder": None,
               "injection_suspected": False, "summary": "", "reason": ""}
    return json.dumps(longest) + ", "


def verdict_text_chars(ids: Sequence[str], reply_tokens: int, bytes_per_token: float) -> int:
    """How long each verdict's summary, reason and folder may be so that the whole reply
    fits the reply reserve: each verdict gets an equal share of `reply_tokens`, less its
    skeleton, split between its three strings at `bytes_per_token` (the conservative
    estimate, divided by the calibration's factor). Between TEXT_MIN_CHARS and the schema's
    own maxima. The folder counts: a small model was seen filling its 200 characters with
    one word repeated, a reply cut at the reserve."""
    share = (reply_tokens - len(_REPLY_WRAPPER) / bytes_per_token) / max(1, len(ids))
    text_tokens = share - len(_verdict_skeleton(ids).encode()) / bytes_per_token
    chars = int(text_tokens * bytes_per_token / 3)
    return max(TEXT_MIN_CHARS, min(SUMMARY_MAX_CHARS, REASON_MAX_CHARS, chars))


def verdict_format_schema(ids: Sequence[str] | None = None, *,
                          text_chars: int | None = None) -> dict[str, Any]:
    """The JSON schema sent as Ollama's `format`, self-contained (no `$ref`/`$defs`).

    Ollama turns the schema into a grammar; `$ref`s into `$defs` and `anyOf` nullable unions
    have been reported to fail or be silently ignored there (ollama/ollama #8063, #8444), so
    the enums are inlined and `folder` is a nullable string (a type list, no `anyOf`).

    `folder` is *required* (null unless the action is move): grammar converters (llama.cpp's
    json-schema-to-grammar, which Ollama uses too) put optional properties after every
    required one, so an optional folder came after `reason` and a model that chose `move`
    ended the object before reaching it — a verdict rejected for a missing folder. Required,
    it follows `action` directly, in the properties' order.

    With `ids`, the schema also pins the reply to this batch: `id` becomes an enum of the
    given ids and the array must hold exactly `len(ids)` items, so the grammar itself keeps
    the model from inventing ids. Duplicates are still possible; `parse_reply` catches them.

    With `text_chars` (`verdict_text_chars`), summary, reason and folder are asked for at
    most that long, so that a model that writes as much as the grammar lets it still ends its reply
    inside the reserve instead of being cut at it (a wasted call, then a split). Only the
    request is tightened: `parse_reply` accepts texts up to the schema's own maxima, from a
    server whose grammar does not enforce maxLength.
    """
    schema = VerdictList.model_json_schema()
    schema = _inline_refs(schema, schema.get("$defs", {}))
    verdict = schema["properties"]["verdicts"]["items"]
    verdict["properties"]["folder"] = {
        "type": ["string", "null"],
        "minLength": 1,
        "maxLength": FOLDER_MAX_CHARS,
        "description": "Destination mailbox when action is move, else null.",
    }
    verdict["required"] = [name for name in verdict["properties"]
                           if name in _REQUIRED_FROM_MODEL]
    # The class docstring is for programmers, and a default contradicts "required".
    verdict.pop("description", None)
    verdict["properties"]["injection_suspected"].pop("default", None)
    verdict["additionalProperties"] = False
    schema["required"] = ["verdicts"]
    schema["additionalProperties"] = False
    if ids is not None:
        id_list = list(ids)
        if not id_list:
            raise ValueError("ids must not be empty")
        verdict["properties"]["id"] = {"type": "string", "enum": id_list}
        schema["properties"]["verdicts"]["minItems"] = len(id_list)
        schema["properties"]["verdicts"]["maxItems"] = len(id_list)
    if text_chars is not None:
        for name in ("summary", "reason", "folder"):
            verdict["properties"][name]["maxLength"] = min(
                text_chars, verdict["properties"][name].get("maxLength", text_chars))
    return schema


ProblemKind = Literal[
    "invalid_json", "schema", "missing_ids", "extra_ids", "duplicate_ids", "empty"
]


class ReplyProblem(Exception):
    """A reply that cannot be accepted as-is. `raw` is kept for the quarantine record.

    `ids` names the offending ids for the *_ids kinds. `partial` holds, for `missing_ids`
    only, the valid verdicts that were present (all unique and expected), so a caller may
    explicitly retry just the missing ids; nothing is filled in on its behalf.
    """

    def __init__(
        self,
        kind: ProblemKind,
        detail: str,
        raw: str,
        *,
        ids: Sequence[str] = (),
        partial: Sequence[Verdict] = (),
    ) -> None:
        super().__init__(f"{kind}: {detail}")
        self.kind: ProblemKind = kind
        self.detail = detail
        self.raw = raw
        self.ids: tuple[str, ...] = tuple(ids)
        self.partial: tuple[Verdict, ...] = tuple(partial)


# A whole-reply Markdown fence: ```json ... ``` (language tag optional, any case).
_FENCE = re.compile(r"\A```[A-Za-z0-9_-]*[ \t]*\r?\n?(?P<body>.*?)\r?\n?```\Z", re.DOTALL)


def _strip_fence(text: str) -> str:
    text = text.strip()
    match = _FENCE.match(text)
    return match.group("body").strip() if match else text


def _validation_summary(error: ValidationError, limit: int = 5) -> str:
    parts = []
    for item in error.errors()[:limit]:
        location = ".".join(str(p) for p in item["loc"]) or "(root)"
        parts.append(f"{location}: {item['msg']}")
    more = error.error_count() - limit
    if more > 0:
        parts.append(f"... and {more} more")
    return "; ".join(parts)


def parse_reply(raw: str, expected_ids: Sequence[str]) -> list[Verdict]:
    """Exactly one valid verdict per expected id, in `expected_ids` order, or `ReplyProblem`.

    Surrounding whitespace and one enclosing ```json fence are tolerated; nothing else is.
    Checks run from the reply's shape inwards: empty, invalid_json, schema, then
    duplicate_ids, extra_ids, missing_ids (the first that applies is raised).
    """
    expected = list(expected_ids)
    if len(set(expected)) != len(expected):
        raise ValueError("expected_ids contains duplicates")

    text = _strip_fence(raw)
    if not text:
        raise ReplyProblem("empty", "the reply is empty", raw)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise ReplyProblem("invalid_json", str(error), raw) from error
    except RecursionError as error:  # absurd nesting: still just a bad reply, not a crash
        raise ReplyProblem("invalid_json", "nested too deeply", raw) from error
    try:
        verdicts = VerdictList.model_validate(data).verdicts
    except ValidationError as error:
        raise ReplyProblem("schema", _validation_summary(error), raw) from error

    if not verdicts:
        if not expected:
            return []
        raise ReplyProblem("empty", "the reply holds no verdicts", raw, ids=expected)

    seen: dict[str, Verdict] = {}
    duplicates: list[str] = []
    for verdict in verdicts:
        if verdict.id in seen:
            if verdict.id not in duplicates:
                duplicates.append(verdict.id)
        else:
            seen[verdict.id] = verdict
    if duplicates:
        raise ReplyProblem(
            "duplicate_ids", f"more than one verdict for {', '.join(duplicates)}", raw,
            ids=duplicates,
        )
    expected_set = set(expected)
    extra = [vid for vid in seen if vid not in expected_set]
    if extra:
        raise ReplyProblem(
            "extra_ids", f"verdicts for ids not in the batch: {', '.join(extra)}", raw, ids=extra
        )
    missing = [eid for eid in expected if eid not in seen]
    if missing:
        raise ReplyProblem(
            "missing_ids", f"no verdict for {', '.join(missing)}", raw,
            ids=missing, partial=[seen[eid] for eid in expected if eid in seen],
        )
    return [seen[eid] for eid in expected]


class _Frame:
    """One open JSON container while scanning."""

    __slots__ = ("expecting_key", "is_object", "key", "last_key")

    def __init__(self, is_object: bool, key: str | None) -> None:
        self.is_object = is_object
        self.key = key  # the key this container is the value of, in its parent object
        self.expecting_key = is_object  # next string in this object is a key
        self.last_key: str | None = None  # most recent key read in this object


class VerdictStream:
    """Yield verdicts from a streamed reply as soon as each object's closing brace arrives.

    A small JSON scanner: it tracks strings (so braces and quotes inside them, escaped quotes
    and \\uXXXX escapes do not count), containers and the keys of the root object, and
    captures only objects that are direct elements of the root object's "verdicts" array.
    Text before the root object (such as a ```json fence line) is ignored, as is anything
    after it closes.

    Objects that fail validation are skipped and counted in `skipped`; with `expected_ids`,
    verdicts for other ids and repeats of an id already yielded are skipped too, so a preview
    never shows a verdict that `parse_reply` would refuse for those reasons.
    """

    def __init__(self, expected_ids: Sequence[str] | None = None) -> None:
        self._expected = None if expected_ids is None else frozenset(expected_ids)
        self._yielded: set[str] = set()
        self._stack: list[_Frame] = []
        self._in_string = False
        self._escape = False
        self._string_is_root_key = False
        self._key_chars: list[str] = []
        self._capture: list[str] | None = None
        self._done = False
        self.skipped = 0

    @property
    def done(self) -> bool:
        """True once the root object has closed."""
        return self._done

    def feed(self, chunk: str) -> list[Verdict]:
        completed: list[Verdict] = []
        for char in chunk:
            if self._done:
                break
            if self._capture is not None:
                self._capture.append(char)
            if self._in_string:
                self._string_char(char)
                continue
            if not self._stack and char != "{":
                continue  # before the root object: fence, prose, whitespace
            if char == '"':
                top = self._stack[-1]
                self._in_string = True
                self._string_is_root_key = len(self._stack) == 1 and top.expecting_key
                self._key_chars = []
            elif char == ":":
                self._stack[-1].expecting_key = False
            elif char == ",":
                top = self._stack[-1]
                top.expecting_key = top.is_object
            elif char in "{[":
                self._open(char == "{")
            elif char in "}]":
                verdict = self._close()
                if verdict is not None:
                    completed.append(verdict)
        return completed

    def _string_char(self, char: str) -> None:
        if self._escape:
            self._escape = False
        elif char == "\\":
            self._escape = True
        elif char == '"':
            self._in_string = False
            if self._string_is_root_key:
                try:
                    self._stack[0].last_key = json.loads('"' + "".join(self._key_chars) + '"')
                except json.JSONDecodeError:
                    self._stack[0].last_key = None
            return
        if self._string_is_root_key:
            self._key_chars.append(char)

    def _in_verdicts_array(self) -> bool:
        return (
            len(self._stack) == 2
            and self._stack[0].is_object
            and not self._stack[1].is_object
            and self._stack[1].key == "verdicts"
        )

    def _open(self, is_object: bool) -> None:
        parent = self._stack[-1] if self._stack else None
        key = parent.last_key if parent is not None and parent.is_object else None
        if is_object and self._capture is None and self._in_verdicts_array():
            self._capture = ["{"]
        self._stack.append(_Frame(is_object, key))

    def _close(self) -> Verdict | None:
        self._stack.pop()
        if not self._stack:
            self._done = True
            return None
        if self._capture is None or not self._in_verdicts_array():
            return None
        text = "".join(self._capture)
        self._capture = None
        try:
            verdict = Verdict.model_validate_json(text)
        except ValidationError:
            self.skipped += 1
            return None
        if self._expected is not None and (
            verdict.id not in self._expected or verdict.id in self._yielded
        ):
            self.skipped += 1
            return None
        self._yielded.add(verdict.id)
        return verdict
