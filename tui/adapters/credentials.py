"""The IMAP password: from an env var, a password command, or the system keyring.

Never from the config file or the repo, and never logged: errors name where we looked,
not what we found.
"""

from __future__ import annotations

import os
import shlex
import subprocess

from tui.config import ImapConfig

PASSWORD_COMMAND_TIMEOUT_SECONDS = 15


class CredentialsMissing(Exception):
    pass


class KeyringUnavailable(Exception):
    """The keyring cannot store a password here (library missing, no backend, refused)."""


def _from_command(command: str) -> str:
    try:
        completed = subprocess.run(
            shlex.split(command),
            capture_output=True,
            text=True,
            timeout=PASSWORD_COMMAND_TIMEOUT_SECONDS,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        raise CredentialsMissing(f"password_command failed to run: {error}") from None
    if completed.returncode != 0:
        # stderr may echo secrets from some password managers: report only the exit code.
        raise CredentialsMissing(f"password_command exited with {completed.returncode}")
    password = completed.stdout.rstrip("\r\n")
    if not password:
        raise CredentialsMissing("password_command printed nothing")
    return password


def _from_keyring(service: str, username: str) -> str | None:
    try:
        import keyring
        from keyring.errors import KeyringError
    except ImportError:
        return None
    try:
        return keyring.get_password(service, username)
    except (KeyringError, RuntimeError):
        return None


def resolve_imap_password(config: ImapConfig) -> str:
    tried: list[str] = []
    if config.password_env:
        value = os.environ.get(config.password_env)
        if value:
            return value
        tried.append(f"${config.password_env} is not set")
    if config.password_command:
        return _from_command(config.password_command)
    if config.keyring_service:
        value = _from_keyring(config.keyring_service, config.username)
        if value:
            return value
        tried.append(f"no keyring entry for service {config.keyring_service!r} "
                     f"user {config.username!r}")
    raise CredentialsMissing("no IMAP password: " + "; ".join(tried))


def keyring_installed() -> bool:
    try:
        import keyring  # noqa: F401
    except ImportError:
        return False
    return True


def store_keyring_password(service: str, username: str, password: str) -> None:
    """Put the password in the system keyring, where `resolve_imap_password` finds it."""
    try:
        import keyring
        from keyring.errors import KeyringError
    except ImportError:
        raise KeyringUnavailable("the keyring library is not installed") from None
    try:
        keyring.set_password(service, username, password)
    except (KeyringError, RuntimeError) as error:
        # The error names the backend, never the password.
        raise KeyringUnavailable(f"the keyring cannot store it: {error}") from None
