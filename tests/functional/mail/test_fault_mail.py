"""Nothing lost, nothing done twice: the mail side against a real Dovecot and a misbehaving
Ollama-protocol server (HTTP 500, stalls, dropped and garbled streams, a model that goes
away), a recreated mailbox (new UIDVALIDITY) and mail without a Message-ID."""

from __future__ import annotations

import logging
import sqlite3
import subprocess
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

import tui.mail.pipeline as pipeline_module
from tests.conftest import IMAP_USER
from tests.functional.mail.fault_checks import (
    assert_all_triaged_once,
    assert_mail_invariants,
    sent_ids,
    server_view,
)
from tests.services import mail_corpus
from tests.services.dovecot import DovecotServer
from tests.services.ollama_server import FakeOllamaServer
from tests.services.triage_model import ScriptedTriageModel
from tests.waiting import wait_until
from tui.config import Config
from tui.mail.events import (
    TriageDeferred,
    TriageFailed,
    TriageRequeued,
    TriageStatus,
    VerdictReady,
)
from tui.mail.imap_mailbox import ImapMailbox, MailboxError
from tui.mail.parsing import is_fingerprint, message_identity, parse_email
from tui.mail.pipeline import MailPipeline
from tui.mail.records import MailState
from tui.mail.store import MailStore
from tui.mail.verdicts import SuggestedAction

BODY_PHRASE = "finance team is travelling"  # in plain_text()'s body: never in an info log


@pytest.fixture
def make_pipeline(mail_config: Config) -> Iterator[Callable[[], MailPipeline]]:
    """A pipeline built when the test asks (after it has changed the config)."""
    built: list[tuple[MailPipeline, MailStore]] = []

    def make() -> MailPipeline:
        store = MailStore(mail_config.paths.database)  # type: ignore[arg-type]
        pipeline = MailPipeline(mail_config, store)
        built.append((pipeline, store))
        return pipeline

    yield make
    for pipeline, store in built:
        pipeline.stop()
        store.close()


def three_mails(dovecot: DovecotServer, folder: str = "INBOX") -> None:
    for raw in (mail_corpus.plain_text(), mail_corpus.newsletter(),
                mail_corpus.security_alert()):
        dovecot.append(IMAP_USER, folder, raw)


# -- item 2: a failed call returns its batch to the queue with a retry time ----------------


FAULTS: dict[str, Callable[[FakeOllamaServer], None]] = {
    "http_500": lambda s: s.fail_next(500, "llama runner process has terminated"),
    "http_503": lambda s: s.fail_next(503, "server busy, please try again.  maximum pending "
                                           "requests exceeded"),
    "stall": lambda s: setattr(s, "chunk_delay_s", 3.0),
    # Each chunk well inside the read timeout, the whole reply far beyond it.
    "trickle": lambda s: setattr(s, "chunk_delay_s", 0.25),
    "dropped_stream": lambda s: s.drop_connection_next(after_chunks=2),
    "error_mid_stream": lambda s: s.error_mid_stream_next("CUDA error: out of memory",
                                                          after_chunks=2),
    "garbage_stream": lambda s: s.garbage_in_stream_next(after_chunks=2),
}
WORDS = {"http_500": "HTTP 500", "http_503": "HTTP 503", "stall": "timed out",
         "trickle": "no complete reply within 1 s",
         "dropped_stream": "RemoteProtocolError", "error_mid_stream": "out of memory",
         "garbage_stream": "unreadable reply stream"}


