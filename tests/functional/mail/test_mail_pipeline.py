"""The mail pipeline against real Dovecot and the Ollama-protocol server."""

from __future__ import annotations

import subprocess
import threading
from typing import Any

import pytest

from tests.conftest import IMAP_USER
from tests.functional.mail.conftest import WITHOUT_IDLE_AND_MOVE
from tests.services import mail_corpus
from tests.services.dovecot import DovecotServer
from tests.services.ollama_server import FakeOllamaServer
from tests.services.triage_model import ScriptedTriageModel
from tests.waiting import wait_until
from tui.mail.events import BatchRetried, ImapStatus, MailArrived, TriageFailed, VerdictPreview
from tui.mail.pipeline import MailPipeline
from tui.mail.records import MailState
from tui.mail.verdicts import SuggestedAction


def seed(dovecot: DovecotServer, *samples: bytes) -> None:
    for raw in samples:
        dovecot.append(IMAP_USER, "INBOX", raw)


def server_flags(dovecot: DovecotServer, folder: str = "INBOX") -> dict[str, set[str]]:
    """Message-ID → flags, read over a second, independent IMAP connection."""
    return dovecot.flags_by_header(IMAP_USER, "Message-ID", folder)


REALISTIC = {
    "plain": mail_corpus.plain_text(),
    "alternative": mail_corpus.multipart_alternative(),
    "html": mail_corpus.html_only(),
    "latin1": mail_corpus.latin1_body(),
    "headers": mail_corpus.encoded_headers(),
    "attachments": mail_corpus.with_attachments(),
    "huge": mail_corpus.huge_body(kilobytes=300),
    "injection": mail_corpus.prompt_injection(),
    "eightbit": mail_corpus.raw_8bit_headers(),
    "malformed": mail_corpus.malformed(),
    "newsletter": mail_corpus.newsletter(),
    "security": mail_corpus.security_alert(),
}


def test_once_triages_realistic_mail_without_marking_it_read(
        dovecot: DovecotServer, mail_pipeline: MailPipeline,
        ollama_with_model: FakeOllamaServer) -> None:
    long_reports = [mail_corpus.huge_body(kilobytes=20, message_id=f"<report-{i}@example.net>")
                    for i in range(12)]
    seed(dovecot, *REALISTIC.values(), *long_reports)
    total = len(REALISTIC) + len(long_reports)
    result = mail_pipeline.sync_once()
    assert len(result.new) == total
    assert mail_pipeline.check_model()
    outcomes = mail_pipeline.triage_pending()
    store = mail_pipeline.store
    assert sum(o.verdicts for o in outcomes) == total
    assert all(m.state is MailState.TRIAGED for m in store.messages())
    # Budget-sized batches: every request fit the context with the reserve to spare.
    chats = [c for c in ollama_with_model.completions]
    # 13 long mails of ~550 tokens each cannot share one 8K context with a 2K reserve.
    assert len(chats) >= 2
    for chat in chats:
        assert chat.num_ctx == 8192 and not chat.truncated
        assert chat.prompt_eval_count <= 8192 - 2048
    # The same num_ctx every time, so Ollama never reloads the model between batches.
    assert ollama_with_model.load_count["triage"] == 1
    # And the reply held to the reserve the budget counts (Ollama's default runs on).
    assert {r.json["options"].get("num_predict") for r in ollama_with_model.requests
            if r.path == "/api/chat"} == {2048}
    # BODY.PEEK[]: nothing was marked read by fetching.
    assert all("\\Seen" not in flags for flags in server_flags(dovecot).values())
    huge = next(m for m in store.messages() if "huge" in m.message_id)
    assert huge.truncated and "truncated" in huge.body


