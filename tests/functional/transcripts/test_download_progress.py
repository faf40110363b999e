"""A model the worker downloads on demand reports its progress: faster-whisper's own download
(the one `whisperx.load_model` makes, with its progress bars turned off), wrapped in
`downloads_reported`, from a model hub on loopback, in a fresh process (huggingface_hub reads
HF_ENDPOINT when imported)."""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
from pathlib import Path

from tests.services.model_hub import ModelHub
from tui.transcripts.events import ModelDownload

WORKER_SIDE = """
import pickle, sys
from faster_whisper import WhisperModel
from tui.transcripts.worker.download_progress import downloads_reported

events = []
with downloads_reported(events.append, "tiny.en"):
    model = WhisperModel("tiny.en", device="cpu", compute_type="int8", download_root=sys.argv[1])
sys.stdout.buffer.write(pickle.dumps((model.model.is_multilingual, events)))
"""


def test_an_on_demand_download_in_the_worker_sends_its_progress(
        tmp_path: Path, tiny_whisper_model_dir: Path) -> None:
    env = {**os.environ, "HF_HOME": str(tmp_path / "hf-home"), "HF_HUB_DISABLE_TELEMETRY": "1"}
    env.pop("HF_HUB_OFFLINE", None)
    with ModelHub() as hub:
        hub.add_repo("Systran/faster-whisper-tiny.en", tiny_whisper_model_dir)
        env["HF_ENDPOINT"] = hub.host
        run = subprocess.run([sys.executable, "-c", WORKER_SIDE, str(tmp_path / "models")],
                             capture_output=True, env=env, timeout=300, check=False)
    assert run.returncode == 0, run.stderr.decode()[-2000:]
    assert run.stderr.decode().count("%|") == 0  # no progress bars drawn by the libraries
    multilingual, events = pickle.loads(run.stdout)
    assert multilingual is False  # the downloaded model loaded
    assert all(isinstance(event, ModelDownload) and event.model == "tiny.en" for event in events)
    weights = [event for event in events if event.file == "model.bin"]
    size = (tiny_whisper_model_dir / "model.bin").stat().st_size
    assert {event.total_bytes for event in weights} == {size}
    percents = [int(event.percent or 0) for event in weights]
    assert percents == sorted(percents) and len(set(percents)) >= 5 and percents[-1] == 100
    assert {event.file for event in events if event.finished} == {
        "config.json", "model.bin", "tokenizer.json", "vocabulary.txt"}
