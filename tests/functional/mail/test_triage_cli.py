"""`triage-tui triage` through the real entry point, against Dovecot and the Ollama server."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import IMAP_PASSWORD, IMAP_USER, run_cli
from tests.services import mail_corpus
from tests.services.dovecot import DovecotServer
from tests.services.ollama_server import FakeOllamaServer
from tests.services.triage_model import ScriptedTriageModel
from tui.mail.records import MailState
from tui.mail.store import MailStore


def write_config(tmp_path: Path, dovecot: DovecotServer, ollama: FakeOllamaServer) -> Path:
    config = tmp_path / "config.toml"
    config.write_text(f"""
[paths]
database = "{tmp_path / 'state.db'}"
[imap]
host = "127.0.0.1"
port = {dovecot.tls_port}
security = "tls"
ca_file = "{dovecot.cafile}"
username = "{IMAP_USER}"
[ollama]
host = "{ollama.host}"
""")
    return config


def test_once_then_apply_then_undo(tmp_path: Path, user_env: dict[str, str],
                                   dovecot: DovecotServer,
                                   ollama_with_model: FakeOllamaServer) -> None:
    dovecot.append(IMAP_USER, "INBOX", mail_corpus.security_alert())
    dovecot.append(IMAP_USER, "INBOX", mail_corpus.prompt_injection())
    config = write_config(tmp_path, dovecot, ollama_with_model)
    env = {**user_env, "TRIAGE_TUI_IMAP_PASSWORD": IMAP_PASSWORD}
    once = run_cli(["--config", str(config), "triage", "--once", "--json"], env)
    assert once.returncode == 0, once.stderr
    report = json.loads(once.stdout)
    assert report["new"] == 2 and report["model_ready"]
    by_subject = {row["subject"]: row for row in report["messages"]}
    alert = next(row for subject, row in by_subject.items() if "Security alert" in subject)
    assert alert["priority"] == "urgent" and alert["action"] == "flag"
    injected = next(row for row in report["messages"] if row["injection_suspected"])
    assert injected["injection_signals"]
    assert IMAP_PASSWORD not in once.stdout + once.stderr

    # --once never acts: nothing was flagged or read on the server.
    client = dovecot.client(IMAP_USER)
    client.select_folder("INBOX", readonly=True)
    flags = client.get_flags(client.search(["ALL"]))
    assert all(b"\\Flagged" not in f and b"\\Seen" not in f for f in flags.values())

    applied = run_cli(["--config", str(config), "triage", "--apply", alert["id"], "flag"], env)
    assert applied.returncode == 0 and "applied" in applied.stdout
    client.noop()  # another session's change reaches this one on its next command
    assert len(client.search(["FLAGGED"])) == 1
    undone = run_cli(["--config", str(config), "triage", "--undo", alert["id"]], env)
    assert undone.returncode == 0 and "undone" in undone.stdout
    client.noop()
    assert client.search(["FLAGGED"]) == []
    client.logout()

    # A second --once finds nothing new and triages nothing twice.
    again = json.loads(run_cli(["--config", str(config), "triage", "--once", "--json"],
                               env).stdout)
    assert again["new"] == 0 and len(ollama_with_model.completions) == 1


def test_mail_is_kept_while_the_model_is_missing(tmp_path: Path, user_env: dict[str, str],
                                                 dovecot: DovecotServer,
                                                 ollama_server: FakeOllamaServer) -> None:
    dovecot.append(IMAP_USER, "INBOX", mail_corpus.plain_text())
    config = write_config(tmp_path, dovecot, ollama_server)  # no "triage" model registered
    env = {**user_env, "TRIAGE_TUI_IMAP_PASSWORD": IMAP_PASSWORD}
    result = run_cli(["--config", str(config), "triage", "--once"], env)
    assert result.returncode == 1
    assert "model is not available, mail kept for later" in result.stdout
    store = MailStore(tmp_path / "state.db")
    assert [m.state for m in store.messages()] == [MailState.NEW]
    store.close()


def test_no_account_is_a_clear_message(user_env: dict[str, str]) -> None:
    result = run_cli(["triage", "--once"], user_env)
    assert result.returncode == 1 and "no IMAP account configured" in result.stderr
    assert "run `triage-tui init`" in result.stderr


def test_triage_once_resumes_a_batch_left_in_flight(
        tmp_path: Path, user_env: dict[str, str], dovecot: DovecotServer,
        ollama_server: FakeOllamaServer, triage_model: ScriptedTriageModel) -> None:
    """A process that died mid-batch leaves mail `triaging`; the next `triage --once` (not only
    the dashboard) sends it back to the model: both go through the one runtime."""
    dovecot.append(IMAP_USER, "INBOX", mail_corpus.plain_text())
    config = write_config(tmp_path, dovecot, ollama_server)
    env = {**user_env, "TRIAGE_TUI_IMAP_PASSWORD": IMAP_PASSWORD}
    fetched = run_cli(["--config", str(config), "triage", "--once", "--json"], env)
    assert fetched.returncode == 1  # fetched, but no model to triage with yet
    store = MailStore(tmp_path / "state.db")
    (message,) = store.messages()
    store.set_state([message.key], MailState.TRIAGING)  # a process died mid-batch
    ollama_server.add_devstral_small("triage", parameters="num_ctx 8192\ntemperature 0.1")
    ollama_server.default_reply = triage_model

    again = run_cli(["--config", str(config), "triage", "--once", "--json"], env)
    assert again.returncode == 0, again.stderr
    report = json.loads(again.stdout)
    assert report["new"] == 0
    (row,) = report["messages"]
    assert row["state"] == "triaged" and row["action"]
    assert store.verdict(message.key) is not None
    assert len(ollama_server.completions) == 1
    store.close()
