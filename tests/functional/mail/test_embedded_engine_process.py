"""The embedded engine runs in a process of its own: a native crash of llama.cpp (a
segfault, or the OOM killer's SIGKILL) mid-batch costs that batch only, which goes back to
the queue with a clear reason, and the next batch starts a fresh engine. Served here by a
stand-in engine (tests/services/engine_stand_in.py) in that process, so the tests need no
llama.cpp; tests/functional/mail/test_llamacpp_backend.py runs the real one."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bench.triage_quality import SetMailbox
from tests.services import mail_corpus
from tests.services.engine_stand_in import CRASH_FILE_ENV
from tui.config import BudgetConfig, Config, ImapConfig, LlamaCppConfig, LlmConfig, PathsConfig
from tui.llm import BackendUnavailable, make_backend
from tui.llm.llamacpp_backend import LABEL, EmbeddedTriageModel
from tui.mail.events import TriageDeferred, VerdictReady
from tui.mail.pipeline import MailPipeline
from tui.mail.records import MailState
from tui.mail.store import MailStore
from tui.mail.sync import sync_folder
from tui.mail.verdicts import verdict_format_schema

STAND_IN = "tests.services.engine_stand_in:StandInEngine"


def two_mails() -> list[dict[str, str]]:
    return [{"role": "user", "content": '<email id="m1">\nFrom: a\nSubject: s\n</email>\n'
                                        '<email id="m2">\nFrom: b\nSubject: t\n</email>'}]


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[EmbeddedTriageModel]:
    model = tmp_path / "model.gguf"
    model.write_bytes(b"GGUF")
    backend = EmbeddedTriageModel(str(model), num_ctx=4096, temperature=0.0, max_tokens=512,
                                  timeout=60, log_path=str(tmp_path / "triage-tui.log"),
                                  engine=STAND_IN)
    yield backend
    backend.close()


def test_the_engine_is_a_process_of_its_own_that_serves_batch_after_batch(
        engine: EmbeddedTriageModel) -> None:
    assert engine.engine_pid is None and "starts with a batch" in engine.check().detail
    pieces: list[str] = []
    reply = engine.run_batch(two_mails(), verdict_format_schema(["m1", "m2"]), pieces.append)
    assert reply.done_reason == "stop" and "".join(pieces) == reply.text
    pid = engine.engine_pid
    assert pid is not None and pid != os.getpid()
    assert f"engine pid {pid}" in engine.check().detail
    engine.run_batch(two_mails(), verdict_format_schema(["m1", "m2"]), lambda _t: None)
    assert engine.engine_pid == pid  # loaded once, kept
    engine.close()
    assert engine.engine_pid is None


@pytest.mark.parametrize("signal_number", [signal.SIGSEGV, signal.SIGKILL])
def test_an_engine_killed_mid_batch_fails_that_batch_clearly_and_the_next_gets_a_fresh_one(
        engine: EmbeddedTriageModel, signal_number: int) -> None:
    engine.run_batch(two_mails(), verdict_format_schema(["m1", "m2"]), lambda _t: None)
    first = engine.engine_pid
    assert first is not None
    pieces: list[str] = []

    def kill_on_first_piece(text: str) -> None:
        if not pieces:
            os.kill(first, signal_number)
        pieces.append(text)

    with pytest.raises(BackendUnavailable) as crashed:
        engine.run_batch(two_mails(), verdict_format_schema(["m1", "m2"]), kill_on_first_piece)
    name = signal.Signals(signal_number).name
    message = str(crashed.value)
    assert f"the embedded LLM engine crashed (signal {int(signal_number)}, {name})" in message
    assert "see the log" in message and "triage-tui.log" in message
    status = engine.check()
    assert status.ready and f"the last one crashed: signal {int(signal_number)}" in status.detail

    reply = engine.run_batch(two_mails(), verdict_format_schema(["m1", "m2"]), lambda _t: None)
    assert reply.done_reason == "stop"
    assert engine.engine_pid not in (None, first)


def test_a_segfault_in_the_engine_is_a_deferred_batch_and_the_mail_is_triaged_after(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    crash = tmp_path / "crash-once"
    crash.touch()
    monkeypatch.setenv(CRASH_FILE_ENV, str(crash))
    model = tmp_path / "model.gguf"
    model.write_bytes(b"GGUF")
    log_file = tmp_path / "triage-tui.log"
    config = Config(llm=LlmConfig(backend="llamacpp"),
                    llamacpp=LlamaCppConfig(model=str(model)),
                    budget=BudgetConfig(num_ctx=8192, generation_reserve_tokens=2048),
                    imap=ImapConfig(auto_apply=False),
                    paths=PathsConfig(database=tmp_path / "state.db", log_file=log_file))
    backend = make_backend(config, log_path=str(log_file))
    assert isinstance(backend, EmbeddedTriageModel)
    backend.engine = STAND_IN
    store = MailStore(config.paths.database)
    pipeline = MailPipeline(config, store, model=backend)
    events: list[Any] = []
    pipeline.subscribe(events.append)
    try:
        mailbox = SetMailbox()
        for index in range(3):
            mailbox.add(mail_corpus.plain_text(message_id=f"<crash-{index}@example.org>",
                                               subject=f"Budget review {index}"))
        sync_folder(mailbox, store, "INBOX",  # type: ignore[arg-type]
                    max_body_tokens=pipeline.max_body_tokens, backfill=10)
        assert pipeline.check_model()

        (outcome,) = pipeline.triage_pending()  # the engine segfaults halfway through

        assert outcome.deferred == 3 and outcome.verdicts == 0
        deferred = next(e for e in events if isinstance(e, TriageDeferred))
        assert deferred.reason.startswith(f"{LABEL}: the embedded LLM engine crashed "
                                          "(signal 11, SIGSEGV) during this batch")
        assert all(m.state is MailState.NEW and m.retry_at is not None
                   for m in store.messages())  # back in the queue, not failed
        assert "Segmentation fault" in log_file.read_text(errors="replace")  # faulthandler

        pipeline.retry_failed()
        pipeline.triage_pending()  # a fresh engine
        assert all(m.state is MailState.TRIAGED for m in store.messages())
        assert sum(isinstance(e, VerdictReady) for e in events) == 3
    finally:
        pipeline.stop()
        store.close()
    assert backend.engine_pid is None  # stopping the pipeline ends the engine


def test_the_engine_outlives_the_thread_that_started_it(engine: EmbeddedTriageModel) -> None:
    starter = threading.Thread(target=lambda: engine.run_batch(
        two_mails(), verdict_format_schema(["m1", "m2"]), lambda _t: None))
    starter.start()
    starter.join(timeout=30)
    pid = engine.engine_pid
    time.sleep(1.5)  # a death signal tied to the starting thread would have come by now
    engine.run_batch(two_mails(), verdict_format_schema(["m1", "m2"]), lambda _t: None)
    assert pid is not None and engine.engine_pid == pid


def _running(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    return "\nState:\tZ" not in status  # a zombie has ended


def test_the_engine_dies_with_the_app(tmp_path: Path) -> None:
    model = tmp_path / "model.gguf"
    model.write_bytes(b"GGUF")
    app = (
        "import os, signal\n"
        "from tui.llm.llamacpp_backend import EmbeddedTriageModel\n"
        f"engine = EmbeddedTriageModel({str(model)!r}, num_ctx=4096, temperature=0.0, "
        f"max_tokens=64, timeout=60, engine={STAND_IN!r})\n"
        f"engine.run_batch({two_mails()!r}, {{}}, lambda _t: None)\n"
        "print(engine.engine_pid, flush=True)\n"
        "os.kill(os.getpid(), signal.SIGKILL)\n")
    result = subprocess.run([sys.executable, "-c", app], capture_output=True, text=True,
                            timeout=60, cwd=Path(__file__).resolve().parents[3])
    assert result.returncode == -signal.SIGKILL, result.stderr
    pid = int(result.stdout.split()[0])
    ends = time.monotonic() + 10
    while _running(pid) and time.monotonic() < ends:
        time.sleep(0.1)
    assert not _running(pid)


def test_stopping_mid_batch_ends_the_engine_at_once(engine: EmbeddedTriageModel) -> None:
    engine.run_batch(two_mails(), verdict_format_schema(["m1", "m2"]), lambda _t: None)
    errors: list[BaseException] = []

    def slow_batch() -> None:
        try:
            engine.run_batch(two_mails() * 1, verdict_format_schema(["m1", "m2"]),
                             lambda _t: time.sleep(0.05))
        except BaseException as error:
            errors.append(error)

    worker = threading.Thread(target=slow_batch)
    worker.start()
    time.sleep(0.2)
    engine.close()
    worker.join(timeout=10)
    assert not worker.is_alive()
    assert errors and "stopped during this batch" in str(errors[0])
    assert engine.engine_pid is None
    # The next batch starts a fresh engine, and its crash is a crash again, not a stop.
    engine.run_batch(two_mails(), verdict_format_schema(["m1", "m2"]), lambda _t: None)
    pid = engine.engine_pid
    assert pid is not None
    with pytest.raises(BackendUnavailable, match="engine crashed"):
        engine.run_batch(two_mails(), verdict_format_schema(["m1", "m2"]),
                         lambda _t: os.kill(pid, signal.SIGKILL))
