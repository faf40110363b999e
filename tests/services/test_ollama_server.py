"""Tests for the fake Ollama server, driven only through the official ``ollama`` client.

They pin down both the fake's scripting API and the real-Ollama behaviours it copies
(status codes, error texts, silent truncation, reloads), so code tested against the
fake meets the same contract it would meet against a real server. Chat is always
streamed, as the product does.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import ollama
import pydantic
import pytest

from tests.services.ollama_server import (
    CHARS_PER_TOKEN,
    MESSAGE_OVERHEAD_TOKENS,
    FakeOllamaServer,
    Reply,
    count_prompt_tokens,
    count_tokens,
)
from tests.waiting import wait_until

MODEL = "devstral-small"


@pytest.fixture
def server() -> Iterator[FakeOllamaServer]:
    with FakeOllamaServer() as fake:
        fake.add_devstral_small(MODEL)
        yield fake


@pytest.fixture
def client(server: FakeOllamaServer) -> Iterator[ollama.Client]:
    with ollama.Client(host=server.host) as c:
        yield c


def _user(text: str) -> dict[str, str]:
    return {"role": "user", "content": text}


def chat(client: ollama.Client, model: str = MODEL, **kwargs: Any) -> ollama.ChatResponse:
    """A streamed chat, as the product makes it: the final chunk, with the streamed text as
    its content."""
    parts = list(client.chat(model, stream=True, **kwargs))
    final = parts[-1]
    final.message.content = "".join(p.message.content or "" for p in parts)
    return final


# ---- /api/version, /api/show, /api/tags -------------------------------------------------


def test_version(server: FakeOllamaServer, client: ollama.Client) -> None:
    # The ollama client has no version call; the product GETs it on the client's session.
    response = client._client.get("/api/version")
    assert response.status_code == 200 and response.json() == {"version": "0.12.11"}


def test_show_returns_model_info_and_details(client: ollama.Client) -> None:
    shown = client.show(MODEL)

    assert shown.modelinfo is not None
    info = shown.modelinfo
    assert info["general.architecture"] == "llama"
    assert info["general.parameter_count"] == 23572403200
    assert info["llama.block_count"] == 40
    assert info["llama.attention.head_count"] == 32
    assert info["llama.attention.head_count_kv"] == 8
    assert info["llama.attention.key_length"] == 128
    assert info["llama.attention.value_length"] == 128
    assert info["llama.embedding_length"] == 5120
    assert info["llama.context_length"] == 131072
    assert info["llama.feed_forward_length"] == 32768
    assert info["llama.vocab_size"] == 131072
    assert "llama.rope.freq_base" in info
    assert shown.details is not None
    assert shown.details.format == "gguf"
    assert shown.details.family == "llama"
    assert shown.details.parameter_size == "23.6B"
    assert shown.details.quantization_level == "Q4_K_M"
    assert shown.capabilities == ["completion", "tools"]
    assert shown.modelfile is not None and "# FROM devstral-small:latest" in shown.modelfile


def test_names_resolve_like_ollama(client: ollama.Client) -> None:
    # "x" and "x:latest" (and other casings) are the same model, as getExistingName does.
    assert client.show(f"{MODEL}:latest").modelinfo == client.show(MODEL).modelinfo
    assert client.show("Devstral-Small").details == client.show(MODEL).details
    listed = client.list().models
    assert [m.model for m in listed] == ["devstral-small:latest"]
    assert listed[0].size == FakeOllamaServer.DEVSTRAL_SMALL_SIZE_BYTES


def test_show_missing_model_is_404(client: ollama.Client) -> None:
    with pytest.raises(ollama.ResponseError) as info:
        client.show("no-such-model")
    assert info.value.status_code == 404
    assert info.value.error == "model 'no-such-model' not found"


def test_show_parameters_become_model_defaults(server: FakeOllamaServer) -> None:
    server.add_model(
        "tiny:1b",
        {"general.architecture": "llama", "llama.context_length": 2048},
        {"format": "gguf", "family": "llama"},
        1_000,
        parameters='num_ctx 2048\nstop "[INST]"',
    )
    with ollama.Client(host=server.host) as c:
        assert c.show("tiny:1b").parameters == 'num_ctx 2048\nstop "[INST]"'
        chat(c, "tiny:1b", messages=[_user("hi")])
    # The Modelfile's num_ctx applies when the request does not set one.
    assert server.loaded_num_ctx("tiny:1b") == 2048


def test_endpoints_the_product_never_calls_are_404(client: ollama.Client) -> None:
    for method, path in (("GET", "/"), ("GET", "/api/ps"), ("POST", "/api/generate"),
                         ("POST", "/api/pull"), ("GET", "/api/show")):
        response = client._client.request(method, path)
        assert (response.status_code, response.text) == (404, "404 page not found")


# ---- /api/chat, streamed ---------------------------------------------------------------


def test_chat_stream_yields_chunks_then_done_with_counts(
    server: FakeOllamaServer, client: ollama.Client
) -> None:
    server.replies.append("Hello there, general Kenobi.")
    messages = [{"role": "system", "content": "Be terse."}, _user("Say hello.")]

    parts = list(client.chat(MODEL, messages=messages, stream=True))

    *chunks, final = parts
    assert len(chunks) > 1
    assert all(not c.done and c.message.role == "assistant" for c in chunks)
    assert "".join(c.message.content or "" for c in chunks) == "Hello there, general Kenobi."
    assert final.done is True
    assert final.done_reason == "stop"
    assert final.message.content == ""
    assert final.model == MODEL  # the name is echoed as sent
    assert final.prompt_eval_count == count_prompt_tokens(messages)
    assert final.eval_count == count_tokens("Hello there, general Kenobi.")
    for duration in ("total_duration", "load_duration", "prompt_eval_duration", "eval_duration"):
        assert (getattr(final, duration) or 0) > 0


def test_non_streamed_chat_is_refused(server: FakeOllamaServer, client: ollama.Client) -> None:
    # The product always streams; the fake refuses rather than imitate the other mode.
    with pytest.raises(ollama.ResponseError) as info:
        client.chat(MODEL, messages=[_user("hi")], stream=False)
    assert info.value.status_code == 400
    assert server.completions == []


def test_reply_queue_callables_and_default(server: FakeOllamaServer, client: ollama.Client) -> None:
    seen: list[dict[str, Any]] = []

    def echo(request: dict[str, Any]) -> str:
        seen.append(request)
        return "echo: " + request["messages"][-1]["content"]

    server.replies.extend([echo, Reply("explicit", chunks=["exp", "licit"])])
    first = chat(client, messages=[_user("ping")])
    second = list(client.chat(MODEL, messages=[_user("x")], stream=True))
    third = chat(client, messages=[_user("y")])

    assert first.message.content == "echo: ping"
    assert seen[0]["model"] == MODEL
    assert [c.message.content for c in second[:-1]] == ["exp", "licit"]
    assert third.message.content == server.default_reply


def test_done_reason_is_scriptable_and_num_predict_gives_length(
    server: FakeOllamaServer, client: ollama.Client
) -> None:
    server.done_reason = "length"
    assert chat(client, messages=[_user("a")]).done_reason == "length"
    server.done_reason = "stop"

    server.replies.append("word " * 100)
    cut = chat(client, messages=[_user("b")], options={"num_predict": 5})
    assert cut.done_reason == "length"
    assert cut.eval_count == 5
    assert len(cut.message.content or "") <= 5 * CHARS_PER_TOKEN


def test_chat_unknown_model_is_404(client: ollama.Client) -> None:
    # Streaming requests fail only once the generator is iterated.
    stream = client.chat("missing-model", messages=[_user("hi")], stream=True)
    with pytest.raises(ollama.ResponseError) as info:
        next(iter(stream))
    assert info.value.status_code == 404
    assert info.value.error == "model 'missing-model' not found"


def test_invalid_keep_alive_is_400(client: ollama.Client) -> None:
    with pytest.raises(ollama.ResponseError) as info:
        chat(client, messages=[_user("hi")], keep_alive="soon")
    assert info.value.status_code == 400
    assert info.value.error == 'time: invalid duration "soon"'


# ---- format ------------------------------------------------------------------------------


def test_format_schema_is_passed_through(server: FakeOllamaServer, client: ollama.Client) -> None:
    schema = {
        "type": "object",
        "properties": {"label": {"type": "string", "enum": ["spam", "ham"]}},
        "required": ["label"],
    }
    server.replies.append(lambda req: '{"label": "spam"}' if req.get("format") else "??")

    response = chat(client, messages=[_user("classify")], format=schema)

    assert response.message.content == '{"label": "spam"}'
    assert server.requests[-1].json["format"] == schema
    # With a format and no scripted reply, the default is valid JSON.
    assert chat(client, messages=[_user("x")], format="json").message.content == "{}"


def test_invalid_format_is_rejected(server: FakeOllamaServer, client: ollama.Client) -> None:
    # Real Ollama rejects a schema llama.cpp cannot compile in the runner, which the
    # handler reports as HTTP 500 (not 400): llm/server.go:1482-1485 -> routes.go:2249.
    with pytest.raises(ollama.ResponseError) as info:
        chat(client, messages=[_user("hi")], format={"type": "banana"})
    assert info.value.status_code == 500
    assert info.value.error == "invalid JSON schema in format"

    # A string other than "json" never leaves the client: its pydantic model refuses it.
    sent = len(server.requests)
    with pytest.raises(pydantic.ValidationError):
        chat(client, messages=[_user("hi")], format="yaml")
    assert len(server.requests) == sent


# ---- loads and keep_alive ----------------------------------------------------------------


def test_num_ctx_change_reloads_model(server: FakeOllamaServer, client: ollama.Client) -> None:
    chat(client, messages=[_user("a")], options={"num_ctx": 8192})
    chat(client, messages=[_user("b")], options={"num_ctx": 8192})
    assert server.load_count[MODEL] == 1
    assert server.load_count[f"{MODEL}:latest"] == 1

    warm = chat(client, messages=[_user("c")], options={"num_ctx": 8192})
    reloaded = chat(client, messages=[_user("d")], options={"num_ctx": 4096})
    assert server.load_count[MODEL] == 2
    assert (reloaded.load_duration or 0) > (warm.load_duration or 0)
    assert server.loaded_num_ctx(MODEL) == 4096


def test_keep_alive_zero_unloads_after_request(
    server: FakeOllamaServer, client: ollama.Client
) -> None:
    chat(client, messages=[_user("hi")], keep_alive=0)
    # The server releases the runner just after the last chunk has gone out.
    wait_until(lambda: server.loaded_num_ctx(MODEL) is None, 5, "the runner to unload")
    chat(client, messages=[_user("again")])
    assert server.load_count[MODEL] == 2


# ---- truncation ------------------------------------------------------------------------------


def test_overlong_prompt_is_truncated_silently(
    server: FakeOllamaServer, client: ollama.Client
) -> None:
    num_ctx = 512
    long_text = "x" * (CHARS_PER_TOKEN * 2000)
    messages = [_user(long_text)]
    full = count_prompt_tokens(messages)
    assert full > num_ctx

    final = list(client.chat(MODEL, messages=messages, stream=True, options={"num_ctx": num_ctx}))[
        -1
    ]

    # HTTP 200 and a normal reply: the only client-visible sign is the reduced count.
    assert final.done_reason == "stop"
    assert final.prompt_eval_count == num_ctx < full
    record = server.completions[-1]
    assert record.truncated and record.prompt_tokens == full
    assert any(e.message == "truncating input prompt" for e in server.log)


def test_old_messages_are_dropped_before_tokens_are_cut(
    server: FakeOllamaServer, client: ollama.Client
) -> None:
    # Ollama first drops whole old turns (keeping system messages and the newest one).
    system = {"role": "system", "content": "s" * 40}
    history = [_user("u" * 400), {"role": "assistant", "content": "a" * 400}]
    latest = _user("q" * 40)
    messages = [system, *history, latest]

    response = chat(client, messages=messages, options={"num_ctx": 100})

    expected = count_prompt_tokens([system, latest])
    assert response.prompt_eval_count == expected
    assert expected == 2 * MESSAGE_OVERHEAD_TOKENS + 10 + 10
    assert server.completions[-1].dropped_messages == 2


def test_an_overlong_batch_loses_its_system_prompt(
    server: FakeOllamaServer, client: ollama.Client
) -> None:
    # The product's shape, [system, user]: when it does not fit, chatPrompt keeps only the
    # newest message, and the runner then cuts that to num_ctx. Still HTTP 200.
    system = {"role": "system", "content": "s" * 400}
    batch = _user("e" * 4000)

    response = chat(client, messages=[system, batch], options={"num_ctx": 512})

    assert response.done_reason == "stop" and response.prompt_eval_count == 512
    record = server.completions[-1]
    assert record.dropped_messages == 1 and record.truncated
    assert record.prompt_tokens == count_prompt_tokens([system, batch])


# ---- injected failures ---------------------------------------------------------------------


def test_fail_next_surfaces_as_response_error(
    server: FakeOllamaServer, client: ollama.Client
) -> None:
    busy = "server busy, please try again.  maximum pending requests exceeded"
    server.fail_next(503, busy)
    with pytest.raises(ollama.ResponseError) as info:
        chat(client, messages=[_user("hi")])
    assert (info.value.status_code, info.value.error) == (503, busy)

    server.fail_next(500, "boom")
    with pytest.raises(ollama.ResponseError) as info:
        list(client.chat(MODEL, messages=[_user("hi")], stream=True))
    assert (info.value.status_code, info.value.error) == (500, "boom")

    server.fail_next(500, "show broke", path="/api/show")
    with pytest.raises(ollama.ResponseError):
        client.show(MODEL)

    # Failures are one-shot.
    assert chat(client, messages=[_user("hi")]).done is True


def test_drop_connection_mid_stream_is_a_transport_error(
    server: FakeOllamaServer, client: ollama.Client
) -> None:
    server.replies.append("one two three four five")
    server.drop_connection_next(after_chunks=2)
    received: list[str] = []
    # The ollama client does not wrap transport failures: callers see httpx errors.
    with pytest.raises(httpx.RemoteProtocolError):
        for part in client.chat(MODEL, messages=[_user("hi")], stream=True):
            received.append(part.message.content or "")
    assert received == ["one", " two"]

    server.drop_connection_next(after_chunks=0)
    with pytest.raises(httpx.RemoteProtocolError):
        chat(client, messages=[_user("hi")])

    # The server keeps serving afterwards.
    assert chat(client, messages=[_user("hi")]).done is True


def test_error_mid_stream_is_in_band(server: FakeOllamaServer, client: ollama.Client) -> None:
    server.replies.append("alpha beta gamma")
    server.error_mid_stream_next("llama runner process has terminated", after_chunks=1)
    received: list[str] = []
    with pytest.raises(ollama.ResponseError) as info:
        for part in client.chat(MODEL, messages=[_user("hi")], stream=True):
            received.append(part.message.content or "")
    assert received == ["alpha"]
    # The HTTP status was already 200, so the client cannot report a status code.
    assert info.value.status_code == -1
    assert info.value.error == "llama runner process has terminated"


def test_stopped_server_errors_differ_by_call() -> None:
    fake = FakeOllamaServer().start()
    host = fake.host
    fake.stop()
    with ollama.Client(host=host) as c:
        with pytest.raises(ConnectionError):
            c.show(MODEL)
        # Streaming bypasses the client's ConnectError -> ConnectionError translation.
        with pytest.raises(httpx.ConnectError):
            next(iter(c.chat(MODEL, messages=[_user("hi")], stream=True)))


def test_requests_are_recorded(server: FakeOllamaServer, client: ollama.Client) -> None:
    chat(
        client,
        messages=[_user("hi")],
        options={"num_ctx": 8192, "temperature": 0.1},
        keep_alive="30m",
        format="json",
    )
    request = server.requests[-1]
    assert (request.method, request.path) == ("POST", "/api/chat")
    assert request.json["options"] == {"num_ctx": 8192, "temperature": 0.1}
    assert request.json["keep_alive"] == "30m"
    assert request.json["format"] == "json"
    assert request.json["stream"] is True
