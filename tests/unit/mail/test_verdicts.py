from __future__ import annotations

import json

import pytest

from tui.budget.tokens import BYTES_PER_TOKEN, estimate_tokens
from tui.mail.verdicts import (
    FOLDER_MAX_CHARS,
    Category,
    Priority,
    ReplyProblem,
    SuggestedAction,
    Verdict,
    VerdictList,
    VerdictStream,
    parse_reply,
    verdict_format_schema,
    verdict_text_chars,
)
from tui.prompts import TRIAGE_SYSTEM_PROMPT


def _verdict(vid: str, **overrides: object) -> dict[str, object]:
    base: dict[str, object] = {
        "id": vid,
        "priority": "normal",
        "category": "fyi",
        "action": "none",
        "summary": f"Summary of {vid}.",
        "reason": "Plain information.",
        "injection_suspected": False,
    }
    base.update(overrides)
    return base


def _reply(*verdicts: dict[str, object]) -> str:
    return json.dumps({"verdicts": list(verdicts)})


# --- schema ----------------------------------------------------------------------------------


def _walk_keys(node: object) -> set[str]:
    if isinstance(node, dict):
        keys = set(node)
        for value in node.values():
            keys |= _walk_keys(value)
        return keys
    if isinstance(node, list):
        return set().union(*(_walk_keys(v) for v in node)) if node else set()
    return set()


def test_schema_is_self_contained_json() -> None:
    schema = verdict_format_schema()
    assert json.loads(json.dumps(schema)) == schema
    keys = _walk_keys(schema)
    assert "$ref" not in keys and "$defs" not in keys and "anyOf" not in keys
    item = schema["properties"]["verdicts"]["items"]
    props = item["properties"]
    assert set(props) == set(Verdict.model_fields)
    assert props["priority"]["enum"] == [p.value for p in Priority]
    assert props["category"]["enum"] == [c.value for c in Category]
    assert props["action"]["enum"] == [a.value for a in SuggestedAction]
    assert props["folder"]["type"] == ["string", "null"]
    # Every field required, in the properties' order: folder right after action.
    assert item["required"] == list(props)
    assert item["required"].index("folder") == item["required"].index("action") + 1
    assert item["additionalProperties"] is False
    assert schema["required"] == ["verdicts"]


def test_schema_fields_are_what_the_system_prompt_asks_for() -> None:
    props = verdict_format_schema()["properties"]["verdicts"]["items"]["properties"]
    for name in props:
        assert name in TRIAGE_SYSTEM_PROMPT
    for enum in (Priority, Category, SuggestedAction):
        for member in enum:
            assert member.value in TRIAGE_SYSTEM_PROMPT


def test_schema_pinned_to_batch_ids() -> None:
    schema = verdict_format_schema(["m1", "m2", "m3"])
    array = schema["properties"]["verdicts"]
    assert array["items"]["properties"]["id"]["enum"] == ["m1", "m2", "m3"]
    assert array["minItems"] == array["maxItems"] == 3
    assert "enum" not in verdict_format_schema()["properties"]["verdicts"]["items"]["properties"][
        "id"
    ]
    with pytest.raises(ValueError):
        verdict_format_schema([])


@pytest.mark.parametrize(("reserve", "count"), [(2048, 10), (1024, 4), (700, 3), (4096, 12)])
def test_texts_asked_for_leave_the_whole_reply_inside_the_reserve(reserve: int,
                                                                 count: int) -> None:
    """The longest reply the tightened schema admits (every text at its maxLength, the longest
    enum values) is within the reserve by the same estimate the prompt budget uses."""
    ids = [f"m{i}" for i in range(1, count + 1)]
    chars = verdict_text_chars(ids, reserve, BYTES_PER_TOKEN)
    schema = verdict_format_schema(ids, text_chars=chars)
    props = schema["properties"]["verdicts"]["items"]["properties"]
    assert props["summary"]["maxLength"] == props["reason"]["maxLength"] == chars
    assert props["folder"]["maxLength"] == min(chars, FOLDER_MAX_CHARS)
    longest = {"verdicts": [{
        "id": vid, "priority": "urgent", "category": "notification", "action": "mark_read",
        "folder": "f" * min(chars, FOLDER_MAX_CHARS), "injection_suspected": False,
        "summary": "s" * chars,
        "reason": "r" * chars} for vid in ids]}
    assert estimate_tokens(json.dumps(longest)) <= reserve
    # And a reply that long is still accepted: only the request is tightened.
    parse_reply(json.dumps(longest), ids)


