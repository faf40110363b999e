"""Remote speech-to-text on an OpenAI-compatible server (the shape vLLM serves Whisper in),
with alignment run locally by WhisperX on the returned segments; same queue, store, outputs.

And a server that does not answer — port closed, 503, 429 — versus one that answers "no"
(404, 401, 400): the first pauses the queue and retries, the second fails the file."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import pytest

from tests.conftest import run_cli
from tests.services.openai_server import FakeOpenAIServer
from tests.services.speech import Dialogue, silence
from tests.waiting import wait_until
from tui.transcripts.backoff import RetryBackoff
from tui.transcripts.events import (
    AsrPaused,
    AsrResumed,
    FileDone,
    FileFailed,
    FileQueued,
    SegmentTranscribed,
)
from tui.transcripts.options import TranscribeOptions
from tui.transcripts.pipeline import MAX_SUSPECT_TRIES, TranscriptPipeline
from tui.transcripts.records import AudioFileRecord, FileState
from tui.transcripts.store import TranscriptStore

WHISPER = "openai/whisper-large-v3"
TRANSCRIPTIONS = "/v1/audio/transcriptions"


@pytest.fixture
def whisper_server() -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer() as server:
        server.add_model(WHISPER)
        yield server


@dataclass
class StoppedServer:
    """A server that was serving and is now down: its port refuses connections until
    `start_again()` serves the same models there again."""

    server: FakeOpenAIServer
    port: int
    base_url: str

    def start_again(self) -> FakeOpenAIServer:
        return self.server.start(self.port)


@pytest.fixture
def stopped_server() -> Iterator[StoppedServer]:
    server = FakeOpenAIServer().start()
    server.add_model(WHISPER)
    stopped = StoppedServer(server, server.port, server.base_url)
    server.stop()
    yield stopped
    server.stop()


def remote_options(cpu_options: TranscribeOptions, server: FakeOpenAIServer | StoppedServer,
                   **changes: object) -> TranscribeOptions:
    return replace(cpu_options, asr_backend="openai", remote_url=server.base_url,
                   remote_model=WHISPER, **changes)  # type: ignore[arg-type]


def state(store: TranscriptStore, digest: str) -> AudioFileRecord:
    record = store.get(digest)
    assert record is not None
    return record


def fast_backoff(initial: float = 0.1, maximum: float = 2.0) -> RetryBackoff:
    """The dashboard's schedule (doubling, jitter), shrunk so tests take seconds."""
    return RetryBackoff(initial=initial, maximum=maximum)


def copy_of(dialogue: Dialogue, target: Path) -> Path:
    target.write_bytes(dialogue.path.read_bytes())
    return target


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


def test_a_server_that_is_down_pauses_the_queue_until_it_is_back(
        tmp_path: Path, dialogue: Dialogue, cpu_options: TranscribeOptions,
        stopped_server: StoppedServer) -> None:
    url = stopped_server.base_url
    store = TranscriptStore(tmp_path / "state.db")
    pipeline = TranscriptPipeline(store, remote_options(cpu_options, stopped_server),
                                  tmp_path / "out", backoff=fast_backoff())
    events: list[object] = []
    pipeline.subscribe(events.append)
    first = pipeline.add_file(copy_of(dialogue, tmp_path / "meeting.wav"))
    second = pipeline.add_file(silence(tmp_path / "quiet.wav", 1.0))
    pipeline.start()
    try:
        def pauses() -> list[AsrPaused]:
            return [e for e in events if isinstance(e, AsrPaused)]

        wait_until(lambda: len(pauses()) >= 3, 60, "three refused tries")
        paused = pauses()
        assert paused[0].status_text.startswith(f"remote ASR unreachable ({url}): retrying in")
        assert "refused" in paused[0].reason.lower()
        assert {p.content_hash for p in paused} == {first.content_hash}  # the head only
        assert paused[0].retry_in < paused[1].retry_in < paused[2].retry_in  # backing off
        assert not any(isinstance(e, FileFailed) for e in events)
        # Between tries the head is queued with the reason; the tries are not counted.
        head = wait_until(lambda: (record := state(store, first.content_hash)).state
                          is FileState.QUEUED and record, 10, "the head queued between tries")
        assert head.attempts == 0
        assert head.detail.startswith("waiting for the remote ASR server:")
        waiting = state(store, second.content_hash)
        assert waiting.state is FileState.QUEUED and waiting.attempts == 0  # never tried

        server = stopped_server.start_again()
        wait_until(lambda: all(state(store, f.content_hash).state is FileState.DONE
                               for f in (first, second)), 60, "both files to be done")
    finally:
        pipeline.stop()
    # In order, once each, nothing failed.
    sizes = [(tmp_path / "meeting.wav").stat().st_size, (tmp_path / "quiet.wav").stat().st_size]
    assert [t["bytes"] for t in server.transcriptions] == sizes
    assert [type(e) for e in events].count(AsrResumed) == 1
    assert not any(isinstance(e, FileFailed) for e in events)
    assert (tmp_path / "out" / "meeting.json").is_file()
    assert (tmp_path / "out" / "quiet.json").is_file()
    assert state(store, first.content_hash).attempts == 1


