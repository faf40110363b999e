"""`triage-tui triage`: fetch and triage once (no actions), or apply/undo one decision."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from tui.config import Config


def add_triage_arguments(parser: argparse.ArgumentParser) -> None:
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--once", action="store_true",
                      help="fetch new mail, triage it, print verdicts (no actions)")
    mode.add_argument("--apply", nargs=2, metavar=("ID", "ACTION"),
                      help="apply ACTION (none, flag, mark_read, move, archive) to mail ID")
    mode.add_argument("--undo", metavar="ID", help="undo the last action on mail ID")
    parser.add_argument("--folder", help="target folder for --apply ID move")
    parser.add_argument("--json", action="store_true")


def _key(text: str) -> int:
    try:
        return int(text.removeprefix("m"))
    except ValueError:
        raise SystemExit(f"triage-tui triage: not a mail id: {text!r} (e.g. m12)") from None


def run_triage(config: Config, args: argparse.Namespace) -> int:
    from tui.adapters.credentials import CredentialsMissing
    from tui.mail.events import ActionFailed, BatchRetried, TriageFailed
    from tui.mail.records import MailState
    from tui.mail.verdicts import SuggestedAction
    from tui.runtime.services import Services

    if not config.imap.enabled:
        print("triage-tui triage: no IMAP account configured: set [imap] host and username",
              file=sys.stderr)
        return 1
    services = Services(config)
    pipeline = services.open_mail()  # mail left mid-batch by any earlier run is queued again
    store = pipeline.store
    problems: list[str] = []
    pipeline.subscribe(lambda e: problems.append(e.reason)
                       if isinstance(e, (ActionFailed, TriageFailed, BatchRetried)) else None)
    try:
        if args.apply:
            key, action_name = _key(args.apply[0]), args.apply[1]
            try:
                action = SuggestedAction(action_name)
            except ValueError:
                print(f"triage-tui triage: unknown action {action_name!r}; one of "
                      f"{', '.join(a.value for a in SuggestedAction)}", file=sys.stderr)
                return 2
            ok = pipeline.decide(key, action, args.folder, source="cli")
            print(f"m{key}: {action.value} " + ("applied" if ok else f"FAILED: {problems[-1]}"))
            return 0 if ok else 1
        if args.undo:
            key = _key(args.undo)
            ok = pipeline.undo(key)
            print(f"m{key}: " + ("undone" if ok else f"undo FAILED: {problems[-1]}"))
            return 0 if ok else 1
        try:
            synced = pipeline.sync_once()
        except CredentialsMissing as error:
            print(f"triage-tui triage: {error}", file=sys.stderr)
            return 1
        except Exception as error:  # connection problems: say which, exit non-zero
            print(f"triage-tui triage: IMAP: {error}", file=sys.stderr)
            return 1
        model_ok = pipeline.check_model()
        if model_ok:
            pipeline.triage_pending()
        rows: list[dict[str, Any]] = []
        for message in store.messages():
            verdict = store.verdict(message.key)
            row: dict[str, Any] = {"id": message.prompt_id, "from": message.sender,
                                   "subject": message.subject, "state": message.state.value}
            if verdict is not None:
                row.update(priority=verdict.priority, category=verdict.category,
                           action=verdict.action, folder=verdict.folder,
                           summary=verdict.summary, reason=verdict.reason,
                           injection_suspected=verdict.injection_suspected,
                           injection_signals=list(verdict.injection_signals))
            elif message.state is MailState.FAILED:
                row.update(error=message.last_error)
            rows.append(row)
        if args.json:
            print(json.dumps({"new": len(synced.new), "model_ready": model_ok,
                              "messages": rows}, indent=2))
        else:
            print(f"{len(synced.new)} new message(s)"
                  + ("" if model_ok else "; the model is not available, mail kept for later"))
            for row in rows:
                flag = " ⚠ injection" if row.get("injection_suspected") else ""
                print(f"{row['id']:>5} {row.get('priority', '-'):7} "
                      f"{row.get('action', row['state']):10} {row['subject'][:50]}{flag}")
        return 0 if model_ok else 1
    finally:
        services.stop()
