"""The WhisperX session: models load once and stay resident; files stream through.

Runs in the worker process only (`process_main.worker_main` builds one), so the UI process
never imports torch, a CUDA out-of-memory or a native crash costs one file and not the
dashboard, and exiting gives the VRAM back. torch and whisperx are imported inside the
methods, never at module import.
"""

from __future__ import annotations

import gc
import logging
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from tui.transcripts.events import (
    AudioDecoded,
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
from tui.transcripts.model_check import ModelNotFound, check_model
from tui.transcripts.options import TranscribeOptions
from tui.transcripts.records import FileState, StoredSegment
from tui.transcripts.worker import remote_asr
from tui.transcripts.worker.out_of_memory import is_out_of_memory, shrink_diarization_batches
from tui.transcripts.worker.remote_asr import RemoteRefused, RemoteServerUnavailable
from tui.transcripts.worker.segments import json_safe, to_stored_segment

log = logging.getLogger(__name__)
Emit = Callable[[object], None]


class DecodeError(Exception):
    pass


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
            # Before faster-whisper takes a path it cannot open for a hub repo id.
            check_model(options.model, options.model_dir)
            self._asr = whisperx.load_model(
                options.model,
                device=self.device,
                # The process is pinned to its card (process_main), which CUDA then calls 0.
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
        return remote_asr.transcribe(
            self.options, path,
            lambda index, segment: self.emit(
                SegmentTranscribed(content_hash, to_stored_segment(index, segment))))

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
            from whisperx.audio import SAMPLE_RATE

            emit(AudioDecoded(content_hash, len(audio) / SAMPLE_RATE))
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
        except ModelNotFound as error:
            emit(FileFailed(content_hash, str(error), kind="model"))
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

