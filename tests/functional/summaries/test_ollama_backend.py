"""Summaries through the Ollama backend, against the Ollama-protocol server (no Ollama binary
runs here): what only Ollama does is what is checked — `/api/chat` with `format`, the
options `num_ctx` and `num_predict` on every call, `prompt_eval_count` counted after Ollama's
silent truncation. The replies are scripted (a valid summary citing times the request's own
grammar allows); the engine-side behaviour is covered against llama.cpp in
test_llama_server.py and test_embedded_backend.py."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.functional.summaries.meeting import predicted_plan, write_meeting
from tests.services.ollama_server import FakeOllamaServer
from tui.config import BudgetConfig, Config, OllamaConfig, PathsConfig
from tui.llm import make_backend
from tui.summaries.runner import Summariser
from tui.summaries.schema import MeetingSummary
from tui.summaries.store import SummaryState, SummaryStore
from tui.transcripts.store import TranscriptStore

NUM_CTX = 4096
RESERVE = 1024


def scripted_summary(request: dict[str, Any]) -> str:
    """What a model held to the request's grammar may answer: times only from its enum,
    lists empty where the grammar allows none (reduce passes over notes)."""
    properties = request["format"]["properties"]
    times = properties["topics"]["items"]["properties"]["segments"]["items"].get("enum", [])
    listed = bool(times) and properties["topics"]["maxItems"] > 0
    return json.dumps({
        "abstract": "The warehouse lease and the delivery van.",
        "topics": [{"title": "Warehouse lease", "segments": [times[0]]}] if listed else [],
        "decisions": [],
        "action_items": [{"what": "Send the signed contract", "owner": "Ana", "due": "Friday",
                          "segments": [times[-1]]}] if listed else [],
        "open_questions": []})


def test_a_long_meeting_is_summarised_through_ollamas_api(
        ollama_server: FakeOllamaServer, tmp_path: Path) -> None:
    ollama_server.add_devstral_small("triage", parameters=f"num_ctx {NUM_CTX}")
    ollama_server.default_reply = scripted_summary
    database = tmp_path / "state.db"
    config = Config(paths=PathsConfig(database=database, output_dir=tmp_path / "out"),
                    ollama=OllamaConfig(host=ollama_server.host, timeout_seconds=30),
                    budget=BudgetConfig(num_ctx=NUM_CTX, generation_reserve_tokens=RESERVE))
    transcripts = TranscriptStore(database)
    store = SummaryStore(database)
    try:
        digest = write_meeting(transcripts, tmp_path, segments=200)
        predicted = predicted_plan(transcripts, digest, num_ctx=NUM_CTX, reserve=RESERVE)
        assert predicted.map_passes >= 2 and predicted.reduce_passes >= 1
        runner = Summariser(store, transcripts, make_backend(config), num_ctx=NUM_CTX,
                            reserve=RESERVE, output_dir=tmp_path / "out")

        outcome = runner.summarise(digest)

        assert outcome.state is SummaryState.DONE and outcome.passes == predicted.total
        chats = [r.json for r in ollama_server.requests if r.path == "/api/chat"]
        assert len(chats) == outcome.calls == predicted.total
        for chat in chats:
            assert chat["options"]["num_ctx"] == NUM_CTX
            assert chat["options"]["num_predict"] == RESERVE
            assert "abstract" in chat["format"]["properties"]
        # Ollama would have cut an over-long prompt silently: none was, by its own count.
        assert all(not c.truncated and c.prompt_eval_count <= NUM_CTX - RESERVE
                   for c in ollama_server.completions)
        summary = MeetingSummary.model_validate_json(store.job(digest).summary or "")
        starts = {round(s.start, 1) for s in transcripts.segments(digest)}
        assert summary.action_items[0].owner == "Ana"
        assert set(summary.cited_times()) <= starts
        assert (tmp_path / "out" / "weekly.summary.md").read_text().startswith(
            "# Summary: weekly.m4a")
    finally:
        transcripts.close()
        store.close()
