"""`triage-tui watch` summarises as it goes: the real command in a subprocess, a recording
dropped into its folder, real WhisperX (tiny.en on the CPU) and llama.cpp's `llama-server`
(SmolLM2-135M) as the LLM. Nobody asks for the summary: the finished transcript queues it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from tests.functional.summaries.test_llama_server import ALIAS, NUM_CTX, RESERVE
from tests.services.llama_server import LlamaServer
from tests.services.speech import Dialogue
from tests.services.state_rows import state_rows
from tests.services.watch_config import cpu_watch_config
from tests.waiting import wait_until


def _summary_state(database: Path) -> tuple[str, str | None] | None:
    rows = state_rows(database, "SELECT state, raw_reply FROM summaries")
    return (rows[0][0], rows[0][1]) if rows else None


def test_watch_summarises_each_finished_transcript(
        tmp_path: Path, dialogue: Dialogue, tiny_model_dir: Path,
        user_env: dict[str, str]) -> None:
    config = cpu_watch_config(tmp_path, tiny_model_dir)
    with LlamaServer(ctx_size=NUM_CTX, alias=ALIAS, log_path=tmp_path / "llama.log",
                     extra_args=("--no-repack",)) as server:
        with config.path.open("a") as file:
            # No [summaries] section: an LLM set up is what turns them on.
            file.write(f"""
[llm]
backend = "openai"
temperature = 0.0

[openai]
base_url = "{server.base_url}"
model = "{ALIAS}"
timeout_seconds = 120

[budget]
num_ctx = {NUM_CTX}
generation_reserve_tokens = {RESERVE}
""")
        watcher = subprocess.Popen(
            [sys.executable, "-m", "tui", "--config", str(config.path), "watch"],
            env=user_env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
            start_new_session=True)
        try:
            config.drop.mkdir(parents=True, exist_ok=True)
            (config.drop / "standup.wav").write_bytes(dialogue.path.read_bytes())
            state = wait_until(
                lambda: s if (s := _summary_state(config.database)) and s[0] in (
                    "done", "failed") else None,
                240, "the transcript's summary to be written")
            summary_md = config.out / "standup.summary.md"
            if state[0] == "done":
                assert summary_md.read_text().startswith("# Summary: standup.wav")
                assert (config.out / "standup.summary.json").exists()
            else:  # a 135M model may fail the schema twice: it says so, the reply kept
                assert state[1] is not None and not summary_md.exists()
            # The transcript's own outputs are there too, written before the summary.
            assert (config.out / "standup.srt").exists()
            watcher.send_signal(signal.SIGTERM)
            assert watcher.wait(30) == 0
        finally:
            if watcher.poll() is None:
                os.killpg(watcher.pid, signal.SIGKILL)
