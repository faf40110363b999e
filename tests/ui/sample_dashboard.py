"""Fixed data for the dashboard's snapshot and layout tests: a dozen triaged mails, a
transcript with segments long enough to wrap, healthy services. Fed the pipelines' way
(`app.receive`), then waited for (`dashboard_settled`)."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from rich.console import Console

from tests.services.gpu_samples import PROCESS_NAMES
from tests.waiting import dashboard_settled
from tui.check_result import CheckResult
from tui.config import BudgetConfig, Config, OllamaConfig, PathsConfig, WhisperxConfig
from tui.mail.events import MailArrived, VerdictReady
from tui.mail.records import MailState, StoredMessage, StoredVerdict
from tui.runtime.events import ChecksDone
from tui.transcripts.events import FileQueued, SegmentTranscribed, StageChanged, WorkerMemory
from tui.transcripts.records import FileState, StoredSegment
from tui.ui.app import TriageApp

# (sender, subject, priority, category, action, summary)
MAILS = [
    ("Ana Ruiz <ana@example.org>", "Contract v3 for review", "high", "action", "flag",
     "Ana needs the contract reviewed."),
    ("GitHub <noreply@github.com>", "CI failed on main", "normal", "notification",
     "mark_read", "A CI run failed."),
    ("Weekly <news@example.com>", "This week: 5 tips", "low", "newsletter", "archive",
     "A newsletter."),
    ("IT Support <it@examp1e.com>", "Urgent: account check", "low", "spam", "none",
     "Suspicious request."),
    ("Bo Chen <bo@example.org>", "Budget sign-off needed before Thursday's board meeting",
     "urgent", "action", "flag", "Bo needs the budget signed off by Thursday."),
    ("Calendar <calendar@example.org>", "Invitation: quarterly planning (Mon 10:00)",
     "normal", "calendar", "none", "A meeting invitation."),
    ("Payroll <payroll@example.org>", "Your payslip for March is available", "low",
     "notification", "archive", "A payslip notice."),
    ("Dana Smith <dana.smith@partner-company.example.com>",
     "Re: Re: Fwd: updated statement of work and the pricing annex", "high", "action",
     "flag", "Dana sent the revised statement of work."),
    ("Jira <jira@example.org>", "[OPS-1234] Disk usage above 90% on db-2", "urgent",
     "incident", "flag", "A database host is running out of disk."),
    ("Newsletter <hello@tools.example>", "Ten things we shipped this month", "low",
     "newsletter", "archive", "A product newsletter."),
    ("Eva Novak <eva@example.org>", "Lunch on Friday?", "normal", "personal", "none",
     "Eva asks about lunch on Friday."),
    ("Billing <billing@cloud.example>", "Invoice 2026-03 for your cloud account", "normal",
     "finance", "mark_read", "A monthly invoice."),
]

DIGEST = "f" * 64
# (start, speaker, text): long enough to wrap in every layout.
SEGMENTS = [
    (0.4, "SPEAKER_00", "Good morning everyone. The quarterly numbers are in and revenue "
                        "grew by 12% over the last quarter, mostly from the new contracts "
                        "we signed in the spring."),
    (9.2, "SPEAKER_01", "Sure. The contract went to legal yesterday, and they promised "
                        "their comments by Wednesday so that we can still sign on Thursday "
                        "as planned."),
    (18.7, "SPEAKER_00", "Great, then we can sign on Thursday. Let's also look at the "
                         "hiring plan: two engineers and one designer before the summer."),
    (27.5, "SPEAKER_01", "One more thing: the supercalifragilisticexpialidocious-release-"
                         "checklist-for-the-mobile-app is still missing its final review."),
]


def fixed_config(whisperx_gpu: str = "") -> Config:
    return Config(paths=PathsConfig(drop_folder=Path("/srv/recordings/drop")),
                  ollama=OllamaConfig(host="http://127.0.0.1:9"),
                  whisperx=WhisperxConfig(gpu=whisperx_gpu),
                  budget=BudgetConfig(gpu_gib=24))


def make_sample_app(gpu: Any, whisperx_gpu: str = "") -> TriageApp:
    return TriageApp(fixed_config(whisperx_gpu), gpu_reader=lambda: gpu,
                     process_namer=PROCESS_NAMES.get, start_services=False, run_doctor=False)


def message(key: int, sender: str, subject: str, body: str) -> StoredMessage:
    return StoredMessage(key=key, message_id=f"<{key}@example.org>", folder="INBOX",
                         uidvalidity=1, uid=key, sender=sender, subject=subject, date="",
                         body=body, attachments=(), truncated=False, problems=(),
                         state=MailState.TRIAGED, attempts=1, last_error=None, raw_reply=None)


def verdict(key: int, priority: str, category: str, action: str, summary: str,
            suspected: bool = False) -> StoredVerdict:
    return StoredVerdict(key=key, priority=priority, category=category, action=action,
                         folder=None, summary=summary, reason="rule of thumb",
                         injection_suspected=suspected,
                         injection_signals=("ignore instructions",) if suspected else ())


async def feed_sample_data(pilot: Any) -> None:
    app = pilot.app
    for key, (sender, subject, priority, category, action, summary) in enumerate(MAILS, 1):
        mail = message(key, sender, subject, f"{summary} (the mail's text)")
        app.receive(MailArrived(mail, key))
        app.receive(VerdictReady(key, verdict(key, priority, category, action, summary,
                                              suspected=category == "spam")))
    app.receive(ChecksDone((
        CheckResult("GPU", True, "NVIDIA GeForce RTX 3090"),
        CheckResult("Ollama", True, "version 0.12.11"),
        CheckResult("IMAP", True, "ana@example.org"),
        CheckResult("Drop folder", True, "writable"),
    )))
    app.receive(WorkerMemory(5151, 0, 0, "cuda"))
    app.receive(FileQueued(DIGEST, "/srv/recordings/drop/standup.m4a"))
    app.receive(StageChanged(DIGEST, FileState.TRANSCRIBING))
    for index, (start, speaker, text) in enumerate(SEGMENTS):
        app.receive(SegmentTranscribed(DIGEST, StoredSegment(index, start, start + 8.0, text,
                                                             speaker)))
    await dashboard_settled(pilot)
    # Transcript lines are written on a short timer (a burst is one repaint): under load the
    # settled dashboard may not have drawn them yet.
    lines = app.query_one("#transcript-lines")
    # So is the selected mail's preview (it follows the list's highlight message).
    detail = app.query_one("#triage-detail")
    for _ in range(100):
        if (len(lines.entries) == len(SEGMENTS) and lines.lines
                and "no mail yet" not in str(detail.render())):
            break
        await pilot.pause(0.05)
    await pilot.pause()


def screen_lines(app: Any) -> list[str]:
    """The screen as the terminal shows it, one string per row."""
    width, height = app.size
    console = Console(width=width, height=height, file=io.StringIO(), force_terminal=True,
                      color_system="truecolor", record=True, legacy_windows=False)
    console.print(app.screen._compositor.render_update(
        full=True, screen_stack=app._background_screens))
    return console.export_text().splitlines()
