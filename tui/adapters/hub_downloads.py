"""Model downloads from the Hugging Face hub (and torch.hub checkpoints), with byte progress.

huggingface_hub draws each file's progress bar itself: `snapshot_download(tqdm_class=…)` only
replaces the "Fetching N files" bar (huggingface_hub 0.36), and faster-whisper passes a
disabled one. Every byte bar of a hub download comes from `_get_progress_bar_context` in
`huggingface_hub.utils.tqdm`, which looks its `tqdm` class up in that module when a file
starts; torch.hub's `download_url_to_file` (torchaudio's alignment checkpoints) does the same
in `torch.hub`. `reported_bytes` swaps those two names for a silent bar that hands each
update to a callback, for the length of a `with` block: downloads started by whisperx,
faster-whisper, transformers or pyannote inside it report their bytes without printing.
`tests/functional/cli/test_models_pull_cli.py` downloads through it from a loopback hub, so
a huggingface_hub that draws its bars elsewhere fails there.

huggingface_hub reads HF_ENDPOINT and HF_HUB_OFFLINE when it is imported: set them in the
environment before the process starts.
"""

from __future__ import annotations

import importlib
import os
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

# file (within the model), bytes so far, bytes in all (0: unknown)
OnBytes = Callable[[str, int, int], None]

_HUB_TQDM_MODULE = "huggingface_hub.utils.tqdm"
_patch_lock = threading.Lock()


def hub_endpoint() -> str:
    from huggingface_hub import constants

    return str(constants.ENDPOINT)


def hub_offline() -> bool:
    from huggingface_hub import constants

    return bool(constants.HF_HUB_OFFLINE)


def hub_cache_dir(model_dir: str | Path | None) -> Path:
    """Where a download lands: `[whisperx] model_dir` (used as the hub cache by faster-whisper,
    transformers and pyannote), else huggingface_hub's cache (HF_HUB_CACHE, HF_HOME)."""
    if model_dir:
        return Path(model_dir).expanduser()
    from huggingface_hub import constants

    return Path(constants.HF_HUB_CACHE)


def _file_of(desc: object, default: str) -> str:
    """huggingface_hub labels a bar with the file's URL, cut to its last 40 characters
    (`(…)/resolve/<sha>/model.bin`), or with the CDN's file name."""
    if not isinstance(desc, str) or not desc:
        return default
    text = desc.removeprefix("(…)")
    if "/resolve/" in text:
        text = text.split("/resolve/", 1)[1].split("/", 1)[-1]
    else:
        text = text.rsplit("/", 1)[-1]
    return text.split("?", 1)[0] or default


def _reporting_bar(base: type, on_bytes: OnBytes, default_file: str) -> type:
    """A subclass of the library's own bar that draws nothing and reports every update."""

    class ReportingBar(base):  # type: ignore[misc, valid-type]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            self._report_file = _file_of(kwargs.get("desc"), default_file)
            self._report_done = int(kwargs.get("initial") or 0)
            self._report_total = int(kwargs.get("total") or 0)
            kwargs["disable"] = True
            super().__init__(*args, **kwargs)
            on_bytes(self._report_file, self._report_done, self._report_total)

        def update(self, n: float | None = 1) -> bool | None:
            self._report_done += int(n or 0)
            on_bytes(self._report_file, self._report_done, self._report_total)
            return None

    return ReportingBar


@contextmanager
def reported_bytes(on_bytes: OnBytes, default_file: str = "weights", *,
                   load_torch: bool = False) -> Iterator[None]:
    """Every hub (and torch.hub) download started inside the block calls
    `on_bytes(file, done, total)` as its bytes arrive, from the downloading thread, and draws
    no bar. torch.hub's downloads are seen when torch is loaded already (the worker), or with
    `load_torch`. One block at a time per process (the others wait): the names swapped are
    global."""
    if load_torch:
        import torch.hub  # noqa: F401
    # By module path: `huggingface_hub.utils.tqdm` as an attribute is the class, not the module.
    hub_module = importlib.import_module(_HUB_TQDM_MODULE)
    torch_hub = sys.modules.get("torch.hub")
    with _patch_lock:
        saved_hub = hub_module.tqdm
        hub_module.tqdm = _reporting_bar(saved_hub, on_bytes, default_file)
        saved_torch = getattr(torch_hub, "tqdm", None) if torch_hub is not None else None
        if torch_hub is not None and saved_torch is not None:
            torch_hub.tqdm = _reporting_bar(saved_torch, on_bytes, default_file)
        try:
            yield
        finally:
            hub_module.tqdm = saved_hub
            if torch_hub is not None and saved_torch is not None:
                torch_hub.tqdm = saved_torch


def _silent_tqdm() -> type:
    from huggingface_hub.utils import tqdm as hub_tqdm

    class SilentTqdm(hub_tqdm):  # type: ignore[misc, valid-type]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            kwargs["disable"] = True
            super().__init__(*args, **kwargs)

    return SilentTqdm


def download_snapshot(repo: str, *, cache_dir: Path | None,
                      allow_patterns: Sequence[str] | None = None,
                      token: str | None = None) -> Path:
    """The repo's files (those matching `allow_patterns`) in the hub cache; files already
    there are not fetched again. Returns the snapshot folder."""
    from huggingface_hub import snapshot_download

    folder = snapshot_download(repo, cache_dir=str(cache_dir) if cache_dir else None,
                               allow_patterns=list(allow_patterns) if allow_patterns else None,
                               token=token, tqdm_class=_silent_tqdm())
    return Path(folder)


def repo_file_names(repo: str, token: str | None = None) -> list[str]:
    from huggingface_hub import HfApi

    info = HfApi(endpoint=hub_endpoint(), token=token).model_info(repo)
    return [sibling.rfilename for sibling in info.siblings or ()]


def torch_checkpoint_path(url: str, model_dir: str | Path | None) -> Path:
    """Where `torch.hub.load_state_dict_from_url(url, model_dir=model_dir)` keeps the file."""
    if model_dir:
        folder = Path(model_dir).expanduser()
    else:
        import torch.hub

        folder = Path(torch.hub.get_dir()) / "checkpoints"
    return folder / os.path.basename(url.split("?", 1)[0])


def download_checkpoint(url: str, destination: Path) -> bool:
    """torch.hub's download to `destination` (through a temporary file); False when the file
    was there already."""
    if destination.is_file():
        return False
    import torch.hub

    destination.parent.mkdir(parents=True, exist_ok=True)
    torch.hub.download_url_to_file(url, str(destination), progress=True)
    return True
