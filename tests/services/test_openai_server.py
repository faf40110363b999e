"""Tests for the fake vLLM / TensorRT-LLM server, driven only through the ``openai`` client.

They pin down the fake's scripting API and the exact exception types the client raises for
each server behaviour, so code tested against the fake meets the contract it would meet
against ``vllm serve`` / ``trtllm-serve``.  Every client uses ``max_retries=0``: the client
retries connection errors, 408/409/429 and 5xx by default, which would both slow the tests
down and consume scripted failures meant for one request.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from typing import Any

import httpx
import openai
import pytest

from tests.services import openai_server
from tests.services.openai_server import (
    CHARS_PER_TOKEN,
    MESSAGE_OVERHEAD_TOKENS,
    FakeOpenAIServer,
    Reply,
    count_prompt_tokens,
    count_tokens,
)

MODEL = "mistralai/Devstral-Small-2505"
KEY = "sk-test-key"


@pytest.fixture
def server() -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer() as fake:
        fake.add_model(MODEL, max_model_len=8192)
        yield fake


@pytest.fixture
def client(server: FakeOpenAIServer) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=server.base_url, api_key="unused", max_retries=0) as c:
        yield c


def _user(text: str) -> dict[str, str]:
    return {"role": "user", "content": text}


# ---- /v1/models, /health ----------------------------------------------------------------


def test_models_list_exposes_vllm_max_model_len(
    server: FakeOpenAIServer, client: openai.OpenAI
) -> None:
    server.add_model("small", max_model_len=2048)

    models = {m.id: m for m in client.models.list()}

    assert set(models) == {MODEL, "small"}
    card = models[MODEL]
    assert card.object == "model"
    assert card.owned_by == "vllm"
    assert isinstance(card.created, int)
    # The client's Model type does not declare vLLM's extras; pydantic keeps them anyway,
    # reachable both through model_extra and as plain attributes.
    assert card.model_extra is not None
    assert card.model_extra["max_model_len"] == 8192
    assert card.model_extra["root"] == MODEL
    assert card.max_model_len == 8192  # type: ignore[attr-defined]
    assert (models["small"].model_extra or {})["max_model_len"] == 2048


def test_models_retrieve_and_unknown_model(client: openai.OpenAI) -> None:
    # HuggingFace ids contain "/": vLLM routes /v1/models/{model_id:path}.
    assert client.models.retrieve(MODEL).id == MODEL

    with pytest.raises(openai.NotFoundError) as info:
        client.models.retrieve("nope")
    err = info.value
    assert err.status_code == 404
    assert err.body == {
        "message": "The model `nope` does not exist.",
        "type": "NotFoundError",
        "param": None,
        "code": 404,
    }
    assert err.code == "404"  # the client stringifies ErrorInfo.code
    assert err.type == "NotFoundError"


def test_health_is_open_without_api_key() -> None:
    with FakeOpenAIServer(api_key=KEY) as fake:
        response = httpx.get(f"{fake.host}/health")
    assert response.status_code == 200
    assert response.content == b""


# ---- chat completions -------------------------------------------------------------------


def test_non_streaming_chat_reports_usage(server: FakeOpenAIServer, client: openai.OpenAI) -> None:
    server.replies.append("Hello there, friend.")
    messages: list[Any] = [{"role": "system", "content": "Be brief."}, _user("Hi!")]

    completion = client.chat.completions.create(model=MODEL, messages=messages)

    assert completion.object == "chat.completion"
    assert completion.model == MODEL
    choice = completion.choices[0]
    assert choice.message.role == "assistant"
    assert choice.message.content == "Hello there, friend."
    assert choice.finish_reason == "stop"
    expected_prompt = 2 * MESSAGE_OVERHEAD_TOKENS + count_tokens("Be brief.") + count_tokens("Hi!")
    assert completion.usage is not None
    assert completion.usage.prompt_tokens == expected_prompt
    assert completion.usage.completion_tokens == count_tokens("Hello there, friend.")
    assert completion.usage.total_tokens == expected_prompt + count_tokens("Hello there, friend.")
    assert server.requests[-1].json["messages"] == messages


def test_streaming_chat_with_usage(server: FakeOpenAIServer, client: openai.OpenAI) -> None:
    server.replies.append("one two three")

    stream = client.chat.completions.create(
        model=MODEL,
        messages=[_user("count")],
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)

    assert all(c.object == "chat.completion.chunk" for c in chunks)
    assert chunks[0].choices[0].delta.role == "assistant"
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "one two three"
    finishes = [c.choices[0].finish_reason for c in chunks if c.choices]
    assert finishes[-1] == "stop"
    assert all(f is None for f in finishes[:-1])
    last = chunks[-1]
    assert last.choices == []
    assert last.usage is not None
    assert last.usage.prompt_tokens == count_prompt_tokens([_user("count")])
    assert last.usage.completion_tokens == count_tokens("one two three")
    assert all(c.usage is None for c in chunks[:-1])
    record = server.completions[-1]
    assert (record.stream, record.finish_reason) == (True, "stop")


def test_streaming_without_usage_has_no_usage_chunk(
    server: FakeOpenAIServer, client: openai.OpenAI
) -> None:
    server.replies.append(Reply("abc", chunks=["a", "b", "c"]))

    chunks = list(client.chat.completions.create(model=MODEL, messages=[_user("x")], stream=True))

    assert [c.choices[0].delta.content for c in chunks] == ["", "a", "b", "c"]
    assert all(c.choices for c in chunks)


def test_json_schema_response_format_passes_through(
    server: FakeOpenAIServer, client: openai.OpenAI
) -> None:
    schema = {
        "type": "object",
        "properties": {"label": {"type": "string"}},
        "required": ["label"],
        "additionalProperties": False,
    }
    seen: list[Any] = []

    def model(request: dict[str, Any]) -> str:
        seen.append(request["response_format"])
        return json.dumps({"label": "spam"})

    server.default_reply = model
    response_format: Any = {
        "type": "json_schema",
        "json_schema": {"name": "triage", "schema": schema, "strict": True},
    }
    completion = client.chat.completions.create(
        model=MODEL, messages=[_user("classify")], response_format=response_format
    )

    assert seen == [response_format]
    assert json.loads(completion.choices[0].message.content or "") == {"label": "spam"}


def test_json_format_defaults_to_empty_object(client: openai.OpenAI) -> None:
    completion = client.chat.completions.create(
        model=MODEL, messages=[_user("x")], response_format={"type": "json_object"}
    )
    assert completion.choices[0].message.content == "{}"


def test_invalid_response_format_is_rejected(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as info:
        client.chat.completions.create(
            model=MODEL,
            messages=[_user("x")],
            response_format={"type": "yaml"},  # type: ignore[arg-type,typeddict-item]
        )
    assert info.value.status_code == 400
    assert "response_format.type" in info.value.message


def test_empty_messages_rejected(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError):
        client.chat.completions.create(model=MODEL, messages=[])


def test_unknown_model_raises_not_found(client: openai.OpenAI) -> None:
    with pytest.raises(openai.NotFoundError) as info:
        client.chat.completions.create(model="gpt-4o", messages=[_user("x")])
    err = info.value
    assert err.status_code == 404
    assert isinstance(err.body, dict)
    assert err.body["message"] == "The model `gpt-4o` does not exist."
    assert err.body["type"] == "NotFoundError"


# ---- context length and max_tokens ------------------------------------------------------


def test_over_length_request_is_rejected_not_truncated(
    server: FakeOpenAIServer, client: openai.OpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    # One char per token makes the arithmetic exact: 6996 chars + 4 overhead = 7000.
    monkeypatch.setattr(openai_server, "CHARS_PER_TOKEN", 1)
    messages: list[Any] = [_user("x" * 6996)]
    assert count_prompt_tokens(messages) == 7000

    with pytest.raises(openai.BadRequestError) as info:
        client.chat.completions.create(model=MODEL, messages=messages, max_tokens=2000)

    err = info.value
    assert err.status_code == 400
    expected = (
        "This model's maximum context length is 8192 tokens. However, you requested 9000 "
        "tokens (7000 in the messages, 2000 in the completion). Please reduce the length "
        "of the messages or completion."
    )
    assert isinstance(err.body, dict)
    assert err.body["message"] == expected
    assert err.body["type"] == "BadRequestError"
    assert expected in err.message  # "Error code: 400 - {...}"
    assert server.completions == []  # nothing reached the engine


def test_current_vllm_length_wording(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(openai_server, "CHARS_PER_TOKEN", 1)
    with FakeOpenAIServer(length_wording="current") as fake:
        fake.add_model(MODEL, max_model_len=100)
        with (
            openai.OpenAI(base_url=fake.base_url, api_key="x", max_retries=0) as c,
            pytest.raises(openai.BadRequestError) as info,
        ):
            c.chat.completions.create(
                model=MODEL, messages=[_user("y" * 76)], max_completion_tokens=50
            )
    assert info.value.param == "input_tokens"
    assert "you requested 50 output tokens and your prompt contains at least 80 input" in (
        info.value.message
    )


def test_prompt_alone_over_length_without_max_tokens(
    server: FakeOpenAIServer, client: openai.OpenAI
) -> None:
    server.add_model("tiny", max_model_len=16)
    with pytest.raises(openai.BadRequestError) as info:
        client.chat.completions.create(model="tiny", messages=[_user("z" * 200)])
    assert "in the messages, Please reduce the length of the messages." in info.value.message


def test_max_tokens_cut_gives_finish_reason_length(
    server: FakeOpenAIServer, client: openai.OpenAI
) -> None:
    long_reply = "word " * 100
    server.replies.extend([long_reply, long_reply])

    completion = client.chat.completions.create(
        model=MODEL, messages=[_user("ramble")], max_tokens=5
    )
    assert completion.choices[0].finish_reason == "length"
    assert completion.choices[0].message.content == long_reply[: 5 * CHARS_PER_TOKEN]
    assert completion.usage is not None and completion.usage.completion_tokens == 5

    chunks = list(
        client.chat.completions.create(
            model=MODEL, messages=[_user("ramble")], max_completion_tokens=5, stream=True
        )
    )
    assert chunks[-1].choices[0].finish_reason == "length"
    assert [(r.max_tokens, r.finish_reason) for r in server.completions] == [
        (5, "length"),
        (5, "length"),
    ]


def test_without_max_tokens_generation_may_fill_the_window(
    server: FakeOpenAIServer, client: openai.OpenAI
) -> None:
    server.add_model("small", max_model_len=64)
    server.replies.append("a" * 1000)
    completion = client.chat.completions.create(model="small", messages=[_user("hi")])
    prompt = count_prompt_tokens([_user("hi")])
    assert completion.choices[0].finish_reason == "length"
    assert completion.usage is not None
    assert completion.usage.completion_tokens == 64 - prompt


def test_count_prompt_tokens_handles_content_parts() -> None:
    parts = [{"role": "user", "content": [{"type": "text", "text": "abcdefgh"}]}]
    assert count_prompt_tokens(parts) == MESSAGE_OVERHEAD_TOKENS + math.ceil(8 / CHARS_PER_TOKEN)


# ---- auth and failure injection ---------------------------------------------------------


def test_missing_or_wrong_api_key_raises_authentication_error() -> None:
    with FakeOpenAIServer(api_key=KEY) as fake:
        fake.add_model(MODEL)
        # A wrong key, and no Authorization header at all (the client refuses an empty
        # api_key; a per-request Omit() is its sanctioned way to send no header).
        no_header: dict[str, Any] = {"Authorization": openai.Omit()}
        with openai.OpenAI(base_url=fake.base_url, api_key="wrong", max_retries=0) as c:
            for extra_headers in (None, no_header):
                with pytest.raises(openai.AuthenticationError) as info:
                    c.models.list(extra_headers=extra_headers)
                err = info.value
                assert err.status_code == 401
                # vLLM's middleware answers {"error": "Unauthorized"}: a bare string, not
                # an ErrorInfo object, so the client has no code/type to report.
                assert err.body == "Unauthorized"
                assert err.code is None and err.type is None
        assert "authorization" not in fake.requests[-1].headers

        with openai.OpenAI(base_url=fake.base_url, api_key=KEY, max_retries=0) as c:
            assert [m.id for m in c.models.list()] == [MODEL]
        assert fake.requests[-1].headers["authorization"] == f"Bearer {KEY}"


@pytest.mark.parametrize(
    ("status", "exc_type"),
    [
        (400, openai.BadRequestError),
        (429, openai.RateLimitError),
        (500, openai.InternalServerError),
        (503, openai.InternalServerError),
        (418, openai.APIStatusError),
    ],
)
def test_fail_next_raises_status_error(
    server: FakeOpenAIServer,
    client: openai.OpenAI,
    status: int,
    exc_type: type[openai.APIStatusError],
) -> None:
    server.fail_next(status, "engine overloaded")

    with pytest.raises(exc_type) as info:
        client.chat.completions.create(model=MODEL, messages=[_user("x")])
    err = info.value
    assert isinstance(err, openai.APIStatusError)
    assert err.status_code == status
    assert isinstance(err.body, dict) and err.body["message"] == "engine overloaded"

    # One-shot: the next request succeeds.
    assert client.chat.completions.create(model=MODEL, messages=[_user("x")]).choices


def test_client_retries_consume_scripted_failures(server: FakeOpenAIServer) -> None:
    # With the default max_retries=2 a 503 is retried, so two failures are absorbed.
    server.fail_next(503, "busy", times=2)
    with openai.OpenAI(base_url=server.base_url, api_key="x", timeout=5.0) as c:
        completion = c.chat.completions.create(model=MODEL, messages=[_user("x")])
    assert completion.choices[0].finish_reason == "stop"
    posts = [r for r in server.requests if r.path == "/v1/chat/completions"]
    assert len(posts) == 3


def test_dropped_connection_mid_stream_raises_connection_error(
    server: FakeOpenAIServer, client: openai.OpenAI
) -> None:
    server.replies.append("one two three four")
    server.drop_connection_next(after_chunks=2)

    received: list[str] = []
    stream = client.chat.completions.create(model=MODEL, messages=[_user("x")], stream=True)
    with pytest.raises(openai.APIConnectionError) as info:
        for chunk in stream:
            received.append(chunk.choices[0].delta.content or "")
    assert received == ["", "one"]
    assert not isinstance(info.value, openai.APITimeoutError)
    assert info.value.message == "Connection error."
    assert isinstance(info.value.__cause__, Exception)
    assert "RemoteProtocolError" in type(info.value.__cause__).__name__


def test_dropped_connection_before_response_raises_connection_error(
    server: FakeOpenAIServer, client: openai.OpenAI
) -> None:
    server.drop_connection_next()
    with pytest.raises(openai.APIConnectionError):
        client.chat.completions.create(model=MODEL, messages=[_user("x")])


def test_error_mid_stream_raises_api_error(server: FakeOpenAIServer, client: openai.OpenAI) -> None:
    server.replies.append("one two three")
    server.error_mid_stream_next("engine died", after_chunks=2)

    stream = client.chat.completions.create(model=MODEL, messages=[_user("x")], stream=True)
    with pytest.raises(openai.APIError) as info:
        list(stream)
    err = info.value
    assert not isinstance(err, (openai.APIStatusError, openai.APIConnectionError))
    assert err.message == "engine died"
    assert isinstance(err.body, dict) and err.body["code"] == 500


def test_chunk_delay_and_callable_default_reply(
    server: FakeOpenAIServer, client: openai.OpenAI
) -> None:
    server.chunk_delay_s = 0.01
    server.default_reply = lambda req: f"echo {req['messages'][-1]['content']}"
    stream = client.chat.completions.create(model=MODEL, messages=[_user("ping")], stream=True)
    assert "".join(c.choices[0].delta.content or "" for c in stream) == "echo ping"


def test_trtllm_flavor_uses_flat_errors_and_plain_cards() -> None:
    with FakeOpenAIServer(flavor="trtllm") as fake:
        fake.add_model(MODEL)
        with openai.OpenAI(base_url=fake.base_url, api_key="x", max_retries=0) as c:
            card = next(iter(c.models.list()))
            assert card.owned_by == "tensorrt_llm"
            assert "max_model_len" not in (card.model_extra or {})
            with pytest.raises(openai.NotFoundError) as info:
                c.chat.completions.create(model="nope", messages=[_user("x")])
    # No "error" wrapper: the client uses the whole flat body.
    assert isinstance(info.value.body, dict)
    assert info.value.body["object"] == "error"
    assert info.value.type == "NotFoundError"


async def test_async_client_streams(server: FakeOpenAIServer) -> None:
    server.replies.append("async works")
    async with openai.AsyncOpenAI(base_url=server.base_url, api_key="x", max_retries=0) as c:
        stream = await c.chat.completions.create(model=MODEL, messages=[_user("x")], stream=True)
        text = "".join([chunk.choices[0].delta.content or "" async for chunk in stream])
    assert text == "async works"