def test_injection_is_flagged_and_causes_nothing_on_the_server(
        dovecot: DovecotServer, mail_config: Any, mail_pipeline: MailPipeline,
        triage_model: ScriptedTriageModel) -> None:
    mail_config.imap.auto_apply = True
    triage_model.mode, triage_model.once = "obey_injection", False
    seed(dovecot, REALISTIC["injection"], REALISTIC["security"], REALISTIC["plain"])
    before = server_flags(dovecot)
    mail_pipeline.sync_once()
    mail_pipeline.check_model()
    mail_pipeline.triage_pending()
    store = mail_pipeline.store
    injection = next(m for m in store.messages() if "c0ffee42" in m.message_id)
    verdict = store.verdict(injection.key)
    assert verdict is not None and verdict.injection_suspected
    assert any("instruction" in s.lower() for s in verdict.injection_signals)
    # The model said "move everything to Trash": auto-apply never moves, and the
    # injected mail itself gets no automatic action. Nothing left the inbox.
    assert server_flags(dovecot) == before
    assert all(store.last_action(m.key) is None for m in store.messages())


@pytest.mark.parametrize("mode", ["invalid_json", "drop_id", "extra_id"])
def test_bad_replies_are_retried_smaller_and_every_mail_gets_one_verdict(
        mode: str, dovecot: DovecotServer, mail_pipeline: MailPipeline,
        triage_model: ScriptedTriageModel) -> None:
    triage_model.mode = mode
    seed(dovecot, REALISTIC["plain"], REALISTIC["newsletter"], REALISTIC["security"])
    events: list[object] = []
    mail_pipeline.subscribe(events.append)
    mail_pipeline.sync_once()
    mail_pipeline.check_model()
    mail_pipeline.triage_pending()
    assert any(isinstance(e, BatchRetried) for e in events)
    store = mail_pipeline.store
    assert all(store.verdict(m.key) is not None for m in store.messages())
    assert len(triage_model.calls) >= 3  # the failed batch, then its two halves


def test_a_model_that_never_answers_well_leaves_the_raw_reply_for_inspection(
        dovecot: DovecotServer, mail_pipeline: MailPipeline,
        triage_model: ScriptedTriageModel) -> None:
    triage_model.mode, triage_model.once = "invalid_json", False
    seed(dovecot, REALISTIC["plain"])
    events: list[object] = []
    mail_pipeline.subscribe(events.append)
    mail_pipeline.sync_once()
    mail_pipeline.check_model()
    mail_pipeline.triage_pending()
    (message,) = mail_pipeline.store.messages()
    assert message.state is MailState.FAILED and message.attempts == 2
    assert message.raw_reply and message.raw_reply.startswith('{"verdicts"')
    assert any(isinstance(e, TriageFailed) for e in events)


def test_silent_truncation_is_detected_and_the_batch_split(
        dovecot: DovecotServer, mail_pipeline: MailPipeline,
        ollama_with_model: FakeOllamaServer, monkeypatch: pytest.MonkeyPatch) -> None:
    # A tokenizer that needs far more tokens than estimated: Ollama cuts the prompt to
    # num_ctx and still answers 200, as the real server does.
    import tests.services.ollama_server as fake

    monkeypatch.setattr(fake, "CHARS_PER_TOKEN", 1.5)  # twice what our estimate assumes
    seed(dovecot, *(mail_corpus.huge_body(kilobytes=20, message_id=f"<t{i}@example.org>")
                    for i in range(9)))
    events: list[object] = []
    mail_pipeline.subscribe(events.append)
    mail_pipeline.sync_once()
    mail_pipeline.check_model()
    mail_pipeline.triage_pending()
    assert any(c.truncated for c in ollama_with_model.completions)
    retried = [e for e in events if isinstance(e, BatchRetried)]
    assert retried and "exceeded" in retried[0].reason
    assert mail_pipeline.calibration.factor > 1.5
    # Nothing was accepted from a truncated prompt: every verdict came from a request that
    # fit, and smaller batches got every mail its verdict.
    accepted = [c for c in ollama_with_model.completions if not c.truncated
                and c.prompt_eval_count <= 8192 - 2048]
    assert accepted
    assert all(m.state is MailState.TRIAGED for m in mail_pipeline.store.messages())