@pytest.mark.parametrize("fault", list(FAULTS))
def test_fault_failed_call_returns_the_batch_to_the_queue_with_a_retry_time(
        fault: str, dovecot: DovecotServer, mail_config: Config,
        ollama_with_model: FakeOllamaServer, triage_model: ScriptedTriageModel,
        make_pipeline: Callable[[], MailPipeline], monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setattr(pipeline_module, "RETRY_BASE_SECONDS", 1.0)  # waits 0.5–1 s
    mail_config.ollama.timeout_seconds = 1.0
    three_mails(dovecot)
    before = server_view(dovecot)
    pipeline = make_pipeline()
    events: list[object] = []
    pipeline.subscribe(events.append)
    pipeline.sync_once()
    assert pipeline.check_model()
    FAULTS[fault](ollama_with_model)
    caplog.set_level(logging.INFO)

    (outcome,) = pipeline.triage_pending()  # no exception, whatever the server did

    store = pipeline.store
    assert outcome.deferred == 3 and outcome.verdicts == 0 and outcome.retry_at
    assert WORDS[fault] in (outcome.error or "")
    assert_mail_invariants(store)
    for message in store.messages():
        assert message.state is MailState.NEW and message.failures == 1
        assert message.retry_at and message.retry_at > time.time()
        assert WORDS[fault] in (message.last_error or "")
        assert message.attempts == 0  # the model never answered: no attempt spent
    (deferred,) = [e for e in events if isinstance(e, TriageDeferred)]
    assert sorted(deferred.keys) == [m.key for m in store.messages()]
    assert 0.5 <= deferred.retry_in <= 1.0
    # The status line names the problem: the server answers, this call failed.
    status = [e for e in events if isinstance(e, TriageStatus)][-1]
    assert status.state == "retrying" and "retry in" in status.detail
    assert WORDS[fault] in status.detail
    # A log line with the detail, never the mail's body.
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert WORDS[fault] in logged and BODY_PHRASE not in logged
    assert "Traceback" not in caplog.text

    # Not before its retry time: nothing is sent.
    ollama_with_model.chunk_delay_s = 0.0
    calls = len(triage_model.calls)
    assert pipeline.triage_pending() == [] and len(triage_model.calls) == calls
    # Once it has come, the next round triages every mail exactly once.
    wait_until(lambda: store.messages_due(time.time()), timeout=5, what="the retry time")
    outcomes = pipeline.triage_pending()
    assert sum(o.verdicts for o in outcomes) == 3
    assert_all_triaged_once(store)
    assert server_view(dovecot) == before  # nothing applied that nobody asked for


def test_fault_backoff_grows_with_jitter_and_is_capped() -> None:
    delay = MailPipeline.retry_delay
    base, cap = pipeline_module.RETRY_BASE_SECONDS, pipeline_module.RETRY_MAX_SECONDS
    for failures, full in ((1, base), (2, 2 * base), (3, 4 * base), (40, cap)):
        samples = [delay(failures) for _ in range(200)]
        assert all(full / 2 <= s <= full for s in samples)
        assert len(set(samples)) > 100  # jittered, so many clients do not retry in step


def test_fault_model_removed_mid_run_says_how_to_create_it(
        dovecot: DovecotServer, ollama_with_model: FakeOllamaServer,
        mail_pipeline: MailPipeline) -> None:
    three_mails(dovecot)
    events: list[object] = []
    mail_pipeline.subscribe(events.append)
    mail_pipeline.sync_once()
    assert mail_pipeline.check_model()
    ollama_with_model.remove_model("triage")  # gone between the check and the call
    (outcome,) = mail_pipeline.triage_pending()
    assert outcome.deferred == 3
    status = [e for e in events if isinstance(e, TriageStatus)][-1]
    assert status.state == "model-missing"
    assert status.fix == "ollama create triage -f modelfiles/Modelfile.triage"
    assert not mail_pipeline.model_ready  # the triage loop goes back to checking
    assert_mail_invariants(mail_pipeline.store)


def test_fault_server_gone_mid_run_says_how_to_start_it(
        dovecot: DovecotServer, ollama_with_model: FakeOllamaServer,
        mail_pipeline: MailPipeline) -> None:
    three_mails(dovecot)
    events: list[object] = []
    mail_pipeline.subscribe(events.append)
    mail_pipeline.sync_once()
    assert mail_pipeline.check_model()
    host = ollama_with_model.host
    ollama_with_model.stop()
    (outcome,) = mail_pipeline.triage_pending()
    assert outcome.deferred == 3 and "ConnectError" in (outcome.error or "")
    status = [e for e in events if isinstance(e, TriageStatus)][-1]
    assert status.state == "unavailable" and "ollama serve" in status.fix
    assert f"not reachable at {host}" in status.detail
    assert_mail_invariants(mail_pipeline.store)


def test_fault_repeated_failures_end_failed_with_a_way_to_retry(
        dovecot: DovecotServer, ollama_with_model: FakeOllamaServer,
        mail_pipeline: MailPipeline, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pipeline_module, "RETRY_BASE_SECONDS", 0.1)
    monkeypatch.setattr(pipeline_module, "MAX_CALL_FAILURES", 2)
    dovecot.append(IMAP_USER, "INBOX", mail_corpus.plain_text())
    events: list[object] = []
    mail_pipeline.subscribe(events.append)
    mail_pipeline.sync_once()
    assert mail_pipeline.check_model()
    ollama_with_model.fail_next(500, "llama runner process has terminated", times=2)
    store = mail_pipeline.store
    mail_pipeline.triage_pending()
    wait_until(lambda: store.messages_due(time.time()), timeout=5, what="the retry time")
    mail_pipeline.triage_pending()
    (message,) = store.messages()
    assert message.state is MailState.FAILED and "after 2 failed calls" in (
        message.last_error or "")
    assert any(isinstance(e, TriageFailed) for e in events)
    assert_mail_invariants(store)
    # The way out: re-triage (the dashboard's `t`, the CLI's --retry-failed).
    assert mail_pipeline.retry_failed() == [message.key]
    assert TriageRequeued((message.key,)) in events  # the views drop the failure at once
    mail_pipeline.triage_pending()
    assert_all_triaged_once(store)


def test_fault_triage_loop_retries_by_itself_until_the_server_recovers(
        dovecot: DovecotServer, ollama_with_model: FakeOllamaServer,
        mail_pipeline: MailPipeline, monkeypatch: pytest.MonkeyPatch) -> None:
    """The dashboard's path: the pipeline's own threads, no one calling triage again."""
    monkeypatch.setattr(pipeline_module, "RETRY_BASE_SECONDS", 0.3)
    ollama_with_model.fail_next(500, "llama runner process has terminated", times=2)
    three_mails(dovecot)
    events: list[object] = []
    mail_pipeline.subscribe(events.append)
    # All three stored before the loop starts, so they form one batch and its two failures
    # are that batch's first and second attempt (a sync racing the loop could split them).
    mail_pipeline.sync_once()
    mail_pipeline.start()
    store = mail_pipeline.store
    wait_until(lambda: len(store.messages()) == 3 and all(
        m.state is MailState.TRIAGED for m in store.messages()), timeout=30,
        what="every mail triaged after the server recovered")
    deferred = [e for e in events if isinstance(e, TriageDeferred)]
    # Exponential: the first wait is 0.15–0.3 s, the second 0.3–0.6 s.
    assert len(deferred) == 2 and deferred[0].retry_in <= 0.3 <= deferred[1].retry_in
    assert len([e for e in events if isinstance(e, VerdictReady)]) == 3
    assert_all_triaged_once(store)


def test_fault_retry_time_survives_a_restart(
        dovecot: DovecotServer, mail_config: Config, ollama_with_model: FakeOllamaServer,
        triage_model: ScriptedTriageModel, make_pipeline: Callable[[], MailPipeline]) -> None:
    three_mails(dovecot)
    first = make_pipeline()
    first.sync_once()
    assert first.check_model()
    ollama_with_model.fail_next(500, "llama runner process has terminated")
    (outcome,) = first.triage_pending()
    first.stop()
    first.store.close()
    # A new process on the same database: resuming does not make the batch due early.
    second = make_pipeline()
    assert second.resume() == []
    waiting = second.store.messages()
    assert all(m.retry_at == pytest.approx(outcome.retry_at) for m in waiting)
    assert second.check_model() and second.triage_pending() == []
    assert len(triage_model.calls) == 0


def test_fault_an_older_database_gains_the_new_columns(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    old = sqlite3.connect(path)
    old.executescript("""
        CREATE TABLE sync_state (folder TEXT PRIMARY KEY, uidvalidity INTEGER NOT NULL,
                                 last_uid INTEGER NOT NULL);
        INSERT INTO sync_state VALUES ('INBOX', 7, 42);
        CREATE TABLE messages (key INTEGER PRIMARY KEY AUTOINCREMENT,
            message_id TEXT NOT NULL UNIQUE, folder TEXT NOT NULL, uidvalidity INTEGER NOT NULL,
            uid INTEGER NOT NULL, sender TEXT NOT NULL, subject TEXT NOT NULL,
            date TEXT NOT NULL, body TEXT NOT NULL, attachments TEXT NOT NULL,
            truncated INTEGER NOT NULL, problems TEXT NOT NULL, state TEXT NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0, last_error TEXT, raw_reply TEXT,
            added_at REAL NOT NULL);
        INSERT INTO messages (message_id, folder, uidvalidity, uid, sender, subject, date, body,
            attachments, truncated, problems, state, added_at)
            VALUES ('<a@b>', 'INBOX', 7, 42, 's', 'old', '', 'b', '[]', 0, '[]', 'new', 1000.0);
    """)
    old.close()
    store = MailStore(path)
    (message,) = store.messages()
    assert message.retry_at is None and message.failures == 0
    assert store.sync_position("INBOX") == (7, 42)
    assert store.first_contact("INBOX") == 1000.0  # the first stored mail stands in
    store.close()


# -- item 1: a recreated mailbox (new UIDVALIDITY) ---------------------------------------


def recreate_folder(dovecot: DovecotServer, folder: str,
                    before: list[bytes], after: list[bytes]) -> int:
    """Delete and create `folder`, as a server rebuild or a restore does: deliver `before`,
    restore what was there (same bytes, flags and INTERNALDATE), deliver `after`. Returns the
    new UIDVALIDITY."""
    client = dovecot.client(IMAP_USER)
    try:
        old = client.select_folder(folder)
        saved = client.fetch(client.search(["ALL"]), ["BODY.PEEK[]", "FLAGS", "INTERNALDATE"])
        client.close_folder()
        client.delete_folder(folder)
        client.create_folder(folder)
        for raw in before:
            client.append(folder, raw)
        for uid in sorted(saved):
            item = saved[uid]
            flags = [f for f in item[b"FLAGS"] if f != b"\\Recent"]
            client.append(folder, item[b"BODY[]"], flags=flags, msg_time=item[b"INTERNALDATE"])
        for raw in after:
            client.append(folder, raw)
        uidvalidity = int(client.select_folder(folder)[b"UIDVALIDITY"])
        if uidvalidity == int(old[b"UIDVALIDITY"]):  # recreated within the same second
            client.close_folder()
            subprocess.run(["doveadm", "-c", str(dovecot.conf_path), "mailbox", "update", "-u",
                            IMAP_USER, "--uid-validity", str(uidvalidity + 1), folder],
                           check=True)
            uidvalidity += 1
        return uidvalidity
    finally:
        client.logout()


def known_mail() -> list[bytes]:
    return [*(mail_corpus.plain_text(message_id=f"<known-{i}@example.org>",
                                     subject=f"Known {i}") for i in range(4)),
            mail_corpus.missing_message_id(subject="Known without an id")]


@pytest.fixture
def work_folder(dovecot: DovecotServer, mail_config: Config) -> str:
    client = dovecot.client(IMAP_USER)
    client.create_folder("Work")
    client.logout()
    mail_config.imap.folder = "Work"
    return "Work"


def test_fault_uidvalidity_change_fetches_new_mail_below_the_old_highest_uid(
        dovecot: DovecotServer, work_folder: str, mail_pipeline: MailPipeline,
        triage_model: ScriptedTriageModel) -> None:
    for raw in known_mail():
        dovecot.append(IMAP_USER, work_folder, raw)
    mail_pipeline.sync_once()
    assert mail_pipeline.check_model()
    mail_pipeline.triage_pending()
    store = mail_pipeline.store
    known_keys = {m.key for m in store.messages()}
    highest_known = max(m.uid for m in store.messages())
    assert len(known_keys) == 5 and highest_known == 5
    before = server_view(dovecot, work_folder)

    # The new mail "Arrived first" gets UID 1, far below the highest UID known before.
    uidvalidity = recreate_folder(
        dovecot, work_folder,
        before=[mail_corpus.plain_text(message_id="<low@example.org>", subject="Arrived first")],
        after=[mail_corpus.plain_text(message_id="<high@example.org>", subject="Arrived last")])
    result = mail_pipeline.sync_once()
    assert result.uidvalidity_changed and result.relocated == 5
    assert sorted(m.subject for m in result.new) == ["Arrived first", "Arrived last"]
    low = next(m for m in result.new if m.subject == "Arrived first")
    assert low.uid == 1 and low.uid < highest_known and low.uidvalidity == uidvalidity
    for message in store.messages():
        assert message.uidvalidity == uidvalidity  # known mail, the no-id one included

    calls_before = len(triage_model.calls)
    mail_pipeline.triage_pending()
    sent_after = sent_ids(triage_model.calls[calls_before:])
    assert sorted(sent_after) == sorted(m.prompt_id for m in result.new)  # no known mail again
    assert_all_triaged_once(store)
    assert len(store.messages()) == 7
    # Later runs: nothing new, nothing again; the position continues from the new highest UID.
    assert mail_pipeline.sync_once().new == ()
    assert store.sync_position(work_folder) == (uidvalidity, 7)
    view = server_view(dovecot, work_folder)
    assert {s: view[s] for s in before} == before and not view["Arrived first"]


def test_fault_uidvalidity_reconciliation_cut_short_is_redone(
        dovecot: DovecotServer, work_folder: str, mail_pipeline: MailPipeline,
        monkeypatch: pytest.MonkeyPatch) -> None:
    for raw in known_mail():
        dovecot.append(IMAP_USER, work_folder, raw)
    mail_pipeline.sync_once()
    old_position = mail_pipeline.store.sync_position(work_folder)
    recreate_folder(dovecot, work_folder, before=[mail_corpus.plain_text(
        message_id="<low@example.org>", subject="Arrived first")], after=[])
    original = ImapMailbox.fetch

    def dropped(self: ImapMailbox, uids: Any) -> Any:
        raise MailboxError("connection dropped mid-fetch")

    monkeypatch.setattr(ImapMailbox, "fetch", dropped)
    with pytest.raises(MailboxError):
        mail_pipeline.sync_once()
    # The old UIDVALIDITY is still stored, so the next sync reconciles again.
    assert mail_pipeline.store.sync_position(work_folder) == old_position
    monkeypatch.setattr(ImapMailbox, "fetch", original)
    result = mail_pipeline.sync_once()
    assert [m.subject for m in result.new] == ["Arrived first"]
    assert len(mail_pipeline.store.messages()) == 6


def test_fault_uidvalidity_change_leaves_the_archive_before_the_first_sync_alone(
        dovecot: DovecotServer, work_folder: str, mail_config: Config,
        mail_pipeline: MailPipeline) -> None:
    mail_config.imap.backfill = 2
    client = dovecot.client(IMAP_USER)
    client.append(work_folder, mail_corpus.plain_text(message_id="<archive@example.org>",
                                                      subject="Archived long ago"),
                  msg_time=datetime(2020, 1, 1, tzinfo=timezone.utc))
    client.logout()
    for raw in known_mail()[:2]:
        dovecot.append(IMAP_USER, work_folder, raw)
    first = mail_pipeline.sync_once()
    assert sorted(m.subject for m in first.new) == ["Known 0", "Known 1"]  # the backfill
    recreate_folder(dovecot, work_folder, before=[mail_corpus.plain_text(
        message_id="<low@example.org>", subject="Arrived first")], after=[])
    result = mail_pipeline.sync_once()
    assert [m.subject for m in result.new] == ["Arrived first"]
    assert "Archived long ago" not in {m.subject for m in mail_pipeline.store.messages()}


# -- item 5: mail without a Message-ID ------------------------------------------------------


def test_fault_identity_of_a_fetched_message_is_what_parsing_stored() -> None:
    for name, raw in mail_corpus.all_samples().items():
        assert message_identity(raw) == parse_email(raw, max_body_tokens=64).message_id, name
    assert is_fingerprint(message_identity(mail_corpus.missing_message_id()))
    assert not is_fingerprint(message_identity(mail_corpus.plain_text()))


def triage_two_mails_without_an_id(dovecot: DovecotServer,
                                   mail_pipeline: MailPipeline) -> MailStore:
    """Two mails without a Message-ID (the fingerprint must tell them apart) and one with,
    fetched and triaged."""
    for raw in (mail_corpus.missing_message_id(), mail_corpus.plain_text(),
                mail_corpus.missing_message_id(subject="Another note")):
        dovecot.append(IMAP_USER, "INBOX", raw)
    mail_pipeline.sync_once()
    assert mail_pipeline.check_model()
    mail_pipeline.triage_pending()
    return mail_pipeline.store


def test_fault_mail_without_message_id_is_flagged_archived_and_undone(
        dovecot: DovecotServer, mail_pipeline: MailPipeline) -> None:
    store = triage_two_mails_without_an_id(dovecot, mail_pipeline)
    assert_all_triaged_once(store)
    note = next(m for m in store.messages() if m.subject == "Note without an id")
    assert is_fingerprint(note.message_id)
    before = server_view(dovecot)

    assert mail_pipeline.decide(note.key, SuggestedAction.FLAG, source="accept")
    after = server_view(dovecot)
    assert after["Note without an id"] == {"\\Flagged"}
    assert after["Another note"] == before["Another note"] == set()
    assert mail_pipeline.undo(note.key)
    assert server_view(dovecot) == before

    assert mail_pipeline.decide(note.key, SuggestedAction.ARCHIVE, source="override")
    assert "Note without an id" not in server_view(dovecot)
    assert "Note without an id" in server_view(dovecot, "Archive")
    assert mail_pipeline.undo(note.key)
    assert server_view(dovecot) == before and server_view(dovecot, "Archive") == {}


def test_fault_mail_without_message_id_is_found_again_after_a_uidvalidity_change(
        dovecot: DovecotServer, mail_pipeline: MailPipeline) -> None:
    store = triage_two_mails_without_an_id(dovecot, mail_pipeline)
    note = next(m for m in store.messages() if m.subject == "Another note")
    assert mail_pipeline.decide(note.key, SuggestedAction.FLAG, source="accept")
    # INBOX gets a new UIDVALIDITY and its mail new UIDs, in another order; no sync runs
    # before the undo, so the stored UID is void and the fingerprint must find the mail.
    client = dovecot.client(IMAP_USER)
    client.create_folder("Parked")
    client.select_folder("INBOX")
    client.move(sorted(client.search(["ALL"]), reverse=True)[:2], "Parked")
    client.move(client.search(["ALL"]), "Parked")
    client.close_folder()
    subprocess.run(["doveadm", "-c", str(dovecot.conf_path), "mailbox", "update", "-u",
                    IMAP_USER, "--uid-validity", "4242", "INBOX"], check=True)
    client.select_folder("Parked")
    client.move(client.search(["ALL"]), "INBOX")
    client.logout()
    assert server_view(dovecot)["Another note"] == {"\\Flagged"}
    assert mail_pipeline.undo(note.key)
    view = server_view(dovecot)
    assert all(flags == set() for flags in view.values()), view
    moved = store.message(note.key)
    assert moved is not None and moved.uidvalidity == 4242
