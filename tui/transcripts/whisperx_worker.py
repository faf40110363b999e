"""The WhisperX worker process: models load once and stay resident; files stream through.

Runs in its own spawned process so the UI process never imports torch, a CUDA out-of-memory
or a native crash costs one file and not the dashboard, and exiting gives the VRAM back.
Only this module imports torch and whisperx, and only inside the worker.
"""

from __future__ import annotations

import gc
import logging
import math
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from tui.budget.placement import pin_process
from tui.transcripts.events import (
    BatchSizeReduced,
    FileDone,
    FileFailed,
    Progress,
    RemoteAsrUnreachable,
    SegmentsRefined,
    SegmentTranscribed,
    StageChanged,
    StepUnavailable,
    WorkerMemory,
)
from tui.transcripts.options import TranscribeOptions
from tui.transcripts.store import FileState, StoredSegment

log = logging.getLogger(__name__)
Emit = Callable[[object], None]


class DecodeError(Exception):
    pass


# Statuses that say "not now" rather than anything about the file: request timeout, rate
# limit, and a proxy in front of a server that is down, restarting or overloaded.
_RETRY_STATUSES = {408: "timed out", 429: "busy", 502: "unavailable", 503: "unavailable",
                   504: "unavailable"}
# A connection that hangs is noticed in seconds; a long recording may take minutes to answer.
REMOTE_CONNECT_TIMEOUT = 10.0
REMOTE_READ_TIMEOUT = 600.0


class RemoteRefused(Exception):
    """The server's answer about this request (400 bad file, 401 key, 404 model, …)."""


class RemoteServerUnavailable(Exception):
    def __init__(self, problem: str, reason: str, retry_after: float | None = None,
                 suspect_file: bool = False) -> None:
        super().__init__(reason)
        self.problem = problem
        self.reason = reason
        self.retry_after = retry_after
        self.suspect_file = suspect_file


def _server_message(error: Any) -> str:
    body = getattr(error, "body", None)
    message = (body.get("message") or body.get("detail")) if isinstance(body, dict) else None
    return str(message or body or error)[:300]


def remote_unavailable(error: BaseException) -> RemoteServerUnavailable | None:
    """The remote ASR server is down, unreachable, busy or overloaded — not an answer about
    this file — or None: connection errors, timeouts, 408/429/502/503/504, and a 500 (which
    may be either). 400 (bad file), 401 (key), 404 (model) and the rest are answers."""
    import openai

    from tui.transcripts.backoff import retry_after_seconds

    if isinstance(error, openai.APITimeoutError):
        if type(error.__cause__).__name__ == "ReadTimeout":  # uploaded; the answer is late
            return RemoteServerUnavailable(
                "timed out", f"no answer {REMOTE_READ_TIMEOUT:.0f} s after the upload",
                suspect_file=True)
        return RemoteServerUnavailable("timed out", "no connection within "
                                       f"{REMOTE_CONNECT_TIMEOUT:.0f} s")
    if isinstance(error, openai.APIConnectionError):
        cause = error.__cause__ or error.__context__
        detail = str(cause).strip() if cause is not None else ""
        return RemoteServerUnavailable("unreachable", detail or str(error))
    if not isinstance(error, openai.APIStatusError):
        return None
    status = error.status_code
    reason = f"HTTP {status}: {_server_message(error)}"
    retry_after = retry_after_seconds(dict(error.response.headers.items()), time.time())
    if status in _RETRY_STATUSES:
        return RemoteServerUnavailable(f"{_RETRY_STATUSES[status]}, HTTP {status}", reason,
                                       retry_after)
    if status == 500:
        return RemoteServerUnavailable("failing, HTTP 500", reason, retry_after,
                                       suspect_file=True)
    return None


def remote_refusal(error: Any, options: TranscribeOptions) -> str:
    """What the server said about this request (an APIStatusError), and the fix if any."""
    status = error.status_code
    reason = f"the ASR server refused the request: HTTP {status}: {_server_message(error)}"
    if status in (401, 403):
        return f"{reason} (fix: put the server's API key in ${options.remote_api_key_env})"
    if status == 404:
        return (f"{reason} (fix: serve {options.remote_model!r} there, e.g. `vllm serve "
                f"{options.remote_model}`, or set [whisperx] remote_model to one listed at "
                f"{options.remote_url.rstrip('/')}/models)")
    return reason