@dataclass
class RemoteRun:
    store: TranscriptStore
    pipeline: TranscriptPipeline
    queued: FileQueued
    outcomes: list[FileDone | FileFailed]
    events: list[object]


def drain_one_remote_file(tmp_path: Path, dialogue: Dialogue,
                          options: TranscribeOptions) -> RemoteRun:
    """One recording through a pipeline on the remote ASR, waiting up to 30 s for it."""
    store = TranscriptStore(tmp_path / "state.db")
    pipeline = TranscriptPipeline(store, options, tmp_path / "out", backoff=fast_backoff())
    events: list[object] = []
    pipeline.subscribe(events.append)
    queued = pipeline.add_file(copy_of(dialogue, tmp_path / "meeting.wav"))
    assert isinstance(queued, FileQueued)
    try:
        outcomes = pipeline.drain(wait_for_server=30)
    finally:
        pipeline.stop()
    return RemoteRun(store, pipeline, queued, outcomes, events)


def test_503_and_429_are_retried_honouring_retry_after(
        tmp_path: Path, dialogue: Dialogue, cpu_options: TranscribeOptions,
        whisper_server: FakeOpenAIServer) -> None:
    whisper_server.fail_next(503, "Service Unavailable", path=TRANSCRIPTIONS)
    whisper_server.fail_next(503, "Service Unavailable", path=TRANSCRIPTIONS,
                             headers={"Retry-After": "1"})
    whisper_server.fail_next(429, "Too many requests", path=TRANSCRIPTIONS,
                             headers={"Retry-After": "1"})
    run = drain_one_remote_file(tmp_path, dialogue, remote_options(cpu_options, whisper_server))
    store, queued, outcomes, events = run.store, run.queued, run.outcomes, run.events
    assert [type(o) for o in outcomes] == [FileDone]
    paused = [e for e in events if isinstance(e, AsrPaused)]
    assert [p.problem for p in paused] == ["unavailable, HTTP 503", "unavailable, HTTP 503",
                                           "busy, HTTP 429"]
    assert paused[0].retry_in <= 0.1  # the schedule
    assert [p.retry_in for p in paused[1:]] == [1.0, 1.0]  # the server's Retry-After
    assert "Service Unavailable" in paused[0].reason
    assert sum(r.path == TRANSCRIPTIONS for r in whisper_server.requests) == 4
    assert len(whisper_server.transcriptions) == 1
    assert [type(e) for e in events].count(AsrResumed) == 1
    record = store.get(queued.content_hash)
    assert record is not None and record.state is FileState.DONE and record.attempts == 1


@pytest.mark.parametrize("refusal", ["model missing (404)", "bad key (401)", "bad file (400)"])
def test_an_answer_about_the_request_fails_the_file_without_retrying(
        tmp_path: Path, dialogue: Dialogue, cpu_options: TranscribeOptions,
        refusal: str, monkeypatch: pytest.MonkeyPatch) -> None:
    with FakeOpenAIServer(api_key="right-key") as server:
        server.add_model(WHISPER)
        monkeypatch.setenv("TEST_ASR_KEY", "right-key")
        if refusal.endswith("(404)"):
            server.remove_model(WHISPER)
            expected = f"The model `{WHISPER}` does not exist."
        elif refusal.endswith("(401)"):
            monkeypatch.setenv("TEST_ASR_KEY", "wrong-key")
            expected = "Unauthorized"
        else:
            server.fail_next(400, "Invalid or unsupported audio file", path=TRANSCRIPTIONS)
            expected = "Invalid or unsupported audio file"
        options = remote_options(cpu_options, server, remote_api_key_env="TEST_ASR_KEY")
        run = drain_one_remote_file(tmp_path, dialogue, options)
        store, queued, outcomes, events = run.store, run.queued, run.outcomes, run.events
        assert sum(r.path == TRANSCRIPTIONS for r in server.requests) == 1
    assert len(outcomes) == 1 and isinstance(outcomes[0], FileFailed)
    assert expected in outcomes[0].reason
    assert not any(isinstance(e, AsrPaused) for e in events)
    record = store.get(queued.content_hash)
    assert record is not None and record.state is FileState.FAILED
    assert record.error is not None and expected in record.error


