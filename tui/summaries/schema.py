"""The closed shape of a meeting summary, and the one authority that reads the model's reply.

A summary (and each partial note of a long meeting, which has the same shape) holds an
abstract, topics, decisions, action items (what, owner, due) and open questions. Every item
points at the start times of the segments it came from, and those times must be start times
of the transcript the model was shown: an item the model cannot tie to what was said is not
a finding. The JSON schema sent to the server pins the times to the allowed ones (an `enum`,
as the verdict schema pins mail ids), and the caps bound the reply; `parse_summary` still
checks everything, never repairs: a problem is a `SummaryProblem`, and the caller retries
or fails the pass with the raw reply kept.

Times are seconds, rounded to a tenth (`segment_time`): what the prompt shows, so the model
copies them, and distinct enough for segments, which last seconds.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Iterable
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

ABSTRACT_MAX_CHARS = 400
TITLE_MAX_CHARS = 80
TEXT_MAX_CHARS = 160
OWNER_MAX_CHARS = 60
DUE_MAX_CHARS = 40
MAX_ITEMS = 5           # per list: topics, decisions, action items, open questions
MAX_TIMES = 3           # segment times per item
# Two times are the same segment time when closer than this (the model may write 83.40).
TIME_TOLERANCE = 0.051


def segment_time(start: float) -> float:
    """A segment's start as the prompt shows it and an item cites it: seconds, one decimal."""
    return round(float(start), 1)


Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1,
                                        max_length=TEXT_MAX_CHARS)]
Times = Annotated[list[float], Field(min_length=1, max_length=MAX_TIMES)]


class _Item(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Topic(_Item):
    title: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1,
                                            max_length=TITLE_MAX_CHARS)]
    segments: Times


class Decision(_Item):
    text: Text
    segments: Times


class ActionItem(_Item):
    what: Text
    # A speaker's name when the transcript names one (renamed speakers show by name).
    owner: Annotated[str, StringConstraints(strip_whitespace=True,
                                            max_length=OWNER_MAX_CHARS)] | None = None
    due: Annotated[str, StringConstraints(strip_whitespace=True,
                                          max_length=DUE_MAX_CHARS)] | None = None
    segments: Times


class OpenQuestion(_Item):
    text: Text
    segments: Times


class MeetingSummary(BaseModel):
    """One summary, or one partial note of a long meeting (the same shape)."""

    model_config = ConfigDict(extra="forbid")

    abstract: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1,
                                               max_length=ABSTRACT_MAX_CHARS)]
    topics: Annotated[list[Topic], Field(max_length=MAX_ITEMS)]
    decisions: Annotated[list[Decision], Field(max_length=MAX_ITEMS)]
    action_items: Annotated[list[ActionItem], Field(max_length=MAX_ITEMS)]
    open_questions: Annotated[list[OpenQuestion], Field(max_length=MAX_ITEMS)]

    def items(self) -> Iterable[_Item]:
        yield from self.topics
        yield from self.decisions
        yield from self.action_items
        yield from self.open_questions

    def cited_times(self) -> list[float]:
        """Every segment time the items cite, in order, each once."""
        return list(dict.fromkeys(t for item in self.items()
                                  for t in item.segments))  # type: ignore[attr-defined]

    def compact_json(self) -> str:
        """The note as a later pass reads it: compact JSON, no nulls left out."""
        return json.dumps(self.model_dump(mode="json"), ensure_ascii=False,
                          separators=(",", ":"))


_LISTS = ("topics", "decisions", "action_items", "open_questions")


class SummaryProblem(Exception):
    """A reply that is not a valid summary for this pass. `kind` is one of: not_json,
    schema, unknown_time."""

    def __init__(self, kind: str, detail: str) -> None:
        super().__init__(f"{kind}: {detail}")
        self.kind = kind
        self.detail = detail


def _times_schema(times: Collection[float]) -> dict[str, Any]:
    allowed = sorted({segment_time(t) for t in times})
    return {"type": "array", "minItems": 1, "maxItems": MAX_TIMES,
            "items": {"enum": allowed} if allowed else {"type": "number"}}


def _text_schema(max_length: int, *, nullable: bool = False) -> dict[str, Any]:
    return {"type": ["string", "null"] if nullable else "string", "minLength": 1,
            "maxLength": max_length}


#: Steps by which the request's lengths and list sizes shrink to fit the reply reserve.
_SCALES = (1.0, 0.75, 0.5, 0.35, 0.25, 0.15, 0.1)
#: The shortest a text is ever asked for, however small the reserve.
_MIN_CHARS = 12


