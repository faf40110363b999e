"""The models a transcript needs, fetched ahead of time with progress: `triage-tui models pull`.

Without it, the first recording makes WhisperX download gigabytes with nothing on screen.
What is fetched is what the worker would fetch, to the same place: the Whisper model
(faster-whisper's files of its hub repo, into `[whisperx] model_dir` or the hub cache), the
alignment model of each language (a torchaudio checkpoint into torch.hub's folder, or a
wav2vec2 repo), and the diarization pipeline (a gated repo: only with a token). Byte
progress arrives as `ModelDownload` events (`DownloadTracker`); a failure comes back as a
`PlainFailure`, in words with the fix, never as an exception's class name.
"""

from __future__ import annotations

import errno
import logging
import os
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from tui.adapters import hub_downloads
from tui.adapters.whisper_models import hub_repo_for
from tui.config import WhisperxConfig
from tui.transcripts.events import ModelDownload
from tui.transcripts.model_check import names_a_path
from tui.transcripts.plain_failures import PlainFailure

log = logging.getLogger(__name__)
Emit = Callable[[object], None]
TargetKind = Literal["whisper", "alignment", "diarization"]
PullStatus = Literal["downloaded", "present", "skipped", "failed"]

# faster-whisper's `download_model` fetches these files of a model's repo (utils.py,
# faster-whisper 1.2): the same ones, so that the worker finds them and fetches nothing.
WHISPER_FILES = ("config.json", "preprocessor_config.json", "model.bin", "tokenizer.json",
                 "vocabulary.*")
# What transformers' Wav2Vec2Processor / Wav2Vec2ForCTC.from_pretrained read; the weights
# are chosen by `_alignment_patterns` (safetensors when the repo has them, as transformers).
_ALIGNMENT_TEXT_FILES = ("*.json", "*.txt")
TORCHAUDIO_MODELS_URL = "https://download.pytorch.org/torchaudio/models"
WHISPER_NAMES = "tiny, base, small, medium, large-v3, turbo (or .en variants, or an org/repo id)"


@dataclass(frozen=True)
class PullTarget:
    kind: TargetKind
    label: str  # what progress lines and the summary call it: "large-v3", "alignment (en)"
    repo: str = ""  # a hub repo id
    url: str = ""  # or a torch.hub checkpoint (torchaudio's alignment models)
    allow_patterns: tuple[str, ...] = ()
    token_env: str = ""  # the variable holding the hub token (the diarization pipeline)
    skip_reason: str = ""  # not fetched, and why (with what to do)

    @property
    def source(self) -> str:
        return self.repo or self.url


@dataclass(frozen=True)
class PullResult:
    target: PullTarget
    status: PullStatus
    path: str = ""
    downloaded_bytes: int = 0
    problem: PlainFailure | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.target.kind, "name": self.target.label, "source": self.target.source,
            "status": self.status, "path": self.path or None,
            "downloaded_bytes": self.downloaded_bytes,
            "reason": (self.problem.cause if self.problem else self.target.skip_reason) or None,
            "fix": self.problem.fix if self.problem else None,
        }


class DownloadTracker:
    """A model's byte updates (from any downloading thread) → `ModelDownload` events: one per
    whole percent a file moves (per MiB when its size is unknown), its first and last always,
    so a 3 GB model sends a few hundred events, not one per network chunk."""

    def __init__(self, model: str, emit: Emit) -> None:
        self.model = model
        self._emit = emit
        self._lock = threading.Lock()
        self._files: dict[str, tuple[int, int]] = {}  # file → (done, total) last reported
        self._started: dict[str, int] = {}  # file → bytes it already had (a resume)

    @staticmethod
    def _step(done: int, total: int) -> int:
        return done * 100 // total if total > 0 else done // 2**20

    def update(self, file: str, done: int, total: int) -> None:
        with self._lock:
            last = self._files.get(file)
            self._started.setdefault(file, done)
            finished = total > 0 and done >= total
            if last is not None and last[0] == done:
                return
            if (last is not None and not finished
                    and self._step(done, total) == self._step(last[0], last[1])):
                return
            self._files[file] = (done, total)
        self._emit(ModelDownload(self.model, file, done, total))

    @property
    def downloaded_bytes(self) -> int:
        with self._lock:
            return sum(done - self._started.get(file, 0)
                       for file, (done, _) in self._files.items())


# -- what to fetch ------------------------------------------------------------------------


def whisper_target(name: str) -> PullTarget:
    if names_a_path(name):
        return PullTarget("whisper", name, skip_reason="a local folder: nothing to download")
    repo = name if "/" in name else hub_repo_for(name)
    return PullTarget("whisper", name, repo=repo, allow_patterns=WHISPER_FILES)


