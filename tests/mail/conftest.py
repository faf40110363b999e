"""Real Dovecot and the Ollama-protocol server, wired into a mail pipeline config."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import IMAP_PASSWORD, IMAP_USER
from tests.services.dovecot import DovecotServer
from tests.services.ollama_server import FakeOllamaServer
from tests.services.triage_model import ScriptedTriageModel
from tui.config import BudgetConfig, Config, ImapConfig, OllamaConfig, PathsConfig
from tui.mail.pipeline import MailPipeline
from tui.mail.store import MailStore


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
