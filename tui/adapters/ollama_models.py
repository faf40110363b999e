"""Model facts from a running Ollama server through the official `ollama` client."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
import ollama

from tui.budget.model_shape import ModelShape, shape_from_metadata
from tui.llm.protocol import BackendUnavailable, ModelMissing


class OllamaUnavailable(BackendUnavailable):
    """The server did not answer (not running, wrong host, timeout). A BackendUnavailable,
    so callers catch the backend-neutral error."""


class OllamaModelMissing(ModelMissing):
    """The server answered but does not have the model. A ModelMissing, so callers catch
    the backend-neutral error."""


@dataclass(frozen=True)
class OllamaServerInfo:
    host: str
    version: str


def make_client(host: str, timeout: float = 5.0) -> ollama.Client:
    return ollama.Client(host=host, timeout=timeout)


def _canonical(name: str) -> str:
    return name if ":" in name else f"{name}:latest"


def _model_arg(args: tuple[Any, ...]) -> str | None:
    return args[0] if args and isinstance(args[0], str) else None


def _call(client: ollama.Client, host: str, fn: str, *args: Any) -> Any:
    try:
        return getattr(client, fn)(*args)
    except ollama.ResponseError as error:
        if error.status_code == 404:
            raise OllamaModelMissing(str(error.error), model=_model_arg(args)) from error
        raise OllamaUnavailable(f"{host}: HTTP {error.status_code}: {error.error}") from error
    except (ConnectionError, httpx.HTTPError, OSError) as error:
        raise OllamaUnavailable(f"{host}: {error}") from error
    except ValueError as error:
        # A server that is not Ollama at that address (a proxy answering /api/show without
        # model_info, say): the client's pydantic models refuse the reply.
        raise OllamaUnavailable(f"{host}: the reply to {fn} is not Ollama's "
                                f"({type(error).__name__})") from error


def server_version(host: str, timeout: float = 5.0) -> OllamaServerInfo:
    client = make_client(host, timeout)
    # The client has no version call; /api/version is a plain GET on its HTTP session.
    try:
        response = client._client.get("/api/version")
        response.raise_for_status()
        version = str(response.json().get("version", "unknown"))
    except (httpx.HTTPError, ValueError, OSError) as error:
        raise OllamaUnavailable(f"{host}: {error}") from error
    return OllamaServerInfo(host=host, version=version)


def model_size_bytes(client: ollama.Client, host: str, name: str) -> int | None:
    listing = _call(client, host, "list")
    wanted = _canonical(name)
    for model in listing.models:
        if model.model and _canonical(model.model) == wanted:
            return int(model.size) if model.size is not None else None
    return None


def show_model(host: str, name: str, timeout: float = 5.0) -> ollama.ShowResponse:
    return _call(make_client(host, timeout), host, "show", name)


def model_shape_from_ollama(host: str, name: str, timeout: float = 5.0) -> ModelShape:
    """Shape from `/api/show` `model_info`, weights from the `/api/tags` size."""
    client = make_client(host, timeout)
    shown = _call(client, host, "show", name)
    info = dict(shown.modelinfo or {})
    if not info:
        raise OllamaModelMissing(f"{name}: /api/show returned no model_info", model=name)
    size = model_size_bytes(client, host, name)
    quantization = shown.details.quantization_level if shown.details else None
    return shape_from_metadata(
        info,
        name=name,
        source=f"Ollama /api/show at {host}",
        weights_bytes=size,
        quantization=quantization,
    )