def _alignment_target(language: str, align_model: str) -> PullTarget:
    label = f"alignment ({language})"
    if align_model and names_a_path(align_model):
        return PullTarget("alignment", label, skip_reason="a local folder: nothing to download")
    name = align_model
    if not name:
        # whisperx's own table of defaults (imports torch: only when alignment is wanted).
        from whisperx.alignment import DEFAULT_ALIGN_MODELS_HF, DEFAULT_ALIGN_MODELS_TORCH

        name = (DEFAULT_ALIGN_MODELS_TORCH.get(language)
                or DEFAULT_ALIGN_MODELS_HF.get(language, ""))
        if not name:
            return PullTarget("alignment", label, skip_reason=(
                f"whisperx has no default alignment model for {language!r}; set [whisperx] "
                "align_model to a wav2vec2 model for it"))
    import torchaudio.pipelines

    if name in torchaudio.pipelines.__all__:
        bundle = getattr(torchaudio.pipelines, name)
        path = str(bundle._path)  # what torchaudio's get_model downloads
        url = path if path.startswith("https") else f"{TORCHAUDIO_MODELS_URL}/{path}"
        return PullTarget("alignment", label, url=url)
    return PullTarget("alignment", label, repo=name)


def alignment_languages(whisperx: WhisperxConfig, languages: Sequence[str]) -> list[str]:
    if languages:
        return list(dict.fromkeys(languages))
    model = whisperx.model
    if model.endswith(".en") or Path(model).name.endswith(".en"):
        return ["en"]
    return [whisperx.language] if whisperx.language else []


def targets_for(whisperx: WhisperxConfig, names: Sequence[str] = (),
                languages: Sequence[str] = (),
                environ: Mapping[str, str] | None = None) -> list[PullTarget]:
    """`names`: those Whisper models (and the alignment models of `languages`, if given).
    No names: what the config needs: its Whisper model, the alignment model of its language
    when [whisperx] align is on, the diarization pipeline when diarize is on (skipped, and
    said so, without a token)."""
    environ = os.environ if environ is None else environ
    if names:
        targets = [whisper_target(name) for name in dict.fromkeys(names)]
        targets += [_alignment_target(language, whisperx.align_model)
                    for language in dict.fromkeys(languages)]
        return targets
    targets = [whisper_target(whisperx.model)]
    if whisperx.align and whisperx.task != "translate":
        wanted = alignment_languages(whisperx, languages)
        targets += [_alignment_target(language, whisperx.align_model) for language in wanted]
        if not wanted:
            targets.append(PullTarget("alignment", "alignment", skip_reason=(
                "[whisperx] language is empty (detected per recording): pass --language xx "
                "for each language you record")))
    if whisperx.diarize:
        repo = whisperx.diarize_model
        if names_a_path(repo):
            targets.append(PullTarget("diarization", repo,
                                      skip_reason="a local folder: nothing to download"))
        elif not environ.get(whisperx.hf_token_env):
            targets.append(PullTarget("diarization", repo, repo=repo,
                                      token_env=whisperx.hf_token_env, skip_reason=(
                f"{whisperx.hf_token_env} is not set (the pipeline is gated): accept its "
                f"conditions at https://huggingface.co/{repo} and export "
                f"{whisperx.hf_token_env}=<token>")))
        else:
            targets.append(PullTarget("diarization", repo, repo=repo,
                                      token_env=whisperx.hf_token_env))
    return targets


# -- fetching -------------------------------------------------------------------------------


def _alignment_patterns(repo: str, token: str | None) -> tuple[str, ...]:
    files = hub_downloads.repo_file_names(repo, token)
    if any(name.endswith(".safetensors") for name in files):
        return (*_ALIGNMENT_TEXT_FILES, "*.safetensors")
    return (*_ALIGNMENT_TEXT_FILES, "pytorch_model.bin")


def pull(target: PullTarget, model_dir: str | Path | None, emit: Emit,
         environ: Mapping[str, str] | None = None) -> PullResult:
    """Fetch one target into the place the worker loads it from; files already there are
    not fetched again. `emit` gets `ModelDownload` events from the downloading threads."""
    if target.skip_reason:
        return PullResult(target, "skipped")
    environ = os.environ if environ is None else environ
    token = environ.get(target.token_env) or None if target.token_env else None
    tracker = DownloadTracker(target.label, emit)
    try:
        if target.url:
            destination = hub_downloads.torch_checkpoint_path(target.url, model_dir)
            with hub_downloads.reported_bytes(tracker.update, destination.name,
                                              load_torch=True):
                hub_downloads.download_checkpoint(target.url, destination)
            path = destination
        else:
            if hub_downloads.hub_offline():
                raise _OfflineRefused()
            patterns = target.allow_patterns
            if target.kind == "alignment" and not patterns:
                patterns = _alignment_patterns(target.repo, token)
            with hub_downloads.reported_bytes(tracker.update):
                path = hub_downloads.download_snapshot(
                    target.repo, cache_dir=Path(model_dir).expanduser() if model_dir else None,
                    allow_patterns=patterns, token=token)
    except Exception as error:
        log.warning("downloading %s (%s) failed", target.label, target.source, exc_info=True)
        return PullResult(target, "failed", downloaded_bytes=tracker.downloaded_bytes,
                          problem=explain_download_error(error, target, model_dir))
    moved = tracker.downloaded_bytes
    return PullResult(target, "downloaded" if moved else "present", str(path), moved)


