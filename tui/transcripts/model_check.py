"""Is the Whisper model there? Asked before a worker spends a minute starting up on it.

faster-whisper takes any `--model` it cannot open as a directory for a Hugging Face repo id,
so a mistyped path ends in `HFValidationError: Repo id must be in the form …`, and a model
name that is not cached ends in a hub error when the hub is offline. Here such a model is
called what it is, "not found", with where it was looked for and the fix. Plain Python: no
torch, no whisperx (`huggingface_hub` only for the cache location, imported when needed).
"""

from __future__ import annotations

import os
from pathlib import Path

from tui.adapters.whisper_models import (
    hub_repo_for,
    is_ctranslate2_model_dir,
    locate_whisper_model,
)

_MODEL_FILES = "model.bin and config.json"
_FIX = ("pass --model (or set [whisperx] model) to a CTranslate2 model directory, or to a "
        "model name such as large-v3 (downloaded on first use)")
_FIX_DIRECTORY = "or set --model / [whisperx] model to a CTranslate2 model directory"


class ModelNotFound(Exception):
    """The configured Whisper model cannot be loaded from where it was looked for."""


def names_a_path(model: str) -> bool:
    """`/models/x`, `./x`, `~/x`, `a/b/c` are paths; `large-v3` and `org/repo` are names."""
    return model.startswith(("/", ".", "~")) or model.count("/") > 1


def _hub_cache(model_dir: str | None) -> str:
    if model_dir:
        return model_dir
    try:
        from huggingface_hub import constants
    except ImportError:  # pragma: no cover - a dependency of whisperx
        return "the Hugging Face cache"
    return str(constants.HF_HUB_CACHE)


def _repo_cached(repo: str, model_dir: str | None) -> bool:
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:  # pragma: no cover - a dependency of whisperx
        return False
    return isinstance(try_to_load_from_cache(repo, "model.bin", cache_dir=model_dir), str)


def _offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on")


def missing_model_reason(model: str, model_dir: str | None) -> str | None:
    """Why `model` cannot be loaded, or None when it is there (or may still be downloaded)."""
    if names_a_path(model):
        folder = Path(model).expanduser()
        if is_ctranslate2_model_dir(folder):
            return None
        if not folder.exists():
            what = f"{folder} does not exist"
        elif not folder.is_dir():
            what = f"{folder} is a file, not a model directory"
        else:
            what = f"{folder} is a directory without {_MODEL_FILES}"
        return (f"Whisper model not found: {what} (a CTranslate2 model directory holds "
                f"{_MODEL_FILES}); fix: {_FIX}")
    if not _offline():
        return None  # faster-whisper downloads it on first use
    repo = model if "/" in model else hub_repo_for(model)
    if "/" in model:  # a Hugging Face repo id
        if _repo_cached(model, model_dir):
            return None
        places = []
    else:
        if locate_whisper_model(model, Path(model_dir) if model_dir else None) is not None:
            return None
        places = [f"{model_dir}/{model}", str(model_dir)] if model_dir else []
    places.append(f"{_hub_cache(model_dir)} ({repo})")
    return (f"Whisper model not found: {model!r} is not on disk (looked in "
            f"{', '.join(places)}) and HF_HUB_OFFLINE=1 forbids downloading it; fix: "
            f"download it once with network access (triage-tui models pull {model}, which "
            f"fetches {repo}), "
            f"{_FIX_DIRECTORY}")


def check_model(model: str, model_dir: str | None) -> None:
    reason = missing_model_reason(model, model_dir)
    if reason is not None:
        raise ModelNotFound(reason)
