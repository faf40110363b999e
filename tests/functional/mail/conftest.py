"""Real Dovecot and the Ollama-protocol server, wired into a mail pipeline config.

Dovecot advertises everything it implements unless a test says otherwise: parametrizing
``imap_capabilities`` starts the test's server with just that list, e.g. one without IDLE or
MOVE (`WITHOUT_IDLE_AND_MOVE`), and the pipeline then meets that server.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import IMAP_PASSWORD, IMAP_USER
from tests.services.dovecot import DovecotServer, capabilities_without
from tests.services.ollama_server import FakeOllamaServer
from tests.services.triage_model import ScriptedTriageModel
from tui.config import BudgetConfig, Config, ImapConfig, OllamaConfig, PathsConfig
from tui.mail.pipeline import MailPipeline
from tui.mail.store import MailStore

#: An older or minimal server: no IDLE (RFC 2177), no MOVE (RFC 6851); UIDPLUS is still there.
WITHOUT_IDLE_AND_MOVE = capabilities_without("IDLE", "MOVE")


@pytest.fixture
def imap_capabilities() -> tuple[str, ...] | None:
    """What the test's Dovecot advertises; None: all Dovecot implements. Override with
    ``@pytest.mark.parametrize("imap_capabilities", [...])``."""
    return None


@pytest.fixture
def dovecot(tmp_path: Path, imap_capabilities: tuple[str, ...] | None) -> Iterator[DovecotServer]:
    """tests/conftest.py's server, advertising `imap_capabilities`."""
    with DovecotServer(tmp_path / "dovecot", {IMAP_USER: IMAP_PASSWORD}, tls=True,
                       capabilities=imap_capabilities) as server:
        yield server


@pytest.fixture
def triage_model() -> ScriptedTriageModel:
    return ScriptedTriageModel()


@pytest.fixture
def ollama_with_model(ollama_server: FakeOllamaServer,
                      triage_model: ScriptedTriageModel) -> FakeOllamaServer:
    ollama_server.add_devstral_small("triage", parameters="num_ctx 8192\ntemperature 0.1")
    ollama_server.default_reply = triage_model
    return ollama_server


@pytest.fixture
def mail_config(tmp_path: Path, dovecot: DovecotServer, ollama_with_model: FakeOllamaServer,
                monkeypatch: pytest.MonkeyPatch) -> Config:
    monkeypatch.setenv("TRIAGE_TUI_IMAP_PASSWORD", IMAP_PASSWORD)
    return Config(
        paths=PathsConfig(database=tmp_path / "state.db", drop_folder=tmp_path / "drop"),
        imap=ImapConfig(host="127.0.0.1", port=dovecot.port, security="plain",
                        username=IMAP_USER, idle_renew_seconds=30, poll_seconds=5,
                        timeout_seconds=10),
        ollama=OllamaConfig(host=ollama_with_model.host, timeout_seconds=30),
        budget=BudgetConfig(num_ctx=8192),
    )


@pytest.fixture
def mail_pipeline(mail_config: Config) -> Iterator[MailPipeline]:
    store = MailStore(mail_config.paths.database)  # type: ignore[arg-type]
    pipeline = MailPipeline(mail_config, store)
    yield pipeline
    pipeline.stop()
    store.close()
