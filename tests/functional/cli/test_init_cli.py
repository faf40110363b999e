"""`triage-tui init --non-interactive` through the real entry point, against the real Dovecot:
the config file it writes (0600, no password, the chosen folders) is the one the app then
reads, and a refused login writes nothing. With no config file at all, the app points to
`triage-tui init`."""

from __future__ import annotations

import json
import stat
import threading
from pathlib import Path

from tests.conftest import IMAP_PASSWORD, IMAP_USER, run_cli
from tests.services.dovecot import DovecotServer
from tests.waiting import wait_until
from tui.config import Config, PathsConfig, load_config_file
from tui.mail.events import ImapStatus
from tui.mail.pipeline import MailPipeline
from tui.mail.store import MailStore

DEAD_OLLAMA = "http://127.0.0.1:9"


def xdg_config(user_env: dict[str, str]) -> Path:
    return Path(user_env["XDG_CONFIG_HOME"]) / "triage-tui" / "config.toml"


def test_non_interactive_init_writes_a_private_config_the_app_reads(
        tmp_path: Path, user_env: dict[str, str], dovecot: DovecotServer) -> None:
    env = {**user_env, "MAIL_PW": IMAP_PASSWORD}
    result = run_cli(["init", "--non-interactive", "--imap-host", "127.0.0.1",
                      "--imap-security", "tls", "--imap-port", str(dovecot.tls_port),
                      "--imap-ca-file", str(dovecot.cafile), "--imap-user", IMAP_USER,
                      "--password-env", "MAIL_PW", "--archive-folder", "Junk",
                      "--ollama-host", DEAD_OLLAMA, "--model", "triage"], env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "✓ logged in; the server has" in out and "Archive  (\\Archive)" in out
    assert f"✗ Ollama is not reachable at {DEAD_OLLAMA}" in out
    assert "The config is written anyway" in out
    assert "ollama create triage -f modelfiles/Modelfile.triage" in out
    assert "PARAMETER num_ctx" in (tmp_path / "modelfiles" / "Modelfile.triage").read_text()

    path = xdg_config(user_env)
    text = path.read_text()
    assert IMAP_PASSWORD not in text and IMAP_PASSWORD not in out
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    config = load_config_file(path)
    assert (config.imap.host, config.imap.port, config.imap.security) == (
        "127.0.0.1", dovecot.tls_port, "tls")
    assert config.imap.ca_file == dovecot.cafile
    assert (config.imap.folder, config.imap.archive_folder) == ("INBOX", "Junk")
    assert (config.imap.password_env, config.imap.password_command) == ("MAIL_PW", "")
    assert config.ollama.host == DEAD_OLLAMA

    # The app finds the file by itself and logs in with it.
    doctor = run_cli(["doctor", "--json"], env)
    report = json.loads(doctor.stdout)
    assert report["config"] == str(path)
    imap = next(check for check in report["checks"] if check["name"] == "IMAP")
    assert imap["ok"], imap

    # A second run keeps the file unless told to replace it.
    again = run_cli(["init", "--yes", "--imap-host", "127.0.0.1", "--imap-user", IMAP_USER],
                    env, cwd=tmp_path)
    assert again.returncode == 1
    assert f"{path} exists: nothing written (--force replaces it" in again.stderr
    assert path.read_text() == text


def test_a_refused_login_exits_non_zero_and_writes_nothing(
        tmp_path: Path, user_env: dict[str, str], dovecot: DovecotServer) -> None:
    result = run_cli(["init", "--non-interactive", "--imap-host", "127.0.0.1",
                      "--imap-security", "plain", "--imap-port", str(dovecot.port),
                      "--imap-user", IMAP_USER, "--password-command", "echo wrong-horse",
                      "--ollama-host", DEAD_OLLAMA], user_env, cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.strip() == (
        f"triage-tui init: login failed: login as {IMAP_USER!r} refused: "
        "[AUTHENTICATIONFAILED] Authentication failed. — check the user name and the password")
    assert "Traceback" not in result.stderr
    assert not xdg_config(user_env).exists()
    assert not (tmp_path / "modelfiles").exists()


def test_what_the_server_does_not_have_is_refused_by_name(
        tmp_path: Path, user_env: dict[str, str], dovecot: DovecotServer) -> None:
    flags = ["init", "-y", "--imap-host", "127.0.0.1", "--imap-security", "plain",
             "--imap-port", str(dovecot.port), "--imap-user", IMAP_USER]
    env = {**user_env, "TRIAGE_TUI_IMAP_PASSWORD": IMAP_PASSWORD}
    result = run_cli([*flags, "--archive-folder", "Archiv"], env, cwd=tmp_path)
    assert result.returncode == 2
    assert "--archive-folder 'Archiv': the server has no folder 'Archiv'" in result.stderr
    # TLS to the plaintext port: said in words, with what to change
    result = run_cli(["init", "-y", "--imap-host", "127.0.0.1", "--imap-security", "tls",
                      "--imap-port", str(dovecot.port), "--imap-user", IMAP_USER], env,
                     cwd=tmp_path)
    assert result.returncode == 1
    assert "login failed: cannot connect to 127.0.0.1" in result.stderr
    assert "tls is usually 993, starttls 143" in result.stderr
    assert not xdg_config(user_env).exists()


def test_missing_answers_are_named_before_anything_is_tried(
        tmp_path: Path, user_env: dict[str, str]) -> None:
    result = run_cli(["init", "--non-interactive", "--imap-port", "993"], user_env,
                     cwd=tmp_path)
    assert result.returncode == 2
    assert "not set, and no default: --imap-host (IMAP server), --imap-user (User name)" \
        in result.stderr
    result = run_cli(["init", "-y", "--imap-host", "imap.example.org", "--imap-security",
                      "plain", "--imap-user", "ana"], user_env, cwd=tmp_path)
    assert result.returncode == 2
    assert "plain (unencrypted) IMAP is allowed only to a loopback address" in result.stderr


def test_with_no_config_file_the_app_points_to_init(tmp_path: Path,
                                                     user_env: dict[str, str]) -> None:
    doctor = run_cli(["doctor"], user_env)
    assert "[FAIL] IMAP            no IMAP account configured: no config file" in doctor.stdout
    assert "fix: run `triage-tui init`" in doctor.stdout
    # The dashboard's mail pipeline says the same on the status line.
    store = MailStore(tmp_path / "state.db")
    pipeline = MailPipeline(Config(paths=PathsConfig(database=tmp_path / "state.db")), store)
    events: list[object] = []
    seen = threading.Event()
    pipeline.subscribe(lambda event: (events.append(event),
                                      isinstance(event, ImapStatus) and seen.set()))
    try:
        pipeline.start()
        wait_until(seen.is_set, 10, "the IMAP status")
    finally:
        pipeline.stop()
        store.close()
    statuses = [event for event in events if isinstance(event, ImapStatus)]
    assert statuses[0] == ImapStatus("not-configured", "no config file")
