"""Triage against an OpenAI-compatible server (vLLM's protocol) through the official client:
the same pipeline, batching, verdicts and review flow as with Ollama."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import IMAP_USER
from tests.services import mail_corpus
from tests.services.dovecot import DovecotServer
from tests.services.openai_server import FakeOpenAIServer
from tests.services.triage_model import ScriptedTriageModel
from tui.config import Config, LlmConfig, OpenAIConfig
from tui.mail.events import BatchRetried, TriageStatus
from tui.mail.pipeline import MailPipeline
from tui.mail.records import MailState
from tui.mail.store import MailStore
from tui.mail.verdicts import SuggestedAction

SERVED = "mistralai/Devstral-Small-2507"


@pytest.fixture
def openai_server() -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer() as server:
        server.add_model(SERVED, max_model_len=8192)
        server.default_reply = ScriptedTriageModel()
        yield server


@pytest.fixture
def openai_pipeline(mail_config: Config, openai_server: FakeOpenAIServer
                    ) -> Iterator[MailPipeline]:
    config = mail_config.model_copy(update={
        "llm": LlmConfig(backend="openai"),
        "openai": OpenAIConfig(base_url=openai_server.base_url, model=SERVED,
                               timeout_seconds=30)})
    store = MailStore(config.paths.database)  # type: ignore[arg-type]
    pipeline = MailPipeline(config, store)
    yield pipeline
    pipeline.stop()
    store.close()


def test_batches_are_triaged_with_schema_and_usage(
        dovecot: DovecotServer, openai_pipeline: MailPipeline,
        openai_server: FakeOpenAIServer) -> None:
    for sample in (mail_corpus.plain_text(), mail_corpus.newsletter(),
                   mail_corpus.security_alert(), mail_corpus.prompt_injection()):
        dovecot.append(IMAP_USER, "INBOX", sample)
    statuses: list[TriageStatus] = []
    openai_pipeline.subscribe(lambda e: statuses.append(e) if isinstance(e, TriageStatus)
                              else None)
    openai_pipeline.sync_once()
    assert openai_pipeline.check_model()
    assert statuses[0].backend == "LLM (OpenAI API)" and "max_model_len 8192" in \
        statuses[0].detail
    outcomes = openai_pipeline.triage_pending()
    assert sum(o.verdicts for o in outcomes) == 4
    store = openai_pipeline.store
    assert all(m.state is MailState.TRIAGED for m in store.messages())
    chat = next(r.json for r in openai_server.requests if r.path == "/v1/chat/completions")
    assert chat["response_format"]["type"] == "json_schema"
    assert chat["max_tokens"] == 2048 and chat["stream"] is True
    # Calibrated from the server's own usage numbers.
    assert openai_pipeline.calibration.factor >= 1.0
    injected = next(m for m in store.messages() if "c0ffee42" in m.message_id)
    assert store.verdict(injected.key).injection_suspected  # type: ignore[union-attr]
    security = next(m for m in store.messages() if "Zx1a2B3c4D5e6F7g8H9i0J" in m.message_id)
    assert openai_pipeline.accept(security.key)  # the review flow is the same
    assert store.last_action(security.key).action == SuggestedAction.FLAG.value  # type: ignore[union-attr]


def test_the_servers_context_cap_wins_and_refused_prompts_are_split(
        dovecot: DovecotServer, openai_pipeline: MailPipeline,
        openai_server: FakeOpenAIServer, monkeypatch: pytest.MonkeyPatch) -> None:
    import tests.services.openai_server as fake

    openai_server.add_model(SERVED, max_model_len=6144)
    # The server counts twice the tokens we estimate: vLLM refuses (400) instead of cutting.
    monkeypatch.setattr(fake, "CHARS_PER_TOKEN", 1.5)
    for i in range(6):
        dovecot.append(IMAP_USER, "INBOX",
                       mail_corpus.huge_body(kilobytes=20, message_id=f"<big-{i}@example.net>"))
    events: list[Any] = []
    openai_pipeline.subscribe(events.append)
    openai_pipeline.sync_once()
    assert openai_pipeline.check_model()
    assert openai_pipeline.num_ctx == 6144
    openai_pipeline.triage_pending()
    retried = [e for e in events if isinstance(e, BatchRetried)]
    assert retried and "too long" in retried[0].reason
    assert all(m.state is MailState.TRIAGED for m in openai_pipeline.store.messages())


def test_a_missing_model_says_how_to_serve_it(
        openai_pipeline: MailPipeline, openai_server: FakeOpenAIServer) -> None:
    openai_server.remove_model(SERVED)
    statuses: list[TriageStatus] = []
    openai_pipeline.subscribe(lambda e: statuses.append(e) if isinstance(e, TriageStatus)
                              else None)
    assert not openai_pipeline.check_model()
    assert statuses[-1].state == "model-missing" and "vllm serve" in statuses[-1].fix


def test_doctor_checks_the_configured_server(tmp_path: Any, user_env: dict[str, str],
                                             openai_server: FakeOpenAIServer) -> None:
    import json

    from tests.conftest import run_cli

    config = tmp_path / "c.toml"
    config.write_text(f'[llm]\nbackend = "openai"\n[openai]\nbase_url = '
                      f'"{openai_server.base_url}"\nmodel = "{SERVED}"\n', encoding="utf-8")
    checks = {c["name"]: c for c in json.loads(run_cli(
        ["--config", str(config), "doctor", "--json"], user_env).stdout)["checks"]}
    assert checks["LLM (OpenAI API)"]["ok"]
    assert "max_model_len 8192" in checks["LLM (OpenAI API)"]["detail"]
    assert "Ollama" not in checks
