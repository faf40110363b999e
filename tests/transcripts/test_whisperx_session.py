"""WhisperX stages in-process: diarization on a tiny random pyannote pipeline, OOM backoff."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from tests.services.speech import Dialogue
from tests.services.tiny_models import tiny_diarization_pipeline, whisperx_diarization_from
from tui.transcripts.events import (
    BatchSizeReduced,
    FileDone,
    FileFailed,
    SegmentsRefined,
    StageChanged,
)
from tui.transcripts.options import TranscribeOptions
from tui.transcripts.store import FileState
from tui.transcripts.whisperx_worker import WhisperxSession, is_out_of_memory


def test_alignment_and_diarization_label_every_segment_and_word(
        tmp_path: Path, dialogue: Dialogue, cpu_options: TranscribeOptions,
        align_model_dir: Path, offline_punkt: Path | None) -> None:
    events: list[object] = []
    options = replace(cpu_options, align=True, align_model=str(align_model_dir), diarize=True)
    session = WhisperxSession(options, events.append)
    # The real diarization weights are gated and offline here: a random pipeline of the
    # right architecture (segmentation-3.0 PyanNet + WeSpeaker ResNet + PLDA/VBx) stands in.
    session._diarize = whisperx_diarization_from(tiny_diarization_pipeline(tmp_path))
    session.transcribe_file("digest", str(dialogue.path))

    done = events[-1]
    assert isinstance(done, FileDone), events[-1]
    stages = [e.state for e in events if isinstance(e, StageChanged)]
    assert stages == [FileState.DECODING, FileState.TRANSCRIBING, FileState.ALIGNING,
                      FileState.DIARIZING]
    diarized = [e for e in events
                if isinstance(e, SegmentsRefined) and e.state is FileState.DIARIZING]
    assert len(diarized) == 1
    segments = diarized[0].segments
    assert segments and all(s.speaker and s.speaker.startswith("SPEAKER_") for s in segments)
    for segment in done.result["segments"]:
        assert segment["speaker"].startswith("SPEAKER_")
        for word in segment.get("words", []):
            if word.get("start") is not None:
                assert "speaker" in word


class _FakeOom(RuntimeError):
    pass


def test_cuda_out_of_memory_halves_the_batch_until_it_fits(
        cpu_options: TranscribeOptions) -> None:
    events: list[object] = []
    session = WhisperxSession(replace(cpu_options, batch_size=16), events.append)
    tried: list[int] = []

    def transcribe(content_hash: str, audio: Any, batch_size: int) -> dict[str, Any]:
        tried.append(batch_size)
        if batch_size > 2:
            # CTranslate2's wording for a CUDA allocation failure.
            raise _FakeOom("CUDA failed with error out of memory")
        return {"segments": [], "language": "en"}

    session._stream_transcribe = transcribe  # type: ignore[method-assign]
    session.release_cached_memory = lambda: None  # type: ignore[method-assign]
    assert session._transcribe_with_backoff("h", None) == {"segments": [], "language": "en"}
    assert tried == [16, 8, 4, 2]
    assert [e.batch_size for e in events if isinstance(e, BatchSizeReduced)] == [8, 4, 2]


def test_out_of_memory_at_batch_one_fails_the_file_only(cpu_options: TranscribeOptions,
                                                        dialogue: Dialogue) -> None:
    events: list[object] = []
    session = WhisperxSession(replace(cpu_options, batch_size=1), events.append)

    def always_oom(*_: Any) -> dict[str, Any]:
        raise _FakeOom("CUDA out of memory. Tried to allocate 2.00 GiB")

    session._stream_transcribe = always_oom  # type: ignore[method-assign]
    session.transcribe_file("h", str(dialogue.path))
    failed = events[-1]
    assert isinstance(failed, FileFailed) and failed.kind == "oom"


def test_out_of_memory_at_batch_one_reloads_whisper_in_int8(
        cpu_options: TranscribeOptions) -> None:
    events: list[object] = []
    session = WhisperxSession(replace(cpu_options, batch_size=8), events.append)
    session._device, session._compute_type = "cuda", "float16"  # as on a GPU box
    session._asr = object()  # the loaded float16 model
    tried: list[tuple[str, int]] = []

    def transcribe(content_hash: str, audio: Any, batch_size: int) -> dict[str, Any]:
        tried.append((session.compute_type, batch_size))
        if session.compute_type == "float16" or batch_size > 4:
            raise _FakeOom("CUDA failed with error out of memory")
        return {"segments": [], "language": "en"}

    session._stream_transcribe = transcribe  # type: ignore[method-assign]
    session.release_cached_memory = lambda: None  # type: ignore[method-assign]
    assert session._transcribe_with_backoff("h", None) == {"segments": [], "language": "en"}
    assert tried == [("float16", 8), ("float16", 4), ("float16", 2), ("float16", 1),
                     ("int8_float16", 8), ("int8_float16", 4)]
    assert session._asr is None  # reloaded with the new compute type on next use
    reduced = [(e.batch_size, e.compute_type) for e in events if isinstance(e, BatchSizeReduced)]
    assert reduced == [(4, None), (2, None), (1, None), (8, "int8_float16"), (4, None)]


def test_diarization_out_of_memory_halves_pyannotes_batches(
        tmp_path: Path, dialogue: Dialogue, cpu_options: TranscribeOptions) -> None:
    events: list[object] = []
    session = WhisperxSession(replace(cpu_options, align=False, diarize=True), events.append)
    diarization = whisperx_diarization_from(tiny_diarization_pipeline(tmp_path))
    pyannote_pipeline = diarization.model
    real_apply = pyannote_pipeline.apply
    batch_sizes: list[tuple[int, int]] = []

    def apply(*args: Any, **kwargs: Any) -> Any:
        batch_sizes.append((pyannote_pipeline.embedding_batch_size,
                            pyannote_pipeline.segmentation_batch_size))
        if pyannote_pipeline.embedding_batch_size > 2:
            raise _FakeOom("CUDA out of memory. Tried to allocate 1.20 GiB")
        return real_apply(*args, **kwargs)

    pyannote_pipeline.apply = apply
    session._diarize = diarization
    session.release_cached_memory = lambda: None  # type: ignore[method-assign]
    session.transcribe_file("digest", str(dialogue.path))
    done = events[-1]
    assert isinstance(done, FileDone), done
    assert batch_sizes == [(8, 8), (4, 4), (2, 2)]
    assert all(s["speaker"].startswith("SPEAKER_") for s in done.result["segments"])


@pytest.mark.parametrize(("error", "expected"), [
    (RuntimeError("CUDA failed with error out of memory"), True),
    (RuntimeError("CUDA out of memory. Tried to allocate 20.00 MiB"), True),
    (RuntimeError("shape mismatch"), False),
    (ValueError("out of memory"), False),
])
def test_out_of_memory_detection(error: Exception, expected: bool) -> None:
    assert is_out_of_memory(error) is expected


def test_cpu_runs_int8_when_float16_is_asked(cpu_options: TranscribeOptions) -> None:
    session = WhisperxSession(replace(cpu_options, compute_type="float16"), lambda _: None)
    assert session.device == "cpu" and session.compute_type == "int8"
