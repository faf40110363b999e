"""`triage-tui init` typed into tmux against the real Dovecot: a refused login is explained
and the account asked again, the server's folders are listed to choose from, and the config
file lands where the app reads it, 0600, without the password."""

from __future__ import annotations

import stat
import sys
import time
from pathlib import Path

from tests.conftest import IMAP_PASSWORD, IMAP_USER
from tests.e2e.test_tmux_e2e import tmux
from tests.services.dovecot import DovecotServer
from tests.services.ollama_server import FakeOllamaServer
from tests.waiting import wait_until
from tui.config import load_config_file

ENV_KEYS = ("HOME", "XDG_CONFIG_HOME", "XDG_STATE_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME",
            "HF_HUB_OFFLINE", "PATH")


def transcript(session: str) -> str:
    """Everything the pane showed, scrollback included, lines joined where they wrapped."""
    return tmux("capture-pane", "-p", "-J", "-S", "-500", "-t", session)


def answer(session: str, prompt: str, text: str, *, times: int = 1) -> None:
    """Wait until `prompt` has been shown `times` times, then type `text` and Enter."""
    def shown() -> bool:
        return transcript(session).count(prompt) >= times

    try:
        wait_until(shown, 30, f"the prompt {prompt!r}", interval=0.1)
    except AssertionError:
        raise AssertionError(f"prompt {prompt!r} never shown; the pane:\n"
                             f"{transcript(session)}") from None
    if text:
        tmux("send-keys", "-t", session, "-l", text)
    tmux("send-keys", "-t", session, "Enter")


def test_init_in_tmux_against_real_dovecot(tmp_path: Path, user_env: dict[str, str],
                                           dovecot: DovecotServer,
                                           ollama_server: FakeOllamaServer) -> None:
    ollama_server.add_devstral_small("devstral-small:latest")
    session = f"triage-init-{time.monotonic_ns()}"
    exit_file = tmp_path / "exit-code"
    env = " ".join(f"{key}='{value}'" for key, value in user_env.items() if key in ENV_KEYS)
    # The pane stays a minute after init ends, to be read.
    command = (f"cd {tmp_path} && env {env} TRIAGE_TUI_IMAP_PASSWORD='{IMAP_PASSWORD}' "
               f"TERM=xterm-256color {sys.executable} -m tui init; echo $? > {exit_file}; "
               "sleep 60")
    tmux("new-session", "-d", "-s", session, "-x", "120", "-y", "40", command)
    try:
        answer(session, "IMAP server: ", "127.0.0.1")
        answer(session, "Security (tls, starttls, or plain on loopback only) [tls]: ", "plain")
        answer(session, "Port [143]: ", str(dovecot.port))
        answer(session, "User name: ", "mallory")  # not a user of this server
        answer(session, "Password from (command, keyring, env) [env]: ", "")
        answer(session, "Environment variable [TRIAGE_TUI_IMAP_PASSWORD]: ", "")
        # refused, said in words, and asked again with the answers as the defaults
        answer(session, "IMAP server [127.0.0.1]: ", "")
        screen = transcript(session)
        assert "✗ login failed: login as 'mallory' refused: [AUTHENTICATIONFAILED] " \
               "Authentication failed. — check the user name and the password" in screen
        answer(session, "Security (tls, starttls, or plain on loopback only) [plain]: ", "")
        answer(session, f"Port [{dovecot.port}]: ", "")
        answer(session, "User name [mallory]: ", IMAP_USER)
        answer(session, "Password from (command, keyring, env) [env]: ", "", times=2)
        answer(session, "Environment variable [TRIAGE_TUI_IMAP_PASSWORD]: ", "", times=2)
        answer(session, "Folder to triage [INBOX]: ", "")
        screen = transcript(session)
        assert "✓ logged in; the server has 3 folders:" in screen
        assert "   1  INBOX" in screen and "Archive  (\\Archive)" in screen
        assert "Junk  (\\Junk)" in screen
        answer(session, "Archive folder [Archive]: ", "Junk")
        answer(session, "Ollama server [http://127.0.0.1:11434]: ", ollama_server.host)
        answer(session, "Base model (what `ollama pull` fetched) [devstral-small:latest]: ", "")
        answer(session, "Name of the capped model triage-tui uses [triage]: ", "")
        wait_until(exit_file.exists, 60, "init to finish")
        screen = transcript(session)
        assert exit_file.read_text().strip() == "0", screen
    finally:
        tmux("kill-session", "-t", session)

    assert f"✓ Ollama {ollama_server.version} at {ollama_server.host}" in screen
    assert "ollama create triage -f modelfiles/Modelfile.triage" in screen
    assert "  ollama pull devstral-small" not in screen  # the fake Ollama has the base model
    path = Path(user_env["XDG_CONFIG_HOME"]) / "triage-tui" / "config.toml"
    assert f"✓ wrote {path} (mode 0600)" in screen
    assert IMAP_PASSWORD not in path.read_text() and IMAP_PASSWORD not in screen
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    config = load_config_file(path)
    assert (config.imap.host, config.imap.port, config.imap.security) == (
        "127.0.0.1", dovecot.port, "plain")
    assert (config.imap.username, config.imap.folder, config.imap.archive_folder) == (
        IMAP_USER, "INBOX", "Junk")
    assert config.imap.password_env == "TRIAGE_TUI_IMAP_PASSWORD"
    assert config.ollama.host == ollama_server.host
    assert (tmp_path / "modelfiles" / "Modelfile.triage").exists()
