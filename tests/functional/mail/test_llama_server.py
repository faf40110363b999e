"""Triage against a real engine: llama.cpp's `llama-server` (built from the llama-cpp-python
sdist by scripts/llama-server) serving SmolLM2-135M-Instruct, with the real Dovecot and SQLite.

These tests assert plumbing and validity — schema-valid verdicts, the server's own token counts,
refusals and cut-offs handled as the server reports them — not the wisdom of a 135M model.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import IMAP_USER
from tests.services import mail_corpus
from tests.services.dovecot import DovecotServer
from tests.services.llama_server import LlamaServer
from tui.config import BudgetConfig, Config, LlmConfig, OpenAIConfig
from tui.llm.protocol import BatchReply, with_system_prompt
from tui.mail.events import BatchRetried, TriageFailed, TriageStatus, VerdictPreview
from tui.mail.pipeline import MailPipeline
from tui.mail.prompt import prompt_tokens
from tui.mail.records import MailState
from tui.mail.store import MailStore
from tui.mail.verdicts import VerdictList
from tui.prompts import TRIAGE_SYSTEM_PROMPT

ALIAS = "smollm2-triage"


@pytest.fixture(scope="module")
def llama_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LlamaServer]:
    log = tmp_path_factory.mktemp("llama") / "server.log"
    with LlamaServer(ctx_size=4096, alias=ALIAS, log_path=log) as server:
        yield server


@pytest.fixture
def small_llama_server(tmp_path: Path) -> Iterator[LlamaServer]:
    """A 2,048-token context: easy to overflow with a batch the estimate thinks fits."""
    with LlamaServer(ctx_size=2048, alias=ALIAS, log_path=tmp_path / "small.log") as server:
        yield server


Replies = list[BatchReply]
Sent = list[list[dict[str, str]]]


def llama_pipeline(mail_config: Config, server: LlamaServer, *, reserve: int = 1024,
                   email_tokens: int = 550) -> tuple[MailPipeline, Replies, Sent]:
    """The product's mail pipeline, configured as a user would for llama-server, plus what
    the backend sent and got back in each call (the server's own counts)."""
    config = mail_config.model_copy(update={
        "llm": LlmConfig(backend="openai", temperature=0.0),
        "openai": OpenAIConfig(base_url=server.base_url, model=ALIAS, timeout_seconds=120),
        "budget": BudgetConfig(num_ctx=8192, generation_reserve_tokens=reserve,
                               email_tokens=email_tokens)})
    pipeline = MailPipeline(config, MailStore(config.paths.database))  # type: ignore[arg-type]
    replies: Replies = []
    sent: Sent = []
    run_batch: Callable[..., BatchReply] = pipeline.model.run_batch

    def recording(messages: list[dict[str, str]], *args: Any) -> BatchReply:
        sent.append(messages)
        reply = run_batch(messages, *args)
        replies.append(reply)
        return reply

    pipeline.model.run_batch = recording  # type: ignore[method-assign]
    return pipeline, replies, sent


@pytest.fixture
def stopping() -> Iterator[list[MailPipeline]]:
    pipelines: list[MailPipeline] = []
    yield pipelines
    for pipeline in pipelines:
        pipeline.stop()
        pipeline.store.close()


def test_the_servers_model_and_context_are_read_from_llama_server(
        mail_config: Config, llama_server: LlamaServer, stopping: list[MailPipeline]) -> None:
    pipeline, _, _ = llama_pipeline(mail_config, llama_server)
    stopping.append(pipeline)
    statuses: list[TriageStatus] = []
    pipeline.subscribe(lambda e: statuses.append(e) if isinstance(e, TriageStatus) else None)
    assert pipeline.check_model()
    # llama-server has no GET /v1/models/{id}: the list and its meta.n_ctx answer instead,
    # and the server's 4,096 wins over the configured 8,192.
    assert statuses[-1].state == "ready" and "n_ctx 4096" in statuses[-1].detail
    assert pipeline.num_ctx == 4096


def test_a_model_the_server_does_not_serve_says_how_to_serve_it_with_llama_cpp(
        mail_config: Config, llama_server: LlamaServer, stopping: list[MailPipeline]) -> None:
    pipeline, _, _ = llama_pipeline(mail_config, llama_server)
    stopping.append(pipeline)
    pipeline.model.model = "devstral-small"  # type: ignore[attr-defined]
    statuses: list[TriageStatus] = []
    pipeline.subscribe(lambda e: statuses.append(e) if isinstance(e, TriageStatus) else None)
    assert not pipeline.check_model()
    assert statuses[-1].state == "model-missing"
    # The models list says llama.cpp owns them: the fix is llama.cpp's command, not vLLM's.
    assert "`llama-server -m MODEL.gguf --alias devstral-small" in statuses[-1].fix
    assert "vllm" not in statuses[-1].fix


def test_a_batch_from_dovecot_is_triaged_with_schema_valid_streamed_verdicts(
        dovecot: DovecotServer, mail_config: Config, llama_server: LlamaServer,
        stopping: list[MailPipeline]) -> None:
    for sample in (mail_corpus.plain_text(), mail_corpus.security_alert()):
        dovecot.append(IMAP_USER, "INBOX", sample)
    pipeline, replies, sent = llama_pipeline(mail_config, llama_server)
    stopping.append(pipeline)
    events: list[Any] = []
    pipeline.subscribe(events.append)
    pipeline.sync_once()
    assert pipeline.check_model()
    outcomes = pipeline.triage_pending()

    assert sum(o.verdicts for o in outcomes) == 2, [e for e in events
                                                    if isinstance(e, BatchRetried)]
    assert all(m.state is MailState.TRIAGED for m in pipeline.store.messages())
    reply = replies[-1]
    assert reply.done_reason == "stop"
    VerdictList.model_validate_json(reply.text)  # the engine kept to the schema
    # Verdicts were shown while the reply streamed, before the batch was stored.
    assert any(isinstance(e, VerdictPreview) for e in events)

    # The usage the server reported is its tokenizer's count of exactly what was sent:
    # the chat template applied to our messages, counted by llama.cpp itself.
    first = replies[0]
    # The backend leads the batch with the built-in system prompt (no Modelfile holds one).
    messages = with_system_prompt(sent[0], TRIAGE_SYSTEM_PROMPT)
    templated = llama_server.post("/apply-template", {"messages": messages})["prompt"]
    counted = len(llama_server.post("/tokenize", {"content": templated,
                                                  "add_special": True})["tokens"])
    assert first.prompt_eval_count == counted
    # ...and the calibration took that count, never dropping below 1.
    assert pipeline.calibration.factor >= 1.0
    assert pipeline.calibration.floor == pytest.approx(
        max(1.0, counted / prompt_tokens(messages) * 1.10), rel=1e-6)


def test_a_prompt_over_the_servers_context_is_refused_and_split(
        dovecot: DovecotServer, mail_config: Config, small_llama_server: LlamaServer,
        stopping: list[MailPipeline]) -> None:
    # Hex digits: our estimate (characters per token) is far below what SmolLM2's tokenizer
    # makes of them, so a batch the plan thinks fits is over the server's 2,048.
    for i in range(6):
        dovecot.append(IMAP_USER, "INBOX", mail_corpus.plain_text(
            message_id=f"<hex-{i}@example.net>", subject=f"Checksums {i}",
            body=_hex_body(seed=i, characters=700)))
    # 320 tokens of reply: SmolLM2 pretty-prints its verdicts and fills every text to the
    # schema's maxLength; at 256 both halves were cut and split again (9 calls, now 5).
    pipeline, replies, _ = llama_pipeline(mail_config, small_llama_server, reserve=320,
                                       email_tokens=400)
    stopping.append(pipeline)
    events: list[Any] = []
    pipeline.subscribe(events.append)
    pipeline.sync_once()
    assert pipeline.check_model() and pipeline.num_ctx == 2048
    pipeline.triage_pending()

    refused = [e for e in events if isinstance(e, BatchRetried) and "too long" in e.reason]
    assert refused, "the first batch should have been refused by the server"
    # The refusal carries llama.cpp's own numbers: its count of the prompt, its context.
    assert "context 2048" in refused[0].reason
    assert len(refused[0].keys) > 1  # a batch, which was split
    # Nothing was cut silently: every prompt the server did run fit its context.
    assert all((r.prompt_eval_count or 0) <= 2048 for r in replies)
    states = {m.state for m in pipeline.store.messages()}
    assert states <= {MailState.TRIAGED, MailState.FAILED}
    assert MailState.TRIAGED in states


def test_a_reply_cut_at_its_token_limit_is_reported_as_a_long_reply(
        dovecot: DovecotServer, mail_config: Config, llama_server: LlamaServer,
        stopping: list[MailPipeline]) -> None:
    dovecot.append(IMAP_USER, "INBOX", mail_corpus.plain_text())
    pipeline, replies, _ = llama_pipeline(mail_config, llama_server, reserve=24)
    stopping.append(pipeline)
    failed: list[TriageFailed] = []
    pipeline.subscribe(lambda e: failed.append(e) if isinstance(e, TriageFailed) else None)
    pipeline.sync_once()
    assert pipeline.check_model()
    pipeline.triage_pending()

    assert replies and all(r.done_reason == "length" for r in replies)
    assert all(r.eval_count == 24 for r in replies)
    (message,) = pipeline.store.messages()
    assert message.state is MailState.FAILED
    reason = failed[-1].reason
    assert "reply cut off after 24 tokens" in reason and "24 reserved for the reply" in reason
    assert f"the prompt was {replies[-1].prompt_eval_count} tokens" in reason
    assert "exceeded" not in reason  # not mistaken for a long prompt


def _hex_body(*, seed: int, characters: int) -> bytes:
    import hashlib

    digest = b""
    counter = 0
    while len(digest) < characters:
        digest += hashlib.sha256(f"{seed}-{counter}".encode()).hexdigest().encode()
        counter += 1
    lines = [digest[i:i + 64] for i in range(0, characters, 64)]
    return b"Checksums of last night's artefacts:\n" + b"\n".join(lines) + b"\n"


