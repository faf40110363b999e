"""Remote speech-to-text on an OpenAI-compatible server (the shape vLLM serves Whisper in),
with alignment run locally by WhisperX on the returned segments; same queue, store, outputs."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from tests.services.openai_server import FakeOpenAIServer
from tests.services.speech import Dialogue
from tui.transcripts.events import FileDone, FileFailed, SegmentTranscribed
from tui.transcripts.options import TranscribeOptions
from tui.transcripts.pipeline import TranscriptPipeline
from tui.transcripts.store import FileState, TranscriptStore

WHISPER = "openai/whisper-large-v3"


@pytest.fixture
def whisper_server() -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer() as server:
        server.add_model(WHISPER)
        yield server


def remote_options(cpu_options: TranscribeOptions, server: FakeOpenAIServer,
                   **changes: object) -> TranscribeOptions:
    return replace(cpu_options, asr_backend="openai", remote_url=server.base_url,
                   remote_model=WHISPER, **changes)  # type: ignore[arg-type]


def test_remote_segments_are_aligned_locally_and_written(
        tmp_path: Path, dialogue: Dialogue, cpu_options: TranscribeOptions,
        whisper_server: FakeOpenAIServer, align_model_dir: Path,
        offline_punkt: Path | None) -> None:
    options = remote_options(cpu_options, whisper_server, align=True,
                             align_model=str(align_model_dir))
    store = TranscriptStore(tmp_path / "state.db")
    pipeline = TranscriptPipeline(store, options, tmp_path / "out")
    events: list[object] = []
    pipeline.subscribe(events.append)
    audio = tmp_path / "meeting.wav"
    audio.write_bytes(dialogue.path.read_bytes())
    queued = pipeline.add_file(audio)
    try:
        outcome = pipeline.drain()[0]
    finally:
        pipeline.stop()
    assert isinstance(outcome, FileDone) and outcome.language == "en"
    (request,) = whisper_server.transcriptions
    assert request["fields"]["response_format"] == ["verbose_json"]
    assert request["fields"]["timestamp_granularities[]"] == ["segment", "word"]
    assert request["bytes"] == audio.stat().st_size  # the recording itself was uploaded
    streamed = [e for e in events if isinstance(e, SegmentTranscribed)]
    assert [e.segment.text for e in streamed] == [
        "The quarterly budget meeting starts at nine.",
        "Please send the contract to the legal team."]
    segments = store.segments(queued.content_hash)
    assert segments and all(s.words for s in segments)  # word timings after local alignment
    for segment in segments:
        for word in segment.words:
            if word.get("start") is not None:
                assert segment.start - 1e-3 <= word["start"] <= word["end"] <= segment.end + 1e-3
    document = json.loads((tmp_path / "out" / "meeting.json").read_text())
    assert "budget" in document["segments"][0]["text"]


def test_a_model_the_server_does_not_have_fails_the_file_clearly(
        tmp_path: Path, dialogue: Dialogue, cpu_options: TranscribeOptions,
        whisper_server: FakeOpenAIServer) -> None:
    whisper_server.remove_model(WHISPER)
    store = TranscriptStore(tmp_path / "state.db")
    pipeline = TranscriptPipeline(store, remote_options(cpu_options, whisper_server),
                                  tmp_path / "out")
    audio = tmp_path / "meeting.wav"
    audio.write_bytes(dialogue.path.read_bytes())
    queued = pipeline.add_file(audio)
    try:
        outcome = pipeline.drain()[0]
    finally:
        pipeline.stop()
    assert isinstance(outcome, FileFailed)
    assert "does not exist" in outcome.reason
    record = store.get(queued.content_hash)
    assert record is not None and record.state is FileState.FAILED
