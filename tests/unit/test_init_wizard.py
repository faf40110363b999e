"""`triage-tui init`'s conversation with scripted answers: the login and Ollama are stand-ins
here (the functional and tmux tests use the real Dovecot); the files are real."""

from __future__ import annotations

import argparse
import stat
from collections.abc import Sequence
from pathlib import Path

import pytest

from tui.commands.init import (
    EXIT_FAILED,
    EXIT_USAGE,
    InitStopped,
    InitWizard,
    LoginFailed,
    OllamaFindings,
    Terminal,
    add_init_arguments,
    given_answers,
)
from tui.commands.init_questions import ServerFolder
from tui.config import ImapConfig, load_config_file

FOLDERS = [ServerFolder("INBOX"), ServerFolder("Archive", ("\\Archive",)),
           ServerFolder("Receipts")]
PASSWORD = "correct-horse"


class ScriptedTerminal(Terminal):
    def __init__(self, lines: Sequence[str]) -> None:
        self.lines = list(lines)
        self.prompts: list[str] = []
        self.shown: list[str] = []
        super().__init__(read_line=self._read, write=self.shown.append,
                         read_secret=self._read)

    def _read(self, prompt: str) -> str:
        self.prompts.append(prompt)
        if not self.lines:
            raise EOFError
        return self.lines.pop(0)

    @property
    def text(self) -> str:
        return "\n".join(self.shown)


def server(imap: ImapConfig, password: str) -> list[ServerFolder]:
    """The stand-in server: ana with the right password, nobody else."""
    if imap.username != "ana" or password != PASSWORD:
        raise LoginFailed(f"login as {imap.username!r} refused: [AUTHENTICATIONFAILED] "
                          "Authentication failed.")
    return FOLDERS


def ollama_down(host: str, names: Sequence[str]) -> OllamaFindings:
    return OllamaFindings(problem=f"{host}: [Errno 111] Connection refused")


def parse(*flags: str) -> dict[str, str]:
    parser = argparse.ArgumentParser()
    add_init_arguments(parser)
    return given_answers(parser.parse_args(list(flags)))


@pytest.fixture(autouse=True)
def _password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRIAGE_TUI_IMAP_PASSWORD", PASSWORD)


def wizard(terminal: Terminal, *, interactive: bool = True, given: dict[str, str] | None = None
           ) -> InitWizard:
    return InitWizard(terminal, interactive=interactive, given=given or {},
                      list_folders=server, probe=ollama_down)


def test_a_refused_login_is_explained_and_the_account_asked_again(tmp_path: Path) -> None:
    target = tmp_path / "xdg" / "triage-tui" / "config.toml"
    terminal = ScriptedTerminal([
        "127.0.0.1", "plain", "", "bob", "", "",       # host, security, port, user, env
        "", "", "", "ana", "", "",                      # again: Enter keeps, but the user
        "", "3",                                        # INBOX, archive: Receipts by number
        "", "", "",                                     # Ollama: the defaults
    ])
    code = wizard(terminal).run(target, force=False, modelfile=tmp_path / "Modelfile")
    assert code == 0
    text = terminal.text
    assert "✗ login failed: login as 'bob' refused: [AUTHENTICATIONFAILED] Authentication " \
           "failed. — check the user name and the password" in text
    assert "Enter the account again" in text
    # the second time round the first answers are the defaults in brackets
    assert "IMAP server [127.0.0.1]: " in terminal.prompts
    assert "User name [bob]: " in terminal.prompts
    assert "Port [143]: " in terminal.prompts
    assert "   3  Receipts" in text and "Archive folder [Archive]: " in terminal.prompts
    assert "✗ Ollama is not reachable at http://127.0.0.1:11434" in text
    assert "The config is written anyway" in text
    config = load_config_file(target)
    assert (config.imap.host, config.imap.port, config.imap.security) == ("127.0.0.1", 143,
                                                                          "plain")
    assert (config.imap.username, config.imap.archive_folder) == ("ana", "Receipts")
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert stat.S_IMODE(target.parent.stat().st_mode) == 0o700
    assert PASSWORD not in target.read_text()
    # the Modelfile through `triage-tui modelfile`'s own path, and the line that builds it
    assert "PARAMETER num_ctx 8192" in (tmp_path / "Modelfile").read_text()
    assert f"  ollama create triage -f {tmp_path / 'Modelfile'}" in terminal.shown
    assert "  ollama pull devstral-small:latest" in terminal.shown


