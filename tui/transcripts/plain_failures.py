"""Why a recording failed, in words, with the one thing to do about it.

A failed file's reason is what the worker caught: often an exception's class and message
(`LocalEntryNotFoundError: An error happened while trying to locate the files on the Hub…`).
That stays in the state database and the log; people see the known causes as sentences:
"large-v3 is not on disk and the model hub is unreachable" and what to run. Used by the
dashboard's transcript pane and by `triage-tui transcribe`. Pure: no I/O, no imports of the
libraries whose errors it reads (it matches their names and messages as text).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

_MAX_DETAIL = 120
_EXCEPTION_PREFIX = re.compile(r"^(?:[\w.]+\.)?([A-Z]\w*)(?:Error|Exception|Warning)?:(?: |$)")
_EXIT_CODE = re.compile(r"exit code (-?\d+)")
_LOCAL_FOLDER = "or set [whisperx] model to a local CTranslate2 folder"


@dataclass(frozen=True)
class PlainFailure:
    cause: str  # what went wrong, in words
    fix: str = ""  # the one thing to do; empty when there is nothing to do but retry

    @property
    def sentence(self) -> str:
        """`cause: fix`, or the cause alone."""
        return f"{self.cause}: {self.fix}" if self.fix else self.cause


def _has(reason: str, *needles: str) -> bool:
    lowered = reason.lower()
    return any(needle.lower() in lowered for needle in needles)


def _shorten(text: str, limit: int = _MAX_DETAIL) -> str:
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    return text[: limit - 1].rsplit(" ", 1)[0].rstrip(",;:") + "…"


def _without_class(reason: str) -> str:
    """`ValueError: bad thing` → `bad thing`."""
    return _EXCEPTION_PREFIX.sub("", reason.strip(), count=1).strip()


def _model_not_found(reason: str, model: str) -> PlainFailure:
    # Already in words (tui.transcripts.model_check): "Whisper model not found: …; fix: …".
    cause, _, fix = reason.partition("; fix: ")
    cause = re.sub(r" \([^()]*\)", "", cause).strip()
    return PlainFailure(cause, fix.strip())


def _hub_unreachable(reason: str, model: str) -> PlainFailure:
    return PlainFailure(f"{model} is not on disk and the model hub is unreachable",
                        "let this machine reach the model hub once and run "
                        f"`triage-tui models pull {model}` (it shows the download), "
                        f"{_LOCAL_FOLDER}")


def _no_such_model(reason: str, model: str) -> PlainFailure:
    return PlainFailure(f"the model hub has no Whisper model called {model!r}",
                        "set [whisperx] model to a model name such as large-v3, medium or "
                        f"small.en, {_LOCAL_FOLDER}")


def _needs_token(reason: str, model: str) -> PlainFailure:
    return PlainFailure(f"the model hub refused to hand out {model} without a token",
                        "set HF_TOKEN (a Hugging Face access token) and run "
                        f"`triage-tui models pull {model}`, {_LOCAL_FOLDER}")


def _out_of_memory(reason: str, model: str) -> PlainFailure:
    return PlainFailure("the GPU ran out of memory on this recording",
                        'lower [whisperx] batch_size, or set [whisperx] compute_type = '
                        '"int8_float16" (`triage-tui plan` shows what fits)')


def _no_float16(reason: str, model: str) -> PlainFailure:
    return PlainFailure("this device cannot compute in float16 (there is no CUDA GPU here)",
                        'set [whisperx] compute_type = "int8" to run on the CPU')


def _no_cuda(reason: str, model: str) -> PlainFailure:
    return PlainFailure("WhisperX found no usable CUDA GPU",
                        'set [whisperx] device = "cpu" and compute_type = "int8", or fix the '
                        "NVIDIA driver and CUDA libraries (`triage-tui doctor` checks them)")


def _no_ffmpeg(reason: str, model: str) -> PlainFailure:
    return PlainFailure("ffmpeg is not installed (it decodes the recordings)",
                        "run `sudo apt-get install ffmpeg`")


def _not_audio(reason: str, model: str) -> PlainFailure:
    # "cannot decode audio: …" (the worker), "not a readable media file: PATH: …" (the
    # probe): what ffmpeg said comes last.
    detail = reason.rsplit(": ", 1)[-1].strip() if ": " in reason else ""
    cause = "the file could not be decoded as audio"
    if detail:
        cause += f" ({_shorten(detail, 80)})"
    return PlainFailure(cause, "check that it plays; if it was still being copied, drop the "
                               "complete file again")


def _worker_died(reason: str, model: str) -> PlainFailure:
    found = _EXIT_CODE.search(reason)
    code = int(found.group(1)) if found else None
    cause = "the WhisperX process died on this recording"
    if code in (-9, 137):
        return PlainFailure(cause + " (killed: the machine probably ran out of memory)",
                            "close other programs, or use a smaller [whisperx] model or "
                            "batch_size")
    if code is not None:
        cause += f" (exit code {code})"
    return PlainFailure(cause, "the log has the details; try it again")


# (does the reason match, what it means), first match wins: the specific before the general.
_KNOWN: tuple[tuple[Callable[[str, str], bool], Callable[[str, str], PlainFailure]], ...] = (
    (lambda reason, kind: kind == "model" or reason.startswith("Whisper model not found"),
     _model_not_found),
    (lambda reason, kind: kind == "oom" or _has(reason, "out of memory",
                                                 "CUBLAS_STATUS_ALLOC_FAILED"),
     _out_of_memory),
    (lambda reason, kind: _has(reason, "RepositoryNotFoundError", "Repository Not Found",
                               "HFValidationError", "Repo id must be", "Invalid model size"),
     _no_such_model),
    (lambda reason, kind: _has(reason, "GatedRepoError", "gated repo", "Access to model"),
     _needs_token),
    (lambda reason, kind: _has(reason, "LocalEntryNotFoundError", "OfflineModeIsEnabled",
                               "cannot find the requested files in the local cache",
                               "appropriate snapshot folder", "outgoing traffic has been "
                               "disabled", "huggingface.co"),
     _hub_unreachable),
    (lambda reason, kind: _has(reason, "float16 compute type"), _no_float16),
    (lambda reason, kind: _has(reason, "no CUDA-capable device", "CUDA driver version",
                               "not compiled with CUDA", "libcudnn", "libcublas",
                               "CUDA failed with error", "cuda_runtime"),
     _no_cuda),
    (lambda reason, kind: _has(reason, "No such file or directory: 'ffmpeg'",
                               "ffmpeg: not found", "ffmpeg not found"),
     _no_ffmpeg),
    (lambda reason, kind: kind == "decode" or reason.startswith("cannot decode audio"),
     _not_audio),
    (lambda reason, kind: kind == "crash" or reason.startswith("the WhisperX worker died"),
     _worker_died),
)


def explain_failure(reason: str, kind: str = "error", *, model: str = "large-v3"
                    ) -> PlainFailure:
    """Why a recording failed, for people: `reason` and `kind` as `FileFailed` carries them
    (or as the store kept them), `model` the configured Whisper model. Unknown failures keep
    their message, without the exception's class name, and point to the log."""
    for matches, explain in _KNOWN:
        if matches(reason, kind):
            return explain(reason, model)
    if kind == "io" or not _EXCEPTION_PREFIX.match(reason.strip()):
        return PlainFailure(reason.strip() or "transcription failed")  # words already
    message = _shorten(_without_class(reason))
    return PlainFailure(f"transcription failed unexpectedly{': ' + message if message else ''}",
                        "the log has the details")
