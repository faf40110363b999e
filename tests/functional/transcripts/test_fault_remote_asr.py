"""Remote ASR against a real third-party OpenAI-compatible server (faster-whisper-server
serving tiny.en): segments without word timestamps give subtitles with every segment in them
(not a 0-byte .srt and a bare WEBVTT), renaming a speaker keeps them, and the server's
`{"detail": {"error": {...}}}` envelope reaches the user as its message."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from tests.conftest import run_cli
from tests.functional.transcripts.faster_whisper_server import FasterWhisperServer
from tests.services.speech import Dialogue
from tui.transcripts.events import FileDone
from tui.transcripts.options import TranscribeOptions
from tui.transcripts.pipeline import TranscriptPipeline
from tui.transcripts.store import TranscriptStore
from tui.transcripts.worker import remote_asr


@pytest.fixture
def fws_installed() -> None:
    pytest.importorskip("faster_whisper_server",
                        reason="faster-whisper-server (the `test` extra) is not installed")


@pytest.fixture
def whisper_server(tmp_path: Path, tiny_model_dir: Path,
                   fws_installed: None) -> Iterator[FasterWhisperServer]:
    with FasterWhisperServer(tmp_path / "server", tiny_model_dir) as server:
        yield server


@pytest.fixture
def refusing_server(tmp_path: Path, tiny_model_dir: Path,
                    fws_installed: None) -> Iterator[FasterWhisperServer]:
    with FasterWhisperServer(tmp_path / "refusing", tiny_model_dir, refusing=True) as server:
        yield server


def test_fault_segments_without_words_give_full_subtitles_even_after_a_rename(
        tmp_path: Path, dialogue: Dialogue, cpu_options: TranscribeOptions,
        whisper_server: FasterWhisperServer) -> None:
    options = replace(cpu_options, asr_backend="openai", remote_url=whisper_server.base_url,
                      remote_model="whisper-1", align=False, output_formats=("all",))
    store = TranscriptStore(tmp_path / "state.db")
    out = tmp_path / "out"
    pipeline = TranscriptPipeline(store, options, out)
    audio = tmp_path / "meeting.wav"
    audio.write_bytes(dialogue.path.read_bytes())
    queued = pipeline.add_file(audio)
    try:
        (outcome,) = pipeline.drain()
    finally:
        pipeline.stop()
    assert isinstance(outcome, FileDone), (outcome, whisper_server.log()[-2000:])
    document = json.loads((out / "meeting.json").read_text())
    segments = document["segments"]
    assert segments and all("words" not in segment for segment in segments)
    assert "budget" in " ".join(s["text"] for s in segments).lower()

    def check_subtitles() -> None:
        srt = (out / "meeting.srt").read_text()
        vtt = (out / "meeting.vtt").read_text()
        assert srt.count(" --> ") == len(segments), srt
        assert vtt.startswith("WEBVTT") and vtt.count(" --> ") == len(segments), vtt
        for segment in segments:
            assert segment["text"].strip() in srt and segment["text"].strip() in vtt

    check_subtitles()
    # At the cause: the client gives no "words" list to a segment without word timings.
    direct = remote_asr.transcribe(options, str(audio), lambda index, segment: None)
    assert direct["segments"] and all("words" not in s for s in direct["segments"])
    # Renaming rebuilds the result from the store: it must keep the shape (no empty lists).
    assert store.segments(queued.content_hash)
    rewritten = pipeline.rename_speaker(queued.content_hash, "SPEAKER_00", "Ana")
    assert sorted(p.name for p in rewritten) == sorted(
        f"meeting.{ext}" for ext in ("json", "srt", "tsv", "txt", "vtt"))
    check_subtitles()
    store.close()


def test_fault_a_detail_error_envelope_reaches_the_user_as_its_message(
        tmp_path: Path, dialogue: Dialogue, refusing_server: FasterWhisperServer,
        user_env: dict[str, str]) -> None:
    config = tmp_path / "config.toml"
    config.write_text(f"""
[whisperx]
asr_backend = "openai"
remote_url = "{refusing_server.base_url}"
remote_model = "whisper-1"
""", encoding="utf-8")
    audio = tmp_path / "meeting.wav"
    audio.write_bytes(dialogue.path.read_bytes())
    result = run_cli(["--config", str(config), "transcribe", str(audio), "--no_align",
                      "--no-diarize", "-o", str(tmp_path / "out"), "--remote_wait", "0",
                      "--json"], user_env, timeout=180)
    assert result.returncode == 1, result.stderr[-2000:]
    (entry,) = json.loads(result.stdout)
    assert entry["state"] == "failed"
    assert entry["error"] == ("the ASR server refused the request: HTTP 400: unknown model: "
                              "whisper-1")
