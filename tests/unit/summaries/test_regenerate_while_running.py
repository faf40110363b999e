"""A speaker renamed (R) while that transcript's summary runs: the summary is queued again
(`Summariser.regenerate`), its plan and notes dropped under the running pass. The run ends
there and the queue plans it afresh from the new lines; it is no failed call (no
SummaryDeferred, no failure counted)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import tui.summaries.runner as runner_module
from tests.functional.summaries.meeting import write_meeting
from tui.llm.protocol import BackendStatus, BatchReply
from tui.summaries.events import SummaryDeferred, SummaryQueued, SummaryReady
from tui.summaries.runner import Summariser
from tui.summaries.schema import segment_time
from tui.summaries.store import SummaryState, SummaryStore
from tui.transcripts.store import TranscriptStore


class RenamingDuringTheFirstCall:
    """Replies with a valid one-topic summary; while the first call runs, the user renames
    SPEAKER_02 (the transcript store, then the summaries: what the dashboard does)."""

    label = "stand-in LLM"
    num_ctx = 8192

    def __init__(self, rename: Callable[[], None]) -> None:
        self.rename = rename
        self.prompts: list[str] = []

    def check(self) -> BackendStatus:
        return BackendStatus(True, "ready", self.label)

    def run_batch(self, messages: list[dict[str, str]], schema: dict[str, Any],
                  on_text: Callable[[str], None]) -> BatchReply:
        self.prompts.append(messages[-1]["content"])
        if len(self.prompts) == 1:
            self.rename()
        reply = json.dumps({"abstract": "The lease.", "decisions": [], "action_items": [],
                            "open_questions": [],
                            "topics": [{"title": "Lease", "segments": [segment_time(0.25)]}]})
        return BatchReply(reply, 100, 20, "stop")


def queued_summary(store: SummaryStore, transcripts: TranscriptStore,
                   backend: RenamingDuringTheFirstCall, digest: str,
                   tmp_path: Path) -> tuple[Summariser, list[object]]:
    """A Summariser over the stand-in, `digest` queued, and the events it will publish."""
    summariser = Summariser(store, transcripts, backend, num_ctx=8192, reserve=1024,
                            output_dir=tmp_path / "out")
    events: list[object] = []
    summariser.subscribe(events.append)
    summariser.enqueue(digest)
    return summariser, events


def test_a_summary_queued_again_while_it_runs_is_planned_again_not_deferred(
        tmp_path: Path) -> None:
    transcripts = TranscriptStore(tmp_path / "state.db")
    store = SummaryStore(tmp_path / "state.db")
    try:
        digest = write_meeting(transcripts, tmp_path, segments=6)

        def rename() -> None:
            transcripts.rename_speaker(digest, "SPEAKER_02", "Carla")
            summariser.regenerate(digest)

        backend = RenamingDuringTheFirstCall(rename)
        summariser, events = queued_summary(store, transcripts, backend, digest, tmp_path)

        outcomes = summariser.run_pending()

        assert [(o.state, o.reason) for o in outcomes] == [
            (SummaryState.PENDING, "queued again"), (SummaryState.DONE, "")]
        assert not [e for e in events if isinstance(e, SummaryDeferred)]
        assert SummaryQueued(digest, "speakers renamed") in events
        assert isinstance(events[-1], SummaryReady)
        # The summary written is the one made from the new name.
        assert len(backend.prompts) == 2
        assert "Carla" not in backend.prompts[0] and "Carla" in backend.prompts[1]
        job = store.job(digest)
        assert job is not None
        assert (job.state, job.failures, job.error) == (SummaryState.DONE, 0, None)
    finally:
        transcripts.close()
        store.close()


def test_a_rename_while_the_finished_summary_is_written_queues_it_again(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The narrowest window: every pass done, the files being written. The stale summary is
    not stored as done (the re-queue would be lost); the next run writes it anew."""
    transcripts = TranscriptStore(tmp_path / "state.db")
    store = SummaryStore(tmp_path / "state.db")
    try:
        digest = write_meeting(transcripts, tmp_path, segments=6)
        renamed: list[bool] = []
        write = runner_module._write_atomically

        def write_then_rename(path: Path, text: str) -> None:
            write(path, text)
            if not renamed:
                renamed.append(True)
                transcripts.rename_speaker(digest, "SPEAKER_02", "Carla")
                summariser.regenerate(digest)

        monkeypatch.setattr(runner_module, "_write_atomically", write_then_rename)
        backend = RenamingDuringTheFirstCall(lambda: None)
        summariser, events = queued_summary(store, transcripts, backend, digest, tmp_path)

        outcomes = summariser.run_pending()

        assert [(o.state, o.reason) for o in outcomes] == [
            (SummaryState.PENDING, "queued again"), (SummaryState.DONE, "")]
        assert [type(e) for e in events].count(SummaryReady) == 1
        assert "Carla" in backend.prompts[-1]
        job = store.job(digest)
        assert job is not None and job.state is SummaryState.DONE
    finally:
        transcripts.close()
        store.close()