# How an allocation failure reads: CTranslate2 ("CUDA failed with error out of memory"),
# PyTorch ("CUDA out of memory"), and cuBLAS failing to create its handle or workspace on a
# full card (seen on an H100: bench/oom_backoff.py).
_OUT_OF_MEMORY_MARKS = ("out of memory", "cublas_status_alloc_failed",
                        "cudaerrormemoryallocation")


def is_out_of_memory(error: BaseException) -> bool:
    """CUDA OOM from PyTorch (OutOfMemoryError), CTranslate2 or cuBLAS (RuntimeErrors)."""
    if type(error).__name__ == "OutOfMemoryError":
        return True
    text = str(error).lower()
    return isinstance(error, RuntimeError) and any(mark in text for mark in _OUT_OF_MEMORY_MARKS)


def _clean_number(value: Any) -> Any:
    if value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return value
    return None if math.isnan(number) else round(number, 3)


def _clean_word(word: dict[str, Any]) -> dict[str, Any]:
    return {key: (_clean_number(value) if key in ("start", "end", "score") else value)
            for key, value in word.items() if key != "chars"}


def to_stored_segment(index: int, segment: dict[str, Any]) -> StoredSegment:
    return StoredSegment(
        index=index,
        start=float(segment["start"]),
        end=float(segment["end"]),
        text=str(segment.get("text", "")).strip(),
        speaker=segment.get("speaker"),
        words=tuple(_clean_word(word) for word in segment.get("words", [])),
    )


def json_safe(value: Any) -> Any:
    """Numpy scalars and NaN out of whisperx results, so they pickle and serialise."""
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if hasattr(value, "item") and callable(value.item):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


