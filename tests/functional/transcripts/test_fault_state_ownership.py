"""Fault injection: two processes on one state database, kill -9 of its owner, and files that
must stay private. Real `triage-tui` processes, real WhisperX (tiny.en), real SQLite."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

from tests.conftest import run_cli
from tests.services.speech import Dialogue
from tests.services.state_rows import state_rows
from tests.services.watch_config import cpu_watch_config
from tests.waiting import wait_until
from tui.adapters.state_lock import lock_path_for
from tui.transcripts.store import TranscriptStore


def lock_owner(database: Path) -> int | None:
    try:
        return int(json.loads(lock_path_for(database).read_text() or "{}").get("pid", 0)) or None
    except (OSError, ValueError):
        return None


def file_states(database: Path) -> list[tuple[str, int]]:
    return state_rows(database, "SELECT state, attempts FROM audio_files")


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_fault_a_second_process_on_one_database_is_refused_and_nothing_is_done_twice(
        tmp_path: Path, dialogue: Dialogue, tiny_model_dir: Path,
        user_env: dict[str, str]) -> None:
    watch = cpu_watch_config(tmp_path, tiny_model_dir, tmp_path / "state" / "state.db")
    config, drop, out, database = watch.path, watch.drop, watch.out, watch.database
    command = [sys.executable, "-m", "tui", "--config", str(config), "watch"]

    def start() -> subprocess.Popen[str]:
        return subprocess.Popen(command, env=user_env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, text=True, start_new_session=True)

    first = start()
    try:
        wait_until(lambda: lock_owner(database) == first.pid, 60, "the first watch to own the DB")
        drop.mkdir(parents=True, exist_ok=True)
        (drop / "standup.wav").write_bytes(dialogue.path.read_bytes())
        wait_until(lambda: file_states(database), 60, "the file to be queued")

        # A second `watch` on the same database is refused, says who owns it, and does nothing.
        second = run_cli(["--config", str(config), "watch"], user_env, timeout=60)
        assert second.returncode == 1
        assert f"pid {first.pid}" in second.stderr and "is in use by" in second.stderr
        assert "Traceback" not in second.stderr
        # `triage` on the same database is refused the same way, in one line.
        triage_config = tmp_path / "triage.toml"
        triage_config.write_text(f'[paths]\ndatabase = "{database}"\n'
                                 '[imap]\nhost = "127.0.0.1"\nport = 9\nusername = "ana"\n')
        triage = run_cli(["--config", str(triage_config), "triage", "--once"], user_env)
        assert triage.returncode == 1 and "Traceback" not in triage.stderr
        assert len(triage.stderr.strip().splitlines()) == 1
        assert f"in use by `triage-tui watch` (pid {first.pid}" in triage.stderr

        wait_until(lambda: file_states(database) == [("done", 1)], 120,
                   "the first watch to finish the file, once")
        outputs = sorted(path.name for path in out.iterdir())
        assert outputs == [f"standup.{ext}" for ext in ("json", "srt", "tsv", "txt", "vtt")]

        # Everything written is the user's alone.
        log_file = Path(user_env["XDG_STATE_HOME"]) / "triage-tui" / "triage-tui.log"
        assert mode(database) == 0o600 and mode(database.parent) == 0o700
        assert mode(log_file) == 0o600 and mode(log_file.parent) == 0o700
        assert mode(out) == 0o700
        assert {mode(path) for path in out.iterdir()} == {0o600}

        # kill -9 of the owner: the kernel drops its lock, so the next start is not blocked.
        os.killpg(first.pid, signal.SIGKILL)
        first.wait(10)
    finally:
        if first.poll() is None:
            os.killpg(first.pid, signal.SIGKILL)
    third = start()
    try:
        wait_until(lambda: lock_owner(database) == third.pid, 60, "the restarted watch to own it")
        third.send_signal(signal.SIGTERM)
        assert third.wait(20) == 0
    finally:
        if third.poll() is None:
            os.killpg(third.pid, signal.SIGKILL)
    assert file_states(database) == [("done", 1)]  # the restart found nothing to redo


def test_a_database_left_readable_by_an_older_run_is_made_private(tmp_path: Path) -> None:
    database = tmp_path / "state.db"
    sqlite3.connect(database).close()
    os.chmod(database, 0o644)
    store = TranscriptStore(database)
    try:
        assert mode(database) == 0o600
    finally:
        store.close()
