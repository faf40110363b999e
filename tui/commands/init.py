"""`triage-tui init`: the first-run set-up, in the terminal.

It asks for the IMAP account (or takes every answer from flags with `--non-interactive`),
logs in through the app's own IMAP adapter to check it, lists the server's folders to pick
the inbox and the archive, asks for Ollama, writes the config file (0600) where the app
reads it, then the Modelfile through `triage-tui modelfile`'s own code path, and prints the
`ollama create` line. The questions, their checks and the file's text are pure
(`init_questions.py`); this module only asks, logs in and writes.

Exit codes: 0 written; 1 the login failed, a config exists (without --force) or the user
stopped; 2 a required answer is missing or a flag's value is refused.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import shutil
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tui.commands.init_questions import Question, ServerFolder
    from tui.config import Config, ImapConfig

PROG = "triage-tui init"
EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2

log = logging.getLogger(__name__)


class InitStopped(Exception):
    """The run ends here, nothing (more) written: the message says why."""

    def __init__(self, message: str, exit_code: int = EXIT_FAILED) -> None:
        super().__init__(message)
        self.exit_code = exit_code


class LoginFailed(Exception):
    """The account could not be checked; the message says why, in words."""


def add_init_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--non-interactive", "--yes", "-y", dest="non_interactive",
                        action="store_true",
                        help="never ask: flags answer, defaults fill the rest; a missing "
                             "answer or a failed login exits non-zero")
    parser.add_argument("--force", action="store_true",
                        help="replace an existing config file (the old one is kept as .bak)")
    imap = parser.add_argument_group("IMAP account")
    imap.add_argument("--imap-host", metavar="HOST")
    imap.add_argument("--imap-security", metavar="tls|starttls|plain",
                      help="plain only to a loopback address (default: tls)")
    imap.add_argument("--imap-port", metavar="PORT", help="default: 993 for tls, else 143")
    imap.add_argument("--imap-ca-file", metavar="PATH", help="CA of a self-signed server")
    imap.add_argument("--imap-user", metavar="USER")
    password = imap.add_mutually_exclusive_group()
    password.add_argument("--password-command", metavar="CMD",
                          help="a command that prints the password (e.g. 'pass show mail')")
    password.add_argument("--password-env", metavar="NAME",
                          help="an environment variable that holds the password "
                               "(default: TRIAGE_TUI_IMAP_PASSWORD)")
    password.add_argument("--keyring", metavar="SERVICE", nargs="?", const="triage-tui",
                          help="the system keyring, under SERVICE (default: triage-tui)")
    imap.add_argument("--inbox-folder", metavar="FOLDER", help="the folder to triage")
    imap.add_argument("--archive-folder", metavar="FOLDER")
    llm = parser.add_argument_group("Ollama")
    llm.add_argument("--ollama-host", metavar="URL", help="default: http://127.0.0.1:11434")
    llm.add_argument("--base-model", metavar="NAME", help="the pulled model the Modelfile is "
                                                         "built FROM")
    llm.add_argument("--model", metavar="NAME", help="the capped model's name (default: triage)")
    llm.add_argument("--modelfile", type=Path, metavar="PATH",
                     help="default: modelfiles/Modelfile.triage in the current directory")


def given_answers(args: argparse.Namespace) -> dict[str, str]:
    """The answers the flags give, by question key."""
    given = {key: str(value) for key, value in {
        "imap_host": args.imap_host, "imap_security": args.imap_security,
        "imap_port": args.imap_port, "imap_ca_file": args.imap_ca_file,
        "imap_user": args.imap_user, "inbox_folder": args.inbox_folder,
        "archive_folder": args.archive_folder, "ollama_host": args.ollama_host,
        "base_model": args.base_model, "model": args.model,
    }.items() if value is not None}
    for source, key in (("command", "password_command"), ("env", "password_env"),
                        ("keyring", "keyring_service")):
        value = getattr(args, key if key != "keyring_service" else "keyring")
        if value is not None:
            given["password_source"], given[key] = source, value
    return given


def config_target(explicit: Path | None) -> Path:
    """Where the app will look first: --config, then $TRIAGE_TUI_CONFIG, then the XDG file."""
    from tui.config import CONFIG_ENV_VAR
    from tui.paths import user_config_file

    if explicit is not None:
        return explicit.expanduser()
    from_env = os.environ.get(CONFIG_ENV_VAR)
    return Path(from_env).expanduser() if from_env else user_config_file()


@dataclass
class Terminal:
    """Plain lines in and out; `read_secret` (no echo) only to store a keyring password."""

    read_line: Callable[[str], str] = input
    write: Callable[[str], None] = lambda text: print(text, flush=True)
    read_secret: Callable[[str], str] = field(default=lambda prompt: _getpass(prompt))


def _getpass(prompt: str) -> str:
    import getpass

    return getpass.getpass(prompt)


# --- the real checks (the wizard takes them as parameters, so tests can use others) -------

def list_server_folders(imap: ImapConfig, password: str) -> list[ServerFolder]:
    """Log in as the app does and list the selectable folders."""
    from tui.adapters.imap_connect import ImapConnectError, connect_imap
    from tui.commands.init_questions import ServerFolder

    try:
        client = connect_imap(imap, password)
    except ImapConnectError as error:
        raise LoginFailed(str(error)) from None
    try:
        listed = client.list_folders()
    except Exception as error:  # imaplib's own error types
        raise LoginFailed(f"logged in, but listing the folders failed: {error}") from None
    finally:
        with contextlib.suppress(Exception):
            client.logout()
    folders = []
    for flags, _delimiter, name in listed:
        names = {flag.decode() if isinstance(flag, bytes) else str(flag) for flag in flags}
        if "\\Noselect" in names or "\\NonExistent" in names:
            continue
        special = tuple(sorted(flag for flag in names if flag in (
            "\\Archive", "\\Drafts", "\\Flagged", "\\Junk", "\\Sent", "\\Trash", "\\All")))
        folders.append(ServerFolder(str(name), special))
    return sorted(folders, key=lambda folder: folder.name != "INBOX")  # INBOX first


@dataclass(frozen=True)
class OllamaFindings:
    problem: str = ""  # "" when Ollama answered
    version: str = ""
    # model name → whether Ollama has it (absent when unknown)
    models: Mapping[str, bool] = field(default_factory=dict)


def probe_ollama(host: str, names: Sequence[str]) -> OllamaFindings:
    from tui.adapters.ollama_models import server_version, show_model
    from tui.llm.protocol import BackendUnavailable, ModelMissing

    try:
        info = server_version(host, timeout=3.0)
    except BackendUnavailable as error:  # its words start with the host: said already
        return OllamaFindings(problem=str(error).removeprefix(f"{host}: "))
    models: dict[str, bool] = {}
    for name in names:
        try:
            show_model(host, name, timeout=3.0)
        except ModelMissing:
            models[name] = False
        except BackendUnavailable:
            continue
        else:
            models[name] = True
    return OllamaFindings(version=info.version, models=models)


def write_private_config(path: Path, text: str) -> Path | None:
    """Write `text` to `path` as 0600 (its folder 0700 when created), atomically; an
    existing file is kept beside it as `<name>.bak` (0600), whose path is returned."""
    from tui.adapters.private_files import PRIVATE_FILE_MODE, make_private_dir

    make_private_dir(path.parent)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_FILE_MODE)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, PRIVATE_FILE_MODE)  # whatever the umask was
        backup = None
        if path.exists():
            backup = path.with_name(path.name + ".bak")
            shutil.copyfile(path, backup)
            os.chmod(backup, PRIVATE_FILE_MODE)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            temporary.unlink()
        raise
    return backup


FolderLister = Callable[["ImapConfig", str], list["ServerFolder"]]
OllamaProbe = Callable[[str, Sequence[str]], OllamaFindings]


class InitWizard:
    """The questions asked (or answered by flags), the login check, and the files written."""

    def __init__(self, terminal: Terminal, *, interactive: bool, given: Mapping[str, str],
                 list_folders: FolderLister = list_server_folders,
                 probe: OllamaProbe = probe_ollama) -> None:
        from tui.config import Config

        self.terminal = terminal
        self.interactive = interactive
        self.given = dict(given)
        self.list_folders = list_folders
        self.probe = probe
        self.base: Config = Config()
        self.missing: list[str] = []
        self.written: Path | None = None
        self.hinted: set[str] = set()  # questions whose explanation was shown once

    def say(self, text: str = "") -> None:
        self.terminal.write(text)

    # --- asking -------------------------------------------------------------------------

    def ask(self, question: Question, answers: dict[str, str],
            previous: Mapping[str, str]) -> None:
        """Put `question`'s answer in `answers`: a flag's, else typed (Enter: the default),
        else, not interactive, the default; a required one without any is `missing`."""
        from tui.commands.init_questions import InvalidAnswer, prompt_line

        if not question.applies(answers):
            answers.pop(question.key, None)
            return
        default = previous.get(question.key) or question.default(answers, self.base)
        if question.key in self.given:
            value = self.given[question.key]
            try:
                answers[question.key] = question.check(value, answers)
                return
            except InvalidAnswer as problem:
                if not self.interactive:
                    raise InitStopped(f"{question.flag.split('/')[0]} {value!r}: {problem}",
                                      EXIT_USAGE) from None
                self.say(f"  {question.flag} {value!r}: {problem}")
        if not self.interactive:
            try:  # an empty default is fine where an empty answer is (no CA file)
                answers[question.key] = question.check(default, answers)
            except InvalidAnswer as problem:
                if default:
                    raise InitStopped(f"{question.flag}: the default {default!r} does not "
                                      f"fit: {problem}", EXIT_USAGE) from None
                self.missing.append(f"{question.flag} ({question.prompt})")
                answers[question.key] = ""
            return
        if question.hint and question.key not in self.hinted:
            self.say(question.hint)
            self.hinted.add(question.key)
        while True:
            try:
                typed = self.terminal.read_line(prompt_line(question, default))
            except EOFError:
                raise InitStopped("stopped (end of input); nothing written") from None
            try:
                answers[question.key] = question.check(typed.strip() or default, answers)
                return
            except InvalidAnswer as problem:
                self.say(f"  {problem}")

    def ask_all(self, questions: Sequence[Question], answers: dict[str, str],
                previous: Mapping[str, str]) -> None:
        for question in questions:
            self.ask(question, answers, previous)
        if self.missing:
            listed = ", ".join(self.missing)
            raise InitStopped(f"not set, and no default: {listed}", EXIT_USAGE)

    def confirm(self, prompt: str, default: bool) -> bool:
        shown = "Y/n" if default else "y/N"
        while True:
            try:
                typed = self.terminal.read_line(f"{prompt} [{shown}]: ").strip().lower()
            except EOFError:
                raise InitStopped("stopped (end of input); nothing written") from None
            if not typed:
                return default
            if typed in ("y", "yes", "n", "no"):
                return typed.startswith("y")
            self.say("  answer y or n")

    # --- the account --------------------------------------------------------------------

    def _password(self, imap: ImapConfig) -> str:
        from tui.adapters.credentials import (
            CredentialsMissing,
            KeyringUnavailable,
            keyring_installed,
            resolve_imap_password,
            store_keyring_password,
        )
        from tui.commands.init_questions import password_source_words

        keyring = bool(imap.keyring_service and not imap.password_env
                       and not imap.password_command)
        if keyring and not keyring_installed():
            raise LoginFailed("the keyring library is not installed here (`pip install "
                              "keyring` in triage-tui's virtualenv), so the password cannot "
                              "come from the keyring: pick command or env")
        try:
            return resolve_imap_password(imap)
        except CredentialsMissing as error:
            if not keyring:
                where = password_source_words(imap)
                fix = (f"export {imap.password_env}=… in this shell first (and wherever "
                       "triage-tui runs)" if imap.password_env
                       else "check that the command prints the password")
                raise LoginFailed(f"{error}: the password comes from {where}; {fix}") from None
            if not self.interactive:
                raise LoginFailed(
                    f"{error}: store it first (`python -m keyring set {imap.keyring_service} "
                    f"{imap.username}`), or pick --password-command or --password-env"
                ) from None
        self.say(f"The keyring has no password for {imap.username!r} under "
                 f"{imap.keyring_service!r}.")
        if not self.confirm("Store it in the keyring now (typed without echo, never written "
                            "to the file)?", True):
            raise LoginFailed("no password in the keyring: pick command or env, or store it "
                              f"with `python -m keyring set {imap.keyring_service} "
                              f"{imap.username}`")
        try:
            password = self.terminal.read_secret(f"IMAP password for {imap.username}: ")
        except EOFError:
            raise InitStopped("stopped (end of input); nothing written") from None
        if not password:
            raise LoginFailed("no password typed")
        try:
            store_keyring_password(imap.keyring_service, imap.username, password)
        except KeyringUnavailable as error:
            raise LoginFailed(f"{error}: pick command or env instead") from None
        self.say("  stored in the keyring")
        return password

    def check_account(self, answers: Mapping[str, str]) -> list[ServerFolder]:
        from tui.commands.init_questions import folder_listing, imap_config

        imap = imap_config(answers)
        password = self._password(imap)
        self.say(f"Logging in to {imap.host}:{imap.port} ({imap.security}) as "
                 f"{imap.username} …")
        folders = self.list_folders(imap, password)
        if not folders:
            raise LoginFailed("logged in, but the server lists no folder to open")
        self.say(f"✓ logged in; the server has {len(folders)} folders:")
        self.say(folder_listing(folders))
        return folders

    def account(self) -> tuple[dict[str, str], list[ServerFolder]]:
        """The IMAP answers and the server's folders, asked again after a failed login."""
        from tui.commands.init_questions import IMAP_QUESTIONS, login_hint

        previous: dict[str, str] = {}
        while True:
            answers: dict[str, str] = {}
            self.ask_all(IMAP_QUESTIONS, answers, previous)
            try:
                return answers, self.check_account(answers)
            except LoginFailed as failure:
                hint = login_hint(str(failure))
                words = f"login failed: {failure}" + (f" — {hint}" if hint else "")
                if not self.interactive:
                    raise InitStopped(words) from None
                log.info("init: %s", failure)
                self.say(f"✗ {words}")
                self.say("Enter the account again (Enter keeps each answer).")
                # Flags answered once; now they are only the defaults shown.
                previous = answers
                for key in answers:
                    self.given.pop(key, None)

    # --- the run --------------------------------------------------------------------------

    def run(self, target: Path, *, force: bool, modelfile: Path | None) -> int:
        from tui.commands.init_questions import (
            OLLAMA_QUESTIONS,
            folder_questions,
            imap_config,
            password_source_words,
            render_config,
        )
        from tui.config import ConfigError, load_config_file

        self.say(f"triage-tui set-up: writes {target}")
        if target.exists():
            try:
                self.base = load_config_file(target)
            except ConfigError as error:
                self.say(f"  (the file there does not load, so its values are not offered: "
                         f"{str(error).splitlines()[0]})")
            if not force:
                if not self.interactive:
                    raise InitStopped(f"{target} exists: nothing written (--force replaces "
                                      "it, keeping the old one as .bak)")
                if not self.confirm(f"{target} exists. Replace it (the old one is kept as "
                                    f"{target.name}.bak)?", False):
                    raise InitStopped("nothing written: the config file is left as it was")
        self.say("Enter accepts the answer in [brackets].")
        self.say("")
        self.say("IMAP account")
        answers, folders = self.account()
        self.ask_all(folder_questions(folders), answers, {})
        self.say(f"  triage {answers['inbox_folder']}; archive to {answers['archive_folder']}")
        self.say("")
        self.say("Ollama")
        self.ask_all(OLLAMA_QUESTIONS, answers, {})
        findings = self.probe(answers["ollama_host"], [answers["base_model"], answers["model"]])
        if findings.problem:
            self.say(f"✗ Ollama is not reachable at {answers['ollama_host']}: "
                     f"{findings.problem}. The config is written anyway; start Ollama with "
                     "`ollama serve` (or fix [ollama] host) before triaging.")
        else:
            self.say(f"✓ Ollama {findings.version} at {answers['ollama_host']}")

        backup = write_private_config(target, render_config(answers, datetime.now()))
        self.written = target
        self.say("")
        self.say(f"✓ wrote {target} (mode 0600)" + (f"; the old one is {backup}" if backup
                                                      else ""))
        self.say(f"  the password is not in it: it comes from "
                 f"{password_source_words(imap_config(answers))}")
        config = load_config_file(target)  # what the app will read, read back
        create = self.modelfile(config, modelfile, offline=bool(findings.problem))
        self.say("")
        self.say("Next:")
        if findings.models.get(answers["base_model"]) is not True:
            self.say(f"  ollama pull {answers['base_model']}")
        self.say(f"  {create}")
        self.say("  triage-tui doctor")
        self.say("  triage-tui")
        return EXIT_OK

    def modelfile(self, config: Config, path: Path | None, *, offline: bool) -> str:
        """Write the Modelfile as `triage-tui modelfile` does; the `ollama create` line."""
        from tui.budget.plan import PlanError
        from tui.budget.whisper import UnknownWhisperModel
        from tui.commands.modelfile import DEFAULT_MODELFILE, create_command, write_modelfile
        from tui.planning.model_source import ModelShapeUnavailable
        from tui.planning.service import PlanOptions, PlanUnsatisfiable

        path = path or DEFAULT_MODELFILE
        try:
            outcome = write_modelfile(config, PlanOptions(offline=offline), path)
        except (ModelShapeUnavailable, PlanError, PlanUnsatisfiable, UnknownWhisperModel,
                OSError) as error:
            self.say(f"✗ Modelfile not written: {error}; run `triage-tui modelfile` once "
                     "Ollama has the base model")
            return f"triage-tui modelfile && {create_command(config, path)}"
        self.say(("✓ " if outcome.ok else "✗ Modelfile ") + outcome.message)
        return outcome.create_command or f"triage-tui modelfile --force && " \
                                         f"{create_command(config, path)}"


def run_init(args: argparse.Namespace) -> int:
    terminal = Terminal()
    wizard = InitWizard(terminal, interactive=not args.non_interactive,
                        given=given_answers(args))
    try:
        return wizard.run(config_target(args.config), force=args.force,
                          modelfile=args.modelfile)
    except InitStopped as stop:
        print(f"{PROG}: {stop}", file=sys.stderr)
        return stop.exit_code
    except OSError as error:  # the config's folder not writable, a full disk
        print(f"{PROG}: cannot write {error.filename or 'the config file'}: "
              f"{error.strerror or error}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        done = f"{wizard.written} was written" if wizard.written else "nothing written"
        print(f"\n{PROG}: stopped; {done}", file=sys.stderr)
        return 130
