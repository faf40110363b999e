"""The status line and the transcript pane say what is wrong in words, with the one thing to
do; every service stays on screen, whatever the width; no exception class names."""

from __future__ import annotations

from typing import Any

import pytest
from rich.text import Text

from tests.services.gpu_samples import RTX_3090
from tests.ui.sample_dashboard import DIGEST, feed_sample_data, make_sample_app, screen_lines
from tests.unit.transcripts.test_plain_failures import HUB_DOWN
from tui.check_result import CheckResult
from tui.mail.events import ImapStatus, TriageStatus
from tui.runtime.events import ChecksDone, ServiceStarted
from tui.transcripts.events import FileFailed
from tui.ui.status_view import (
    ServiceState,
    cause_words,
    fix_words,
    from_check,
    from_imap,
    from_triage,
    pack,
)
from tui.ui.widgets.service_status import ServiceStatus

OLLAMA_DOWN = TriageStatus(
    "unavailable", "Ollama not reachable at http://127.0.0.1:11434 (ConnectError: [Errno 111] "
    "Connection refused)", "start it with `ollama serve` (or set [ollama] host)", "Ollama")
HEALTHY = [ServiceState("GPU", "ok", "NVIDIA GeForce RTX 3090"),
           ServiceState("Ollama", "ok", "triage, num_ctx 8192"),
           ServiceState("IMAP", "ok", "ana@example.org/INBOX"),
           ServiceState("watcher", "ok", "watching, ASR WhisperX"),
           ServiceState("Drop folder", "ok", "/srv/recordings/drop is writable"),
           ServiceState("WhisperX model", "ok", "large-v3 at /models/large-v3"),
           ServiceState("ffmpeg", "ok", "ffmpeg version 6.1.1")]


def test_imap_not_set_up_says_what_to_run() -> None:
    for state in (from_imap(ImapStatus("not-configured", "set [imap] host and username")),
                  from_check(CheckResult("IMAP", False, "no IMAP account configured",
                                         "set [imap] host and username in the config"))):
        assert state.words().plain == "✗ IMAP: not set up — run `triage-tui init`"


def test_no_config_file_at_all_says_so_and_what_to_run() -> None:
    """A first start: the dashboard's status points to `triage-tui init`."""
    for state in (from_imap(ImapStatus("not-configured", "no config file")),
                  from_check(CheckResult("IMAP", False, "no IMAP account configured: no "
                                         "config file (looked for /home/a/.config/triage-tui/"
                                         "config.toml)", "run `triage-tui init`"))):
        assert state.words().plain == "✗ IMAP: no config file — run `triage-tui init`"


def test_problems_in_words() -> None:
    assert from_triage(OLLAMA_DOWN).words().plain == (
        "✗ Ollama: not reachable at http://127.0.0.1:11434 — start it with `ollama serve`")
    assert from_imap(ImapStatus("reconnecting", "EOF", 12.4)).words().plain == (
        "◌ IMAP connection lost, retrying in 12 s")
    assert cause_words("GPU", "NVMLError_LibraryNotFound: NVML Shared Library Not Found") \
        == "NVML Shared Library Not Found"
    assert fix_words("ollama create triage -f modelfiles/Modelfile.triage") == (
        "run `ollama create triage -f modelfiles/Modelfile.triage`")
    assert fix_words("download it once: huggingface-cli download Systran/x (or set …)") == (
        "download it once: huggingface-cli download Systran/x")
    long = cause_words("LLM model", "cannot ask Ollama: " + "very " * 30 + "long")
    assert len(long) <= 60 and long.endswith("…") and "  " not in long


@pytest.mark.parametrize("width", [40, 80, 120, 160])
def test_every_service_stays_on_the_line_whole(width: int) -> None:
    states = [*HEALTHY[:2], from_imap(ImapStatus("not-configured")), from_triage(OLLAMA_DOWN),
              *HEALTHY[3:]]
    states[1] = ServiceState("LLM", "ok", "x")  # the Ollama check passed, the backend did not
    lines = pack(states, width).plain.splitlines()
    assert all(len(line) <= width for line in lines)
    text = " ".join(lines)
    for state in states:
        assert f"{state.name}" in text
    if width >= 80:  # room for every problem's words and fix
        assert "✗ IMAP: not set up — run `triage-tui init`" in text
        assert "start it with `ollama serve`" in text
        # a service never splits across lines when it fits on one
        assert any(line.strip().startswith("✗ Ollama") or " │ ✗ Ollama" in line
                   for line in lines)