def test_a_500_is_retried_a_few_times_then_fails_the_file(
        tmp_path: Path, dialogue: Dialogue, cpu_options: TranscribeOptions,
        whisper_server: FakeOpenAIServer) -> None:
    whisper_server.fail_next(500, "EngineCore encountered an issue", path=TRANSCRIPTIONS,
                             times=MAX_SUSPECT_TRIES)
    run = drain_one_remote_file(tmp_path, dialogue, remote_options(cpu_options, whisper_server))
    pipeline, outcomes, events = run.pipeline, run.outcomes, run.events
    assert len(outcomes) == 1 and isinstance(outcomes[0], FileFailed)
    assert outcomes[0].reason.endswith(": HTTP 500: EngineCore encountered an issue")
    assert len([e for e in events if isinstance(e, AsrPaused)]) == MAX_SUSPECT_TRIES - 1
    assert sum(r.path == TRANSCRIPTIONS for r in whisper_server.requests) == MAX_SUSPECT_TRIES
    assert not pipeline.paused  # the next file goes straight on


def test_a_restart_while_the_server_is_down_keeps_the_file_queued(
        tmp_path: Path, dialogue: Dialogue, cpu_options: TranscribeOptions,
        stopped_server: StoppedServer) -> None:
    options = remote_options(cpu_options, stopped_server)
    database = tmp_path / "state.db"
    store = TranscriptStore(database)
    pipeline = TranscriptPipeline(store, options, tmp_path / "out", backoff=fast_backoff())
    queued = pipeline.add_file(copy_of(dialogue, tmp_path / "meeting.wav"))
    try:
        assert pipeline.drain() == []  # one try, refused: nothing done, nothing failed
        assert pipeline.paused
    finally:
        pipeline.stop()
    store.close()

    # The app starts again with the server still down: the file is still queued, and the
    # new pipeline waits for the server too.
    store = TranscriptStore(database)
    record = state(store, queued.content_hash)
    assert record.state is FileState.QUEUED and record.attempts == 0
    assert "refused" in record.detail.lower()
    pipeline = TranscriptPipeline(store, options, tmp_path / "out", backoff=fast_backoff())
    events: list[object] = []
    pipeline.subscribe(events.append)
    pipeline.start()
    try:
        wait_until(lambda: any(isinstance(e, AsrPaused) for e in events), 60,
                   "the restarted pipeline to find the server down")
        server = stopped_server.start_again()
        wait_until(lambda: state(store, queued.content_hash).state is FileState.DONE, 60,
                   "the file to be done once the server is up")
    finally:
        pipeline.stop()
    assert len(server.transcriptions) == 1
    assert not any(isinstance(e, FileFailed) for e in events)
    assert (tmp_path / "out" / "meeting.json").is_file()
    store.close()


def test_transcribe_cli_gives_up_on_a_server_that_is_down_with_exit_75(
        tmp_path: Path, dialogue: Dialogue, stopped_server: StoppedServer,
        user_env: dict[str, str]) -> None:
    url = stopped_server.base_url
    config = tmp_path / "config.toml"
    config.write_text(f"""
[whisperx]
asr_backend = "openai"
remote_url = "{url}"
remote_model = "{WHISPER}"
""")
    audio = copy_of(dialogue, tmp_path / "meeting.wav")
    result = run_cli(["--config", str(config), "transcribe", str(audio), "--no_align",
                      "--no-diarize", "-o", str(tmp_path / "out"), "--remote_wait", "0",
                      "--json"], user_env)
    assert result.returncode == 75, result.stderr[-2000:]
    (entry,) = json.loads(result.stdout)
    assert entry["state"] == "retry-later" and entry["file"] == str(audio)
    assert f"remote ASR unreachable ({url})" in entry["error"]
    assert "did not answer, and the next try would fall after --remote_wait 0 s" \
        in result.stderr
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())
