"""The real `triage-tui` in tmux, against the test services: panes render, keys work, quit
is clean."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from tests.conftest import IMAP_PASSWORD, IMAP_USER
from tests.services import mail_corpus
from tests.services.dovecot import DovecotServer
from tests.services.llama_server import LlamaServer
from tests.services.ollama_server import FakeOllamaServer
from tests.services.triage_model import ScriptedTriageModel
from tests.waiting import wait_until


def tmux(*args: str) -> str:
    return subprocess.run(["tmux", *args], capture_output=True, text=True, check=False).stdout


def wait_for_screen(session: str, predicate: Callable[[str], bool], timeout: float = 30) -> str:
    def matching_screen() -> str:
        screen = tmux("capture-pane", "-p", "-t", session)
        return screen if predicate(screen) else ""

    try:
        return wait_until(matching_screen, timeout, "the screen", interval=0.2)
    except AssertionError:
        raise AssertionError("screen never matched; last screen:\n"
                             + tmux("capture-pane", "-p", "-t", session)) from None


def start_dashboard(tmp_path: Path, user_env: dict[str, str], dovecot: DovecotServer,
                    llm_section: str) -> tuple[str, Path]:
    """`triage-tui` in a new 100×30 tmux session; its exit code lands in the returned file."""
    config = tmp_path / "config.toml"
    config.write_text(f"""
[paths]
drop_folder = "{tmp_path / 'drop'}"
output_dir = "{tmp_path / 'out'}"
database = "{tmp_path / 'state.db'}"
[imap]
host = "127.0.0.1"
port = {dovecot.port}
security = "plain"
username = "{IMAP_USER}"
{llm_section}
[budget]
gpu_gib = 24
""")
    session = f"triage-e2e-{time.monotonic_ns()}"
    exit_file = tmp_path / "exit-code"
    env = " ".join(f"{k}='{v}'" for k, v in user_env.items()
                   if k in ("HOME", "XDG_CONFIG_HOME", "XDG_STATE_HOME", "XDG_DATA_HOME",
                            "XDG_CACHE_HOME", "HF_HUB_OFFLINE", "PATH"))
    command = (f"env {env} TRIAGE_TUI_IMAP_PASSWORD='{IMAP_PASSWORD}' TERM=xterm-256color "
               f"{sys.executable} -m tui --config {config}; echo $? > {exit_file}")
    tmux("new-session", "-d", "-s", session, "-x", "100", "-y", "30", command)
    return session, exit_file


def verdict_row_shown(screen: str) -> bool:
    """The mail's row in the triage list carries a priority (a verdict arrived)."""
    return any("Security alert" in line and re.search(r"\b(urgent|high|normal|low)\b", line)
               for line in screen.splitlines())


def quit_dashboard(session: str, exit_file: Path) -> None:
    tmux("send-keys", "-t", session, "q")
    deadline = time.monotonic() + 15
    while not exit_file.exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert exit_file.exists(), "triage-tui did not quit"
    assert exit_file.read_text().strip() == "0"


def test_dashboard_in_tmux(tmp_path: Path, user_env: dict[str, str], dovecot: DovecotServer,
                           ollama_server: FakeOllamaServer) -> None:
    ollama_server.add_devstral_small("triage", parameters="num_ctx 8192")
    ollama_server.default_reply = ScriptedTriageModel()
    dovecot.append(IMAP_USER, "INBOX", mail_corpus.security_alert())
    session, exit_file = start_dashboard(tmp_path, user_env, dovecot,
                                         f'[ollama]\nhost = "{ollama_server.host}"')
    try:
        wait_for_screen(session, lambda s: "Transcripts" in s and "Triage" in s and "GPU" in s)
        # The plan is computed in a worker after the first frame; under load it comes later.
        wait_for_screen(session, lambda s: "KV cap 1.25" in s or "KV 1.25" in s)
        # The row with its priority: the key bar always says "flag", the row only once the
        # verdict is in.
        screen = wait_for_screen(session, verdict_row_shown)
        row = next(line for line in screen.splitlines() if "Security alert" in line)
        assert "urgent" in row
        tmux("send-keys", "-t", session, "Tab")
        tmux("send-keys", "-t", session, "p")
        wait_for_screen(session, lambda s: "GPU budget" in s)
        tmux("send-keys", "-t", session, "Escape")
        wait_for_screen(session, lambda s: "GPU budget" not in s)
        quit_dashboard(session, exit_file)
    finally:
        tmux("kill-session", "-t", session)


def test_dashboard_triages_with_llama_cpp_in_tmux(tmp_path: Path, user_env: dict[str, str],
                                                  dovecot: DovecotServer) -> None:
    """The whole product against a real engine: llama.cpp's llama-server with SmolLM2 decides
    the verdict that the dashboard shows (whatever a 135M model thinks of it)."""
    dovecot.append(IMAP_USER, "INBOX", mail_corpus.security_alert())
    with LlamaServer(ctx_size=4096, alias="smollm2", log_path=tmp_path / "llama.log") as llama:
        session, exit_file = start_dashboard(tmp_path, user_env, dovecot, f"""
[llm]
backend = "openai"
temperature = 0.0
[openai]
base_url = "{llama.base_url}"
model = "smollm2"
""")
        try:
            wait_for_screen(session, lambda s: "Transcripts" in s and "Triage" in s)
            screen = wait_for_screen(session, verdict_row_shown, timeout=120)
            assert "Security alert" in screen
            quit_dashboard(session, exit_file)
        finally:
            tmux("kill-session", "-t", session)
