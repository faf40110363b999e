"""Summaries against a real engine: llama.cpp's `llama-server` serving SmolLM2-135M-Instruct
at a 2,048-token context, with a long synthetic meeting written straight into the SQLite
store. A 135M model's summary is not wise: these tests assert the plumbing — the passes the
planner predicts are the passes the server sees, every prompt fits by the server's own count,
every cited time is a real segment start, a stop resumes where it was, and mail goes first.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.functional.summaries.meeting import predicted_plan, write_meeting
from tests.services.llama_server import LlamaServer
from tui.config import BudgetConfig, Config, LlmConfig, OpenAIConfig, PathsConfig
from tui.llm import make_backend
from tui.llm.protocol import BatchReply, TriageBackend
from tui.llm.slot import LlmSlot
from tui.mail.events import TriageFailed, VerdictReady
from tui.mail.pipeline import MailPipeline
from tui.mail.store import MailStore
from tui.summaries.events import SummaryProgress, SummaryReady
from tui.summaries.prompt import segment_lines
from tui.summaries.runner import Summariser
from tui.summaries.schema import MeetingSummary
from tui.summaries.store import SummaryState, SummaryStore
from tui.transcripts.store import TranscriptStore

ALIAS = "smollm2-summaries"
NUM_CTX = 2048
RESERVE = 448


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LlamaServer]:
    log = tmp_path_factory.mktemp("llama") / "server.log"
    # --no-repack: some virtual machines advertise AMX without enabling it, and llama.cpp's
    # AMX repacking then dies on its first tile instruction (SIGILL); plain kernels run.
    with LlamaServer(ctx_size=NUM_CTX, alias=ALIAS, log_path=log,
                     extra_args=("--no-repack",)) as running:
        yield running


def config_for(server: LlamaServer, tmp_path: Path) -> Config:
    return Config(
        paths=PathsConfig(database=tmp_path / "state.db", output_dir=tmp_path / "out"),
        llm=LlmConfig(backend="openai", temperature=0.0),
        openai=OpenAIConfig(base_url=server.base_url, model=ALIAS, timeout_seconds=120),
        budget=BudgetConfig(num_ctx=NUM_CTX, generation_reserve_tokens=RESERVE))


class Recorder:
    """What the backend sent and what the server answered, call by call."""

    def __init__(self, model: TriageBackend) -> None:
        self.calls: list[tuple[list[dict[str, str]], BatchReply]] = []
        self._run = model.run_batch

        def recording(messages: list[dict[str, str]], *args: Any) -> BatchReply:
            reply = self._run(messages, *args)
            self.calls.append((messages, reply))
            return reply

        model.run_batch = recording  # type: ignore[method-assign]


def summariser(config: Config, model: TriageBackend, slot: LlmSlot | None = None
               ) -> tuple[Summariser, TranscriptStore, SummaryStore]:
    assert config.paths.database is not None
    transcripts = TranscriptStore(config.paths.database)
    store = SummaryStore(config.paths.database)
    return Summariser(store, transcripts, model, num_ctx=NUM_CTX, reserve=RESERVE,
                      output_dir=config.paths.output_dir, llm_slot=slot), transcripts, store


def assert_plumbing(runner: Summariser, digest: str, recorder: Recorder,
                    server: LlamaServer) -> None:
    for messages, reply in recorder.calls:
        # The server's own count of each prompt fits the room the plan left for it.
        assert reply.prompt_eval_count is not None
        assert reply.prompt_eval_count <= NUM_CTX - RESERVE
        user = messages[-1]["content"]
        assert server.tokens(user) < reply.prompt_eval_count  # the count covers it all
    job = runner.store.job(digest)
    assert job is not None
    starts = {round(s.start, 1) for s in runner.transcripts.segments(digest)}
    if job.state is SummaryState.DONE:
        summary = MeetingSummary.model_validate_json(job.summary or "")
        assert set(summary.cited_times()) <= starts
        for item in summary.action_items:
            assert item.segments and set(item.segments) <= starts
        md = (runner.output_dir / "weekly.summary.md").read_text()
        assert md.startswith("# Summary: weekly.m4a")
        assert (runner.output_dir / "weekly.summary.json").exists()
    else:  # a 135M model may fail the schema twice: then it says so, the reply kept
        assert job.state is SummaryState.FAILED
        assert job.error and job.raw_reply is not None


def test_a_long_meeting_takes_the_predicted_passes_and_resumes_after_a_stop(
        server: LlamaServer, tmp_path: Path) -> None:
    config = config_for(server, tmp_path)
    model = make_backend(config)
    recorder = Recorder(model)
    runner, transcripts, _ = summariser(config, model)
    digest = write_meeting(transcripts, tmp_path, segments=40)
    predicted = predicted_plan(transcripts, digest, num_ctx=NUM_CTX, reserve=RESERVE)
    assert predicted.map_passes >= 2 and predicted.reduce_passes >= 1

    # First run: stopped as soon as the first pass has its note ("the app quits").
    stop = threading.Event()
    runner.subscribe(lambda e: stop.set() if isinstance(e, SummaryProgress) and e.finished
                     else None)
    first = runner.summarise(digest, stop=stop)
    assert first.state is SummaryState.PENDING and first.calls == 1
    assert sum(p.done for p in runner.store.passes(digest)) == 1
    runner.store.close()

    # "Restart": new stores on the same database; the stored plan and note are resumed.
    again, _, store = summariser(config, model)
    assert [p.planned for p in store.passes(digest)] == list(predicted.passes)
    outcome = again.summarise(digest)
    retries = len(recorder.calls) - predicted.total
    assert outcome.passes == predicted.total
    if outcome.state is SummaryState.DONE:
        assert outcome.calls == predicted.total - 1 + retries
    assert_plumbing(again, digest, recorder, server)


def test_a_mail_arriving_during_a_summary_gets_its_verdict_first(
        server: LlamaServer, tmp_path: Path) -> None:
    config = config_for(server, tmp_path)
    model = make_backend(config)
    slot = LlmSlot()
    runner, transcripts, _ = summariser(config, model, slot)
    digest = write_meeting(transcripts, tmp_path, segments=40)
    assert config.paths.database is not None
    mail_store = MailStore(config.paths.database)
    mail = MailPipeline(config, mail_store, model=model, llm_slot=slot)
    order: list[str] = []
    lock = threading.Lock()
    arrived = threading.Event()

    def note(event: object) -> None:
        with lock:
            if isinstance(event, SummaryProgress) and event.percent == 0.0 \
                    and not event.finished:
                order.append(f"pass {event.index} starts")
                if event.index == 0:
                    arrived.set()
            elif isinstance(event, SummaryProgress) and event.finished:
                order.append(f"pass {event.index} done")
            elif isinstance(event, SummaryReady):
                order.append("summary ready")
            elif isinstance(event, (VerdictReady, TriageFailed)):
                order.append("mail handled")

    runner.subscribe(note)
    mail.subscribe(note)
    mail.start()  # no IMAP configured: the triage thread only
    try:
        worker = threading.Thread(target=runner.summarise, args=(digest,))
        worker.start()
        assert arrived.wait(60)
        message, _ = mail_store.add_message(
            message_id="<m1@example.org>", folder="INBOX", uidvalidity=1, uid=1,
            sender="Ana <ana@example.org>", subject="Lease signed?", date="today",
            body="Did the landlord sign the lease? Please reply today.", attachments=[],
            truncated=False, problems=[])
        # What the IMAP thread does when it stores new mail.
        slot.announce_mail()
        mail.retriage([message.key])
        worker.join(timeout=400)
        assert not worker.is_alive()
        deadline = time.monotonic() + 120
        while "mail handled" not in order and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        mail.stop()
    assert "mail handled" in order, order
    handled = order.index("mail handled")
    assert handled < order.index("summary ready") if "summary ready" in order else True
    # The mail waited for the pass in flight, at most: nothing after it started first.
    started_after = [entry for entry in order[order.index("pass 0 starts") + 1:handled]
                     if entry.endswith("starts")]
    assert started_after == [], order


def test_summarize_cli_prints_json_and_a_rename_writes_it_again(
        server: LlamaServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    from tui.cli import main

    database = tmp_path / "state.db"
    config_file = tmp_path / "config.toml"
    config_file.write_text(
        f'[paths]\ndatabase = "{database}"\noutput_dir = "{tmp_path / "out"}"\n'
        f'log_file = "{tmp_path / "log.txt"}"\n'
        f'[llm]\nbackend = "openai"\ntemperature = 0.0\n'
        f'[openai]\nbase_url = "{server.base_url}"\nmodel = "{ALIAS}"\n'
        f'[budget]\nnum_ctx = {NUM_CTX}\ngeneration_reserve_tokens = {RESERVE}\n')
    monkeypatch.setenv("TRIAGE_TUI_CONFIG", str(config_file))
    transcripts = TranscriptStore(database)
    digest = write_meeting(transcripts, tmp_path, segments=8)
    transcripts.close()

    assert main(["summarize", "nosuch"]) == 2
    assert "no such file" in capsys.readouterr().err
    code = main(["summarize", digest[:10], "--json"])
    out, err = capsys.readouterr()
    store = SummaryStore(database)
    job = store.job(digest)
    assert job is not None
    if code == 0:
        import json

        document = json.loads(out)
        assert document["content_hash"] == digest and document["passes"] == 1
        assert "abstract" in document and len(document["outputs"]) == 2
        assert "pass 1 of 1 (map) done" in err
    else:  # the tiny model failed the schema twice: a failure in words, the reply kept
        assert code == 1 and "summary failed" in err and job.raw_reply is not None
    first_digest = job.source_digest

    # `R` renames a speaker: the summary is queued again and planned from the new lines.
    config = config_for(server, tmp_path)
    runner, transcripts, store = summariser(config, make_backend(config))
    transcripts.rename_speaker(digest, "SPEAKER_02", "Carla")
    assert runner.regenerate(digest)
    assert store.passes(digest) == [] and store.job(digest).state is SummaryState.PENDING
    runner.summarise(digest)
    renamed = store.job(digest)
    assert renamed is not None and renamed.source_digest != first_digest
    if renamed.state is SummaryState.DONE:
        lines = segment_lines(transcripts.segments(digest), transcripts.speaker_names(digest))
        assert any("Carla:" in line for line in lines)