def test_a_wrong_answer_is_refused_in_words_and_asked_again(tmp_path: Path) -> None:
    terminal = ScriptedTerminal(["imap.example.org", "plain", "tls", "99999", "", ""])
    with pytest.raises(InitStopped):  # the script ends at the user name
        wizard(terminal).run(tmp_path / "c.toml", force=False, modelfile=None)
    assert "  plain (unencrypted) IMAP is allowed only to a loopback address, not " \
           "imap.example.org: pick tls or starttls" in terminal.shown
    assert "  99999 is not a port number (1–65535)" in terminal.shown
    assert terminal.prompts.count("Port [993]: ") == 2
    assert not (tmp_path / "c.toml").exists()


def test_non_interactive_names_every_missing_flag_and_asks_nothing(tmp_path: Path) -> None:
    terminal = ScriptedTerminal([])
    with pytest.raises(InitStopped) as stop:
        wizard(terminal, interactive=False, given=parse("--imap-port", "143")).run(
            tmp_path / "c.toml", force=False, modelfile=None)
    assert stop.value.exit_code == EXIT_USAGE
    assert "--imap-host (IMAP server)" in str(stop.value)
    assert "--imap-user (User name)" in str(stop.value)
    assert "--imap-ca-file" not in str(stop.value)  # tls by default; no CA file is an answer
    assert terminal.prompts == [] and not (tmp_path / "c.toml").exists()


def test_non_interactive_refuses_a_bad_flag_and_a_failed_login(tmp_path: Path) -> None:
    flags = ["--imap-host", "imap.example.org", "--imap-user", "ana"]
    with pytest.raises(InitStopped) as stop:
        wizard(ScriptedTerminal([]), interactive=False,
               given=parse(*flags, "--imap-security", "plain")).run(
            tmp_path / "c.toml", force=False, modelfile=None)
    assert stop.value.exit_code == EXIT_USAGE
    assert str(stop.value).startswith("--imap-security 'plain': plain (unencrypted) IMAP")
    with pytest.raises(InitStopped) as stop:
        wizard(ScriptedTerminal([]), interactive=False,
               given=parse("--imap-host", "127.0.0.1", "--imap-user", "bob",
                           "--imap-security", "plain")).run(
            tmp_path / "c.toml", force=False, modelfile=None)
    assert stop.value.exit_code == EXIT_FAILED
    assert "login failed: login as 'bob' refused" in str(stop.value)
    assert not (tmp_path / "c.toml").exists()


