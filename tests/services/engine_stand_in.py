"""A stand-in for `tui.llm.llamacpp_engine.LlamaCppEngine`, served in the embedded engine's
own process (`EmbeddedTriageModel(engine="tests.services.engine_stand_in:StandInEngine")`):
it answers every mail of a batch with a valid verdict, streamed a few characters at a time,
slowly enough for a test to kill the process mid-batch. With the file that
TRIAGE_TEST_ENGINE_CRASH names present, it removes the file and ends its own process with
SIGSEGV halfway through the reply: a native crash, once."""

from __future__ import annotations

import json
import os
import re
import signal
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from tui.llm.protocol import BatchReply

CRASH_FILE_ENV = "TRIAGE_TEST_ENGINE_CRASH"


class StandInEngine:
    def __init__(self, path: str, **_settings: Any) -> None:
        self.path = path
        self.loaded: Any = None

    def load(self) -> Any:
        self.loaded = SimpleNamespace(placement=f"stand-in engine, pid {os.getpid()}")
        return self.loaded

    def close(self) -> None:
        self.loaded = None

    def run_batch(self, messages: list[dict[str, str]], schema: dict[str, Any],
                  on_text: Any, *, max_tokens: int, temperature: float,
                  timeout: float) -> BatchReply:
        ids = re.findall(r'<email id="([^"]+)">', messages[-1]["content"])
        text = json.dumps({"verdicts": [
            {"id": mail_id, "priority": "normal", "category": "fyi", "action": "flag",
             "folder": None, "summary": "s", "reason": "r", "injection_suspected": False}
            for mail_id in ids]})
        pieces = [text[i:i + 8] for i in range(0, len(text), 8)]
        crash = os.environ.get(CRASH_FILE_ENV)
        for index, piece in enumerate(pieces):
            if crash and index == len(pieces) // 2 and Path(crash).exists():
                Path(crash).unlink()
                os.kill(os.getpid(), signal.SIGSEGV)
            on_text(piece)
            time.sleep(0.01)
        return BatchReply(text, 100, len(pieces), "stop")
