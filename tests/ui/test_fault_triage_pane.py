"""The dashboard shows a failed call: the triage pane's row says when the mail is retried and
its detail why; the status line names the backend's problem; a verdict clears both."""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from tests.services.gpu_samples import NO_GPU, PROCESS_NAMES
from tests.waiting import dashboard_settled
from tui.config import Config, OllamaConfig, PathsConfig
from tui.mail.events import (
    MailArrived,
    TriageDeferred,
    TriageRequeued,
    TriageStatus,
    VerdictReady,
)
from tui.mail.records import MailState, StoredMessage, StoredVerdict
from tui.ui.app import TriageApp
from tui.ui.widgets.service_status import ServiceStatus
from tui.ui.widgets.triage_pane import TriagePane, retry_state

REASON = "Ollama: http://127.0.0.1:11434: HTTP 500: llama runner process has terminated"


def message(key: int, **changes: Any) -> StoredMessage:
    base = StoredMessage(key=key, message_id=f"<{key}@example.org>", folder="INBOX",
                         uidvalidity=1, uid=key, sender="Ana <ana@example.org>",
                         subject=f"Mail {key}", date="", body="Hello.", attachments=(),
                         truncated=False, problems=(), state=MailState.NEW, attempts=0,
                         last_error=None, raw_reply=None)
    return replace(base, **changes)


def action_cell(pane: TriagePane, key: int) -> str:
    """The list's action column: the suggestion, or where the mail is on its way to one."""
    return str(pane.table.get_cell(str(key), "action"))


def test_fault_retry_state_is_short() -> None:
    assert [retry_state(s) for s in (0.4, 41, 99.4, 150, 5999, 7200)] == [
        "retry 0s", "retry 41s", "retry 99s", "retry 2m", "retry 100m", "retry 2h"]
    assert all(len(retry_state(s)) <= 10 for s in (1, 99, 5999, 86400 * 3))


async def test_fault_the_pane_shows_when_waiting_mail_is_retried(tmp_path: Path) -> None:
    config = Config(paths=PathsConfig(drop_folder=tmp_path / "drop"),
                    ollama=OllamaConfig(host="http://127.0.0.1:9"))
    app = TriageApp(config, gpu_reader=lambda: NO_GPU, process_namer=PROCESS_NAMES.get,
                    start_services=False, run_doctor=False)
    async with app.run_test(size=(160, 40)) as pilot:
        pane = app.query_one(TriagePane)
        now = time.time()
        # Mail 2 was left waiting by an earlier run: the stored retry time shows at start.
        app.receive(MailArrived(message(1), 1))
        app.receive(MailArrived(message(2, retry_at=now + 300, last_error=REASON), 2))
        app.receive(TriageDeferred((1,), REASON, now + 40, 40.0))
        app.receive(TriageStatus("retrying", f"call failed, retry in 40 s ({REASON})",
                                 "retried automatically", "Ollama"))
        await dashboard_settled(pilot)
        assert action_cell(pane, 1) == "retry 40s"
        assert action_cell(pane, 2) in ("retry 5m", "retry 4m")
        detail = str(pane.query_one("#triage-detail").render())
        assert "HTTP 500" in detail  # the selected row (mail 1) says why
        status = str(app.query_one(ServiceStatus).render())
        assert "Ollama call failed, retry in 40 s" in status

        verdict = StoredVerdict(key=1, priority="normal", category="fyi", action="none",
                                folder=None, summary="Hello.", reason="routine",
                                injection_suspected=False, injection_signals=())
        app.receive(VerdictReady(1, verdict))
        await dashboard_settled(pilot)
        assert pane.rows[1].state == "triaged" and action_cell(pane, 1) == "none"


async def test_fault_mail_sent_back_by_the_user_no_longer_shows_its_retry_time(
        tmp_path: Path) -> None:
    config = Config(paths=PathsConfig(drop_folder=tmp_path / "drop"),
                    ollama=OllamaConfig(host="http://127.0.0.1:9"))
    app = TriageApp(config, gpu_reader=lambda: NO_GPU, process_namer=PROCESS_NAMES.get,
                    start_services=False, run_doctor=False)
    async with app.run_test(size=(160, 40)) as pilot:
        pane = app.query_one(TriagePane)
        app.receive(MailArrived(message(1), 1))
        app.receive(TriageDeferred((1,), REASON, time.time() + 40, 40.0))
        await dashboard_settled(pilot)
        assert action_cell(pane, 1) == "retry 40s"
        app.receive(TriageRequeued((1,)))  # `t`: the pipeline queued it again, now
        await dashboard_settled(pilot)
        assert action_cell(pane, 1) == "new"
        assert "HTTP 500" not in str(pane.query_one("#triage-detail").render())