def _longest_instance(node: dict[str, Any]) -> Any:
    """The longest JSON value `node` (a schema as this module writes them) admits."""
    if "enum" in node:
        return max(node["enum"], key=lambda value: len(json.dumps(value)))
    kind = node.get("type")
    if kind == "object":
        return {name: _longest_instance(child) for name, child in node["properties"].items()}
    if kind == "array":
        return [_longest_instance(node["items"])] * node.get("maxItems", 0)
    if kind == "number":
        return 99999.99
    return "x" * node["maxLength"]  # a string, nullable or not


def longest_reply_bytes(schema: dict[str, Any]) -> int:
    return len(json.dumps(_longest_instance(schema)).encode())


def summary_format_schema(times: Collection[float], *,
                          reply_bytes: float | None = None) -> dict[str, Any]:
    """The JSON schema sent to the server (Ollama's `format`, OpenAI's `response_format`),
    self-contained like the verdict schema (no `$ref`, nullable as a type list). `times` are
    the segment times this pass may cite: the grammar allows no others. With none (notes that
    cite nothing), the lists must stay empty.

    With `reply_bytes` (the reply reserve at the calibrated bytes per token), the texts and
    lists are asked for shorter, in steps, until the longest reply the grammar admits fits
    it: a model that writes as much as it may then ends inside the reserve instead of being
    cut at it (a 135M model was, twice, at 448 tokens). Only the request shrinks: replies up
    to the maxima above are still accepted."""
    for scale in _SCALES:
        schema = _scaled_schema(times, scale)
        if reply_bytes is None or longest_reply_bytes(schema) <= reply_bytes:
            break
    return schema


def _scaled_schema(times: Collection[float], scale: float) -> dict[str, Any]:
    times_schema = _times_schema(times)
    items_allowed = max(1, int(MAX_ITEMS * scale)) if times else 0

    def _string(max_length: int, *, nullable: bool = False) -> dict[str, Any]:
        return _text_schema(max(_MIN_CHARS, int(max_length * scale)), nullable=nullable)

    def items(properties: dict[str, Any]) -> dict[str, Any]:
        return {"type": "array", "maxItems": items_allowed, "items": {
            "type": "object", "properties": {**properties, "segments": times_schema},
            "required": [*properties, "segments"], "additionalProperties": False}}

    return {
        "type": "object",
        "properties": {
            "abstract": _string(ABSTRACT_MAX_CHARS),
            "topics": items({"title": _string(TITLE_MAX_CHARS)}),
            "decisions": items({"text": _string(TEXT_MAX_CHARS)}),
            "action_items": items({"what": _string(TEXT_MAX_CHARS),
                                   "owner": _string(OWNER_MAX_CHARS, nullable=True),
                                   "due": _string(DUE_MAX_CHARS, nullable=True)}),
            "open_questions": items({"text": _string(TEXT_MAX_CHARS)}),
        },
        "required": ["abstract", *_LISTS],
        "additionalProperties": False,
    }


_FENCE_RE = re.compile(r"^\s*```(?:json)?\s*\n(.*)\n\s*```\s*$", re.DOTALL)


def _snap(value: float, allowed: list[float]) -> float | None:
    nearest = min(allowed, key=lambda t: abs(t - value), default=None)
    if nearest is None or abs(nearest - value) > TIME_TOLERANCE:
        return None
    return nearest


def parse_summary(text: str, times: Collection[float]) -> MeetingSummary:
    """The reply as a validated summary whose every cited time is one of `times` (segment
    starts, compared at `segment_time`'s precision). Raises SummaryProblem; never repairs
    (a fenced ```json block is unwrapped: that is framing, not content)."""
    fenced = _FENCE_RE.match(text)
    body = fenced.group(1) if fenced else text
    try:
        data = json.loads(body)
    except ValueError as error:
        raise SummaryProblem("not_json", f"{error.__class__.__name__}: {error}") from None
    try:
        summary = MeetingSummary.model_validate(data)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "(top)"
        raise SummaryProblem("schema", f"{where}: {first['msg']} "
                             f"({error.error_count()} problem(s))") from None
    allowed = sorted({segment_time(t) for t in times})
    unknown: list[float] = []
    for item in summary.items():
        snapped = [_snap(t, allowed) for t in item.segments]  # type: ignore[attr-defined]
        unknown.extend(t for t, s in zip(item.segments, snapped, strict=True)  # type: ignore[attr-defined]
                       if s is None)
        if not unknown:
            item.segments = list(dict.fromkeys(  # type: ignore[attr-defined]
                s for s in snapped if s is not None))
    if unknown:
        shown = ", ".join(f"{t:g}" for t in unknown[:5])
        raise SummaryProblem("unknown_time", f"segment times not in this part of the "
                             f"transcript: {shown}")
    return summary
