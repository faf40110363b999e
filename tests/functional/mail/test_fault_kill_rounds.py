"""Fault injection: the real `triage-tui triage --once` killed with SIGKILL at seeded random
moments (while it connects, fetches, or streams a slow model's reply), then run to the end.

Invariants after the last run: every mail has exactly one verdict, none is stuck `triaging`,
and nothing changed on the server (`--once` never acts)."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import IMAP_PASSWORD, IMAP_USER
from tests.functional.mail.fault_checks import assert_all_triaged_once, server_view
from tests.services import mail_corpus
from tests.services.dovecot import DovecotServer
from tests.services.ollama_server import FakeOllamaServer
from tests.services.state_rows import state_rows
from tui.mail.store import MailStore

KILL_ROUNDS = 3


def states(database: Path) -> list[str]:
    return [row[0] for row in state_rows(database, "SELECT state FROM messages")]


@pytest.mark.parametrize("seed", [3, 2026])
def test_fault_triage_killed_at_random_moments_gives_each_mail_one_verdict(
        tmp_path: Path, user_env: dict[str, str], dovecot: DovecotServer,
        ollama_with_model: FakeOllamaServer, seed: int) -> None:
    rng = random.Random(seed)
    for raw in (mail_corpus.plain_text(), mail_corpus.security_alert(),
                mail_corpus.newsletter(), mail_corpus.prompt_injection(),
                mail_corpus.missing_message_id()):
        dovecot.append(IMAP_USER, "INBOX", raw)
    before = server_view(dovecot)
    ollama_with_model.chunk_delay_s = 0.05  # a reply streams for a few seconds
    config = tmp_path / "config.toml"
    database = tmp_path / "state.db"
    config.write_text(f"""
[paths]
database = "{database}"
[imap]
host = "127.0.0.1"
port = {dovecot.port}
security = "plain"
username = "{IMAP_USER}"
[ollama]
host = "{ollama_with_model.host}"
[budget]
email_tokens = 200
""")
    command = [sys.executable, "-m", "tui", "--config", str(config), "triage", "--once"]
    env = {**user_env, "TRIAGE_TUI_IMAP_PASSWORD": IMAP_PASSWORD}

    kills = []
    for _ in range(KILL_ROUNDS):
        process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL, start_new_session=True)
        delay = rng.uniform(0.5, 5.0)
        time.sleep(delay)
        finished = process.poll() is not None
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(10)
        kills.append((round(delay, 2), "finished first" if finished else "killed",
                      sorted(states(database))))
    # The seeds are chosen so that kills land before, during and after the fetch and the
    # batch: the rounds must have left work unfinished for the last run to pick up.
    assert any(outcome == "killed" for _, outcome, _ in kills), kills
    assert any("triaging" in left or "new" in left or not left for _, _, left in kills), kills

    last = subprocess.run(command, env=env, capture_output=True, text=True, timeout=180)
    assert last.returncode == 0, (last.stderr, kills)
    store = MailStore(database)
    try:
        messages = store.messages()
        assert len(messages) == 5, kills
        assert_all_triaged_once(store)
        assert all(store.verdict(message.key) is not None for message in messages)
    finally:
        store.close()
    assert server_view(dovecot) == before  # nothing read, flagged or moved on the server
