"""`triage-tui triage`: fetch and triage once (no actions), re-triage failed mail, or
apply/undo one decision.

Never a traceback: every failure is one line on stderr (the detail goes to the log file), and
the exit code is non-zero when any mail of the run failed or was left waiting.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tui.config import Config
    from tui.mail.pipeline import MailPipeline
    from tui.mail.records import StoredMessage
    from tui.runtime.services import Services

log = logging.getLogger(__name__)
PROG = "triage-tui triage"


def add_triage_arguments(parser: argparse.ArgumentParser) -> None:
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--once", action="store_true",
                      help="fetch new mail, triage it, print verdicts (no actions)")
    mode.add_argument("--retry-failed", action="store_true",
                      help="send failed mail, and mail waiting for a retry, back to the model "
                           "now; then as --once")
    mode.add_argument("--retriage", nargs="+", metavar="ID",
                      help="send these mails (e.g. m12) back to the model now; then as --once")
    mode.add_argument("--apply", nargs=2, metavar=("ID", "ACTION"),
                      help="apply ACTION (none, flag, mark_read, move, archive) to mail ID")
    mode.add_argument("--undo", metavar="ID", help="undo the last action on mail ID")
    parser.add_argument("--folder", help="target folder for --apply ID move")
    parser.add_argument("--json", action="store_true")


def _key(text: str) -> int:
    try:
        return int(text.removeprefix("m"))
    except ValueError:
        raise SystemExit(f"{PROG}: not a mail id: {text!r} (e.g. m12)") from None


def _problem(text: str) -> None:
    print(f"{PROG}: {text}", file=sys.stderr)


def run_triage(config: Config, args: argparse.Namespace) -> int:
    from tui.adapters.state_lock import StateInUse
    from tui.runtime.services import Services

    if not config.imap.enabled:
        _problem("no IMAP account configured: run `triage-tui init` "
                 "(or set [imap] host and username)")
        return 1
    services = Services(config, role="triage")
    try:
        if args.apply or args.undo:
            return _decide(services, args)
        return _triage(services, args)
    except StateInUse as error:  # another process owns the state: say who, nothing else
        _problem(str(error))
        return 1
    except Exception as error:  # one clear line; the traceback goes to the log file
        log.exception("%s failed", PROG)
        _problem(f"{type(error).__name__}: {error} (details in {services.log_path})")
        return 1
    finally:
        services.stop()


def _decide(services: Services, args: argparse.Namespace) -> int:
    from tui.mail.events import ActionFailed
    from tui.mail.verdicts import SuggestedAction

    pipeline = services.open_mail()  # mail left mid-batch by any earlier run is queued again
    problems: list[str] = []
    pipeline.subscribe(lambda e: problems.append(e.reason)
                       if isinstance(e, ActionFailed) else None)

    def why() -> str:
        return problems[-1] if problems else f"details in {services.log_path}"

    if args.apply:
        key, action_name = _key(args.apply[0]), args.apply[1]
        try:
            action = SuggestedAction(action_name)
        except ValueError:
            _problem(f"unknown action {action_name!r}; one of "
                     f"{', '.join(a.value for a in SuggestedAction)}")
            return 2
        ok = pipeline.decide(key, action, args.folder, source="cli")
        print(f"m{key}: {action.value} " + ("applied" if ok else f"FAILED: {why()}"))
        return 0 if ok else 1
    key = _key(args.undo)
    ok = pipeline.undo(key)
    print(f"m{key}: " + ("undone" if ok else f"undo FAILED: {why()}"))
    return 0 if ok else 1


@dataclass
class _RunLog:
    """What happened to mail during this run, from the pipeline's events."""

    failed: dict[int, str] = field(default_factory=dict)
    deferred: dict[int, str] = field(default_factory=dict)

    def __call__(self, event: object) -> None:
        from tui.mail.events import TriageDeferred, TriageFailed, VerdictReady

        if isinstance(event, TriageFailed):
            self.failed.update(dict.fromkeys(event.keys, event.reason))
        elif isinstance(event, TriageDeferred):
            self.deferred.update(dict.fromkeys(event.keys, event.reason))
        elif isinstance(event, VerdictReady):
            self.failed.pop(event.key, None)
            self.deferred.pop(event.key, None)


def _when(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, timezone.utc).isoformat(timespec="seconds")


def _row(pipeline: MailPipeline, message: StoredMessage, now: float) -> dict[str, Any]:
    from tui.mail.records import MailState

    row: dict[str, Any] = {"id": message.prompt_id, "from": message.sender,
                           "subject": message.subject, "state": message.state.value}
    verdict = pipeline.store.verdict(message.key)
    if verdict is not None and message.state in (MailState.TRIAGED, MailState.DECIDED):
        row.update(priority=verdict.priority, category=verdict.category,
                   action=verdict.action, folder=verdict.folder,
                   summary=verdict.summary, reason=verdict.reason,
                   injection_suspected=verdict.injection_suspected,
                   injection_signals=list(verdict.injection_signals))
    elif message.state is MailState.FAILED:
        row.update(error=message.last_error)
    elif message.state is MailState.NEW:
        row.update(error=message.last_error, waiting=True,
                   retry_at=_when(message.retry_at) if message.retry_at else None,
                   retry_in_s=round(max(0.0, message.retry_at - now))
                   if message.retry_at else None)
    return row