# -- failures in words ----------------------------------------------------------------------


class _OfflineRefused(Exception):
    pass


def _causes(error: BaseException) -> list[BaseException]:
    chain: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and current not in chain:
        chain.append(current)
        current = current.__cause__ or current.__context__
    return chain


def _status_code(error: BaseException) -> int | None:
    response = getattr(error, "response", None)
    code = getattr(response, "status_code", None)
    return code if isinstance(code, int) else None


def _named(error: BaseException, *names: str) -> bool:
    return any(cls.__name__ in names for cls in type(error).__mro__)


def explain_download_error(error: BaseException, target: PullTarget,
                           model_dir: str | Path | None = None) -> PlainFailure:
    """Why `target` could not be fetched, and the one thing to do about it."""
    what = target.label
    host = target.url.split("/")[2] if target.url else hub_downloads.hub_endpoint()
    place = (hub_downloads.torch_checkpoint_path(target.url, model_dir).parent if target.url
             else hub_downloads.hub_cache_dir(model_dir))
    chain = _causes(error)
    if any(isinstance(e, _OfflineRefused) or _named(e, "OfflineModeIsEnabled") for e in chain):
        return PlainFailure(f"{what}: HF_HUB_OFFLINE is set, which forbids downloading",
                            "run the command without HF_HUB_OFFLINE=1")
    for cause in chain:
        if isinstance(cause, OSError) and cause.errno in (errno.ENOSPC, errno.EDQUOT):
            return PlainFailure(f"{what}: the disk holding {place} is full",
                                "free some space, or set [whisperx] model_dir to a folder on "
                                "a larger disk, then run `triage-tui models pull` again (it "
                                "resumes)")
        if isinstance(cause, PermissionError):
            return PlainFailure(f"{what}: cannot write to {place} ({cause.strerror})",
                                "make the folder writable, or set [whisperx] model_dir to one "
                                "that is")
    token_env = target.token_env or "HF_TOKEN"
    for cause in chain:
        code = _status_code(cause)
        if _named(cause, "GatedRepoError") or (code == 403 and target.repo):
            return PlainFailure(
                f"{what}: the model hub refused access to {target.repo} (a gated model)",
                f"accept its conditions at https://huggingface.co/{target.repo} with the "
                f"account of the token, and export {token_env}=<token> with read access")
        if code == 401 and not _named(cause, "RepositoryNotFoundError"):
            return PlainFailure(f"{what}: the model hub refused the token in {token_env}",
                                f"create a read token at https://huggingface.co/settings/tokens "
                                f"and export {token_env}=<token>")
        if _named(cause, "RepositoryNotFoundError", "RevisionNotFoundError") or code == 404:
            fix = (f"check the name: Whisper models are {WHISPER_NAMES}"
                   if target.kind == "whisper" else
                   "check the name in the config" + (
                       f"; if it is private or gated, export {token_env}=<token>"))
            return PlainFailure(f"{what}: {host} has no model {target.source}", fix)
        if code is not None and code >= 500:
            return PlainFailure(f"{what}: {host} answered HTTP {code} (a problem on its side)",
                                "try again later; `triage-tui models pull` resumes")
        if code is not None:
            return PlainFailure(f"{what}: {host} answered HTTP {code} for {target.source}",
                                "check the name and the token; the log has the details")
    if any(_named(e, "ConnectionError", "Timeout", "LocalEntryNotFoundError", "URLError",
                  "ConnectError", "TimeoutException", "socket.gaierror", "gaierror")
           or isinstance(e, (ConnectionError, TimeoutError)) for e in chain):
        return PlainFailure(
            f"{what}: the model hub at {host} is unreachable",
            "check the network (a proxy needs HTTPS_PROXY; a mirror, HF_ENDPOINT), or copy "
            "the model from a connected machine and set [whisperx] model to its folder")
    message = " ".join(str(error).split())[:200] or type(error).__name__
    return PlainFailure(f"{what}: the download failed: {message}", "the log has the details")
