"""The transcript pipeline end to end with real WhisperX (tiny.en) in a real worker process."""

from __future__ import annotations

import json
import os
import signal
import time
from dataclasses import replace
from pathlib import Path

from tests.services.speech import Dialogue, corrupt_audio, silence, word_overlap
from tui.transcripts.events import (
    DuplicateSkipped,
    FileDone,
    FileFailed,
    SegmentsRefined,
    SegmentTranscribed,
    StageChanged,
    StepUnavailable,
)
from tui.transcripts.options import TranscribeOptions
from tui.transcripts.pipeline import TranscriptPipeline
from tui.transcripts.records import FileState
from tui.transcripts.store import TranscriptStore


def make_pipeline(tmp_path: Path, options: TranscribeOptions) -> tuple[TranscriptPipeline,
                                                                       list[object]]:
    store = TranscriptStore(tmp_path / "state.db")
    pipeline = TranscriptPipeline(store, options, tmp_path / "out")
    events: list[object] = []
    pipeline.subscribe(events.append)
    return pipeline, events


def copy_of(source: Path, target: Path) -> Path:
    target.write_bytes(source.read_bytes())
    return target


def check_outputs_parse(outputs: list[str]) -> None:
    by_suffix = {Path(p).suffix: Path(p) for p in outputs}
    assert set(by_suffix) == {".json", ".srt", ".vtt", ".txt", ".tsv", ".aud"}
    document = json.loads(by_suffix[".json"].read_text())
    assert document["segments"] and document["language"] == "en"
    srt = by_suffix[".srt"].read_text()
    assert srt.startswith("1\n") and " --> " in srt
    assert by_suffix[".vtt"].read_text().startswith("WEBVTT")
    tsv = by_suffix[".tsv"].read_text().splitlines()
    assert tsv[0] == "start\tend\ttext" and all(len(row.split("\t")) == 3 for row in tsv[1:])
    aud = by_suffix[".aud"].read_text().splitlines()
    assert aud and all(len(row.split("\t")) == 3 for row in aud)
    assert by_suffix[".txt"].read_text().strip()
    for path in by_suffix.values():  # staged atomically: no temp dirs left behind
        assert not any(p.name.startswith(".triage-tui-") for p in path.parent.iterdir())


def test_dialogue_streams_aligns_and_writes_every_format(
        tmp_path: Path, dialogue: Dialogue, cpu_options: TranscribeOptions,
        align_model_dir: Path, offline_punkt: Path | None) -> None:
    options = replace(cpu_options, align=True, align_model=str(align_model_dir), diarize=True,
                      output_formats=("all", "aud"))
    pipeline, events = make_pipeline(tmp_path, options)
    first = pipeline.add_file(copy_of(dialogue.path, tmp_path / "meeting.wav"))
    second = pipeline.add_file(copy_of(dialogue.path, tmp_path / "meeting-copy.wav"))
    assert isinstance(second, DuplicateSkipped) and second.content_hash == first.content_hash
    other = silence(tmp_path / "quiet.wav", 1.0)
    pipeline.add_file(other)
    try:
        outcomes = pipeline.drain()
    finally:
        pipeline.stop()
    done = [o for o in outcomes if isinstance(o, FileDone)]
    assert len(done) == 2, outcomes
    digest = first.content_hash

    # Streamed: the segment was published before the transcription stage ended.
    kinds = [type(e).__name__ for e in events if getattr(e, "content_hash", "") == digest]
    assert kinds.index("SegmentTranscribed") < kinds.index("SegmentsRefined")
    refined = [e for e in events if isinstance(e, SegmentsRefined) and e.content_hash == digest]
    assert [e.state for e in refined] == [FileState.TRANSCRIBING, FileState.ALIGNING]

    store = pipeline.store
    segments = store.segments(digest)
    transcript = " ".join(s.text for s in segments)
    assert word_overlap(dialogue.words, transcript) >= 0.6, transcript
    # Alignment ran (random weights: values arbitrary, structure exact).
    words = [w for s in segments for w in s.words]
    assert words
    for segment in segments:
        for word in segment.words:
            if word.get("start") is not None:
                assert segment.start - 1e-3 <= word["start"] <= word["end"] <= segment.end + 1e-3

    # Diarization weights cannot be had offline: said once, with the fix, not per file.
    unavailable = [e for e in events if isinstance(e, StepUnavailable)]
    assert [e.step for e in unavailable] == ["diarization"]
    assert "HF_TOKEN" in unavailable[0].fix

    record = store.get(digest)
    assert record is not None and record.state is FileState.DONE and record.language == "en"
    check_outputs_parse([str(p) for p in record.outputs])

    quiet = next(o for o in done if o.content_hash != digest)
    assert store.segments(quiet.content_hash) == []  # silence: a valid, empty transcript


