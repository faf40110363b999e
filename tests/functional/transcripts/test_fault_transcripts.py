"""Nothing lost, nothing done twice — the transcript half: faults found by adversarial runs.

- A writer that pauses longer than `stable_seconds` without a rename: the file is transcribed
  once, from its final content; the versions seen on the way are superseded (a running one
  cancelled), never failed, and nothing is written for them.
- `transcribe a.wav a.mp3`: one stem, two recordings, two sets of outputs.
- A recording cut short (a WAV whose header says more, an MP3 whose Xing frame count says
  more) is transcribed with a warning, in `--json`, the text report and the dashboard.
- A model that is not there, a drop folder that cannot be created: one clear line each.

Everything real: the watcher (inotify), the pipeline, tiny.en in a worker process, the CLI.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from pathlib import Path

import pytest

from tests.conftest import run_cli
from tests.services.speech import Dialogue, to_format, truncated_copy
from tests.services.watch_config import cpu_watch_config
from tests.waiting import wait_until
from tui.config import load_config
from tui.runtime.services import Services
from tui.transcripts.events import (
    FileDone,
    FileFailed,
    FileSuperseded,
    FileWarning,
    StageChanged,
)
from tui.transcripts.options import TranscribeOptions
from tui.transcripts.pipeline import TranscriptPipeline
from tui.transcripts.records import FileState
from tui.transcripts.store import TranscriptStore
from tui.transcripts.watcher import DropFolderWatcher

COMMON_FLAGS = ["--device", "cpu", "--compute_type", "int8", "--batch_size", "4",
                "--language", "en", "--no_align", "--no-diarize", "--threads", "2"]
STABLE_SECONDS = 0.3


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def watch_config(tmp_path: Path, model: Path | str, drop: Path) -> Path:
    return cpu_watch_config(tmp_path, model, drop=drop, stable_seconds=STABLE_SECONDS,
                            log_file=tmp_path / "triage-tui.log").path


# -- 1. a slow writer without a rename -------------------------------------------------------


class ChunkedWriter(threading.Thread):
    """Writes `data` into `target` in `chunks` parts through one open file, like a recorder or
    an upload without a temporary name. Before each part after the first it waits for
    `before_next(n)` (if given) and, unless that returned True, pauses `pause` seconds: longer
    than stable_seconds, so each part leaves a file that looks complete."""

    def __init__(self, target: Path, data: bytes, chunks: int, pause: float,
                 before_next: object = None) -> None:
        super().__init__(name="chunked-writer", daemon=True)
        self.target, self.data, self.chunks, self.pause = target, data, chunks, pause
        self.before_next = before_next
        self.error: BaseException | None = None
        self.outputs_while_writing: list[str] = []

    def run(self) -> None:
        try:
            size = -(-len(self.data) // self.chunks)
            with self.target.open("wb", buffering=0) as stream:
                for n in range(self.chunks):
                    # A callback that returns True saw the part taken: the next is written
                    # at once (the pause only serves to let the watcher take the part).
                    if n and not (callable(self.before_next) and self.before_next(n)):
                        time.sleep(self.pause)
                    stream.write(self.data[n * size:(n + 1) * size])
                    out = self.target.parent.parent / "out"
                    if out.exists():
                        self.outputs_while_writing += [p.name for p in out.iterdir()]
        except BaseException as error:  # reported by the test
            self.error = error


def test_fault_slow_writer_without_rename_is_transcribed_once_from_its_final_content(
        tmp_path: Path, dialogue: Dialogue, tiny_model_dir: Path,
        user_env: dict[str, str]) -> None:
    drop = tmp_path / "drop"
    drop.mkdir()
    config = load_config(watch_config(tmp_path, tiny_model_dir, drop))
    events: list[object] = []
    target = drop / "standup.wav"
    final = dialogue.path.read_bytes()

    def first_version_running(n: int) -> bool:
        # The first part is in the worker (decoded, then transcribed: a 1.7 s part is one
        # chunk, done within about a second) before the second arrives: the run in flight
        # must be cancelled, not finished and overwritten later.
        if n == 1:
            wait_until(lambda: any(isinstance(e, StageChanged) and e.state is
                                   FileState.DECODING for e in events),
                       90, "the first part to be in the worker")
            return True
        return False

    with Services(config) as services:
        started = services.start_transcripts(events.append)
        assert started.ok, started.detail
        writer = ChunkedWriter(target, final, chunks=4, pause=1.0,
                               before_next=first_version_running)
        writer.start()
        writer.join(150)
        assert not writer.is_alive() and writer.error is None, writer.error
        done = wait_until(lambda: [e for e in events if isinstance(e, FileDone)], 150,
                          "the final content to be transcribed")
        # Longer than the learned wait: no further version may turn up.
        time.sleep(2.0)
        pipeline = services.transcripts
        assert pipeline is not None
        records = [r for r in pipeline.store.files() if r.path == target]
        segments = {r.content_hash: pipeline.store.segments(r.content_hash) for r in records}
        stopped = services.stop()
    assert stopped.ok

    assert len(done) == 1 and len([e for e in events if isinstance(e, FileDone)]) == 1
    assert done[0].content_hash == sha256(target) == hashlib.sha256(final).hexdigest()
    assert not [e for e in events if isinstance(e, FileFailed)]
    states = sorted(r.state.value for r in records)
    assert states.count("done") == 1 and states.count("failed") == 0
    superseded = [e for e in events if isinstance(e, FileSuperseded)]
    assert superseded and set(states) == {"done", "superseded"}
    assert any("cancelled" in e.reason for e in superseded), superseded  # the running one
    assert all(not segments[r.content_hash] for r in records if r.state.value == "superseded")
    # Outputs only for the final content, none while the file was still being written.
    assert writer.outputs_while_writing == []
    out = tmp_path / "out"
    assert sorted(p.name for p in out.iterdir()) == sorted(
        f"standup.{ext}" for ext in ("json", "srt", "tsv", "txt", "vtt"))
    text = json.loads((out / "standup.json").read_text())
    spoken = " ".join(s["text"] for s in text["segments"]).lower()
    assert "budget" in spoken and "contract" in spoken  # both lines: the whole recording
    assert (out / "standup.srt").read_text().count(" --> ") == len(text["segments"])


def test_fault_a_file_changing_after_hand_over_is_reported_once_and_taken_when_settled(
        tmp_path: Path) -> None:
    """The watcher alone: a writer pausing 0.8 s against stable_seconds 0.3 is handed over
    after its first part; its next change is reported at once, and from then on the file's
    wait is twice the pause, so the remaining parts give one hand-over, not one each."""
    drop = tmp_path / "drop"
    drop.mkdir()
    ready: list[tuple[str, int]] = []
    changed: list[str] = []
    watcher = DropFolderWatcher(drop, ["*.wav"], lambda p: ready.append((p.name,
                                                                         p.stat().st_size)),
                                stable_seconds=STABLE_SECONDS,
                                on_changed=lambda p: changed.append(p.name))
    watcher.start()
    try:
        target = drop / "slow.wav"
        with target.open("wb", buffering=0) as stream:
            stream.write(b"\1" * 1000)
            wait_until(lambda: ready, 10, "the first part to be handed over")
            for _ in range(3):
                time.sleep(0.8)
                stream.write(b"\1" * 1000)
        wait_until(lambda: len(ready) == 2, 15, "the final content to be handed over")
        time.sleep(2.0)
    finally:
        watcher.stop()
    assert ready == [("slow.wav", 1000), ("slow.wav", 4000)]
    assert changed == ["slow.wav"]


# -- 2 and 3. one stem for two recordings; recordings cut short -----------------------------


def test_fault_one_stem_two_recordings_and_a_truncated_mp3_in_json(
        tmp_path: Path, dialogue: Dialogue, tiny_model_dir: Path,
        user_env: dict[str, str]) -> None:
    full_wav = tmp_path / "a.wav"
    full_wav.write_bytes(dialogue.path.read_bytes())
    half_mp3 = truncated_copy(to_format(dialogue.path, tmp_path / "mp3" / "a.mp3"),
                              tmp_path / "a.mp3", 0.5)
    out = tmp_path / "out"
    result = run_cli(["transcribe", str(full_wav), str(half_mp3), "--model",
                      str(tiny_model_dir), *COMMON_FLAGS, "--output_format", "all", "-o",
                      str(out), "--json"], user_env, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    wav_entry, mp3_entry = json.loads(result.stdout)
    assert wav_entry["file"] == str(full_wav) and mp3_entry["file"] == str(half_mp3)
    # Distinct names: the first keeps whisperx's stem, the second its full file name.
    assert sorted(Path(p).name for p in wav_entry["outputs"]) == sorted(
        f"a.{ext}" for ext in ("json", "srt", "tsv", "txt", "vtt"))
    assert sorted(Path(p).name for p in mp3_entry["outputs"]) == sorted(
        f"a.mp3.{ext}" for ext in ("json", "srt", "tsv", "txt", "vtt"))
    assert len(list(out.iterdir())) == 10
    wav_text = json.loads((out / "a.json").read_text())
    mp3_text = json.loads((out / "a.mp3.json").read_text())
    assert "contract" in " ".join(s["text"] for s in wav_text["segments"]).lower()
    assert "contract" not in " ".join(s["text"] for s in mp3_text["segments"]).lower()
    # The whole WAV: no warning; the MP3's Xing header counts frames that are not there.
    assert wav_entry["warnings"] == []
    (warning,) = mp3_entry["warnings"]
    assert warning.startswith("truncated recording: the file declares")
    assert "could be decoded" in warning


def test_fault_output_names_never_reuse_another_recordings_outputs(tmp_path: Path) -> None:
    from tui.transcripts.outputs import output_name

    out, formats = tmp_path / "out", ("srt", "json")
    first, second = tmp_path / "x" / "a.wav", tmp_path / "y" / "a.wav"
    taken: dict[Path, Path] = {}
    assert output_name(first, taken, out, formats) == "a"
    taken.update({out / "a.srt": first, out / "a.json": first})
    assert output_name(first, taken, out, formats) == "a"  # its own: rewritten in place
    assert output_name(tmp_path / "a.mp3", taken, out, formats) == "a.mp3"
    taken.update({out / "a.wav.json": tmp_path / "z" / "a.wav"})
    assert output_name(second, taken, out, formats) == "a.wav (2)"


def test_fault_a_wav_cut_in_half_is_reported_in_the_text_output(
        tmp_path: Path, dialogue: Dialogue, tiny_model_dir: Path,
        user_env: dict[str, str]) -> None:
    half = truncated_copy(dialogue.path, tmp_path / "cut.wav", 0.5)
    result = run_cli(["transcribe", str(half), "--model", str(tiny_model_dir), *COMMON_FLAGS,
                      "--output_format", "json", "-o", str(tmp_path / "out")], user_env,
                     timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    declared = dialogue.duration
    lines = result.stdout.splitlines()
    assert lines[0].startswith(f"{half}: ")
    assert lines[1].startswith(f"  WARNING: truncated recording: the file declares "
                               f"{declared:.1f} s of audio but only ")
    assert lines[2] == f"  {tmp_path / 'out' / 'cut.json'}"


async def test_fault_the_transcript_pane_shows_a_file_warning(tmp_path: Path) -> None:
    from textual.app import App, ComposeResult
    from textual.widgets import Static

    from tui.ui.widgets.transcript_pane import TranscriptPane

    class PaneApp(App[None]):
        def compose(self) -> ComposeResult:
            yield TranscriptPane(tmp_path / "drop")

    digest, message = "c" * 64, "truncated recording: the file declares 6.0 s of audio"
    app = PaneApp()
    async with app.run_test() as pilot:
        pane = app.query_one(TranscriptPane)
        status = pane.query_one("#transcript-status", Static)
        pane.apply(StageChanged(digest, FileState.TRANSCRIBING))
        pane.apply(FileWarning(digest, str(tmp_path / "drop" / "cut.wav"), message))
        await pilot.pause()
        assert f": warning: {message}" in str(status.render())
        assert any(message in n.message for n in app._notifications)
        pane.apply(FileDone(digest, "en", ("x.srt",), warnings=(message,)))
        await pilot.pause()
        assert f"done, 1 files written; warning: {message}" in str(status.render())


# -- 4. clear lines for a missing model and an unusable drop folder --------------------------


def test_fault_a_model_directory_that_does_not_exist_is_model_not_found(
        tmp_path: Path, dialogue: Dialogue, user_env: dict[str, str]) -> None:
    audio = tmp_path / "a.wav"
    audio.write_bytes(dialogue.path.read_bytes())
    result = run_cli(["transcribe", str(audio), "--model", "/no/such/dir", "-o",
                      str(tmp_path / "out")], user_env)
    assert result.returncode == 2
    assert result.stderr.startswith("triage-tui transcribe: Whisper model not found: "
                                    "/no/such/dir does not exist")
    assert "fix: pass --model" in result.stderr
    assert "HFValidationError" not in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()


def test_fault_the_worker_fails_a_missing_model_clearly_too(
        tmp_path: Path, dialogue: Dialogue, cpu_options: TranscribeOptions) -> None:
    """What `watch` and the dashboard meet: the worker names the model, not a repo id."""
    from dataclasses import replace

    options = replace(cpu_options, model=str(tmp_path / "models" / "gone"))
    pipeline = TranscriptPipeline(TranscriptStore(tmp_path / "state.db"), options,
                                  tmp_path / "out")
    audio = tmp_path / "a.wav"
    audio.write_bytes(dialogue.path.read_bytes())
    pipeline.add_file(audio)
    try:
        (outcome,) = pipeline.drain()
    finally:
        pipeline.stop()
    assert isinstance(outcome, FileFailed) and outcome.kind == "model"
    assert outcome.reason.startswith(f"Whisper model not found: {tmp_path}/models/gone does "
                                     "not exist")
    assert "Repo id" not in outcome.reason


def test_fault_watch_with_a_drop_folder_that_cannot_be_created_says_so_in_one_line(
        tmp_path: Path, tiny_model_dir: Path, user_env: dict[str, str]) -> None:
    blocker = tmp_path / "recordings"
    blocker.write_text("a file where a folder should be")
    config = watch_config(tmp_path, tiny_model_dir, blocker / "drop")
    result = run_cli(["--config", str(config), "watch"], user_env, timeout=60)
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        f"triage-tui watch: cannot create the drop folder {blocker / 'drop'}: {blocker} is a "
        "file, not a folder (fix: set [paths] drop_folder to a folder you can create and "
        "write)"]
    # The traceback is kept for whoever debugs it, in the log file.
    assert "DropFolderUnusable" in (tmp_path / "triage-tui.log").read_text()


def test_fault_doctor_fails_a_drop_folder_whose_parent_is_a_file(
        tmp_path: Path, tiny_model_dir: Path, user_env: dict[str, str]) -> None:
    blocker = tmp_path / "recordings"
    blocker.write_text("a file where a folder should be")
    config = watch_config(tmp_path, tiny_model_dir, blocker / "drop")
    result = run_cli(["--config", str(config), "doctor", "--json"], user_env)
    assert result.returncode == 1
    checks = {check["name"]: check for check in json.loads(result.stdout)["checks"]}
    drop = checks["Drop folder"]
    assert drop["ok"] is False
    assert drop["detail"] == (f"cannot create the drop folder {blocker / 'drop'}: {blocker} "
                              "is a file, not a folder")
    assert "drop_folder" in drop["fix"]
    # And a drop folder that can be created is still fine.
    fine = watch_config(tmp_path, tiny_model_dir, tmp_path / "new" / "drop")
    result = run_cli(["--config", str(fine), "doctor", "--json"], user_env)
    checks = {check["name"]: check for check in json.loads(result.stdout)["checks"]}
    assert checks["Drop folder"]["ok"] is True


@pytest.mark.parametrize("body, message", [
    ({"detail": {"error": {"message": "unknown model: whisper-1",
                           "type": "invalid_request_error"}}}, "unknown model: whisper-1"),
    ({"message": "flat", "type": "BadRequestError"}, "flat"),
    ({"detail": "Not Found"}, "Not Found"),
    ({"detail": [{"loc": ["body", "file"], "msg": "Field required"}]}, "Field required"),
    ({"error": "Unauthorized"}, "Unauthorized"),
])
def test_fault_remote_error_envelopes_are_unwrapped(body: object, message: str) -> None:
    from tui.transcripts.worker.remote_asr import _unwrap_message

    assert _unwrap_message(body) == message
