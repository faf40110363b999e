"""The LLM layer is backend-neutral: one set of errors, no import cycle, shared settings."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from tui.config import Config, LlmConfig, OpenAIConfig
from tui.llm import BackendError, BackendUnavailable, ModelMissing, PromptTooLong, make_backend

LLM = Path(__file__).resolve().parents[2] / "tui" / "llm"


def _imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return names


def test_every_error_is_a_backend_error() -> None:
    for error in (BackendUnavailable, ModelMissing, PromptTooLong):
        assert issubclass(error, BackendError)


def test_ollama_adapter_errors_are_the_neutral_ones() -> None:
    from tui.adapters.ollama_models import OllamaModelMissing, OllamaUnavailable

    assert issubclass(OllamaUnavailable, BackendUnavailable)
    assert issubclass(OllamaModelMissing, ModelMissing)


@pytest.mark.parametrize("module", ["protocol.py", "ollama_backend.py", "openai_backend.py",
                                    "llamacpp_backend.py"])
def test_no_module_names_another_backends_errors(module: str) -> None:
    text = (LLM / module).read_text(encoding="utf-8")
    assert "OllamaUnavailable" not in text and "OllamaModelMissing" not in text


def test_protocol_imports_no_backend_and_backends_only_protocol() -> None:
    protocol = _imported_modules(LLM / "protocol.py")
    assert not any(name.startswith("tui") for name in protocol), protocol
    for backend in ("ollama_backend.py", "openai_backend.py", "llamacpp_backend.py",
                    "llamacpp_engine.py", "llamacpp_process.py"):
        ours = {name for name in _imported_modules(LLM / backend) if name.startswith("tui.")}
        # The embedded backend is three modules (the pipeline's side, the engine's process,
        # the engine): they import each other, and otherwise what every backend may.
        allowed = ("tui.llm.protocol", "tui.adapters",
                   *(("tui.llm.llamacpp_",) if backend.startswith("llamacpp_") else ()))
        assert all(name.startswith(allowed) for name in ours), (backend, ours)


def test_the_factory_imports_backends_lazily() -> None:
    code = ("import sys, tui.llm, tui.adapters.ollama_models\n"
            "loaded = [m for m in ('tui.llm.ollama_backend', 'tui.llm.openai_backend', 'openai',"
            " 'tui.llm.llamacpp_backend', 'llama_cpp') if m in sys.modules]\n"
            "print(','.join(loaded))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True, cwd=LLM.parents[1])
    assert result.stdout.strip() == ""


def test_backends_share_the_llm_temperature() -> None:
    config = Config(llm=LlmConfig(temperature=0.7))
    assert make_backend(config).temperature == 0.7  # type: ignore[attr-defined]
    config = Config(llm=LlmConfig(backend="openai", temperature=0.6),
                    openai=OpenAIConfig(base_url="http://127.0.0.1:9/v1"))
    backend = make_backend(config)
    assert backend.label == "LLM (OpenAI API)"
    assert backend.temperature == 0.6  # type: ignore[attr-defined]


@pytest.mark.parametrize(("message", "prompt", "limit"), [
    ("This model's maximum context length is 8192 tokens. However, you requested 9000 tokens "
     "(7000 in the messages, 2000 in the completion). Please reduce the length of the messages "
     "or completion.", 7000, 8192),
    ("This model's maximum context length is 100 tokens. However, you requested 50 output "
     "tokens and your prompt contains at least 80 input tokens, for a total of at least 130 "
     "tokens. Please reduce the length of the input prompt or the number of requested output "
     "tokens. (parameter=input_tokens, value=80)", 80, 100),
    ("This model's maximum context length is 16 tokens. However, you requested 70 tokens in "
     "the messages, Please reduce the length of the messages.", 70, 16),
    ("the request exceeds the context length", None, None),
])
def test_prompt_too_long_carries_the_servers_numbers(
        message: str, prompt: int | None, limit: int | None) -> None:
    from tui.llm.openai_backend import prompt_too_long

    error = prompt_too_long(message)
    assert isinstance(error, PromptTooLong)
    assert (error.prompt_tokens, error.context_limit) == (prompt, limit)
    assert str(error) == message


def test_other_bad_requests_are_not_prompt_too_long() -> None:
    from tui.llm.openai_backend import prompt_too_long

    assert prompt_too_long("response_format: invalid schema") is None


def _api_error(status: int | None, body: object) -> object:
    """An error as the `openai` client raises it: an HTTP status error, or (status None) an
    `error` event inside the stream."""
    import httpx
    import openai

    request = httpx.Request("POST", "http://127.0.0.1:8080/v1/chat/completions")
    message = body.get("message", "") if isinstance(body, dict) else ""
    if status is None:
        return openai.APIError(message, request, body=body)
    response = httpx.Response(status, request=request, json={"error": body})
    error_class = openai.BadRequestError if status == 400 else openai.InternalServerError
    return error_class(message, response=response, body=body)


LLAMA_CPP_REFUSAL = {"code": 400, "type": "exceed_context_size_error",
                     "message": "request (5031 tokens) exceeds the available context size "
                                "(4096 tokens), try increasing it",
                     "n_prompt_tokens": 5031, "n_ctx": 4096}


@pytest.mark.parametrize("status", [400, None], ids=["http-400", "in-stream"])
def test_llama_cpp_refusal_is_known_by_its_type_with_its_numbers(status: int | None) -> None:
    from tui.llm.openai_backend import refused_as_too_long

    error = refused_as_too_long(_api_error(status, LLAMA_CPP_REFUSAL))  # type: ignore[arg-type]
    assert isinstance(error, PromptTooLong)
    assert (error.prompt_tokens, error.context_limit) == (5031, 4096)


def test_the_type_decides_not_the_sentence() -> None:
    from tui.llm.openai_backend import refused_as_too_long

    # Another wording, same type: still too long; the numbers come from the fields.
    reworded = {**LLAMA_CPP_REFUSAL, "message": "prompt does not fit"}
    assert isinstance(refused_as_too_long(_api_error(400, reworded)), PromptTooLong)  # type: ignore[arg-type]
    # OpenAI's own code for it.
    openai_style = {"message": "too long", "type": "invalid_request_error",
                    "code": "context_length_exceeded"}
    assert isinstance(refused_as_too_long(_api_error(400, openai_style)), PromptTooLong)  # type: ignore[arg-type]
    # A sentence that looks like it, under another type, from a 500: not a refusal.
    other = {"code": 500, "type": "server_error", "message": LLAMA_CPP_REFUSAL["message"]}
    assert refused_as_too_long(_api_error(500, other)) is None  # type: ignore[arg-type]
    schema = {"code": 400, "type": "invalid_request_error", "message": "bad json schema"}
    assert refused_as_too_long(_api_error(400, schema)) is None  # type: ignore[arg-type]


def test_vllm_wording_is_still_recognised() -> None:
    from tui.llm.openai_backend import refused_as_too_long

    vllm = {"object": "error", "type": "BadRequestError", "code": 400, "param": None,
            "message": "This model's maximum context length is 4096 tokens. However, you "
                       "requested 5000 tokens (4000 in the messages, 1000 in the completion)."}
    error = refused_as_too_long(_api_error(400, vllm))  # type: ignore[arg-type]
    assert isinstance(error, PromptTooLong)
    assert (error.prompt_tokens, error.context_limit) == (4000, 4096)


@pytest.mark.parametrize(("info", "expected"), [
    ({"max_model_len": 8192}, (8192, "max_model_len")),
    ({"meta": {"n_ctx": 2048, "n_ctx_train": 8192}}, (2048, "n_ctx")),
    ({"meta": {"n_vocab": 49152}}, (None, "")),
    ({}, (None, "")),
])
def test_the_context_cap_is_read_from_whichever_field_the_server_uses(
        info: dict[str, object], expected: tuple[int | None, str]) -> None:
    from tui.llm.openai_backend import _context_of

    assert _context_of(info) == expected


def test_without_a_context_in_the_model_list_props_is_asked(
        monkeypatch: pytest.MonkeyPatch) -> None:
    import httpx

    from tui.llm.openai_backend import OpenAITriageModel

    asked: list[str] = []

    def get(url: str, **_: object) -> httpx.Response:
        asked.append(url)
        return httpx.Response(200, json={"default_generation_settings": {"n_ctx": 4096}})

    monkeypatch.setattr(httpx, "get", get)
    backend = OpenAITriageModel("http://127.0.0.1:8080/v1", "m", num_ctx=8192,
                                api_key_env="NONE", temperature=0.0, max_tokens=512,
                                timeout=5)
    assert backend._props_context() == (4096, "n_ctx")
    assert asked == ["http://127.0.0.1:8080/props"]  # at the root, beside /v1

    def absent(url: str, **_: object) -> httpx.Response:
        return httpx.Response(404, json={"error": {"code": 404}})

    monkeypatch.setattr(httpx, "get", absent)
    assert backend._props_context() == (None, "")
