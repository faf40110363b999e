"""The worker package's split between the processes: the parent side (the dashboard, the
CLI) never imports the heavy libraries, and the spawn target is found by its module path."""

from __future__ import annotations

import os
import pickle
import subprocess
import sys

HEAVY = ("torch", "whisperx", "ctranslate2", "pyannote", "openai")


def test_the_parent_side_imports_no_heavy_library() -> None:
    code = ("import sys\n"
            "import tui.commands.transcribe, tui.transcripts.pipeline, tui.transcripts.store\n"
            "from tui.transcripts.worker.handle import WorkerProcess\n"
            f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True, env=os.environ)
    assert result.stdout.strip() == "[]"


def test_the_spawn_target_is_found_by_its_module_path() -> None:
    from tui.transcripts.worker.process_main import worker_main

    # The spawn start method pickles the target by reference (module and name) and the new
    # process imports it from there.
    assert worker_main.__module__ == "tui.transcripts.worker.process_main"
    assert pickle.loads(pickle.dumps(worker_main)) is worker_main