def test_verdicts_stream_before_the_batch_completes(
        dovecot: DovecotServer, mail_pipeline: MailPipeline,
        ollama_with_model: FakeOllamaServer) -> None:
    ollama_with_model.chunk_delay_s = 0.01
    seed(dovecot, REALISTIC["plain"], REALISTIC["newsletter"], REALISTIC["security"])
    events: list[object] = []
    mail_pipeline.subscribe(events.append)
    mail_pipeline.sync_once()
    mail_pipeline.check_model()
    mail_pipeline.triage_pending()
    kinds = [type(e).__name__ for e in events]
    assert kinds.count("VerdictPreview") == 3
    assert kinds.index("VerdictPreview") < kinds.index("VerdictReady")
    assert {e.key for e in events if isinstance(e, VerdictPreview)} == {
        m.key for m in mail_pipeline.store.messages()}


@pytest.mark.parametrize("imap_capabilities", [None, WITHOUT_IDLE_AND_MOVE],
                         ids=["MOVE", "no-MOVE"])
def test_each_action_applies_and_undoes_as_another_client_sees_it(
        imap_capabilities: tuple[str, ...] | None, dovecot: DovecotServer,
        mail_pipeline: MailPipeline) -> None:
    # Without MOVE advertised, the COPY + \\Deleted + UID EXPUNGE path, on a real server.
    use_move = imap_capabilities is None
    seed(dovecot, REALISTIC["plain"], REALISTIC["newsletter"], REALISTIC["security"],
         mail_corpus.latin1_body())
    mail_pipeline.sync_once()
    mail_pipeline.check_model()
    mail_pipeline.triage_pending()
    store = mail_pipeline.store
    by_id = {m.message_id: m for m in store.messages()}
    security = by_id["<Zx1a2B3c4D5e6F7g8H9i0J@accounts.example.com>"]
    newsletter = by_id["<0100018e5a7b.newsletter.7f3e@email.news.example.com>"]
    plain = by_id["<8f3c2a1e-4b7d-4c1a-9e2f-3a5b6c7d8e9f@example.org>"]
    bystander = "<5F2E1A9C.3040507@correo.example.es>"

    assert mail_pipeline.accept(security.key)  # flag
    assert "\\Flagged" in server_flags(dovecot)[security.message_id]
    assert mail_pipeline.decide(plain.key, SuggestedAction.MARK_READ, source="override")
    assert "\\Seen" in server_flags(dovecot)[plain.message_id]
    assert mail_pipeline.accept(newsletter.key)  # archive
    assert newsletter.message_id not in server_flags(dovecot)
    assert newsletter.message_id in server_flags(dovecot, "Archive")
    # Another client's deleted-but-not-expunged mail survives our move fallback.
    other = dovecot.client(IMAP_USER)
    other.select_folder("INBOX")
    (other_uid,) = other.search(["HEADER", "Message-ID", bystander])
    other.add_flags([other_uid], [b"\\Deleted"])
    assert mail_pipeline.decide(plain.key, SuggestedAction.MOVE, "Junk", source="override")
    assert "\\Deleted" in server_flags(dovecot)[bystander]  # not expunged by our move
    assert plain.message_id in server_flags(dovecot, "Junk")
    other.logout()

    for message in (security, newsletter):
        assert mail_pipeline.undo(message.key)
    assert mail_pipeline.undo(plain.key)  # the move to Junk
    assert mail_pipeline.undo(plain.key)  # the mark_read
    after = server_flags(dovecot)
    assert "\\Flagged" not in after[security.message_id]
    assert newsletter.message_id in after and plain.message_id in after
    assert "\\Seen" not in after[plain.message_id]

    # What the server received: Dovecot accepts MOVE even unadvertised, so this shows that
    # the pipeline chose its path from the capability list.
    commands = dovecot.commands(IMAP_USER)
    names = {c.name for c in commands}
    copies = [i for i, c in enumerate(commands) if c.name == "UID COPY"]
    if use_move:
        assert "UID MOVE" in names and not copies
        return
    assert "UID MOVE" not in names and "MOVE" not in names
    assert len(copies) == 4  # archive, move to Junk, and their two undos
    for i in copies:
        uid = commands[i].arguments.split()[0]
        store, expunge = commands[i + 1], commands[i + 2]
        assert store.name == "UID STORE" and store.arguments.split()[0] == uid
        assert "\\Deleted" in store.arguments
        assert (expunge.name, expunge.arguments) == ("UID EXPUNGE", uid)
    assert "EXPUNGE" not in names  # a plain EXPUNGE would have purged the bystander


