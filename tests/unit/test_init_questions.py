"""`triage-tui init`'s pure parts: the questions' checks and defaults, the folder choice, and
the config file they make (it loads as the app reads it, and never holds a password)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
import tomllib

from tui.commands.init_questions import (
    IMAP_QUESTIONS,
    OLLAMA_QUESTIONS,
    InvalidAnswer,
    ServerFolder,
    check_ca_file,
    check_env_name,
    check_folder,
    check_host,
    check_ollama_host,
    check_password_source,
    check_port,
    check_security,
    default_archive,
    default_inbox,
    folder_listing,
    folder_questions,
    imap_config,
    login_hint,
    prompt_line,
    render_config,
    toml_string,
)
from tui.config import Config, ImapConfig, parse_config

FOLDERS = [ServerFolder("INBOX"), ServerFolder("Archive", ("\\Archive",)),
           ServerFolder("Junk", ("\\Junk",)), ServerFolder("Lists/rust")]

ANSWERS = {"imap_host": "imap.example.org", "imap_security": "tls", "imap_port": "993",
           "imap_user": "ana@example.org", "password_source": "command",
           "password_command": "pass show mail/imap", "inbox_folder": "INBOX",
           "archive_folder": "Archive", "ollama_host": "http://gpu-box:11434",
           "base_model": "devstral-small:latest", "model": "triage"}


def by_key(key: str):
    return next(q for q in (*IMAP_QUESTIONS, *OLLAMA_QUESTIONS) if q.key == key)


def test_every_question_has_a_flag_and_a_prompt() -> None:
    questions = (*IMAP_QUESTIONS, *OLLAMA_QUESTIONS, *folder_questions(FOLDERS))
    assert len({q.key for q in questions}) == len(questions)
    assert all(q.flag.startswith("--") and q.prompt for q in questions)


def test_the_default_is_shown_in_brackets() -> None:
    assert prompt_line(by_key("imap_host"), "") == "IMAP server: "
    assert prompt_line(by_key("imap_port"), "993") == "Port [993]: "


def test_defaults_follow_the_answers_before_them() -> None:
    port, base = by_key("imap_port"), Config()
    assert port.default({"imap_security": "tls"}, base) == "993"
    assert port.default({"imap_security": "starttls"}, base) == "143"
    assert port.default({"imap_security": "plain"}, base) == "143"
    # re-running init offers what the existing file says
    existing = Config(imap=ImapConfig(host="h", port=1993, security="tls", username="u",
                                      password_command="pass x"))
    assert port.default({"imap_security": "tls"}, existing) == "1993"
    assert by_key("imap_host").default({}, existing) == "h"
    assert by_key("password_source").default({}, existing) == "command"
    assert by_key("password_source").default({}, base) == "env"
    assert by_key("password_env").default({}, base) == "TRIAGE_TUI_IMAP_PASSWORD"


def test_questions_asked_only_where_they_apply() -> None:
    ca = by_key("imap_ca_file")
    assert ca.applies({"imap_security": "tls"}) and ca.applies({"imap_security": "starttls"})
    assert not ca.applies({"imap_security": "plain"})
    for source, key in (("command", "password_command"), ("env", "password_env"),
                        ("keyring", "keyring_service")):
        assert by_key(key).applies({"password_source": source})
        others = {"command", "env", "keyring"} - {source}
        assert not any(by_key(key).applies({"password_source": o}) for o in others)


def test_plain_is_refused_off_loopback() -> None:
    assert check_security("plain", {"imap_host": "127.0.0.1"}) == "plain"
    assert check_security(" PLAIN ", {"imap_host": "localhost"}) == "plain"
    with pytest.raises(InvalidAnswer, match=r"only to a loopback address, not imap\.example\.org"):
        check_security("plain", {"imap_host": "imap.example.org"})
    assert check_security("StartTLS", {"imap_host": "imap.example.org"}) == "starttls"
    with pytest.raises(InvalidAnswer, match="pick tls, starttls or plain"):
        check_security("ssl", {})


@pytest.mark.parametrize("text", ["0", "65536", "imap", "-1", ""])
def test_bad_ports_are_refused(text: str) -> None:
    with pytest.raises(InvalidAnswer):
        check_port(text, {})


def test_checks_normalise_what_they_accept(tmp_path: Path) -> None:
    assert check_port(" 143 ", {}) == "143"
    assert check_host(" imap.example.org ", {}) == "imap.example.org"
    with pytest.raises(InvalidAnswer, match="without a scheme"):
        check_host("imaps://imap.example.org", {})
    with pytest.raises(InvalidAnswer, match="is needed"):
        check_host("  ", {})
    assert check_password_source("1", {}) == "command"
    assert check_password_source("Keyring", {}) == "keyring"
    assert check_env_name("$MY_PW", {}) == "MY_PW"
    with pytest.raises(InvalidAnswer):
        check_env_name("MY-PW", {})
    assert check_ollama_host("gpu-box:11434/", {}) == "http://gpu-box:11434"
    assert check_ollama_host("https://ollama.example.org", {}) == "https://ollama.example.org"
    with pytest.raises(InvalidAnswer):
        check_ollama_host("ftp://x", {})
    assert check_ca_file("", {}) == "" and check_ca_file("none", {}) == ""
    ca = tmp_path / "ca.pem"
    ca.write_text("x")
    assert check_ca_file(str(ca), {}) == str(ca.resolve())
    with pytest.raises(InvalidAnswer, match="no such file"):
        check_ca_file(str(tmp_path / "missing.pem"), {})


def test_folders_by_name_or_number_and_the_archive_default() -> None:
    check = check_folder(FOLDERS)
    assert check("2", {}) == "Archive"
    assert check("Lists/rust", {}) == "Lists/rust"
    assert check("inbox", {}) == "INBOX"
    with pytest.raises(InvalidAnswer, match="no folder 'Archiv'"):
        check("Archiv", {})
    with pytest.raises(InvalidAnswer):
        check("9", {})
    # the server's \Archive mark wins; then the configured name; then a name like it
    assert default_archive(FOLDERS, "Junk") == "Archive"
    plain = [ServerFolder("INBOX"), ServerFolder("Old"), ServerFolder("My Archive")]
    assert default_archive(plain, "Old") == "Old"
    assert default_archive(plain, "Archive") == "My Archive"
    assert default_archive([ServerFolder("INBOX")], "Archive") == ""
    assert default_inbox(FOLDERS, "Lists/rust") == "Lists/rust"
    assert default_inbox(FOLDERS, "Gone") == "INBOX"
    assert folder_listing(FOLDERS).splitlines()[1] == "   2  Archive  (\\Archive)"


def test_exactly_one_password_source_goes_into_the_imap_section() -> None:
    command = imap_config(ANSWERS)
    assert (command.password_command, command.password_env, command.keyring_service) == (
        "pass show mail/imap", "", "")
    env = imap_config({**ANSWERS, "password_source": "env", "password_env": "PW"})
    assert (env.password_command, env.password_env, env.keyring_service) == ("", "PW", "")
    keyring = imap_config({**ANSWERS, "password_source": "keyring", "keyring_service": "s"})
    assert (keyring.password_command, keyring.password_env, keyring.keyring_service) == (
        "", "", "s")


def test_the_config_file_loads_as_the_app_reads_it() -> None:
    text = render_config(ANSWERS, datetime(2026, 12, 2, 9, 30))
    config = parse_config(tomllib.loads(text), Path("config.toml"))
    assert config.imap == imap_config(ANSWERS)
    assert (config.imap.host, config.imap.port, config.imap.archive_folder) == (
        "imap.example.org", 993, "Archive")
    assert (config.ollama.host, config.ollama.model, config.ollama.base_model) == (
        "http://gpu-box:11434", "triage", "devstral-small:latest")
    assert config.imap.enabled
    assert "# Written by `triage-tui init` on 2026-12-02 09:30" in text
    assert "it comes from the command `pass show mail/imap`" in text
    assert "password =" not in text.replace("_", "")  # no key named password at all


def test_odd_characters_survive_the_round_trip(tmp_path: Path) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_text("x")
    answers = {**ANSWERS, "imap_user": 'an"a\\x\u00e9\x7f', "imap_ca_file": str(ca),
               "password_command": "sh -c 'printf %s \"$PW\"'",
               "archive_folder": "Ablage/2026 \u00e4"}
    config = parse_config(tomllib.loads(render_config(answers)), Path("c.toml"))
    assert config.imap == imap_config(answers)
    assert config.imap.ca_file == ca
    assert toml_string("\x01\t") == '"\\u0001\\t"'


def test_a_failed_login_gets_a_hint_in_words() -> None:
    assert login_hint("login as 'alice' refused: [AUTHENTICATIONFAILED] Authentication "
                      "failed.") == "check the user name and the password"
    assert "nothing answers" in login_hint("cannot connect to 127.0.0.1:9: [Errno 111] "
                                           "Connection refused")
    assert "CA file" in login_hint("cannot connect to h:993: [SSL: CERTIFICATE_VERIFY_FAILED]"
                                   " certificate verify failed")
    assert "993" in login_hint("cannot connect to h:143: [SSL: WRONG_VERSION_NUMBER] wrong "
                               "version number")
    assert login_hint("something else") == ""