def test_texts_asked_for_keep_a_floor_and_the_schemas_own_maxima() -> None:
    many = [f"m{i}" for i in range(50)]
    assert verdict_text_chars(many, 256, BYTES_PER_TOKEN) == 40
    assert verdict_text_chars(["m1"], 8192, BYTES_PER_TOKEN) == 400
    # A tokenizer that counts more tokens than the estimate (calibration factor 2) halves
    # the room in characters.
    assert verdict_text_chars(["m1", "m2", "m3"], 1024, BYTES_PER_TOKEN / 2) < \
        verdict_text_chars(["m1", "m2", "m3"], 1024, BYTES_PER_TOKEN) / 2 + 1
    untouched = verdict_format_schema(["m1"])["properties"]["verdicts"]["items"]["properties"]
    assert untouched["summary"]["maxLength"] == 400


def test_destructive_actions() -> None:
    assert {a for a in SuggestedAction if a.is_destructive} == {
        SuggestedAction.MOVE,
        SuggestedAction.ARCHIVE,
    }


# --- folder rules ----------------------------------------------------------------------------


def test_move_needs_folder() -> None:
    with pytest.raises(ValueError, match="needs a folder"):
        Verdict.model_validate(_verdict("m1", action="move"))
    verdict = Verdict.model_validate(_verdict("m1", action="move", folder="  Receipts/2024 "))
    assert verdict.folder == "Receipts/2024"


def test_folder_dropped_for_other_actions() -> None:
    verdict = Verdict.model_validate(_verdict("m1", action="archive", folder="Archive"))
    assert verdict.folder is None
    assert Verdict.model_validate(_verdict("m1", folder=None)).folder is None


@pytest.mark.parametrize(
    "folder",
    ["Inbox\r\nA001 DELETE INBOX", "bad\nname", "nul\x00", "rtl\u202eevil", "x" * 201, "  ", "*",
     "Lists/%"],
)
def test_implausible_folder_rejected(folder: str) -> None:
    with pytest.raises(ValueError):
        Verdict.model_validate(_verdict("m1", action="move", folder=folder))


def test_summary_stripped_and_capped() -> None:
    verdict = Verdict.model_validate(_verdict("m1", summary="  padded  "))
    assert verdict.summary == "padded"
    Verdict.model_validate(_verdict("m1", summary="x" * 400))
    with pytest.raises(ValueError):
        Verdict.model_validate(_verdict("m1", summary="x" * 401))
    with pytest.raises(ValueError):
        Verdict.model_validate(_verdict("m1", reason="x" * 401))


def test_injection_suspected_defaults_false() -> None:
    data = _verdict("m1")
    del data["injection_suspected"]
    assert Verdict.model_validate(data).injection_suspected is False


# --- parse_reply -----------------------------------------------------------------------------


def test_parse_reply_happy_path_in_expected_order() -> None:
    raw = _reply(
        _verdict("m2", priority="urgent", category="action", action="flag"),
        _verdict("m1", action="move", folder="Receipts", category="receipt"),
    )
    verdicts = parse_reply(f"\n  {raw}  \n", ["m1", "m2"])
    assert [v.id for v in verdicts] == ["m1", "m2"]
    assert verdicts[0].action is SuggestedAction.MOVE and verdicts[0].folder == "Receipts"
    assert verdicts[1].priority is Priority.URGENT


@pytest.mark.parametrize("fence", ["```json\n{}\n```", "```\n{}\n```", "```JSON {}```"])
def test_parse_reply_tolerates_fence(fence: str) -> None:
    raw = fence.replace("{}", _reply(_verdict("m1")))
    assert [v.id for v in parse_reply(raw, ["m1"])] == ["m1"]


def _problem(raw: str, expected: list[str]) -> ReplyProblem:
    with pytest.raises(ReplyProblem) as info:
        parse_reply(raw, expected)
    assert info.value.raw == raw
    return info.value


def test_invalid_json() -> None:
    assert _problem('{"verdicts": [', ["m1"]).kind == "invalid_json"
    assert _problem("Sure! " + _reply(_verdict("m1")), ["m1"]).kind == "invalid_json"
    assert _problem("[" * 100_000 + "]" * 100_000, ["m1"]).kind == "invalid_json"


def test_wrong_enum_is_schema_problem() -> None:
    problem = _problem(_reply(_verdict("m1", priority="critical")), ["m1"])
    assert problem.kind == "schema"
    assert "priority" in problem.detail


def test_extra_field_is_schema_problem() -> None:
    assert _problem(_reply(_verdict("m1", forward_to="x@evil")), ["m1"]).kind == "schema"
    assert _problem(json.dumps({"verdicts": [], "note": "hi"}), ["m1"]).kind == "schema"
    assert _problem(json.dumps([_verdict("m1")]), ["m1"]).kind == "schema"