def test_bad_files_fail_cleanly_and_the_queue_goes_on(
        tmp_path: Path, dialogue: Dialogue, cpu_options: TranscribeOptions) -> None:
    pipeline, _events = make_pipeline(tmp_path, cpu_options)
    corrupt = corrupt_audio(tmp_path / "broken.wav")
    empty = tmp_path / "empty.mp3"
    empty.write_bytes(b"")
    notes = tmp_path / "notes.wav"
    notes.write_text("this is text, not audio\n" * 50)
    good = copy_of(dialogue.path, tmp_path / "good.wav")
    for path in (corrupt, empty, notes, good):
        pipeline.add_file(path)
    try:
        outcomes = pipeline.drain()
    finally:
        pipeline.stop()
    failed = [o for o in outcomes if isinstance(o, FileFailed)]
    assert len(failed) == 3
    for outcome in failed:
        assert outcome.kind == "decode"
        assert outcome.reason  # a message a person can act on
    assert isinstance(outcomes[-1], FileDone)
    states = {r.path.name: r for r in pipeline.store.files()}
    assert states["broken.wav"].state is FileState.FAILED
    assert "not a readable media file" in (states["broken.wav"].error or "")
    assert states["good.wav"].state is FileState.DONE


def test_a_crashed_worker_costs_one_attempt_and_the_file_is_retried(
        tmp_path: Path, dialogue: Dialogue, cpu_options: TranscribeOptions) -> None:
    pipeline, _events = make_pipeline(tmp_path, cpu_options)
    killed: list[int] = []

    def kill_worker_once(event: object) -> None:
        if (isinstance(event, StageChanged) and event.state is FileState.TRANSCRIBING
                and not killed and pipeline.worker.pid):
            killed.append(pipeline.worker.pid)
            os.kill(pipeline.worker.pid, signal.SIGKILL)

    pipeline.subscribe(kill_worker_once)
    queued = pipeline.add_file(copy_of(dialogue.path, tmp_path / "talk.wav"))
    try:
        outcomes = pipeline.drain()
    finally:
        pipeline.stop()
    assert killed
    assert isinstance(outcomes[0], FileFailed) and outcomes[0].kind == "crash"
    assert "died" in outcomes[0].reason
    assert isinstance(outcomes[-1], FileDone)
    record = pipeline.store.get(queued.content_hash)
    assert record is not None and record.attempts == 2 and record.state is FileState.DONE
    # The retry replaced the first attempt's segments instead of adding to them.
    indexes = [s.index for s in pipeline.store.segments(queued.content_hash)]
    assert indexes == list(range(len(indexes)))


def test_restart_resumes_unfinished_and_never_redoes_finished(
        tmp_path: Path, dialogue: Dialogue, cpu_options: TranscribeOptions) -> None:
    first, _ = make_pipeline(tmp_path, cpu_options)
    finished = first.add_file(copy_of(dialogue.path, tmp_path / "finished.wav"))
    first.drain()
    first.stop()
    # A second file left mid-way, as a crash would leave it.
    interrupted = first.add_file(silence(tmp_path / "interrupted.wav", 2.0))
    first.store.set_state(interrupted.content_hash, FileState.TRANSCRIBING)
    first.store.close()

    second, events = make_pipeline(tmp_path, cpu_options)
    resumed = second.resume()
    assert resumed == [interrupted.content_hash]
    try:
        outcomes = second.drain()
    finally:
        second.stop()
    assert [o.content_hash for o in outcomes] == [interrupted.content_hash]
    assert not [e for e in events if isinstance(e, SegmentTranscribed)
                and e.content_hash == finished.content_hash]
    again = second.add_file(tmp_path / "finished.wav")
    assert isinstance(again, DuplicateSkipped) and again.original_state == "done"


def test_idle_worker_unloads_and_gives_its_memory_back(
        tmp_path: Path, dialogue: Dialogue, cpu_options: TranscribeOptions) -> None:
    from tui.transcripts.worker.handle import WorkerProcess

    worker = WorkerProcess(cpu_options, idle_unload_seconds=0.2)
    store = TranscriptStore(tmp_path / "state.db")
    pipeline = TranscriptPipeline(store, cpu_options, tmp_path / "out", worker)
    memory: list[object] = []
    pipeline.subscribe(lambda e: memory.append(e) if type(e).__name__ == "WorkerMemory" else None)
    pipeline.add_file(copy_of(dialogue.path, tmp_path / "a.wav"))
    try:
        assert isinstance(pipeline.drain()[0], FileDone)
        pid = worker.pid
        assert worker.is_running and pid is not None
        # The worker says which process holds the models, so the GPU panel can find it (once
        # the model is loaded, again after each file with its memory by allocator).
        assert len(memory) >= 2 and {getattr(m, "pid", None) for m in memory} == {pid}
        deadline = time.monotonic() + 5
        while worker.is_running and time.monotonic() < deadline:
            worker.unload_if_idle()
            time.sleep(0.05)
        assert not worker.is_running
        # The next file starts a fresh worker.
        pipeline.add_file(silence(tmp_path / "b.wav", 1.0))
        assert isinstance(pipeline.drain()[0], FileDone)
        assert worker.pid != pid
    finally:
        pipeline.stop()
