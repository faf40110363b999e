"""Summaries through the embedded engine (`[llm] backend = "llamacpp"`): the runner the
llama-server tests drive, on llama.cpp loaded in the engine's own process, with the same
budget checks. SmolLM2-135M at a 2,048-token context; the plumbing is asserted, not the
summary's wisdom (a reply the schema rejects twice fails the summary with the reply kept)."""

from __future__ import annotations

from pathlib import Path

from tests.functional.summaries.meeting import predicted_plan, write_meeting
from tests.functional.summaries.test_llama_server import NUM_CTX, RESERVE, Recorder
from tests.services.llama_engine import smollm2
from tui.config import BudgetConfig, Config, LlamaCppConfig, LlmConfig, PathsConfig
from tui.llm import make_backend
from tui.summaries.runner import Summariser
from tui.summaries.schema import MeetingSummary
from tui.summaries.store import SummaryState, SummaryStore
from tui.transcripts.store import TranscriptStore


def test_a_meeting_is_summarised_through_the_embedded_engine(
        llamacpp_lib_dir: Path, tmp_path: Path) -> None:
    database = tmp_path / "state.db"
    config = Config(
        paths=PathsConfig(database=database, output_dir=tmp_path / "out"),
        llm=LlmConfig(backend="llamacpp", temperature=0.0),
        llamacpp=LlamaCppConfig(model=str(smollm2(llamacpp_lib_dir)), timeout_seconds=300),
        budget=BudgetConfig(num_ctx=NUM_CTX, generation_reserve_tokens=RESERVE))
    model = make_backend(config)
    recorder = Recorder(model)
    transcripts = TranscriptStore(database)
    store = SummaryStore(database)
    try:
        digest = write_meeting(transcripts, tmp_path, segments=12)
        predicted = predicted_plan(transcripts, digest, num_ctx=NUM_CTX, reserve=RESERVE)
        runner = Summariser(store, transcripts, model, num_ctx=NUM_CTX, reserve=RESERVE,
                            output_dir=tmp_path / "out")

        outcome = runner.summarise(digest)

        assert predicted.total == 1
        assert [p.planned for p in store.passes(digest)] == list(predicted.passes)
        assert recorder.calls, "the engine was never asked"
        for _messages, reply in recorder.calls:
            # The engine's own count of each prompt fits the room the plan left, and no reply
            # ran past the reserve (the engine was given it as max_tokens).
            assert reply.prompt_eval_count is not None
            assert 0 < reply.prompt_eval_count <= NUM_CTX - RESERVE
            assert (reply.eval_count or 0) <= RESERVE
        job = store.job(digest)
        assert job is not None and job.state is outcome.state
        if outcome.state is SummaryState.DONE:
            summary = MeetingSummary.model_validate_json(job.summary or "")
            starts = {round(s.start, 1) for s in transcripts.segments(digest)}
            assert set(summary.cited_times()) <= starts
            assert (tmp_path / "out" / "weekly.summary.md").read_text().startswith(
                "# Summary: weekly.m4a")
        else:
            assert outcome.state is SummaryState.FAILED
            assert job.error and job.raw_reply is not None
    finally:
        close = getattr(model, "close", None)
        if close is not None:
            close()
        transcripts.close()
        store.close()