@dataclass
class WhisperxSession:
    options: TranscribeOptions
    emit: Emit
    _asr: Any = None
    _align: dict[str, tuple[Any, Any]] = field(default_factory=dict)
    _diarize: Any = None
    _unavailable_said: set[str] = field(default_factory=set)
    _device: str | None = None
    _compute_type: str | None = None

    # -- devices and models -----------------------------------------------------------

    @property
    def cpu_threads(self) -> int:
        # whisperx's CLI uses 4; more threads than cores makes CTranslate2 crawl on small boxes.
        if self.options.threads > 0:
            return self.options.threads
        return max(1, min(4, os.cpu_count() or 1))

    @property
    def device(self) -> str:
        if self._device is None:
            import torch

            wanted = self.options.device
            self._device = ("cuda" if torch.cuda.is_available() else "cpu") if wanted == "auto" \
                else wanted
        return self._device

    @property
    def compute_type(self) -> str:
        if self._compute_type is None:
            wanted = self.options.compute_type
            # CTranslate2 has no efficient float16 on the CPU; int8 is what runs there.
            if self.device == "cpu" and wanted in ("float16", "int8_float16"):
                wanted = "int8"
            self._compute_type = wanted
        return self._compute_type

    def asr(self) -> Any:
        if self._asr is None:
            import whisperx

            options = self.options
            self._asr = whisperx.load_model(
                options.model,
                device=self.device,
                # The process is pinned to its card (worker_main), which CUDA then calls 0.
                device_index=0,
                compute_type=self.compute_type,
                download_root=options.model_dir,
                language=options.effective_language,
                asr_options=options.asr_options(),
                vad_method=options.vad_method,
                vad_options={"chunk_size": options.chunk_size, "vad_onset": options.vad_onset,
                             "vad_offset": options.vad_offset},
                task=options.task,
                threads=self.cpu_threads,
            )
            if options.threads > 0:
                import torch

                torch.set_num_threads(options.threads)
            self.report_memory()
        return self._asr

    def _say_unavailable_once(self, step: str, reason: str, fix: str) -> None:
        if step not in self._unavailable_said:
            self._unavailable_said.add(step)
            self.emit(StepUnavailable(step, reason, fix))

    def align_model(self, language: str) -> tuple[Any, Any] | None:
        if language in self._align:
            return self._align[language]
        import whisperx

        try:
            loaded = whisperx.load_align_model(language, self.device,
                                               model_name=self.options.align_model,
                                               model_dir=self.options.model_dir)
        except Exception as error:  # offline hub, unknown language, broken weights
            log.warning("alignment model for %s unavailable: %s", language, error)
            self._say_unavailable_once(
                f"alignment:{language}",
                f"no alignment model for language {language!r}: {error}",
                "run once with network access so whisperx can fetch it, or set [whisperx] "
                "align_model to a local wav2vec2 model directory; transcripts keep segment "
                "timings without word timings",
            )
            return None
        self._align[language] = loaded
        self.report_memory()
        return loaded

    def diarize_model(self) -> Any | None:
        if self._diarize is None:
            from whisperx.diarize import DiarizationPipeline

            token = os.environ.get(self.options.hf_token_env) or None
            try:
                self._diarize = DiarizationPipeline(model_name=self.options.diarize_model,
                                                    token=token, device=self.device,
                                                    cache_dir=self.options.model_dir)
            except Exception as error:  # gated (401/403), offline, or missing token
                log.warning("diarization model unavailable: %s", type(error).__name__)
                fix = ("accept the model's conditions on Hugging Face and export "
                       f"{self.options.hf_token_env}=<token>" if token is None else
                       "check the token's access to the model, or run once with network access")
                self._say_unavailable_once(
                    "diarization",
                    f"diarization model {self.options.diarize_model!r} unavailable "
                    f"({type(error).__name__}); transcripts have no speaker labels",
                    fix,
                )
                self._diarize = False
        return self._diarize or None

    def report_memory(self) -> None:
        allocated = reserved = 0
        if self.device == "cuda":
            import torch

            allocated = int(torch.cuda.memory_allocated())
            reserved = int(torch.cuda.memory_reserved())
        self.emit(WorkerMemory(os.getpid(), allocated, reserved, self.device))

    def release_cached_memory(self) -> None:
        gc.collect()
        if self.device == "cuda":
            import torch

            torch.cuda.empty_cache()

    # -- one file ---------------------------------------------------------------------

    def _stream_transcribe(self, content_hash: str, audio: Any, batch_size: int
                           ) -> dict[str, Any]:
        """whisperx's own `transcribe`, with each segment published as soon as it exists.

        whisperx builds its segment list internally and returns it at the end; we shadow
        two instance attributes for the duration of the call: the VAD's `merge_chunks`
        (to learn each chunk's start/end) and the pipeline's `__call__` (to see each
        chunk's text as it is decoded). A test checks that segments arrive while the file
        is still being transcribed, so a whisperx upgrade that changes this is caught.
        """
        pipeline = self.asr()
        language = self.options.effective_language
        if language is None and not pipeline.model.model.is_multilingual:
            language = "en"  # an English-only checkpoint under a name without ".en"
        vad_model = pipeline.vad_model
        chunks: list[dict[str, Any]] = []
        original_merge = vad_model.merge_chunks
        original_call = type(pipeline).__call__

        def recording_merge(*args: Any, **kwargs: Any) -> Any:
            merged = original_merge(*args, **kwargs)
            chunks[:] = list(merged)
            return merged

        def streaming_call(inputs: Any, *args: Any, **kwargs: Any) -> Iterator[Any]:
            unbatched = kwargs.get("batch_size") in (0, 1, None)
            for index, out in enumerate(original_call(pipeline, inputs, *args, **kwargs)):
                text = out["text"][0] if unbatched else out["text"]
                chunk = chunks[index]
                self.emit(SegmentTranscribed(content_hash, StoredSegment(
                    index=index, start=round(chunk["start"], 3), end=round(chunk["end"], 3),
                    text=str(text).strip())))
                yield out

        vad_model.merge_chunks = recording_merge
        pipeline.__call__ = streaming_call
        try:
            return pipeline.transcribe(
                audio,
                batch_size=batch_size,
                language=language,
                chunk_size=self.options.chunk_size,
                progress_callback=lambda percent: self.emit(
                    Progress(content_hash, FileState.TRANSCRIBING, float(percent))),
            )
        finally:
            del vad_model.merge_chunks
            del pipeline.__call__

    def _remote_transcribe(self, content_hash: str, path: str) -> dict[str, Any]:
        """Speech to text on an OpenAI-compatible server (vLLM serving Whisper, Triton), with
        word timestamps where it returns them; alignment and diarization still run here."""
        import openai
        from whisperx.utils import TO_LANGUAGE_CODE

        options = self.options
        # No retries in the client: an unreachable server pauses the whole queue instead
        # (RemoteServerUnavailable → the pipeline's backoff), so one file never spins.
        client = openai.OpenAI(base_url=options.remote_url, max_retries=0,
                               timeout=openai.Timeout(REMOTE_READ_TIMEOUT,
                                                      connect=REMOTE_CONNECT_TIMEOUT),
                               api_key=os.environ.get(options.remote_api_key_env) or "no-key")
        extra: dict[str, Any] = {}
        if options.effective_language:
            extra["language"] = options.effective_language
        if options.initial_prompt:
            extra["prompt"] = options.initial_prompt
        try:
            with open(path, "rb") as audio_file:
                reply = client.audio.transcriptions.create(
                    model=options.remote_model, file=audio_file, response_format="verbose_json",
                    timestamp_granularities=["segment", "word"], **extra)
        except openai.OpenAIError as error:
            unavailable = remote_unavailable(error)
            if unavailable is not None:
                raise unavailable from error
            if isinstance(error, openai.APIStatusError):
                raise RemoteRefused(remote_refusal(error, options)) from error
            raise
        finally:
            client.close()
        words = [{"word": w.word, "start": w.start, "end": w.end}
                 for w in (getattr(reply, "words", None) or [])]
        segments = []
        for index, remote in enumerate(getattr(reply, "segments", None) or []):
            segment = {"start": float(remote.start), "end": float(remote.end),
                       "text": str(remote.text).strip(),
                       "words": [w for w in words
                                 if remote.start <= w["start"] < remote.end]}
            segments.append(segment)
            self.emit(SegmentTranscribed(content_hash, to_stored_segment(index, segment)))
        language = str(getattr(reply, "language", "") or "")
        code = TO_LANGUAGE_CODE.get(language.lower(), language or options.effective_language)
        return {"segments": segments, "language": code or "en"}

    def transcribe_file(self, content_hash: str, path: str) -> None:
        import whisperx

        emit = self.emit
        try:
            emit(StageChanged(content_hash, FileState.DECODING))
            try:
                audio = whisperx.load_audio(path)
            except Exception as error:  # ffmpeg's message says what is wrong with the file
                raise DecodeError(str(error).strip().splitlines()[-1][:300]) from error
            if len(audio) == 0:
                raise DecodeError("the file holds no audio samples")
            emit(StageChanged(content_hash, FileState.TRANSCRIBING))
            if self.options.asr_backend == "openai":
                result = self._remote_transcribe(content_hash, path)
            else:
                # A CUDA OOM fails the attempt: after one, CTranslate2's CUDA state is not
                # fit for a retry in this process (seen on an H100: "invalid device ordinal"),
                # so the pipeline retries the file in a fresh worker with less memory.
                result = self._stream_transcribe(content_hash, audio,
                                                 max(1, self.options.batch_size))
            language = result.get("language") or self.options.effective_language
            segments = result.get("segments", [])
            emit(SegmentsRefined(content_hash, FileState.TRANSCRIBING,
                                 tuple(to_stored_segment(i, s) for i, s in enumerate(segments))))
            if self.options.align and self.options.task != "translate" and segments:
                result = self._optional_step("alignment", self._align_step, content_hash,
                                             result, audio, language)
            if self.options.diarize and segments:
                result = self._optional_step("diarization", self._diarize_step, content_hash,
                                             result, audio)
            result["language"] = language
            emit(FileDone(content_hash, language, result=json_safe(result)))
        except DecodeError as error:
            emit(FileFailed(content_hash, f"cannot decode audio: {error}", kind="decode"))
        except RemoteRefused as error:  # the pipeline logs both
            emit(FileFailed(content_hash, str(error), kind="error"))
        except RemoteServerUnavailable as error:
            emit(RemoteAsrUnreachable(content_hash, error.problem, error.reason,
                                      error.retry_after, error.suspect_file))
        except Exception as error:
            kind = "oom" if is_out_of_memory(error) else "error"
            log.exception("transcription failed")
            emit(FileFailed(content_hash, f"{type(error).__name__}: {error}", kind=kind))
        finally:
            self.release_cached_memory()

    def _optional_step(self, step: str, run: Callable[..., dict[str, Any]], content_hash: str,
                       result: dict[str, Any], *args: Any) -> dict[str, Any]:
        """Alignment and diarization add to a transcript; when one fails (missing NLTK data,
        a model that cannot run, memory), the file keeps what it has and the step says why."""
        try:
            return run(content_hash, result, *args)
        except Exception as error:
            log.warning("%s failed: %s", step, error)
            self._say_unavailable_once(
                f"{step}-failed",
                f"{step} failed ({type(error).__name__}: {str(error)[:200]}); the transcript "
                f"is kept without it",
                "see the log file for details" if step == "diarization" else
                "whisperx alignment needs NLTK's punkt_tab (python -m nltk.downloader "
                "punkt_tab) and an alignment model for the language",
            )
            self.release_cached_memory()
            return result

    def _align_step(self, content_hash: str, result: dict[str, Any], audio: Any,
                    language: str) -> dict[str, Any]:
        import whisperx

        loaded = self.align_model(language)
        if loaded is None:
            return result
        model, metadata = loaded
        self.emit(StageChanged(content_hash, FileState.ALIGNING))
        aligned = whisperx.align(
            result["segments"], model, metadata, audio, self.device,
            interpolate_method=self.options.interpolate_method,
            return_char_alignments=self.options.return_char_alignments,
            progress_callback=lambda percent: self.emit(
                Progress(content_hash, FileState.ALIGNING, float(percent))),
        )
        self.emit(SegmentsRefined(content_hash, FileState.ALIGNING, tuple(
            to_stored_segment(i, s) for i, s in enumerate(aligned["segments"]))))
        return {**result, **aligned}

    def _diarize_step(self, content_hash: str, result: dict[str, Any], audio: Any
                      ) -> dict[str, Any]:
        import whisperx

        pipeline = self.diarize_model()
        if pipeline is None:
            return result
        self.emit(StageChanged(content_hash, FileState.DIARIZING))
        while True:
            try:
                diarized_segments = pipeline(audio, min_speakers=self.options.min_speakers,
                                             max_speakers=self.options.max_speakers)
                break
            except Exception as error:
                smaller = (shrink_diarization_batches(getattr(pipeline, "model", None))
                           if is_out_of_memory(error) else None)
                if smaller is None:
                    raise
                self.release_cached_memory()
                self.emit(BatchSizeReduced(
                    content_hash, smaller,
                    "CUDA out of memory in diarization: retrying with smaller batches"))
        labelled = whisperx.assign_word_speakers(diarized_segments, result)
        self.emit(SegmentsRefined(content_hash, FileState.DIARIZING, tuple(
            to_stored_segment(i, s) for i, s in enumerate(labelled["segments"]))))
        return labelled


