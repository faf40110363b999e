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
from tui.transcripts.records import FileState
from tui.transcripts.worker.out_of_memory import is_out_of_memory
from tui.transcripts.worker.session import WhisperxSession


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


def test_out_of_memory_fails_the_attempt_for_a_fresh_worker(cpu_options: TranscribeOptions,
                                                        dialogue: Dialogue) -> None:
    events: list[object] = []
    session = WhisperxSession(replace(cpu_options, batch_size=1), events.append)

    def always_oom(*_: Any) -> dict[str, Any]:
        raise _FakeOom("CUDA out of memory. Tried to allocate 2.00 GiB")

    session.transcribe_batch = always_oom  # type: ignore[method-assign]
    session.transcribe_file("h", str(dialogue.path))
    failed = events[-1]
    assert isinstance(failed, FileFailed) and failed.kind == "oom"


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
    assert [e.batch_size for e in events if isinstance(e, BatchSizeReduced)] == [4, 2]
    assert all(s["speaker"].startswith("SPEAKER_") for s in done.result["segments"])


@pytest.mark.parametrize(("error", "expected"), [
    (RuntimeError("CUDA failed with error out of memory"), True),
    (RuntimeError("CUDA out of memory. Tried to allocate 20.00 MiB"), True),
    (RuntimeError("CUDA error: CUBLAS_STATUS_ALLOC_FAILED when calling `cublasCreate(handle)`"),
     True),
    (RuntimeError("shape mismatch"), False),
    (ValueError("out of memory"), False),
])
def test_out_of_memory_detection(error: Exception, expected: bool) -> None:
    assert is_out_of_memory(error) is expected


def test_cpu_runs_int8_when_float16_is_asked(cpu_options: TranscribeOptions) -> None:
    session = WhisperxSession(replace(cpu_options, compute_type="float16"), lambda _: None)
    assert session.device == "cpu" and session.compute_type == "int8"