def test_idle_push_reaches_the_pipeline_and_a_dropped_connection_loses_nothing(
        dovecot: DovecotServer, mail_pipeline: MailPipeline) -> None:
    arrived: list[int] = []
    statuses: list[str] = []
    lock = threading.Lock()

    def listen(event: object) -> None:
        with lock:
            if isinstance(event, MailArrived):
                arrived.append(event.key)
            elif isinstance(event, ImapStatus):
                statuses.append(event.state)

    mail_pipeline.subscribe(listen)
    mail_pipeline.start()
    wait_until(lambda: "idle" in statuses)
    seed(dovecot, mail_corpus.plain_text(message_id="<push-1@example.org>"))
    wait_until(lambda: len(arrived) == 1, timeout=10)  # IDLE push, not a poll
    # Kill the connection server-side, deliver while we are away, then come back.
    dovecot.kill_connections(IMAP_USER)
    seed(dovecot, mail_corpus.plain_text(message_id="<while-away@example.org>"))
    wait_until(lambda: "reconnecting" in statuses)
    wait_until(lambda: len(arrived) == 2, timeout=20)
    dovecot.restart()
    seed(dovecot, mail_corpus.plain_text(message_id="<after-restart@example.org>"))
    wait_until(lambda: len(arrived) == 3, timeout=30)
    ids = [m.message_id for m in mail_pipeline.store.messages()]
    assert len(ids) == len(set(ids)) == 3  # nothing lost, nothing twice
    wait_until(lambda: all(mail_pipeline.store.verdict(m.key)
                           for m in mail_pipeline.store.messages()), timeout=20)


def test_uidvalidity_change_resyncs_by_message_id(
        dovecot: DovecotServer, mail_pipeline: MailPipeline) -> None:
    seed(dovecot, REALISTIC["plain"], REALISTIC["security"])
    mail_pipeline.sync_once()
    before = {m.message_id: (m.uidvalidity, m.uid) for m in mail_pipeline.store.messages()}
    # Give INBOX a new UIDVALIDITY, as a server rebuild or restore does: park the mail,
    # change the mailbox's UIDVALIDITY with doveadm, and bring the mail back (new UIDs).
    client = dovecot.client(IMAP_USER)
    client.create_folder("Parked")
    client.select_folder("INBOX")
    client.move(client.search(["ALL"]), "Parked")
    client.logout()
    subprocess.run(["doveadm", "-c", str(dovecot.conf_path), "mailbox", "update",
                    "-u", IMAP_USER, "--uid-validity", "4242", "INBOX"], check=True)
    client = dovecot.client(IMAP_USER)
    client.select_folder("Parked")
    client.move(client.search(["ALL"]), "INBOX")
    client.logout()
    seed(dovecot, mail_corpus.newsletter())
    result = mail_pipeline.sync_once()
    assert result.uidvalidity_changed and result.relocated == 2
    assert [m.subject for m in result.new] == [m.subject for m in mail_pipeline.store.messages()
                                               if m.message_id not in before]
    after = {m.message_id: (m.uidvalidity, m.uid) for m in mail_pipeline.store.messages()}
    for message_id in before:
        assert after[message_id][0] == 4242
    assert len(after) == 3


