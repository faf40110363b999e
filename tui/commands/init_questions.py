"""`triage-tui init`'s questions, their defaults and checks, and the config file they make:
pure, so every rule is unit-tested; `tui/commands/init.py` does the asking, the login and
the writing.

Each question has a flag (`--imap-host`), so a script answers all of them and is never
asked. An answer is checked as it is given: a wrong one is refused in words and asked
again (or, from a flag, ends the run). The password is never an answer: only where it
comes from (a command, the keyring or an environment variable) goes into the file.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from tui.adapters.imap_connect import is_loopback_host
from tui.config import Config, ImapConfig, OllamaConfig

SECURITY_CHOICES = ("tls", "starttls", "plain")
DEFAULT_PORTS = {"tls": 993, "starttls": 143, "plain": 143}
PASSWORD_SOURCES = ("command", "keyring", "env")
DEFAULT_PASSWORD_ENV = ImapConfig().password_env
DEFAULT_KEYRING_SERVICE = ImapConfig().keyring_service

Answers = Mapping[str, str]


class InvalidAnswer(ValueError):
    """An answer refused, with the reason in words (shown, then the question again)."""


@dataclass(frozen=True)
class ServerFolder:
    """A folder the server listed: its name and its RFC 6154 special use (`\\Archive`)."""

    name: str
    special_use: tuple[str, ...] = ()


@dataclass(frozen=True)
class Question:
    """`key` names the answer; `flag` answers it from the command line; `default(answers,
    base)` is what Enter accepts ("" when an answer is required); `check(text, answers)`
    returns the answer as stored or raises InvalidAnswer; `applies(answers)` says whether it
    is asked at all, given the answers before it."""

    key: str
    prompt: str
    flag: str
    check: Callable[[str, Answers], str]
    default: Callable[[Answers, Config], str] = lambda answers, base: ""
    applies: Callable[[Answers], bool] = lambda answers: True
    hint: str = ""


def prompt_line(question: Question, default: str) -> str:
    """`IMAP server [imap.example.org]: `; no brackets when there is no default."""
    shown = f" [{default}]" if default else ""
    return f"{question.prompt}{shown}: "


# --- checks -------------------------------------------------------------------------------

_HOST = re.compile(r"^[A-Za-z0-9._:\[\]-]+$")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_MODEL_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:/-]*$")


def _required(text: str, what: str) -> str:
    text = text.strip()
    if not text:
        raise InvalidAnswer(f"{what} is needed")
    return text


def check_host(text: str, answers: Answers) -> str:
    host = _required(text, "a host name")
    if "://" in host:
        raise InvalidAnswer(f"{host!r}: give the host name alone, without a scheme "
                            "(imap.example.org)")
    if not _HOST.match(host):
        raise InvalidAnswer(f"{host!r} is not a host name")
    return host


def check_security(text: str, answers: Answers) -> str:
    security = text.strip().lower()
    if security not in SECURITY_CHOICES:
        raise InvalidAnswer(f"{text.strip()!r}: pick tls, starttls or plain")
    host = answers.get("imap_host", "")
    if security == "plain" and host and not is_loopback_host(host):
        raise InvalidAnswer(f"plain (unencrypted) IMAP is allowed only to a loopback address, "
                            f"not {host}: pick tls or starttls")
    return security


def check_port(text: str, answers: Answers) -> str:
    try:
        port = int(text.strip())
    except ValueError:
        raise InvalidAnswer(f"{text.strip()!r} is not a port number") from None
    if not 1 <= port <= 65535:
        raise InvalidAnswer(f"{port} is not a port number (1–65535)")
    return str(port)


def check_ca_file(text: str, answers: Answers) -> str:
    text = text.strip()
    if not text or text.lower() == "none":
        return ""
    path = Path(text).expanduser()
    if not path.is_file():
        raise InvalidAnswer(f"{path}: no such file (Enter uses the system's certificates)")
    return str(path.resolve())


def check_user(text: str, answers: Answers) -> str:
    return _required(text, "the IMAP user name")


def check_password_source(text: str, answers: Answers) -> str:
    source = text.strip().lower()
    aliases = {"1": "command", "2": "keyring", "3": "env", "environment": "env"}
    source = aliases.get(source, source)
    if source not in PASSWORD_SOURCES:
        raise InvalidAnswer(f"{text.strip()!r}: pick command, keyring or env")
    return source


def check_password_command(text: str, answers: Answers) -> str:
    command = _required(text, "a command that prints the password")
    try:
        shlex.split(command)
    except ValueError as error:
        raise InvalidAnswer(f"cannot split that command line: {error}") from None
    return command


def check_env_name(text: str, answers: Answers) -> str:
    name = _required(text, "an environment variable name").lstrip("$")
    if not _ENV_NAME.match(name):
        raise InvalidAnswer(f"{name!r} is not an environment variable name")
    return name


def check_keyring_service(text: str, answers: Answers) -> str:
    return _required(text, "a keyring service name")


def check_ollama_host(text: str, answers: Answers) -> str:
    host = _required(text, "Ollama's address").rstrip("/")
    if "://" not in host:
        host = "http://" + host
    scheme, _, rest = host.partition("://")
    if scheme not in ("http", "https") or not rest or not _HOST.match(rest.split("/")[0]):
        raise InvalidAnswer(f"{text.strip()!r} is not an address like http://127.0.0.1:11434")
    return host


def check_model_name(text: str, answers: Answers) -> str:
    name = _required(text, "a model name")
    if not _MODEL_NAME.match(name):
        raise InvalidAnswer(f"{name!r} is not an Ollama model name")
    return name


# --- defaults from an existing config (re-running init changes what you type) --------------

def _password_source_of(imap: ImapConfig) -> str:
    if imap.password_command:
        return "command"
    if imap.password_env:
        return "env"
    return "keyring" if imap.keyring_service else "env"


def _default_port(answers: Answers, base: Config) -> str:
    security = answers.get("imap_security", "tls")
    if base.imap.host and security == base.imap.security:
        return str(base.imap.port)
    return str(DEFAULT_PORTS.get(security, 993))


def _is_tls(answers: Answers) -> bool:
    return answers.get("imap_security") in ("tls", "starttls")


def _source_is(source: str) -> Callable[[Answers], bool]:
    return lambda answers: answers.get("password_source") == source


IMAP_QUESTIONS: tuple[Question, ...] = (
    Question("imap_host", "IMAP server", "--imap-host", check_host,
             lambda a, base: base.imap.host),
    Question("imap_security", "Security (tls, starttls, or plain on loopback only)",
             "--imap-security", check_security,
             lambda a, base: base.imap.security if base.imap.host else "tls"),
    Question("imap_port", "Port", "--imap-port", check_port, _default_port),
    Question("imap_ca_file", "CA file for a self-signed server (Enter: the system's)",
             "--imap-ca-file", check_ca_file,
             lambda a, base: str(base.imap.ca_file or ""), _is_tls),
    Question("imap_user", "User name", "--imap-user", check_user,
             lambda a, base: base.imap.username),
    Question("password_source",
             "Password from (command, keyring, env)", "--password-command/--password-env/"
             "--keyring", check_password_source,
             lambda a, base: _password_source_of(base.imap),
             hint="The password never goes into the config file. It comes from one of:\n"
                  "  command  a command that prints it (pass show mail/imap, "
                  "secret-tool lookup …)\n"
                  "  keyring  the system keyring (stored there now if it is not yet)\n"
                  "  env      an environment variable set in the shell that runs triage-tui"),
    Question("password_command", "Password command", "--password-command",
             check_password_command, lambda a, base: base.imap.password_command,
             _source_is("command")),
    Question("password_env", "Environment variable", "--password-env", check_env_name,
             lambda a, base: base.imap.password_env or DEFAULT_PASSWORD_ENV,
             _source_is("env")),
    Question("keyring_service", "Keyring service", "--keyring", check_keyring_service,
             lambda a, base: base.imap.keyring_service or DEFAULT_KEYRING_SERVICE,
             _source_is("keyring")),
)

OLLAMA_QUESTIONS: tuple[Question, ...] = (
    Question("ollama_host", "Ollama server", "--ollama-host", check_ollama_host,
             lambda a, base: base.ollama.host),
    Question("base_model", "Base model (what `ollama pull` fetched)", "--base-model",
             check_model_name, lambda a, base: base.ollama.base_model),
    Question("model", "Name of the capped model triage-tui uses", "--model",
             check_model_name, lambda a, base: base.ollama.model),
)


# --- folders --------------------------------------------------------------------------------

def default_archive(folders: Sequence[ServerFolder], configured: str = "") -> str:
    """The folder the server marks `\\Archive`, else the configured one, else one named
    like an archive; "" when none fits (then the user must pick)."""
    names = [folder.name for folder in folders]
    for folder in folders:
        if "\\Archive" in folder.special_use:
            return folder.name
    if configured in names:
        return configured
    for name in names:
        if "archive" in name.lower():
            return name
    return ""


def default_inbox(folders: Sequence[ServerFolder], configured: str = "INBOX") -> str:
    names = [folder.name for folder in folders]
    return configured if configured in names else ("INBOX" if "INBOX" in names else "")


def folder_listing(folders: Sequence[ServerFolder]) -> str:
    """The numbered list shown before the folder questions."""
    lines = []
    for number, folder in enumerate(folders, 1):
        use = f"  ({' '.join(folder.special_use)})" if folder.special_use else ""
        lines.append(f"  {number:>2}  {folder.name}{use}")
    return "\n".join(lines)


def check_folder(folders: Sequence[ServerFolder]) -> Callable[[str, Answers], str]:
    names = [folder.name for folder in folders]

    def check(text: str, answers: Answers) -> str:
        text = text.strip()
        if text.isdigit() and 1 <= int(text) <= len(names):
            return names[int(text) - 1]
        if text in names:
            return text
        if text.upper() == "INBOX" and "INBOX" in names:
            return "INBOX"  # RFC 3501: INBOX is case-insensitive
        raise InvalidAnswer(f"the server has no folder {text!r}: pick a name or a number "
                            "from the list")

    return check


def folder_questions(folders: Sequence[ServerFolder]) -> tuple[Question, ...]:
    check = check_folder(folders)
    return (
        Question("inbox_folder", "Folder to triage", "--inbox-folder", check,
                 lambda a, base: default_inbox(folders, base.imap.folder)),
        Question("archive_folder", "Archive folder", "--archive-folder", check,
                 lambda a, base: default_archive(folders, base.imap.archive_folder)),
    )


# --- answers → config ----------------------------------------------------------------------

def imap_config(answers: Answers) -> ImapConfig:
    """The [imap] section the answers make: exactly one password source is set (an env var
    left set as well would win over a command or the keyring)."""
    source = answers.get("password_source", "env")
    security = answers.get("imap_security", "tls")
    return ImapConfig(
        host=answers["imap_host"],
        port=int(answers.get("imap_port") or DEFAULT_PORTS[security]),
        security=security,  # type: ignore[arg-type]
        ca_file=Path(answers["imap_ca_file"]) if answers.get("imap_ca_file") else None,
        username=answers["imap_user"],
        password_env=answers.get("password_env", DEFAULT_PASSWORD_ENV) if source == "env"
        else "",
        password_command=answers.get("password_command", "") if source == "command" else "",
        keyring_service=answers.get("keyring_service", DEFAULT_KEYRING_SERVICE)
        if source == "keyring" else "",
        folder=answers.get("inbox_folder") or "INBOX",
        archive_folder=answers.get("archive_folder") or ImapConfig().archive_folder,
    )


def ollama_config(answers: Answers) -> OllamaConfig:
    defaults = OllamaConfig()
    return OllamaConfig(host=answers.get("ollama_host") or defaults.host,
                        model=answers.get("model") or defaults.model,
                        base_model=answers.get("base_model") or defaults.base_model)


def password_source_words(imap: ImapConfig) -> str:
    """Where the app will find the password, for the summary and the file's comment."""
    if imap.password_command:
        return f"the command `{imap.password_command}`"
    if imap.password_env:
        return f"${imap.password_env}"
    return f"the keyring (service {imap.keyring_service!r}, user {imap.username!r})"


