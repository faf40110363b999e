"""Find the GGUF file behind an Ollama model name on disk, without asking Ollama.

Ollama keeps each model as a manifest (`manifests/<host>/<namespace>/<model>/<tag>`, JSON)
whose layer of media type `application/vnd.ollama.image.model` names the weights by digest;
the weights are `blobs/sha256-<hex>`, a plain GGUF file. The models folder is
`$OLLAMA_MODELS`, else `~/.ollama/models` (Ollama's own default on Linux and macOS; the
system service on Linux uses `/usr/share/ollama/.ollama/models`, so set `$OLLAMA_MODELS` or
`[llamacpp] ollama_models` for it).
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

DEFAULT_HOST = "registry.ollama.ai"
DEFAULT_NAMESPACE = "library"
DEFAULT_TAG = "latest"
MODEL_MEDIA_TYPE = "application/vnd.ollama.image.model"
_DIGEST = re.compile(r"sha256[:-]([0-9a-f]{64})")


class GgufNotFound(Exception):
    """No GGUF file for a model name or path; the message says where it looked."""


@dataclass(frozen=True)
class OllamaModelName:
    host: str
    namespace: str
    model: str
    tag: str

    @classmethod
    def parse(cls, name: str) -> OllamaModelName:
        """Ollama's own reading of `[host/][namespace/]model[:tag]`: the defaults fill what
        is left out (`devstral-small` is `registry.ollama.ai/library/devstral-small:latest`)."""
        text = name.strip()
        tag = DEFAULT_TAG
        last_slash = text.rfind("/")
        colon = text.rfind(":")
        if colon > last_slash:
            text, tag = text[:colon], text[colon + 1:] or DEFAULT_TAG
        parts = [part for part in text.split("/") if part]
        if not parts or len(parts) > 3:
            raise GgufNotFound(f"{name!r} is not an Ollama model name "
                               "([host/][namespace/]model[:tag])")
        host, namespace = DEFAULT_HOST, DEFAULT_NAMESPACE
        if len(parts) == 3:
            host, namespace, model = parts
        elif len(parts) == 2:
            namespace, model = parts
        else:
            model = parts[0]
        return cls(host, namespace, model, tag)

    def manifest(self, models_dir: Path) -> Path:
        return models_dir / "manifests" / self.host / self.namespace / self.model / self.tag

    def __str__(self) -> str:
        return f"{self.model}:{self.tag}"


def ollama_models_dir(configured: Path | None = None) -> Path:
    """`configured` ([llamacpp] ollama_models), else `$OLLAMA_MODELS`, else ~/.ollama/models."""
    if configured is not None and str(configured):
        return configured.expanduser()
    from_env = os.environ.get("OLLAMA_MODELS")
    if from_env:
        return Path(from_env).expanduser()
    return Path.home() / ".ollama" / "models"


def ollama_blob(name: str, models_dir: Path) -> Path:
    """The weights blob of Ollama model `name` under `models_dir`; GgufNotFound naming the
    manifest or blob that is not there."""
    parsed = OllamaModelName.parse(name)
    manifest = parsed.manifest(models_dir)
    try:
        data = json.loads(manifest.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise GgufNotFound(f"Ollama has no model {str(parsed)!r} in {models_dir} "
                           f"(no manifest {manifest})") from None
    except (OSError, UnicodeDecodeError, ValueError) as error:
        raise GgufNotFound(f"cannot read Ollama's manifest {manifest}: {error}") from None
    layers = data.get("layers") if isinstance(data, dict) else None
    digest = next((layer.get("digest") for layer in layers or []
                   if isinstance(layer, dict) and layer.get("mediaType") == MODEL_MEDIA_TYPE),
                  None)
    match = _DIGEST.fullmatch(str(digest or ""))
    if match is None:
        raise GgufNotFound(f"Ollama's manifest {manifest} has no model layer "
                           f"({MODEL_MEDIA_TYPE})")
    blob = models_dir / "blobs" / f"sha256-{match.group(1)}"
    if not blob.is_file():
        raise GgufNotFound(f"Ollama's manifest {manifest} names {blob}, which is not there "
                           "(a pull that did not finish?)")
    return blob


def is_gguf_path(model: str) -> bool:
    """A model setting that names a file rather than an Ollama model: it ends in `.gguf`,
    or it is a path (absolute, `~`, `./`) to an existing file."""
    if model.endswith(".gguf") or model.startswith(("/", "~", "./", "../")):
        return True
    return Path(model).is_file()


def locate_gguf(model: str, models_dir: Path | None = None) -> Path:
    """The GGUF file `model` stands for: a path as given, or an Ollama model's blob."""
    if is_gguf_path(model):
        path = Path(model).expanduser()
        if not path.is_file():
            raise GgufNotFound(f"no GGUF file at {path}")
        return path
    return ollama_blob(model, ollama_models_dir(models_dir))
