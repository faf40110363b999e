"""The IMAP password: env var, then command, then keyring; never echoed in errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from tui.adapters.credentials import CredentialsMissing, resolve_imap_password
from tui.config import ImapConfig


def test_env_var_first(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MY_IMAP_PW", "from-env")
    config = ImapConfig(username="u", password_env="MY_IMAP_PW", password_command="false")
    assert resolve_imap_password(config) == "from-env"


def test_command_strips_the_newline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MY_IMAP_PW", raising=False)
    secret = tmp_path / "pw"
    secret.write_text("s3cret with spaces\n")
    config = ImapConfig(username="u", password_env="MY_IMAP_PW",
                        password_command=f"cat '{secret}'")
    assert resolve_imap_password(config) == "s3cret with spaces"


def test_failing_command_reports_only_the_exit_code(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MY_IMAP_PW", raising=False)
    config = ImapConfig(username="u", password_env="MY_IMAP_PW",
                        password_command="sh -c 'echo leaked-secret >&2; exit 3'")
    with pytest.raises(CredentialsMissing, match="exited with 3") as error:
        resolve_imap_password(config)
    assert "leaked-secret" not in str(error.value)


def test_nothing_configured_says_where_it_looked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MY_IMAP_PW", raising=False)
    # The test machine has no keyring backend; keyring reports no entry.
    config = ImapConfig(username="u", password_env="MY_IMAP_PW", keyring_service="triage-test")
    with pytest.raises(CredentialsMissing) as error:
        resolve_imap_password(config)
    assert "$MY_IMAP_PW is not set" in str(error.value)
    assert "keyring" in str(error.value)
