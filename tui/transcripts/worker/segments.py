"""whisperx results into what the store keeps and what crosses the process boundary.

Runs in the worker process; plain Python (numpy scalars are handled by duck typing).
"""

from __future__ import annotations

import math
from typing import Any

from tui.transcripts.records import StoredSegment


def _clean_number(value: Any) -> Any:
    if value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return value
    return None if math.isnan(number) else round(number, 3)


def _clean_word(word: dict[str, Any]) -> dict[str, Any]:
    return {key: (_clean_number(value) if key in ("start", "end", "score") else value)
            for key, value in word.items() if key != "chars"}


def to_stored_segment(index: int, segment: dict[str, Any]) -> StoredSegment:
    return StoredSegment(
        index=index,
        start=float(segment["start"]),
        end=float(segment["end"]),
        text=str(segment.get("text", "")).strip(),
        speaker=segment.get("speaker"),
        words=tuple(_clean_word(word) for word in segment.get("words", [])),
    )


def json_safe(value: Any) -> Any:
    """Numpy scalars and NaN out of whisperx results, so they pickle and serialise."""
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if hasattr(value, "item") and callable(value.item):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value