def _failure_lines(pipeline: MailPipeline, run: _RunLog, rows: list[dict[str, Any]],
                   model_ok: bool) -> list[str]:
    """One line per failure of this run: the backend's, each failed mail's, and each failed
    call's (naming the mails it left waiting)."""
    lines = []
    status = pipeline.last_status
    waiting = [row for row in rows if row.get("waiting")]
    if not model_ok and status is not None:
        lines.append(f"{len(waiting)} mail(s) kept for later: {status.detail} → {status.fix}")
    elif status is not None and status.state not in ("ready", "working") and run.deferred:
        # The server answers, but a call failed (or the model went away meanwhile).
        fix = (status.fix if status.state != "retrying" else
               f"the first run after that retries; `{PROG} --retry-failed` retries now")
        lines.append(f"{status.detail} → {fix}")
    for row in rows:
        key = int(row["id"][1:])
        if row["state"] == "failed" and key in run.failed:
            lines.append(f"{row['id']} failed: {row.get('error') or run.failed[key]} → "
                         f"`{PROG} --retriage {row['id']}` (or --retry-failed)")
    # Mail back in the queue after a failed call, one line per call (same error and time).
    calls: dict[tuple[str, int | None], list[str]] = {}
    for row in waiting:
        if row.get("error"):
            calls.setdefault((row["error"], row.get("retry_in_s")), []).append(row["id"])
    for (error, retry_in), ids in calls.items():
        when = f"retry in {retry_in} s" if retry_in is not None else "retry on the next run"
        lines.append(f"{', '.join(ids)} waiting, {when}: {error}")
    unsent = [row["id"] for row in waiting if not row.get("error")]
    if model_ok and unsent:
        lines.append(f"{len(unsent)} mail(s) not sent after that failure "
                     f"({', '.join(unsent[:10])}): the next run sends them")
    return lines


def _triage(services: Services, args: argparse.Namespace) -> int:
    from tui.adapters.credentials import CredentialsMissing
    from tui.mail.records import MailState

    pipeline = services.open_mail()  # mail left mid-batch by any earlier run is queued again
    store = pipeline.store
    run = _RunLog()
    pipeline.subscribe(run)
    requeued: list[int] = []
    if args.retriage:
        requeued = [_key(text) for text in args.retriage]
        unknown = [f"m{key}" for key in requeued if store.message(key) is None]
        if unknown:
            _problem(f"no such mail: {', '.join(unknown)}")
            return 2
        pipeline.retriage(requeued)
    elif args.retry_failed:
        requeued = pipeline.retry_failed()
    try:
        synced = pipeline.sync_once()
    except CredentialsMissing as error:
        _problem(str(error))
        return 1
    except Exception as error:  # connection problems: say which, exit non-zero
        log.warning("IMAP sync failed: %s", error, exc_info=True)
        _problem(f"IMAP: {error}")
        return 1
    model_ok = pipeline.check_model()
    if model_ok:
        pipeline.triage_pending()
    now = time.time()
    rows = [_row(pipeline, message, now) for message in store.messages()]
    lines = _failure_lines(pipeline, run, rows, model_ok)
    earlier = [row["id"] for row in rows
               if row["state"] == MailState.FAILED.value and int(row["id"][1:]) not in run.failed]
    ok = model_ok and not run.failed and not any(row.get("waiting") for row in rows)
    status = pipeline.last_status
    if args.json:
        print(json.dumps({
            "new": len(synced.new), "model_ready": model_ok, "ok": ok,
            "backend": {"name": pipeline.model.label, "state": status.state,
                        "detail": status.detail, "fix": status.fix} if status else None,
            "requeued": [f"m{key}" for key in requeued],
            "problems": lines, "messages": rows}, indent=2))
    else:
        summary = ""
        if not model_ok:
            what = ("the model is not available" if status and status.state == "model-missing"
                    else f"{pipeline.model.label} is not reachable")
            summary = f"; {what}, mail kept for later"
        print(f"{len(synced.new)} new message(s)" + summary)
        if requeued:
            print(f"{len(requeued)} mail(s) sent back to the model")
        for row in rows:
            flag = " ⚠ injection" if row.get("injection_suspected") else ""
            state = "waiting" if row.get("waiting") else row["state"]
            print(f"{row['id']:>5} {row.get('priority', '-'):7} "
                  f"{row.get('action', state):10} {row['subject'][:50]}{flag}")
        if earlier:
            print(f"{len(earlier)} mail(s) failed in earlier runs: `{PROG} --retry-failed`")
    for line in lines:
        _problem(line)
    return 0 if ok else 1