def test_a_missing_password_says_where_it_was_looked_for(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TRIAGE_TUI_IMAP_PASSWORD")
    given = parse("--imap-host", "127.0.0.1", "--imap-security", "plain", "--imap-user", "ana")
    with pytest.raises(InitStopped) as stop:
        wizard(ScriptedTerminal([]), interactive=False, given=given).run(
            tmp_path / "c.toml", force=False, modelfile=None)
    assert "$TRIAGE_TUI_IMAP_PASSWORD is not set" in str(stop.value)
    assert "export TRIAGE_TUI_IMAP_PASSWORD=…" in str(stop.value)
    # the keyring: this machine has no keyring backend, so there is no entry to find
    with pytest.raises(InitStopped) as stop:
        wizard(ScriptedTerminal([]), interactive=False,
               given={**given, **parse("--keyring")}).run(
            tmp_path / "c.toml", force=False, modelfile=None)
    assert "python -m keyring set triage-tui ana" in str(stop.value)


def test_an_existing_config_is_kept_unless_forced(tmp_path: Path) -> None:
    target = tmp_path / "c.toml"
    target.write_text('[imap]\nhost = "127.0.0.1"\nsecurity = "plain"\nport = 143\n'
                      'username = "ana"\n')
    given = parse("--imap-host", "127.0.0.1", "--imap-user", "ana", "--password-command",
                  f"echo {PASSWORD}")
    with pytest.raises(InitStopped, match=r"exists: nothing written \(--force replaces it"):
        wizard(ScriptedTerminal([]), interactive=False, given=given).run(
            target, force=False, modelfile=tmp_path / "M")
    terminal = ScriptedTerminal(["n"])
    with pytest.raises(InitStopped, match="left as it was"):
        wizard(terminal, given=given).run(target, force=False, modelfile=tmp_path / "M")
    assert terminal.prompts[0].endswith("Replace it (the old one is kept as c.toml.bak)? [y/N]: ")
    before = target.read_text()
    # forced: the existing file's values are the defaults (security plain, port 143)
    code = wizard(ScriptedTerminal([]), interactive=False, given=given).run(
        target, force=True, modelfile=tmp_path / "M")
    assert code == 0
    config = load_config_file(target)
    assert (config.imap.security, config.imap.port) == ("plain", 143)
    assert config.imap.password_command == f"echo {PASSWORD}" and not config.imap.password_env
    backup = tmp_path / "c.toml.bak"
    assert backup.read_text() == before and stat.S_IMODE(backup.stat().st_mode) == 0o600


def test_flags_name_the_password_source() -> None:
    assert parse("--password-command", "pass x") == {"password_source": "command",
                                                     "password_command": "pass x"}
    assert parse("--password-env", "PW") == {"password_source": "env", "password_env": "PW"}
    assert parse("--keyring") == {"password_source": "keyring",
                                  "keyring_service": "triage-tui"}
    with pytest.raises(SystemExit):
        parse("--keyring", "--password-env", "PW")


def test_the_keyring_is_filled_on_request_and_a_refusal_is_explained(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import tui.adapters.credentials as credentials

    # Never the real keyring: an empty one that refuses to store, first.
    def refuse(service: str, user: str, password: str) -> None:
        raise credentials.KeyringUnavailable("the keyring cannot store it: no backend")

    monkeypatch.setattr(credentials, "_from_keyring", lambda service, user: None)
    monkeypatch.setattr(credentials, "store_keyring_password", refuse)
    answers = ["127.0.0.1", "plain", "", "ana", "keyring", "", "y", PASSWORD]
    terminal = ScriptedTerminal(answers)
    with pytest.raises(InitStopped):  # the script ends when the account is asked again
        wizard(terminal).run(tmp_path / "c.toml", force=False, modelfile=tmp_path / "M")
    assert "The keyring has no password for 'ana' under 'triage-tui'." in terminal.shown
    assert "✗ login failed: the keyring cannot store it: no backend: pick command or env " \
           "instead" in terminal.shown
    assert "IMAP password for ana: " in terminal.prompts  # read without echo, once

    stored: dict[tuple[str, str], str] = {}
    monkeypatch.setattr(credentials, "store_keyring_password",
                        lambda service, user, password: stored.update({(service, user):
                                                                        password}))
    terminal = ScriptedTerminal([*answers, "", "", "", "", ""])
    code = wizard(terminal).run(tmp_path / "c.toml", force=False, modelfile=tmp_path / "M")
    assert code == 0 and stored == {("triage-tui", "ana"): PASSWORD}
    assert "  stored in the keyring" in terminal.shown
    config = load_config_file(tmp_path / "c.toml")
    assert (config.imap.keyring_service, config.imap.password_env) == ("triage-tui", "")
    assert PASSWORD not in (tmp_path / "c.toml").read_text()
