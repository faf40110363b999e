"""`triage-tui triage` under faults, through the real entry point against Dovecot and the
misbehaving LLM servers: never a traceback, one line per failure, the detail in the log,
a non-zero exit when any mail failed or was left waiting, and a headless way to retry."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import IMAP_PASSWORD, IMAP_USER, run_cli
from tests.functional.mail.fault_checks import (
    assert_all_triaged_once,
    assert_mail_invariants,
    server_view,
)
from tests.services import mail_corpus
from tests.services.dovecot import DovecotServer, free_port
from tests.services.ollama_server import FakeOllamaServer
from tests.services.openai_server import FakeOpenAIServer
from tests.services.triage_model import ScriptedTriageModel, batch_emails
from tui.mail.records import MailState
from tui.mail.store import MailStore

PREFIX = "triage-tui triage: "
BODY_PHRASE = "finance team is travelling"  # in plain_text()'s body


def write_config(tmp_path: Path, dovecot: DovecotServer, llm: str) -> Path:
    config = tmp_path / "config.toml"
    config.write_text(f"""
[paths]
database = "{tmp_path / 'state.db'}"
log_file = "{tmp_path / 'triage.log'}"
[imap]
host = "127.0.0.1"
port = {dovecot.port}
security = "plain"
username = "{IMAP_USER}"
{llm}
""")
    return config


def ollama_section(host: str, timeout: float = 30) -> str:
    return f'[ollama]\nhost = "{host}"\ntimeout_seconds = {timeout}\n'


def cli(config: Path, env: dict[str, str], *args: str) -> Any:
    result = run_cli(["--config", str(config), "triage", *args],
                     {**env, "TRIAGE_TUI_IMAP_PASSWORD": IMAP_PASSWORD})
    assert "Traceback" not in result.stdout + result.stderr
    return result


def problem_lines(result: Any) -> list[str]:
    lines = result.stderr.splitlines()
    assert all(line.startswith(PREFIX) for line in lines), result.stderr
    return [line.removeprefix(PREFIX) for line in lines]


def stored(tmp_path: Path) -> list[Any]:
    store = MailStore(tmp_path / "state.db")
    try:
        assert_mail_invariants(store)
        return store.messages()
    finally:
        store.close()


def seed_two(dovecot: DovecotServer) -> None:
    dovecot.append(IMAP_USER, "INBOX", mail_corpus.plain_text())
    dovecot.append(IMAP_USER, "INBOX", mail_corpus.newsletter())


def shift_retry_times(tmp_path: Path, seconds: float) -> None:
    """Move every stored retry time (the clock passing, or a slow machine not)."""
    db = sqlite3.connect(tmp_path / "state.db")
    with db:
        db.execute("UPDATE messages SET retry_at = retry_at + ? WHERE retry_at IS NOT NULL",
                   (seconds,))
    db.close()


def test_fault_once_after_http_500_says_why_waits_and_retry_failed_triages(
        tmp_path: Path, user_env: dict[str, str], dovecot: DovecotServer,
        ollama_with_model: FakeOllamaServer, triage_model: ScriptedTriageModel) -> None:
    seed_two(dovecot)
    before = server_view(dovecot)
    config = write_config(tmp_path, dovecot, ollama_section(ollama_with_model.host))
    ollama_with_model.fail_next(500, "llama runner process has terminated")

    first = cli(config, user_env, "--once")
    assert first.returncode == 1
    assert first.stdout.startswith("2 new message(s)\n")
    backend, waiting = problem_lines(first)  # the failed call, and the mail it left waiting
    assert backend.startswith("call failed, retry in") and "HTTP 500" in backend
    assert backend.endswith("`triage-tui triage --retry-failed` retries now")
    assert waiting.startswith("m1, m2 waiting, retry in ") and "HTTP 500" in waiting
    log = (tmp_path / "triage.log").read_text()
    assert "HTTP 500" in log and "llama runner process has terminated" in log
    assert BODY_PHRASE not in log
    for message in stored(tmp_path):
        assert message.state is MailState.NEW and message.retry_at > time.time()

    # Still inside the backoff (pushed out, so a slow machine cannot reach it): the next
    # run sends nothing and says the mail is waiting, with when and why.
    shift_retry_times(tmp_path, 600)
    again = cli(config, user_env, "--once", "--json")
    assert again.returncode == 1
    report = json.loads(again.stdout)
    assert report["new"] == 0 and report["model_ready"] and not report["ok"]
    for row in report["messages"]:
        assert row["state"] == "new" and row["waiting"] and "HTTP 500" in row["error"]
        assert row["retry_at"] and row["retry_in_s"] > 500
    (line,) = report["problems"]
    assert line.startswith("m1, m2 waiting, retry in") and len(triage_model.calls) == 0

    retried = cli(config, user_env, "--retry-failed", "--json")
    assert retried.returncode == 0, retried.stderr
    report = json.loads(retried.stdout)
    assert report["ok"] and sorted(report["requeued"]) == ["m1", "m2"]
    assert [row["state"] for row in report["messages"]] == ["triaged", "triaged"]
    assert len(triage_model.calls) == 1
    store = MailStore(tmp_path / "state.db")
    assert_all_triaged_once(store)
    store.close()
    assert server_view(dovecot) == before


def test_fault_once_after_a_stalled_server_triages_on_the_next_run_when_due(
        tmp_path: Path, user_env: dict[str, str], dovecot: DovecotServer,
        ollama_with_model: FakeOllamaServer, triage_model: ScriptedTriageModel) -> None:
    seed_two(dovecot)
    config = write_config(tmp_path, dovecot, ollama_section(ollama_with_model.host, timeout=1))
    ollama_with_model.chunk_delay_s = 3.0  # answers, then hangs past timeout_seconds

    first = cli(config, user_env, "--once")
    assert first.returncode == 1
    assert any("timed out" in line for line in problem_lines(first))
    assert all(m.state is MailState.NEW and m.retry_at for m in stored(tmp_path))

    ollama_with_model.chunk_delay_s = 0.0
    shift_retry_times(tmp_path, -3600)  # the retry time has come
    second = cli(config, user_env, "--once")
    assert second.returncode == 0, second.stderr
    assert second.stdout.startswith("0 new message(s)\n") and second.stderr == ""
    assert all(m.state is MailState.TRIAGED for m in stored(tmp_path))


def _non_json(request: dict[str, Any]) -> str:
    return "Sure! Here are the verdicts you asked for."


def _foreign_ids(request: dict[str, Any]) -> str:
    verdict = {"id": "m99", "priority": "low", "category": "fyi", "action": "none",
               "summary": "?", "reason": "?", "injection_suspected": False}
    return json.dumps({"verdicts": [verdict] * len(batch_emails(request))})


BAD_REPLIES: dict[str, tuple[Callable[[dict[str, Any]], str] | str, str]] = {
    "non_json": (_non_json, "invalid_json"),
    "truncated_json": ("invalid_json", "invalid_json"),
    "ids_not_in_the_batch": (_foreign_ids, "extra_ids"),
}


@pytest.mark.parametrize("bad", list(BAD_REPLIES))
def test_fault_once_exits_non_zero_when_every_mail_failed_and_retriage_recovers(
        bad: str, tmp_path: Path, user_env: dict[str, str], dovecot: DovecotServer,
        ollama_with_model: FakeOllamaServer, triage_model: ScriptedTriageModel) -> None:
    seed_two(dovecot)
    config = write_config(tmp_path, dovecot, ollama_section(ollama_with_model.host))
    reply, kind = BAD_REPLIES[bad]
    if isinstance(reply, str):
        triage_model.mode, triage_model.once = reply, False
    else:
        ollama_with_model.default_reply = reply

    failed = cli(config, user_env, "--once", "--json")
    assert failed.returncode == 1  # it exited 0 with every mail failed
    report = json.loads(failed.stdout)
    assert not report["ok"]
    for row in report["messages"]:
        assert row["state"] == "failed" and row["error"].startswith(kind)
    lines = problem_lines(failed)
    assert lines == report["problems"]
    for prompt_id in ("m1", "m2"):
        (line,) = [line for line in lines if line.startswith(f"{prompt_id} failed: {kind}")]
        assert f"--retriage {prompt_id}" in line

    triage_model.mode = "good"
    ollama_with_model.default_reply = triage_model
    retriaged = cli(config, user_env, "--retriage", "m1")
    assert retriaged.returncode == 0, retriaged.stderr  # m2 failed in an earlier run
    assert "1 mail(s) failed in earlier runs: `triage-tui triage --retry-failed`" in \
        retriaged.stdout
    states = {m.prompt_id: m.state for m in stored(tmp_path)}
    assert states == {"m1": MailState.TRIAGED, "m2": MailState.FAILED}
    unknown = cli(config, user_env, "--retriage", "m77")
    assert unknown.returncode == 2 and problem_lines(unknown) == ["no such mail: m77"]


def test_fault_ollama_down_and_model_missing_say_different_things(
        tmp_path: Path, user_env: dict[str, str], dovecot: DovecotServer,
        ollama_server: FakeOllamaServer) -> None:
    dovecot.append(IMAP_USER, "INBOX", mail_corpus.plain_text())
    down_host = f"http://127.0.0.1:{free_port()}"
    down = cli(write_config(tmp_path, dovecot, ollama_section(down_host)), user_env, "--once")
    assert down.returncode == 1
    assert "; Ollama is not reachable, mail kept for later" in down.stdout
    (line,) = problem_lines(down)
    assert f"Ollama not reachable at {down_host}" in line
    assert line.endswith("→ start it with `ollama serve` (or set [ollama] host)")
    assert "ollama create" not in down.stdout + down.stderr

    missing = cli(write_config(tmp_path, dovecot, ollama_section(ollama_server.host)),
                  user_env, "--once")  # the server runs, without the "triage" model
    assert missing.returncode == 1
    assert "; the model is not available, mail kept for later" in missing.stdout
    (line,) = problem_lines(missing)
    assert f"Ollama at {ollama_server.host} has no model 'triage'" in line
    assert line.endswith("→ ollama create triage -f modelfiles/Modelfile.triage")
    assert "ollama serve" not in missing.stdout + missing.stderr
    assert [m.state for m in stored(tmp_path)] == [MailState.NEW]


def test_fault_openai_server_down_and_model_missing_say_different_things(
        tmp_path: Path, user_env: dict[str, str], dovecot: DovecotServer) -> None:
    dovecot.append(IMAP_USER, "INBOX", mail_corpus.plain_text())
    served = "mistralai/Devstral-Small-2507"

    def openai_section(base_url: str) -> str:
        return f'[llm]\nbackend = "openai"\n[openai]\nbase_url = "{base_url}"\n' \
               f'model = "{served}"\n'

    down_url = f"http://127.0.0.1:{free_port()}/v1"
    down = cli(write_config(tmp_path, dovecot, openai_section(down_url)), user_env, "--once")
    assert down.returncode == 1
    assert "LLM (OpenAI API) is not reachable, mail kept for later" in down.stdout
    (line,) = problem_lines(down)
    assert f"{down_url} not reachable" in line and "→ start the server, e.g. `vllm serve" in line

    with FakeOpenAIServer() as server:
        server.add_model("another/model", max_model_len=8192)
        base_url = server.base_url
        missing = cli(write_config(tmp_path, dovecot, openai_section(base_url)),
                      user_env, "--once")
    assert missing.returncode == 1
    assert "the model is not available, mail kept for later" in missing.stdout
    (line,) = problem_lines(missing)
    assert f"{base_url} does not serve '{served}'" in line
    assert "→ restart the server with that model" in line and "set [openai] model" in line


def test_fault_an_unexpected_error_is_one_line_with_the_detail_in_the_log(
        tmp_path: Path, user_env: dict[str, str], dovecot: DovecotServer,
        ollama_with_model: FakeOllamaServer) -> None:
    config = write_config(tmp_path, dovecot, ollama_section(ollama_with_model.host))
    (tmp_path / "state.db").mkdir()  # the state database cannot be opened
    result = cli(config, user_env, "--once")
    assert result.returncode == 1
    (line,) = problem_lines(result)
    assert line.startswith("OperationalError: ") and str(tmp_path / "triage.log") in line
    assert "Traceback" in (tmp_path / "triage.log").read_text()