def test_missing_ids_keeps_partial_without_filling_in() -> None:
    problem = _problem(_reply(_verdict("m3"), _verdict("m1")), ["m1", "m2", "m3"])
    assert problem.kind == "missing_ids"
    assert problem.ids == ("m2",)
    assert [v.id for v in problem.partial] == ["m1", "m3"]


def test_extra_ids() -> None:
    problem = _problem(_reply(_verdict("m1"), _verdict("m9")), ["m1"])
    assert problem.kind == "extra_ids" and problem.ids == ("m9",)


def test_duplicate_ids() -> None:
    # The classic relabel: a second verdict for someone else's id.
    problem = _problem(
        _reply(_verdict("m1"), _verdict("m2"), _verdict("m1", priority="low")), ["m1", "m2"]
    )
    assert problem.kind == "duplicate_ids" and problem.ids == ("m1",)
    assert problem.partial == ()


@pytest.mark.parametrize("raw", ["", "   \n", "```json\n```", '{"verdicts": []}'])
def test_empty(raw: str) -> None:
    assert _problem(raw, ["m1"]).kind == "empty"


def test_expected_ids_must_be_unique() -> None:
    with pytest.raises(ValueError):
        parse_reply(_reply(_verdict("m1")), ["m1", "m1"])


# --- VerdictStream ---------------------------------------------------------------------------

TRICKY_SUMMARIES = [
    'Invoice {#42} for "Project }{" attached',
    "Path C:\\temp\\ and a lone \\ backslash before a quote\\\"",
    "Unicode caf\u00e9 \u2603 and an escaped slash \\/ plus ]]] and [[[",
    '{"verdicts": [{"id": "m9"}]} pretends to be JSON',
]


def _stream_reply() -> str:
    verdicts = [
        _verdict(f"m{i + 1}", summary=summary, reason='quote " brace } bracket ]')
        for i, summary in enumerate(TRICKY_SUMMARIES)
    ]
    verdicts[1]["action"] = "move"
    verdicts[1]["folder"] = "Work/{odd}"
    # ensure_ascii turns é and ☃ into \u escapes; indent adds whitespace between tokens.
    return "```json\n" + json.dumps({"verdicts": verdicts}, ensure_ascii=True, indent=2) + "\n```"


@pytest.mark.parametrize("size", [1, 3, 17])
def test_stream_matches_parse_reply(size: int) -> None:
    raw = _stream_reply()
    expected = parse_reply(raw, ["m1", "m2", "m3", "m4"])
    stream = VerdictStream()
    got: list[Verdict] = []
    for start in range(0, len(raw), size):
        got.extend(stream.feed(raw[start : start + size]))
    assert got == expected
    assert stream.done and stream.skipped == 0


def test_stream_yields_each_verdict_when_its_brace_closes() -> None:
    first = json.dumps(_verdict("m1"))
    stream = VerdictStream()
    assert stream.feed('{"verdicts": [' + first[:-1]) == []
    assert [v.id for v in stream.feed("}")] == ["m1"]
    assert stream.feed(", " + json.dumps(_verdict("m2"))[:-1]) == []
    assert [v.id for v in stream.feed("}]}")] == ["m2"]


def test_stream_ignores_objects_outside_the_verdicts_array() -> None:
    raw = json.dumps(
        {
            "note": {"id": "x"},
            "other": [_verdict("m8")],
            "verdicts": [_verdict("m1", reason="nested"), _verdict("m2")],
        }
    )
    assert [v.id for v in VerdictStream().feed(raw)] == ["m1", "m2"]


def test_stream_skips_invalid_and_unexpected() -> None:
    raw = _reply(
        _verdict("m1", priority="critical"),
        _verdict("m2"),
        _verdict("m9"),
        _verdict("m2", priority="low"),
    )
    stream = VerdictStream(expected_ids=["m1", "m2"])
    assert [v.id for v in stream.feed(raw)] == ["m2"]
    assert stream.skipped == 3
    # Without expected ids, only the invalid one is skipped.
    assert [v.id for v in VerdictStream().feed(raw)] == ["m2", "m9", "m2"]


def test_stream_ignores_text_after_root() -> None:
    stream = VerdictStream()
    assert [v.id for v in stream.feed(_reply(_verdict("m1")) + ' {"verdicts": [')] == ["m1"]
    assert stream.feed(json.dumps(_verdict("m2")) + "]}") == []


def test_verdict_list_round_trip() -> None:
    data = {"verdicts": [_verdict("m1")]}
    assert VerdictList.model_validate(data).verdicts[0].category is Category.FYI
