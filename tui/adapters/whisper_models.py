"""Find a faster-whisper (CTranslate2) model on disk without importing whisperx or torch."""

from __future__ import annotations

from pathlib import Path

# faster-whisper's own name → Hugging Face repo mapping (faster_whisper/utils.py _MODELS),
# for the names users pass to whisperx.
_REPOS = {
    "large-v3-turbo": "mobiuslabsgmbh/faster-whisper-large-v3-turbo",
    "turbo": "mobiuslabsgmbh/faster-whisper-large-v3-turbo",
    "distil-large-v3": "Systran/faster-distil-whisper-large-v3",
    "distil-large-v2": "Systran/faster-distil-whisper-large-v2",
    "distil-medium.en": "Systran/faster-distil-whisper-medium.en",
    "distil-small.en": "Systran/faster-distil-whisper-small.en",
}
_REQUIRED_FILES = ("model.bin", "config.json")


def is_ctranslate2_model_dir(path: Path) -> bool:
    return path.is_dir() and all((path / name).is_file() for name in _REQUIRED_FILES)


def hub_repo_for(name: str) -> str:
    return _REPOS.get(name, f"Systran/faster-whisper-{name}")


def locate_whisper_model(name: str, model_dir: Path | None = None) -> Path | None:
    """A directory holding the CTranslate2 model, or None if it would need a download."""
    direct = Path(name).expanduser()
    if is_ctranslate2_model_dir(direct):
        return direct
    if model_dir is not None:
        candidate = model_dir.expanduser()
        if is_ctranslate2_model_dir(candidate):
            return candidate
        for sub in (candidate / name, candidate / f"faster-whisper-{name}"):
            if is_ctranslate2_model_dir(sub):
                return sub
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:
        return None
    cached = try_to_load_from_cache(hub_repo_for(name), "model.bin",
                                    cache_dir=str(model_dir) if model_dir else None)
    if isinstance(cached, str):
        folder = Path(cached).parent
        if is_ctranslate2_model_dir(folder):
            return folder
    return None