def shrink_diarization_batches(pipeline: Any) -> int | None:
    """Halve a pyannote speaker-diarization pipeline's segmentation and embedding batch
    sizes; the new embedding batch size, or None when both are 1 (or not there)."""
    shrunk = False
    for name in ("embedding_batch_size", "segmentation_batch_size"):
        size = getattr(pipeline, name, None)
        if isinstance(size, int) and size > 1:
            setattr(pipeline, name, size // 2)
            shrunk = True
    return getattr(pipeline, "embedding_batch_size", 1) if shrunk else None


def _redirect_output(log_path: str) -> None:
    """Send this process's stdout/stderr (native libraries' too) to the log file: under the
    dashboard, anything printed would scribble over the screen."""
    descriptor = os.open(log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    os.dup2(descriptor, 1)
    os.dup2(descriptor, 2)
    os.close(descriptor)


def _die_with_parent() -> None:
    """If the dashboard is killed (SIGKILL, OOM killer), take the worker and its VRAM too."""
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        pr_set_pdeathsig = 1
        libc.prctl(pr_set_pdeathsig, 9)  # SIGKILL
    except (OSError, AttributeError):
        pass  # not Linux: the closed request pipe still ends the worker


def worker_main(options: dict[str, Any], requests: Any, events: Any,
                log_path: str | None = None) -> None:
    """Entry point of the spawned process: serve (content_hash, path) requests until None."""
    _die_with_parent()
    if log_path:
        _redirect_output(log_path)
    logging.basicConfig(level=logging.WARNING,
                        format="%(asctime)s %(levelname)s whisperx-worker %(name)s: %(message)s")
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
    transcribe_options = TranscribeOptions(**options)
    # Before torch or CTranslate2 initialise CUDA: every model of the worker (Whisper,
    # alignment, diarization) then lands on the one configured card.
    pin_process(transcribe_options.gpu, os.environ)
    session = WhisperxSession(transcribe_options, events.put)
    while True:
        try:
            request = requests.get()
        except (EOFError, OSError):  # the parent is gone
            break
        if request is None:
            break
        content_hash, path = request
        session.transcribe_file(content_hash, path)
