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
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
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
    WorkerProfile,
)
from tui.transcripts.model_check import ModelNotFound, check_model
from tui.transcripts.options import TranscribeOptions
from tui.transcripts.profile import StageClock
from tui.transcripts.records import FileState, StoredSegment
from tui.transcripts.worker import remote_asr
from tui.transcripts.worker.batcher import BatchItem, ChunkResult, CrossFileBatcher, PreparedFile
from tui.transcripts.worker.download_progress import downloads_reported
from tui.transcripts.worker.memory_tally import MemoryTally
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
    _tokenizers: dict[str, tuple[Any, Any]] = field(default_factory=dict)
    _device_lock: Any = None
    clock: StageClock = field(default_factory=StageClock)
    memory: MemoryTally = field(default_factory=MemoryTally)

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

    @property
    def device_lock(self) -> threading.Lock:
        """Held around every stage that computes (VAD, Whisper, alignment, diarization), so
        stages of different files never compute at once: on a GPU the plan counts one
        stage's activations, not several; on the CPU two thread pools (CTranslate2's and
        PyTorch's, each sized to the cores) spinning side by side slow both down. Decoding
        (ffmpeg), hashing and writing overlap with them."""
        if self._device_lock is None:
            self._device_lock = threading.Lock()
        return self._device_lock

    @contextmanager
    def torch_stage(self, stage: str) -> Iterator[None]:
        """A stage that runs on PyTorch (VAD, alignment, diarization): under the device lock,
        timed, and on CUDA it gives PyTorch's cached blocks back before the lock is let go.
        Left cached, they sat beside the next Whisper batch, which the plan counts alone:
        on an H200 the VAD's cache put 30 short notes at batch 8 1,005 MiB over the plan
        (bench/README.md, 2026-12-03)."""
        with self.device_lock, self.clock.timed(stage):
            cuda = self.device == "cuda"
            if cuda:
                import torch

                torch.cuda.reset_peak_memory_stats()
            try:
                yield
            finally:
                if cuda:
                    self.memory.stage_done(stage, int(torch.cuda.max_memory_reserved()))
                    torch.cuda.empty_cache()

    def asr(self) -> Any:
        if self._asr is None:
            import whisperx

            options = self.options
            # Before faster-whisper takes a path it cannot open for a hub repo id.
            check_model(options.model, options.model_dir)
            with downloads_reported(self.emit, options.model):
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
            with downloads_reported(self.emit, f"alignment ({language})"):
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
                with downloads_reported(self.emit, self.options.diarize_model):
                    self._diarize = DiarizationPipeline(
                        model_name=self.options.diarize_model, token=token,
                        device=self.device, cache_dir=self.options.model_dir)
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
        if self.device != "cuda":
            self.emit(WorkerMemory(os.getpid(), 0, 0, self.device))
            return
        import torch

        from tui.adapters.cuda_pool import default_pool_usage

        pool = default_pool_usage()
        self.emit(self.memory.event(
            os.getpid(), self.device, int(torch.cuda.memory_allocated()),
            int(torch.cuda.memory_reserved()),
            pool.reserved_bytes if pool else 0, pool.reserved_peak_bytes if pool else 0))

    def release_cached_memory(self) -> None:
        gc.collect()
        if self.device == "cuda":
            import torch

            torch.cuda.empty_cache()

    # -- one file, in stages ---------------------------------------------------------
    #
    # prepare (decode, VAD) -> transcribe_batch (chunks of one or several files) -> finish
    # (alignment, diarization, FileDone). The worker's scheduler runs the three on their
    # own threads so that files overlap; transcribe_file runs them in turn for one file.

    def language_for(self, audio: Any) -> str:
        pipeline = self.asr()
        language = self.options.effective_language
        if language is None and not pipeline.model.model.is_multilingual:
            language = "en"  # an English-only checkpoint under a name without ".en"
        if language is None:
            with self.device_lock, self.clock.timed("detect language"):
                language = pipeline.detect_language(audio)
        return str(language)

    def prepare(self, content_hash: str, path: str) -> PreparedFile | None:
        """Decode and split by the VAD, as whisperx's `transcribe` does before its batches;
        None when the file failed (the failure is emitted)."""
        try:
            pipeline = self.asr()
            audio = self._decode(content_hash, path)
            with self.torch_stage("vad"):
                chunks = self._vad_chunks(pipeline, audio)
            return PreparedFile(content_hash, self.language_for(audio), chunks, payload=audio)
        except Exception as error:
            self.emit(self.failure_event(content_hash, error))
            self.release_cached_memory()
            return None

    def _decode(self, content_hash: str, path: str) -> Any:
        import whisperx
        from whisperx.audio import SAMPLE_RATE

        self.emit(StageChanged(content_hash, FileState.DECODING))
        with self.clock.timed("decode"):
            try:
                audio = whisperx.load_audio(path)
            except Exception as error:  # ffmpeg's message says what is wrong with the file
                raise DecodeError(str(error).strip().splitlines()[-1][:300]) from error
        if len(audio) == 0:
            raise DecodeError("the file holds no audio samples")
        self.emit(AudioDecoded(content_hash, len(audio) / SAMPLE_RATE))
        return audio

    def _vad_chunks(self, pipeline: Any, audio: Any) -> list[tuple[float, float]]:
        from whisperx.audio import SAMPLE_RATE
        from whisperx.vads import Pyannote, Vad

        if issubclass(type(pipeline.vad_model), Vad):
            waveform = pipeline.vad_model.preprocess_audio(audio)
            merge_chunks = pipeline.vad_model.merge_chunks
        else:
            waveform = Pyannote.preprocess_audio(audio)
            merge_chunks = Pyannote.merge_chunks
        vad_segments = pipeline.vad_model({"waveform": waveform, "sample_rate": SAMPLE_RATE})
        merged = merge_chunks(vad_segments, self.options.chunk_size,
                              onset=pipeline._vad_params["vad_onset"],
                              offset=pipeline._vad_params["vad_offset"])
        return [(float(chunk["start"]), float(chunk["end"])) for chunk in merged]

    def _tokenizer(self, language: str) -> tuple[Any, Any]:
        """The decoder's tokenizer and options for a language, as whisperx's `transcribe`
        builds them (numerals and symbols suppressed when asked)."""
        if language not in self._tokenizers:
            from dataclasses import replace

            from faster_whisper.tokenizer import Tokenizer
            from whisperx.asr import find_numeral_symbol_tokens

            pipeline = self.asr()
            tokenizer = Tokenizer(pipeline.model.hf_tokenizer,
                                  pipeline.model.model.is_multilingual,
                                  task=self.options.task, language=language)
            options = pipeline.options
            if pipeline.suppress_numerals:
                options = replace(options, suppress_tokens=list(set(
                    find_numeral_symbol_tokens(tokenizer) + options.suppress_tokens)))
            self._tokenizers[language] = (tokenizer, options)
        return self._tokenizers[language]

    def transcribe_batch(self, items: list[BatchItem]) -> list[ChunkResult]:
        """One Whisper batch over chunks of one or several files (one language), through
        whisperx's own preprocess and forward, as its `transcribe` runs each batch."""
        import torch
        from whisperx.audio import SAMPLE_RATE

        pipeline = self.asr()
        tokenizer, asr_options = self._tokenizer(items[0].file.language)
        pipeline.tokenizer, saved_options = tokenizer, pipeline.options
        with self.device_lock, self.clock.timed("asr"):
            features = []
            for item in items:
                start, end = item.span
                samples = item.file.payload[int(start * SAMPLE_RATE):int(end * SAMPLE_RATE)]
                features.append(pipeline.preprocess({"inputs": samples})["inputs"])
            pipeline.options = asr_options
            if self.device == "cuda":
                self.memory.batch_started(int(torch.cuda.memory_reserved()))
            try:
                out = pipeline.forward({"inputs": torch.stack(features)})
            finally:
                pipeline.options = saved_options
        return [ChunkResult(str(text), float(logprob))
                for text, logprob in zip(out["text"], out["avg_logprob"], strict=True)]

    def emit_transcribed(self, item: BatchItem, result: ChunkResult) -> None:
        prepared, index = item.file, item.index
        start, end = item.span
        self.emit(SegmentTranscribed(prepared.content_hash, StoredSegment(
            index=index, start=round(start, 3), end=round(end, 3), text=result.text.strip())))
        self.emit(Progress(prepared.content_hash, FileState.TRANSCRIBING,
                           100.0 * prepared.done_chunks / len(prepared.chunks)))

    def finish(self, prepared: PreparedFile) -> None:
        """whisperx's result from the chunk texts, then alignment and diarization; FileDone."""
        content_hash, audio = prepared.content_hash, prepared.payload
        try:
            segments = [{"text": result.text, "start": round(start, 3), "end": round(end, 3),
                         "avg_logprob": result.avg_logprob}
                        for (start, end), result in zip(prepared.chunks, prepared.results,
                                                        strict=True) if result is not None]
            self._finish_result(content_hash, {"segments": segments,
                                               "language": prepared.language}, audio)
        except Exception as error:
            self.emit(self.failure_event(content_hash, error))
        finally:
            prepared.payload = None
            self.release_cached_memory()

    def _finish_result(self, content_hash: str, result: dict[str, Any], audio: Any) -> None:
        emit = self.emit
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
        self.report_memory()
        emit(WorkerProfile(self.clock.snapshot()))
        emit(FileDone(content_hash, language, result=json_safe(result)))

    def failure_event(self, content_hash: str, error: Exception) -> object:
        """What the parent hears when a stage of a file raised."""
        if isinstance(error, DecodeError):
            return FileFailed(content_hash, f"cannot decode audio: {error}", kind="decode")
        if isinstance(error, ModelNotFound):
            return FileFailed(content_hash, str(error), kind="model")
        if isinstance(error, RemoteRefused):  # the pipeline logs both
            return FileFailed(content_hash, str(error), kind="error")
        if isinstance(error, RemoteServerUnavailable):
            return RemoteAsrUnreachable(content_hash, error.problem, error.reason,
                                        error.retry_after, error.suspect_file)
        kind = "oom" if is_out_of_memory(error) else "error"
        log.error("transcription failed", exc_info=error)
        return FileFailed(content_hash, f"{type(error).__name__}: {error}", kind=kind)

    def transcribe_file(self, content_hash: str, path: str) -> None:
        """One file through every stage, in turn (the remote ASR server's route, and a
        session used on its own); the worker's scheduler overlaps files instead."""
        if self.options.asr_backend == "openai":
            self._transcribe_remote(content_hash, path)
            return
        prepared = self.prepare(content_hash, path)
        if prepared is None:
            return
        batcher = CrossFileBatcher()
        batcher.add(prepared)
        self.emit(StageChanged(content_hash, FileState.TRANSCRIBING))
        while batch := batcher.next_batch(max(1, self.options.batch_size)):
            try:
                results = self.transcribe_batch(batch)
            except Exception as error:
                # A CUDA OOM fails the attempt: after one, CTranslate2's CUDA state is not
                # fit for a retry in this process (seen on an H100: "invalid device
                # ordinal"), so the pipeline retries the file in a fresh worker.
                self.emit(self.failure_event(content_hash, error))
                self.release_cached_memory()
                return
            for item, result in zip(batch, results, strict=True):
                batcher.record(item, result)
                self.emit_transcribed(item, result)
        self.finish(prepared)

    def _transcribe_remote(self, content_hash: str, path: str) -> None:
        """Speech to text on an OpenAI-compatible server (vLLM serving Whisper, Triton), with
        word timestamps where it returns them; alignment and diarization still run here."""
        try:
            audio = self._decode(content_hash, path)
            self.emit(StageChanged(content_hash, FileState.TRANSCRIBING))
            result = remote_asr.transcribe(
                self.options, path,
                lambda index, segment: self.emit(
                    SegmentTranscribed(content_hash, to_stored_segment(index, segment))))
            self._finish_result(content_hash, result, audio)
        except Exception as error:
            self.emit(self.failure_event(content_hash, error))
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
        with self.torch_stage("align"):
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
                with self.torch_stage("diarize"):
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

