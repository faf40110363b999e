"""`triage-tui transcribe` against the `whisperx` CLI, and `triage-tui watch` killed mid-file."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

from tests.conftest import run_cli
from tests.services.speech import Dialogue
from tests.services.state_rows import state_rows
from tests.services.watch_config import cpu_watch_config
from tests.waiting import wait_until

COMMON_FLAGS = ["--device", "cpu", "--compute_type", "int8", "--batch_size", "4",
                "--language", "en", "--no_align", "--threads", "2", "--output_format", "all"]


def test_same_outputs_as_the_whisperx_cli(tmp_path: Path, dialogue: Dialogue,
                                          tiny_model_dir: Path, user_env: dict[str, str]) -> None:
    audio = tmp_path / "meeting.wav"
    audio.write_bytes(dialogue.path.read_bytes())
    theirs, ours = tmp_path / "whisperx-cli", tmp_path / "triage-tui"
    reference = subprocess.run(
        [sys.executable, "-m", "whisperx", str(audio), "--model", str(tiny_model_dir),
         *COMMON_FLAGS, "-o", str(theirs)],
        capture_output=True, text=True, env=user_env, timeout=300, check=False)
    assert reference.returncode == 0, reference.stderr[-2000:]
    result = run_cli(["transcribe", str(audio), "--model", str(tiny_model_dir), *COMMON_FLAGS,
                      "--no-diarize", "-o", str(ours), "--json"], user_env, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads(result.stdout)
    assert report[0]["state"] == "done" and len(report[0]["outputs"]) == 5
    their_files = sorted(p.name for p in theirs.iterdir())
    assert their_files == sorted(p.name for p in ours.iterdir())
    for name in their_files:
        assert (ours / name).read_bytes() == (theirs / name).read_bytes(), name


def test_transcribe_reports_a_missing_file(tmp_path: Path, user_env: dict[str, str]) -> None:
    result = run_cli(["transcribe", str(tmp_path / "nope.wav")], user_env)
    assert result.returncode == 2 and "not a file" in result.stderr


def test_a_failed_file_is_reported_in_words(tmp_path: Path, tiny_model_dir: Path,
                                            user_env: dict[str, str]) -> None:
    """The cause and what to do on the file's line; the reason as it came under --json."""
    notes = tmp_path / "notes.wav"
    notes.write_text("this is text, not audio\n" * 50)
    args = ["transcribe", str(notes), "--model", str(tiny_model_dir), *COMMON_FLAGS,
            "--no-diarize", "-o", str(tmp_path / "out")]
    result = run_cli(args, user_env, timeout=300)
    assert result.returncode == 1, result.stderr[-2000:]
    [line] = [line for line in result.stdout.splitlines() if "FAILED" in line]
    assert line.startswith(f"{notes}: FAILED: the file could not be decoded as audio "
                           "(Invalid data found when processing input): ")
    assert line.endswith("check that it plays; if it was still being copied, drop the "
                         "complete file again")
    report = json.loads(run_cli([*args, "--json"], user_env, timeout=300).stdout)
    assert report[0]["cause"].startswith("the file could not be decoded as audio")
    assert report[0]["error"] == (f"not a readable media file: {notes}: Invalid data found "
                                  "when processing input")


def _state(database: Path) -> tuple[str, int] | None:
    rows = state_rows(database, "SELECT state, attempts FROM audio_files")
    return (rows[0][0], rows[0][1]) if rows else None


def test_watch_killed_mid_file_resumes_after_restart(
        tmp_path: Path, dialogue: Dialogue, tiny_model_dir: Path,
        user_env: dict[str, str]) -> None:
    config_file = cpu_watch_config(tmp_path, tiny_model_dir)
    config, drop, out, database = (config_file.path, config_file.drop, config_file.out,
                                   config_file.database)
    command = [sys.executable, "-m", "tui", "--config", str(config), "watch"]

    def start() -> subprocess.Popen[str]:
        # Its own process group, so a kill takes the WhisperX worker too, as systemd would.
        return subprocess.Popen(command, env=user_env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, text=True, start_new_session=True)

    watcher = start()
    try:
        drop.mkdir(parents=True, exist_ok=True)
        (drop / "standup.wav").write_bytes(dialogue.path.read_bytes())
        wait_until(lambda: (_state(database) or ("", 0))[0] in ("decoding", "transcribing"),
                  60, "the file to be picked up")
        os.killpg(watcher.pid, signal.SIGKILL)
        watcher.wait(10)
        assert (_state(database) or ("", 0))[0] != "done"
    finally:
        if watcher.poll() is None:
            os.killpg(watcher.pid, signal.SIGKILL)

    restarted = start()
    try:
        state = wait_until(lambda: _state(database) if (_state(database) or ("",))[0] == "done"
                          else None, 120, "the resumed file to finish")
        assert state == ("done", 2)  # one interrupted attempt, one that finished
        assert sorted(p.suffix for p in out.iterdir()) == [".json", ".srt", ".tsv", ".txt",
                                                           ".vtt"]
        with sqlite3.connect(database) as db:
            indexes = [row[0] for row in db.execute("SELECT idx FROM segments ORDER BY idx")]
        assert indexes == list(range(len(indexes))) and indexes
        restarted.send_signal(signal.SIGTERM)
        assert restarted.wait(20) == 0
    finally:
        if restarted.poll() is None:
            os.killpg(restarted.pid, signal.SIGKILL)
