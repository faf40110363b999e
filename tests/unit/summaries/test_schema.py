"""The summary schema: what a valid reply is, and every way a reply is refused."""

from __future__ import annotations

import json

import pytest

from tui.summaries.schema import (
    MAX_ITEMS,
    MeetingSummary,
    SummaryProblem,
    longest_reply_bytes,
    parse_summary,
    segment_time,
    summary_format_schema,
)

TIMES = [0.0, 4.2, 83.4, 125.0]


def reply(**changes: object) -> str:
    data: dict[str, object] = {
        "abstract": "The team agreed on the warehouse lease.",
        "topics": [{"title": "Warehouse", "segments": [4.2]}],
        "decisions": [{"text": "Sign the lease", "segments": [83.4]}],
        "action_items": [{"what": "Send the contract", "owner": "Ana", "due": "Friday",
                          "segments": [83.4, 125.0]}],
        "open_questions": [{"text": "Who pays the deposit?", "segments": [125.0]}],
    }
    data.update(changes)
    return json.dumps(data)


def test_a_valid_reply_parses_with_its_times() -> None:
    summary = parse_summary(reply(), TIMES)
    assert summary.action_items[0].owner == "Ana"
    assert summary.action_items[0].segments == [83.4, 125.0]
    assert summary.cited_times() == [4.2, 83.4, 125.0]


def test_times_match_at_a_tenth_and_snap_to_the_segment() -> None:
    summary = parse_summary(reply(topics=[{"title": "W", "segments": [83.40001, 4.2]}]),
                            [83.43, 4.18, 125.02])
    assert summary.topics[0].segments == [83.4, 4.2]


def test_a_time_not_in_the_transcript_is_refused() -> None:
    with pytest.raises(SummaryProblem) as problem:
        parse_summary(reply(decisions=[{"text": "x", "segments": [999.0]}]), TIMES)
    assert problem.value.kind == "unknown_time"
    assert "999" in problem.value.detail


@pytest.mark.parametrize("changes", [
    {"abstract": ""},
    {"topics": [{"title": "x", "segments": []}]},                   # an item must cite
    {"decisions": [{"text": "x", "segments": [4.2], "why": "y"}]},  # closed shape
    {"action_items": [{"what": "x", "segments": [4.2], "owner": "a" * 61}]},
    {"open_questions": [{"text": "q", "segments": [4.2]}] * (MAX_ITEMS + 1)},
])
def test_schema_violations_are_refused(changes: dict[str, object]) -> None:
    with pytest.raises(SummaryProblem) as problem:
        parse_summary(reply(**changes), TIMES)
    assert problem.value.kind == "schema"


def test_a_missing_list_is_refused() -> None:
    data = json.loads(reply())
    del data["decisions"]
    with pytest.raises(SummaryProblem, match="decisions"):
        parse_summary(json.dumps(data), TIMES)


def test_not_json_is_refused_but_a_fence_is_framing() -> None:
    with pytest.raises(SummaryProblem) as problem:
        parse_summary('{"abstract": "cut', TIMES)
    assert problem.value.kind == "not_json"
    assert parse_summary(f"```json\n{reply()}\n```", TIMES).abstract


def test_the_format_schema_pins_times_and_caps_lists() -> None:
    schema = summary_format_schema([83.44, 4.2, 4.24])
    item = schema["properties"]["action_items"]["items"]
    assert item["properties"]["segments"]["items"] == {"enum": [4.2, 83.4]}
    assert item["required"] == ["what", "owner", "due", "segments"]
    assert item["properties"]["owner"]["type"] == ["string", "null"]
    assert schema["properties"]["topics"]["maxItems"] == MAX_ITEMS
    assert "$ref" not in json.dumps(schema)
    # Notes that cite no time: nothing may be listed.
    assert summary_format_schema([])["properties"]["decisions"]["maxItems"] == 0


@pytest.mark.parametrize("reserve_tokens", [2048, 1024, 448, 256])
def test_the_request_shrinks_until_its_longest_reply_fits_the_reserve(
        reserve_tokens: int) -> None:
    times = [4.2, 8.5, 12.8, 83.4]
    reply_bytes = reserve_tokens * 3.0
    schema = summary_format_schema(times, reply_bytes=reply_bytes)
    assert longest_reply_bytes(schema) <= reply_bytes
    full = summary_format_schema(times)
    assert longest_reply_bytes(schema) <= longest_reply_bytes(full)
    # The longest reply the full schema admits is still accepted: only the request shrinks.
    text = json.dumps({"abstract": "a" * 400, **{name: [] for name in
                                                 ("topics", "decisions", "open_questions")},
                       "action_items": [{"what": "w" * 160, "owner": "o" * 60, "due": "d" * 40,
                                         "segments": [4.2, 8.5, 12.8]}] * MAX_ITEMS})
    assert len(parse_summary(text, times).action_items) == MAX_ITEMS


def test_a_reserve_large_enough_asks_for_the_full_schema() -> None:
    times = [4.2, 8.5]
    assert summary_format_schema(times, reply_bytes=1e9) == summary_format_schema(times)
    small = summary_format_schema(times, reply_bytes=448 * 3.0)["properties"]
    assert small["topics"]["maxItems"] < MAX_ITEMS
    assert small["abstract"]["maxLength"] < 400


def test_a_summary_round_trips_through_its_compact_json() -> None:
    summary = parse_summary(reply(), TIMES)
    assert MeetingSummary.model_validate_json(summary.compact_json()) == summary
    assert segment_time(83.449) == 83.4
