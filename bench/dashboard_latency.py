"""Dashboard responsiveness: start to first frame, key-to-repaint latency while 10,000
transcript lines stream in, and memory (RSS) staying bounded.

Run: .venv/bin/python bench/dashboard_latency.py [--lines 10000] [--runs 5]
(start-up is measured in tmux, as users run it; the rest headless through Textual's Pilot.)
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def rss_mib() -> float:
    with open("/proc/self/status", encoding="utf-8") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def first_frame_seconds(runs: int) -> list[float]:
    """Wall time from launching `triage-tui` in tmux until its panes are on screen."""
    if shutil.which("tmux") is None:
        return []
    times = []
    for run in range(runs):
        session = f"bench-{os.getpid()}-{run}"
        with tempfile.TemporaryDirectory() as home:
            env = f"HOME={home} XDG_STATE_HOME={home}/state XDG_CONFIG_HOME={home}/config"
            started = time.monotonic()
            subprocess.run(["tmux", "new-session", "-d", "-s", session, "-x", "120", "-y", "40",
                            f"env {env} {sys.executable} -m tui"], check=True)
            try:
                while time.monotonic() - started < 30:
                    screen = subprocess.run(["tmux", "capture-pane", "-p", "-t", session],
                                            capture_output=True, text=True).stdout
                    if "Transcripts" in screen and "Triage" in screen and "GPU" in screen:
                        times.append(time.monotonic() - started)
                        break
                    time.sleep(0.01)
            finally:
                subprocess.run(["tmux", "send-keys", "-t", session, "q"], check=False)
                time.sleep(0.5)
                subprocess.run(["tmux", "kill-session", "-t", session], check=False,
                               capture_output=True)
    return times


async def streaming_latency(lines: int, presses: int) -> dict[str, float]:
    from tui.adapters.nvml import GpuUnavailable
    from tui.config import Config, OllamaConfig
    from tui.transcripts.events import SegmentTranscribed, StageChanged
    from tui.transcripts.records import FileState, StoredSegment
    from tui.ui.app import TriageApp
    from tui.ui.screens.plan_screen import PlanScreen
    from tui.ui.widgets.transcript_pane import TranscriptPane

    config = Config(ollama=OllamaConfig(host="http://127.0.0.1:9"))
    app = TriageApp(config, gpu_reader=lambda: GpuUnavailable("bench", ""),
                    start_services=False, run_doctor=False)
    latencies: list[float] = []
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.pause()
        rss_before = rss_mib()
        digest = "b" * 64
        pane = app.query_one(TranscriptPane)
        # As the app's subscriber does: segments go to the pane's inbox.
        pane.submit(StageChanged(digest, FileState.TRANSCRIBING))
        done = asyncio.Event()

        async def stream() -> None:
            for index in range(lines):
                pane.submit(SegmentTranscribed(digest, StoredSegment(
                    index, index * 2.0, index * 2.0 + 1.9,
                    f"line {index}: the quarterly budget meeting starts at nine",
                    f"SPEAKER_0{index % 3}")))
                if index % 100 == 0:
                    await asyncio.sleep(0)
            done.set()

        streamer = asyncio.create_task(stream())
        for _ in range(presses):
            started = time.perf_counter()
            await pilot.press("p")
            while not isinstance(app.screen, PlanScreen):
                await asyncio.sleep(0.001)
            await pilot.pause()
            latencies.append(time.perf_counter() - started)
            await pilot.press("escape")
            await pilot.pause()
        await done.wait()
        await streamer
        await pilot.pause()
        rss_after = rss_mib()
        shown = len(app.query_one("#transcript-lines").lines)  # type: ignore[attr-defined]
    return {"p50_ms": statistics.median(latencies) * 1000,
            "p95_ms": sorted(latencies)[int(0.95 * (len(latencies) - 1))] * 1000,
            "max_ms": max(latencies) * 1000, "rss_before": rss_before,
            "rss_after": rss_after, "lines_kept": shown}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--lines", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--presses", type=int, default=20)
    args = parser.parse_args()
    starts = first_frame_seconds(args.runs)
    result = asyncio.run(streaming_latency(args.lines, args.presses))
    print(f"{'measure':<46} {'value':>12}")
    print("-" * 59)
    if starts:
        print(f"{'start to first frame, median of ' + str(len(starts)) + ' (s)':<46} "
              f"{statistics.median(starts):>12.2f}")
        print(f"{'start to first frame, worst (s)':<46} {max(starts):>12.2f}")
    print(f"{'key-to-repaint while streaming, p50 (ms)':<46} {result['p50_ms']:>12.1f}")
    print(f"{'key-to-repaint while streaming, p95 (ms)':<46} {result['p95_ms']:>12.1f}")
    print(f"{'key-to-repaint while streaming, max (ms)':<46} {result['max_ms']:>12.1f}")
    print(f"{'transcript lines streamed':<46} {args.lines:>12}")
    print(f"{'transcript lines kept on screen (capped)':<46} {result['lines_kept']:>12}")
    print(f"{'RSS before streaming (MiB)':<46} {result['rss_before']:>12.1f}")
    print(f"{'RSS after streaming (MiB)':<46} {result['rss_after']:>12.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
