"""Fault injection: the dashboard started beside a running `triage-tui watch` on the same
state database. The real `watch` process owns it; the dashboard must say so, build nothing,
and leave the other process's work alone."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from tests.services.watch_config import cpu_watch_config
from tests.waiting import dashboard_settled, wait_until
from tui.adapters.nvml import GpuUnavailable
from tui.adapters.state_lock import lock_path_for
from tui.config import load_config
from tui.ui.app import make_app
from tui.ui.widgets.service_status import ServiceStatus


async def test_fault_the_dashboard_beside_a_running_watch_says_who_owns_the_state(
        tmp_path: Path, user_env: dict[str, str], tiny_whisper_model_dir: Path) -> None:
    watch = cpu_watch_config(tmp_path, tiny_whisper_model_dir)
    owner = subprocess.Popen([sys.executable, "-m", "tui", "--config", str(watch.path), "watch"],
                             env=user_env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                             start_new_session=True)
    try:
        lock = lock_path_for(watch.database)
        wait_until(lambda: lock.exists() and f'"pid": {owner.pid}' in lock.read_text(), 60,
                   "the watch process to own the state database")
        app = make_app(load_config(watch.path), run_doctor=False,
                       gpu_reader=lambda: GpuUnavailable("none", ""))
        async with app.run_test(size=(160, 40), notifications=True) as pilot:
            await dashboard_settled(pilot)
            status = app.query_one(ServiceStatus)
            for _ in range(50):  # the start-up worker reports both services, then toasts show
                await pilot.pause(0.1)
                toasts = " ".join(str(toast.render()) for toast in app.screen.query("Toast"))
                if toasts.count("is in use by") >= 2:
                    break
            assert status.states["watcher"].level == "problem"
            assert status.states["IMAP"].level == "problem"
            assert f"pid {owner.pid}" in toasts and "triage-tui watch" in toasts, toasts
            # Nothing was built on the other process's database.
            assert app.services.transcripts is None and app.services.mail is None
            await pilot.press("q")
        assert owner.poll() is None  # the owner runs on, untouched
    finally:
        os.killpg(owner.pid, signal.SIGTERM)
        owner.wait(20)
