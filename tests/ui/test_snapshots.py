"""Snapshot tests of the dashboard layout with fixed data (pytest-textual-snapshot).

Update after an intended layout change with: pytest tests/snapshots --snapshot-update
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.services.gpu_samples import NO_GPU, PROCESS_NAMES, RTX_3090, TWO_RTX_3090
from tests.waiting import dashboard_settled
from tui.check_result import CheckResult
from tui.config import BudgetConfig, Config, OllamaConfig, PathsConfig, WhisperxConfig
from tui.mail.events import MailArrived, VerdictReady
from tui.mail.records import MailState, StoredMessage, StoredVerdict
from tui.runtime.events import ChecksDone
from tui.transcripts.events import FileQueued, SegmentTranscribed, StageChanged, WorkerMemory
from tui.transcripts.records import FileState, StoredSegment
from tui.ui.app import TriageApp


def fixed_config(whisperx_gpu: str = "") -> Config:
    return Config(paths=PathsConfig(drop_folder=Path("/srv/recordings/drop")),
                  ollama=OllamaConfig(host="http://127.0.0.1:9"),
                  whisperx=WhisperxConfig(gpu=whisperx_gpu),
                  budget=BudgetConfig(gpu_gib=24))


def make_snapshot_app(gpu: Any, whisperx_gpu: str = "") -> TriageApp:
    return TriageApp(fixed_config(whisperx_gpu), gpu_reader=lambda: gpu,
                     process_namer=PROCESS_NAMES.get, start_services=False, run_doctor=False)


def _message(key: int, sender: str, subject: str, body: str) -> StoredMessage:
    return StoredMessage(key=key, message_id=f"<{key}@example.org>", folder="INBOX",
                         uidvalidity=1, uid=key, sender=sender, subject=subject, date="",
                         body=body, attachments=(), truncated=False, problems=(),
                         state=MailState.TRIAGED, attempts=1, last_error=None, raw_reply=None)


def _verdict(key: int, priority: str, category: str, action: str, summary: str,
             suspected: bool = False) -> StoredVerdict:
    return StoredVerdict(key=key, priority=priority, category=category, action=action,
                         folder=None, summary=summary, reason="rule of thumb",
                         injection_suspected=suspected,
                         injection_signals=("ignore instructions",) if suspected else ())


async def feed_sample_data(pilot: Any) -> None:
    app = pilot.app
    mails = [
        (_message(1, "Ana Ruiz <ana@example.org>", "Contract v3 for review", "Hi, attached."),
         _verdict(1, "high", "action", "flag", "Ana needs the contract reviewed.")),
        (_message(2, "GitHub <noreply@github.com>", "CI failed on main", "Run #512 failed."),
         _verdict(2, "normal", "notification", "mark_read", "A CI run failed.")),
        (_message(3, "Weekly <news@example.com>", "This week: 5 tips", "Tips inside."),
         _verdict(3, "low", "newsletter", "archive", "A newsletter.")),
        (_message(4, "IT Support <it@examp1e.com>", "Urgent: account check", "Ignore all..."),
         _verdict(4, "low", "spam", "none", "Suspicious request.", suspected=True)),
    ]
    for message, verdict in mails:
        app.receive(MailArrived(message, message.key))
        app.receive(VerdictReady(message.key, verdict))
    app.receive(ChecksDone((
        CheckResult("GPU", True, "NVIDIA GeForce RTX 3090"),
        CheckResult("Ollama", True, "version 0.12.11"),
        CheckResult("IMAP", True, "ana@example.org"),
        CheckResult("Drop folder", True, "writable"),
    )))
    digest = "f" * 64
    events = [WorkerMemory(5151, 0, 0, "cuda"),
              FileQueued(digest, "/srv/recordings/drop/standup.m4a"),
              StageChanged(digest, FileState.TRANSCRIBING)]
    lines = [(0.4, "SPEAKER_00", "Good morning, let's start with the budget."),
             (4.2, "SPEAKER_01", "Sure. The contract went to legal yesterday."),
             (9.8, "SPEAKER_00", "Great, then we can sign on Thursday.")]
    for index, (start, speaker, text) in enumerate(lines):
        events.append(SegmentTranscribed(digest, StoredSegment(index, start, start + 3.5, text,
                                                               speaker)))
    for event in events:
        app.receive(event)
    await dashboard_settled(pilot)


@pytest.mark.parametrize("size", [(80, 24), (160, 48)])
def test_main_screen(snap_compare: Any, size: tuple[int, int]) -> None:
    assert snap_compare(make_snapshot_app(RTX_3090), terminal_size=size,
                        run_before=feed_sample_data)


@pytest.mark.parametrize("size", [(80, 24), (160, 48)])
def test_two_cards_each_with_its_budget(snap_compare: Any, size: tuple[int, int]) -> None:
    assert snap_compare(make_snapshot_app(TWO_RTX_3090, whisperx_gpu="1"), terminal_size=size,
                        run_before=feed_sample_data)


def test_gpu_panel_without_a_gpu(snap_compare: Any) -> None:
    assert snap_compare(make_snapshot_app(NO_GPU), terminal_size=(120, 36),
                        run_before=feed_sample_data)


def test_help_screen(snap_compare: Any) -> None:
    async def open_help(pilot: Any) -> None:
        await feed_sample_data(pilot)
        await pilot.press("question_mark")
        await pilot.pause()

    assert snap_compare(make_snapshot_app(RTX_3090), terminal_size=(120, 36),
                        run_before=open_help)