def test_working_services_keep_their_details_only_if_one_line_holds_them() -> None:
    assert pack(HEALTHY[:3], 160).plain == (
        "● GPU NVIDIA GeForce RTX 3090 │ ● Ollama triage, num_ctx 8192 │ ● IMAP "
        "ana@example.org/INBOX")
    assert pack(HEALTHY[:3], 80).plain == "● GPU │ ● Ollama │ ● IMAP"


def test_too_many_problems_for_three_lines_leaves_their_names_and_doctor() -> None:
    states = [ServiceState(f"service{n}", "problem", "broken " * 5, "fix it " * 4)
              for n in range(6)]
    text = pack(states, 80)
    assert isinstance(text, Text)
    lines = text.plain.splitlines()
    assert len(lines) <= 3 and "`triage-tui doctor` says what to do" in text.plain
    assert all(f"✗ service{n}" in text.plain for n in range(6))


async def on_screen(pilot: Any) -> str:
    await pilot.pause(0.1)
    return "\n".join(screen_lines(pilot.app))


@pytest.mark.parametrize("size", [(80, 24), (120, 36)])
async def test_the_status_line_on_screen_names_every_service(size: tuple[int, int]) -> None:
    app = make_sample_app(RTX_3090)
    async with app.run_test(size=size) as pilot:
        await feed_sample_data(pilot)
        app.receive(ImapStatus("not-configured", "set [imap] host and username"))
        app.receive(OLLAMA_DOWN)
        app.receive(ServiceStarted("watcher", True, "watching, ASR WhisperX"))
        app.receive(ChecksDone((CheckResult("ffmpeg", True, "ffmpeg version 6.1.1"),)))
        screen = await on_screen(pilot)
        status = app.query_one(ServiceStatus)
        shown = screen_lines(app)[status.region.y:status.region.bottom]
        assert status.region.height == len(status.render().plain.splitlines())
        line = " ".join(row.strip() for row in shown)
        for name in ("GPU", "Ollama", "IMAP", "Drop folder", "watcher", "ffmpeg"):
            assert name in line
        assert "✗ IMAP: not set up — run `triage-tui init`" in line
        assert "not-configured" not in screen


async def test_a_failed_recording_says_why_in_words_and_what_to_do() -> None:
    app = make_sample_app(RTX_3090)
    async with app.run_test(size=(120, 36)) as pilot:
        await feed_sample_data(pilot)
        app.receive(FileFailed(DIGEST, HUB_DOWN, "error"))
        screen = await on_screen(pilot)
        status = " ".join(str(app.query_one("#transcript-status").render()).split())
        assert status == (
            "standup.m4a: failed: large-v3 is not on disk and the model hub is unreachable: "
            "let this machine reach the model hub once and run `triage-tui models pull "
            "large-v3` (it shows the download), or set [whisperx] model to a local "
            "CTranslate2 folder (then x retries it)")
        assert "LocalEntryNotFoundError" not in screen and "Error" not in screen
        assert "large-v3 is not on disk" in " ".join(screen.split())


def test_with_many_problems_the_first_keeps_the_one_thing_to_do() -> None:
    """A fresh install at 80 columns: nothing set up yet."""
    states = [ServiceState("watcher", "ok", "watching"),
              from_imap(ImapStatus("not-configured")), from_triage(OLLAMA_DOWN),
              from_check(CheckResult("GPU", False, "no NVIDIA driver (libnvidia-ml.so not "
                                     "found)", "install the NVIDIA driver")),
              from_check(CheckResult("LLM model", False, "cannot ask Ollama: refused",
                                     "start Ollama first")),
              from_check(CheckResult("WhisperX model", False, "'large-v3' is not on disk",
                                     "download it once: huggingface-cli download x"))]
    text = pack(states, 80).plain
    assert len(text.splitlines()) <= 3
    assert "✗ IMAP: not set up — run `triage-tui init`" in text
    assert all(state.name in text for state in states)
    assert "`triage-tui doctor` says what to do" in text