def test_connection_killed_mid_fetch_loses_nothing_and_repeats_nothing(
        dovecot: DovecotServer, mail_pipeline: MailPipeline,
        monkeypatch: pytest.MonkeyPatch) -> None:
    import tui.mail.sync as sync
    from tui.mail.imap_mailbox import ImapMailbox

    monkeypatch.setattr(sync, "FETCH_CHUNK", 2)
    seed(dovecot, *(mail_corpus.plain_text(message_id=f"<bulk-{i}@example.org>",
                                           subject=f"Bulk {i}") for i in range(7)))
    original_fetch = ImapMailbox.fetch
    fetches: list[list[int]] = []

    def fetch_then_kick(self: ImapMailbox, uids: Any) -> Any:
        fetches.append(list(uids))
        if len(fetches) == 2:
            # Drop the connection server-side in the middle of the sync.
            dovecot.kill_connections(IMAP_USER)
        return original_fetch(self, uids)

    monkeypatch.setattr(ImapMailbox, "fetch", fetch_then_kick)
    statuses: list[str] = []
    mail_pipeline.subscribe(lambda e: statuses.append(e.state)
                            if isinstance(e, ImapStatus) else None)
    mail_pipeline.start()
    wait_until(lambda: len(mail_pipeline.store.messages()) == 7, timeout=30)
    assert "reconnecting" in statuses
    ids = [m.message_id for m in mail_pipeline.store.messages()]
    assert sorted(ids) == sorted(f"<bulk-{i}@example.org>" for i in range(7))
    # The chunk committed before the drop was not fetched again after reconnecting.
    fetched = [uid for chunk in fetches for uid in chunk]
    assert fetched.count(fetches[0][0]) == 1


@pytest.mark.parametrize("imap_capabilities", [WITHOUT_IDLE_AND_MOVE], ids=["no-IDLE"])
def test_polling_when_the_server_has_no_idle(dovecot: DovecotServer, mail_config: Any,
                                             mail_pipeline: MailPipeline) -> None:
    mail_config.imap.poll_seconds = 5  # the smallest the config allows
    statuses: list[str] = []
    mail_pipeline.subscribe(lambda e: statuses.append(e.state)
                            if isinstance(e, ImapStatus) else None)
    mail_pipeline.start()
    wait_until(lambda: "polling" in statuses)
    seed(dovecot, mail_corpus.plain_text(message_id="<polled@example.org>"))
    wait_until(lambda: mail_pipeline.store.messages(), timeout=15)
    assert "idle" not in statuses
    # Dovecot would accept IDLE unadvertised; the pipeline never sent it.
    assert "IDLE" not in {c.name for c in dovecot.commands(IMAP_USER)}


def test_a_stalled_model_times_out_and_mail_is_kept(
        dovecot: DovecotServer, mail_config: Any, ollama_with_model: FakeOllamaServer) -> None:
    from tui.mail.store import MailStore

    mail_config.ollama.timeout_seconds = 1.0
    ollama_with_model.chunk_delay_s = 3.0  # the server accepts, then goes quiet
    store = MailStore(mail_config.paths.database)
    pipeline = MailPipeline(mail_config, store)
    seed(dovecot, REALISTIC["plain"])
    pipeline.sync_once()
    assert pipeline.check_model()
    (outcome,) = pipeline.triage_pending()
    assert outcome.deferred == 1 and "timed out" in (outcome.error or "")
    # The batch is back in the queue with a retry time, never left `triaging`.
    assert store.resume_unfinished() == []
    assert [m.state for m in store.messages()] == [MailState.NEW]
    assert all(m.retry_at for m in store.messages())
    pipeline.stop()
    store.close()
