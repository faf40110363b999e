"""The on-disk tiny diarization pipeline loads by path through whisperx, offline."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

from tests.services.speech import Dialogue, two_speaker_dialogue
from tests.services.tiny_pipeline_dir import save_tiny_diarization_pipeline

pytest.importorskip("whisperx")
pytest.importorskip("pyannote.audio")

LINES = [
    ("en-us", "The quarterly budget meeting starts at nine."),
    ("en-gb+m3", "Please send the contract to the legal team."),
]

# Runs in a fresh, isolated interpreter (python -I: no PYTHONPATH, cwd not on sys.path, so
# nothing from this repository is importable).  Every socket connection or DNS lookup is
# recorded and refused, and reported back with the results as one JSON line.
_CHILD = textwrap.dedent(
    """
    import json, socket, sys

    attempts = []

    def _refuse(what):
        def refuse(*args, **kwargs):
            attempts.append(f"{what}{args[1:2] if what == 'connect' else args[:1]}")
            raise OSError(f"network disabled in this test ({what})")
        return refuse

    socket.socket.connect = _refuse("connect")
    socket.socket.connect_ex = _refuse("connect")
    socket.getaddrinfo = _refuse("getaddrinfo")
    socket.create_connection = _refuse("create_connection")

    pipeline_dir, wav, turns_json = sys.argv[1:4]
    import whisperx
    from whisperx.diarize import DiarizationPipeline

    audio = whisperx.load_audio(wav)  # 16 kHz float32 numpy array
    dp = DiarizationPipeline(model_name=pipeline_dir, device="cpu")
    df = dp(audio)
    segments = [{"start": t["start"], "end": t["end"], "text": t["text"]}
                for t in json.loads(turns_json)]
    result = whisperx.assign_word_speakers(df, {"segments": segments})
    print("RESULT " + json.dumps({
        "audio_dtype": str(audio.dtype),
        "model_class": type(dp.model).__name__,
        "columns": list(df.columns),
        "rows": [[float(s), float(e), str(spk)]
                 for s, e, spk in zip(df["start"], df["end"], df["speaker"])],
        "segment_speakers": [seg.get("speaker") for seg in result["segments"]],
        "network_attempts": attempts,
    }))
    """
)


@pytest.fixture(scope="module")
def dialogue(tmp_path_factory: pytest.TempPathFactory) -> Dialogue:
    return two_speaker_dialogue(tmp_path_factory.mktemp("tiny-dir-audio") / "dialogue.wav",
                                LINES)


def _run_child(pipeline_dir: Path, dialogue: Dialogue, hf_home: Path) -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("HF_", "HUGGINGFACE_", "TRANSFORMERS_", "PYTHON"))}
    env.update(HF_HUB_OFFLINE="1", HF_HOME=str(hf_home), PYANNOTE_METRICS_ENABLED="false")
    turns = json.dumps([{"start": t.start, "end": t.end, "text": t.text}
                        for t in dialogue.turns])
    proc = subprocess.run(
        [sys.executable, "-I", "-c", _CHILD, str(pipeline_dir), str(dialogue.path), turns],
        cwd=hf_home.parent, env=env, capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
    assert len(lines) == 1, proc.stdout[-4000:] + proc.stderr[-4000:]
    return json.loads(lines[0].removeprefix("RESULT "))


@pytest.mark.parametrize("segmentation", ["whisperx-vad", "random-powerset"])
def test_saved_pipeline_loads_through_whisperx_offline(
    tmp_path: Path, dialogue: Dialogue, segmentation: Any
) -> None:
    pipeline_dir = save_tiny_diarization_pipeline(tmp_path / "pipeline",
                                                  segmentation=segmentation)
    hf_home = tmp_path / "hf-home"
    hf_home.mkdir()

    out = _run_child(pipeline_dir, dialogue, hf_home)

    assert out["network_attempts"] == []
    assert list(hf_home.rglob("*")) == []  # nothing downloaded or cached
    assert out["audio_dtype"] == "float32"
    assert out["model_class"] == "SpeakerDiarization"
    assert out["columns"] == ["segment", "label", "speaker", "start", "end"]
    rows = out["rows"]
    assert rows
    assert all(start < end for start, end, _ in rows)
    speakers = {speaker for _, _, speaker in rows}
    assert speakers <= {"SPEAKER_00", "SPEAKER_01", "SPEAKER_02"}
    # every dialogue line overlaps some detected turn, so every segment gets a speaker
    assert len(out["segment_speakers"]) == len(dialogue.turns)
    assert all(speaker in speakers for speaker in out["segment_speakers"])
    if segmentation == "whisperx-vad":
        # trained segmentation: turns lie within the audio (random-powerset overshoots it)
        assert all(start >= 0.0 and end <= dialogue.duration + 0.1 for start, end, _ in rows)


def test_saved_pipeline_is_small_fast_and_self_contained(tmp_path: Path) -> None:
    import yaml
    from pyannote.audio import Model

    save_tiny_diarization_pipeline(tmp_path / "warm-up")  # first call pays for the imports
    started = time.perf_counter()
    for segmentation in ("whisperx-vad", "random-powerset"):
        save_tiny_diarization_pipeline(tmp_path / segmentation, segmentation=segmentation)
    assert time.perf_counter() - started < 5.0

    for segmentation in ("whisperx-vad", "random-powerset"):
        directory = tmp_path / segmentation
        size = sum(p.stat().st_size for p in directory.rglob("*") if p.is_file())
        assert size < 3_000_000
        config = yaml.safe_load((directory / "config.yaml").read_text())
        assert config["pipeline"]["name"] == "pyannote.audio.pipelines.SpeakerDiarization"
        params = config["pipeline"]["params"]
        assert params["embedding"] == "$model/embedding"
        assert params["plda"] == "$model/plda"
        if segmentation == "random-powerset":
            assert params["segmentation"] == "$model/segmentation"
        else:  # whisperx's own trained model, by absolute path
            assert Path(params["segmentation"]).is_absolute()
            assert Path(params["segmentation"]).is_file()

    # The compacted embedding checkpoint reloads (strictly) into full-size weights.
    embedding = Model.from_pretrained(str(tmp_path / "whisperx-vad" / "embedding"))
    assert type(embedding).__name__ == "WeSpeakerResNet34"
    assert embedding.dimension == 256
    assert sum(p.numel() for p in embedding.parameters()) > 5_000_000

    # Same seed, same weights; another seed, other weights.
    save_tiny_diarization_pipeline(tmp_path / "seed1", seed=1)
    again = Model.from_pretrained(str(tmp_path / "warm-up" / "embedding"))
    other = Model.from_pretrained(str(tmp_path / "seed1" / "embedding"))
    name, weight = next((n, p) for n, p in embedding.named_parameters() if p.dim() == 4)
    assert (weight == dict(again.named_parameters())[name]).all()
    assert not (weight == dict(other.named_parameters())[name]).all()
