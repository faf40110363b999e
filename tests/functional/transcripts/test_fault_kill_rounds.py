"""Fault injection: the real `triage-tui watch` killed with SIGKILL at seeded random moments
while a drop of recordings is transcribed, restarted each time, then left to finish.

Invariants after the last round: every file done exactly once (one finished attempt, never
redone after it finished), outputs complete, segments contiguous, nothing left in flight."""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.services.speech import Dialogue
from tests.services.state_rows import state_rows
from tests.services.watch_config import cpu_watch_config
from tests.waiting import wait_until

KILL_ROUNDS = 3
FORMATS = ["json", "srt", "tsv", "txt", "vtt"]


def rows(database: Path) -> list[tuple[str, str, int]]:
    return state_rows(database, "SELECT content_hash, state, attempts FROM audio_files")


def distinct_recordings(dialogue: Dialogue, folder: Path, count: int) -> list[Path]:
    """`count` different recordings (different trailing silence, so different content)."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for index in range(count):
        path = folder / f"meeting-{index}.wav"
        subprocess.run(["sox", str(dialogue.path), str(path), "pad", "0", f"{0.2 * index:.1f}"],
                       check=True, capture_output=True)
        paths.append(path)
    return paths


@pytest.mark.parametrize("seed", [7, 1234])
def test_fault_watch_killed_at_random_moments_transcribes_each_file_once(
        tmp_path: Path, dialogue: Dialogue, tiny_model_dir: Path, user_env: dict[str, str],
        seed: int) -> None:
    rng = random.Random(seed)
    watch = cpu_watch_config(tmp_path, tiny_model_dir)
    sources = distinct_recordings(dialogue, tmp_path / "sources", 3)
    command = [sys.executable, "-m", "tui", "--config", str(watch.path), "watch"]

    def start() -> subprocess.Popen[bytes]:
        return subprocess.Popen(command, env=user_env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, start_new_session=True)

    watch.drop.mkdir(parents=True, exist_ok=True)
    for source in sources:
        (watch.drop / source.name).write_bytes(source.read_bytes())
    kills = []
    for _ in range(KILL_ROUNDS):
        process = start()
        try:
            delay = rng.uniform(1.0, 8.0)
            time.sleep(delay)
        finally:
            os.killpg(process.pid, signal.SIGKILL)  # the worker process too, as systemd would
            process.wait(10)
        kills.append((round(delay, 2), sorted(state for _, state, _ in rows(watch.database))))
    # The kills must have left work unfinished (nothing yet, or files queued or in flight).
    assert any(states.count("done") < 3 for _, states in kills), kills

    final = start()
    try:
        wait_until(lambda: len(rows(watch.database)) == 3
                   and all(state == "done" for _, state, _ in rows(watch.database)),
                   180, f"every file done after the kills {kills}")
        final.send_signal(signal.SIGTERM)
        assert final.wait(30) == 0
    finally:
        if final.poll() is None:
            os.killpg(final.pid, signal.SIGKILL)

    files = rows(watch.database)
    assert len({digest for digest, _, _ in files}) == 3
    # Each kill costs at most one attempt of the file in flight; a finished file is never redone.
    assert all(1 <= attempts <= KILL_ROUNDS + 1 for _, _, attempts in files), (files, kills)
    expected = sorted(f"{source.stem}.{ext}" for source in sources for ext in FORMATS)
    assert sorted(path.name for path in watch.out.iterdir()) == expected
    assert all(path.stat().st_size > 0 for path in watch.out.iterdir())
    with sqlite3.connect(watch.database) as db:
        for digest, _, _ in files:
            indexes = [row[0] for row in db.execute(
                "SELECT idx FROM segments WHERE content_hash = ? ORDER BY idx", (digest,))]
            assert indexes and indexes == list(range(len(indexes))), (digest, indexes)