def toml_string(value: str) -> str:
    """A TOML basic string: quotes, backslashes and control characters escaped."""
    escapes = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f",
               "\r": "\\r"}
    out = []
    for char in value:
        if char in escapes:
            out.append(escapes[char])
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            out.append(f"\\u{ord(char):04X}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def render_config(answers: Answers, written_at: datetime | None = None) -> str:
    """The config file: [imap] and [ollama] as answered; every other key keeps its default
    (config/triage.toml documents them). Never the password: only where it comes from."""
    imap, ollama = imap_config(answers), ollama_config(answers)
    stamp = f" on {written_at:%Y-%m-%d %H:%M}" if written_at else ""
    lines = [
        f"# Written by `triage-tui init`{stamp}. Every other key keeps its default:",
        "# config/triage.toml in the source tree documents each one.",
        f"# The IMAP password is not in this file: it comes from {password_source_words(imap)}.",
        "",
        "[imap]",
        f"host = {toml_string(imap.host)}",
        f"port = {imap.port}",
        f"security = {toml_string(imap.security)}",
    ]
    if imap.ca_file is not None:
        lines.append(f"ca_file = {toml_string(str(imap.ca_file))}")
    lines += [
        f"username = {toml_string(imap.username)}",
        f"password_env = {toml_string(imap.password_env)}",
        f"password_command = {toml_string(imap.password_command)}",
        f"keyring_service = {toml_string(imap.keyring_service)}",
        f"folder = {toml_string(imap.folder)}",
        f"archive_folder = {toml_string(imap.archive_folder)}",
        "",
        "[ollama]",
        f"host = {toml_string(ollama.host)}",
        f"model = {toml_string(ollama.model)}",
        f"base_model = {toml_string(ollama.base_model)}",
        "",
    ]
    return "\n".join(lines)


def login_hint(problem: str) -> str:
    """What to change after a failed login, from the failure's words ("" when unsure)."""
    text = problem.lower()
    if "refused:" in text and "login as" in text:
        return "check the user name and the password"
    if "no imap password" in text or "password_command" in text:
        return "check where the password comes from"
    if "certificate_verify_failed" in text or "certificate verify failed" in text:
        return ("the server's certificate is not trusted here: give the CA file that signed "
                "it, or check the host name")
    if "wrong_version_number" in text or "record layer" in text or "unexpected eof" in text:
        return "that port does not speak this security: tls is usually 993, starttls 143"
    if "starttls" in text:
        return "the server offers no STARTTLS there: try tls on port 993"
    if "connection refused" in text:
        return "nothing answers on that port: check the host and the port"
    if "name or service not known" in text or "nodename nor servname" in text \
            or "name resolution" in text:
        return "that host name does not resolve: check it"
    if "timed out" in text or "timeout" in text:
        return "no answer in time: check the host, the port and any firewall"
    return ""
