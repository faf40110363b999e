"""Triage quality: run the configured LLM backend over the labelled set
(bench/triage_quality/) through the product's own mail path, and score the verdicts.

Run: .venv/bin/python bench/triage_quality.py --config CONFIG.toml
         [--limit N] [--batch-size N] [--json] [--details]

The path is the product's, not a copy of it: the mails are served as one IMAP folder to
`tui.mail.sync.sync_folder` (which parses them with `tui.mail.parsing` and stores them as it
does from a server), and `tui.mail.pipeline.MailPipeline.triage_pending` plans the batches
from the budget (`tui.budget.batch_fit`, `tui.mail.batching`), builds the prompts
(`tui.mail.prompt`), calls the backend `[llm] backend` names (`tui.llm.make_backend`),
refuses, splits and retries replies as it always does, validates them with
`tui.mail.verdicts.parse_reply` and stores the verdicts with the code-side injection signals.
The backend is wrapped only to record each call: its time, the token counts the server
reported, and what became of the reply. The config is used as given, except that
`[imap] auto_apply` is off (there is no server to act on) and the state is a temporary
database.

`--batch-size N` hands the pipeline N mails at a time, so no batch holds more than N (the
budget may still cut it smaller). Without it, batches are as large as the budget allows, as
in the product.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.triage_scoring import (
    Confusion,
    Label,
    Prediction,
    QualityScore,
    format_confusion,
    majority_baseline,
    score_run,
)
from bench.triage_set import SET_DIR, LabelledMail, load_set
from tui.config import Config, ConfigError, load_config_file
from tui.llm import BackendError, BatchReply, PromptTooLong, TriageBackend, make_backend
from tui.mail.imap_mailbox import FetchedMessage, FolderInfo
from tui.mail.pipeline import MailPipeline
from tui.mail.records import MailState
from tui.mail.store import MailStore
from tui.mail.sync import sync_folder
from tui.mail.verdicts import Category, Priority, ReplyProblem, SuggestedAction, parse_reply

FOLDER = "INBOX"


class SetMailbox:
    """The labelled set as one IMAP folder, for `sync_folder`: the few calls a sync makes,
    answered from memory. Mails are added over time, like new mail arriving."""

    def __init__(self) -> None:
        self._raw: list[bytes] = []

    def add(self, raw: bytes) -> int:
        self._raw.append(raw)
        return len(self._raw)

    def select(self, folder: str) -> FolderInfo:
        return FolderInfo(uidvalidity=1, uidnext=len(self._raw) + 1, exists=len(self._raw))

    def all_uids(self) -> list[int]:
        return list(range(1, len(self._raw) + 1))

    def uids_after(self, last_uid: int) -> list[int]:
        return [uid for uid in self.all_uids() if uid > last_uid]

    def fetch(self, uids: Sequence[int]) -> list[FetchedMessage]:
        return [FetchedMessage(uid, self._raw[uid - 1], ()) for uid in uids]


@dataclass(frozen=True)
class CallRecord:
    mails: int
    seconds: float
    prompt_tokens: int | None
    completion_tokens: int | None
    done_reason: str | None
    # accepted, or why the pipeline refuses the reply (in the pipeline's order of checks):
    # prompt_too_long, over_room, cut_off, or a ReplyProblem kind; call_failed otherwise.
    outcome: str
    detail: str = ""


class RecordingBackend:
    """The configured backend, unchanged, recording each call."""

    def __init__(self, inner: TriageBackend, progress: Callable[[str], None]) -> None:
        self.inner = inner
        self.label = inner.label
        self.calls: list[CallRecord] = []
        self.model_injection: dict[str, bool] = {}
        self.room: Callable[[], int] = lambda: inner.num_ctx
        self._progress = progress

    @property
    def num_ctx(self) -> int:
        return self.inner.num_ctx

    def check(self) -> Any:
        return self.inner.check()

    def run_batch(self, messages: list[dict[str, str]], schema: dict[str, Any],
                  on_text: Callable[[str], None]) -> BatchReply:
        ids = schema["properties"]["verdicts"]["items"]["properties"]["id"]["enum"]
        started = time.perf_counter()
        try:
            reply = self.inner.run_batch(messages, schema, on_text)
        except PromptTooLong as error:
            self._record(CallRecord(len(ids), time.perf_counter() - started,
                                    error.prompt_tokens, None, None, "prompt_too_long",
                                    str(error)))
            raise
        except BackendError as error:
            self._record(CallRecord(len(ids), time.perf_counter() - started, None, None,
                                    None, "call_failed", str(error)))
            raise
        seconds = time.perf_counter() - started
        outcome, detail = self._judge(reply, ids)
        self._record(CallRecord(len(ids), seconds, reply.prompt_eval_count, reply.eval_count,
                                reply.done_reason, outcome, detail))
        return reply

    def _judge(self, reply: BatchReply, ids: list[str]) -> tuple[str, str]:
        """What `MailPipeline._run_batch` will make of this reply, checked in its order."""
        if (reply.prompt_eval_count or 0) > self.room():
            return "over_room", f"prompt {reply.prompt_eval_count} > room {self.room()}"
        if reply.done_reason == "length":
            return "cut_off", f"stopped at length after {reply.eval_count} tokens"
        try:
            verdicts = parse_reply(reply.text, ids)
        except ReplyProblem as problem:
            return problem.kind, problem.detail[:200]
        for verdict in verdicts:
            self.model_injection[verdict.id] = verdict.injection_suspected
        return "accepted", ""

    def _record(self, call: CallRecord) -> None:
        self.calls.append(call)
        prompt = "?" if call.prompt_tokens is None else call.prompt_tokens
        completion = "?" if call.completion_tokens is None else call.completion_tokens
        tokens = f"prompt {prompt} + completion {completion} tok"
        self._progress(f"call {len(self.calls)}: {call.mails} mail(s), {call.seconds:.1f} s, "
                       f"{tokens}: {call.outcome}"
                       + (f" ({call.detail[:120]})" if call.detail and call.outcome != "accepted"
                          else ""))


@dataclass(frozen=True)
class MailResult:
    label: Label
    prediction: Prediction | None
    state: str
    error: str | None


@dataclass(frozen=True)
class RunResult:
    backend: str
    model: str
    num_ctx: int
    system_prompt_sent: bool
    system_prompt_source: str  # "config", "built-in" (no Modelfile), or "modelfile" (Ollama)
    batch_size: int | None
    mails: list[MailResult]
    calls: list[CallRecord]
    wall_seconds: float


def _bench_config(config: Config) -> Config:
    imap = config.imap.model_copy(update={"auto_apply": False})
    return config.model_copy(update={"imap": imap})


def _model_name(config: Config) -> str:
    if config.llm.backend == "openai":
        return f"{config.openai.model} at {config.openai.base_url}"
    return f"{config.ollama.model} at {config.ollama.host}"


def _system_prompt_source(config: Config) -> str:
    if config.llm.system_prompt.strip():
        return "config"
    return "modelfile" if config.llm.backend == "ollama" else "built-in"


def run(config: Config, mails: Sequence[LabelledMail], *, batch_size: int | None,
        progress: Callable[[str], None], model: TriageBackend | None = None) -> RunResult:
    """Triage `mails` through the product's path; `model` replaces the configured backend
    (the tests' stand-in), otherwise `make_backend(config)` builds it."""
    config = _bench_config(config)
    backend = RecordingBackend(model or make_backend(config), progress)
    with tempfile.TemporaryDirectory(prefix="triage-quality-") as state:
        store = MailStore(Path(state) / "bench.db")
        try:
            pipeline = MailPipeline(config, store, model=backend)
            backend.room = lambda: pipeline.num_ctx - config.budget.generation_reserve_tokens
            if not pipeline.check_model():
                status = pipeline.last_status
                detail = f"{status.detail}; {status.fix}" if status else "not ready"
                raise SystemExit(f"triage_quality: {backend.label} is not ready: {detail}")
            mailbox = SetMailbox()
            uid_to_label: dict[int, Label] = {}
            chunk = batch_size or len(mails)
            started = time.perf_counter()
            for start in range(0, len(mails), chunk):
                for mail in mails[start:start + chunk]:
                    uid_to_label[mailbox.add(mail.raw)] = mail.label
                sync_folder(mailbox, store, FOLDER,  # type: ignore[arg-type]
                            max_body_tokens=pipeline.max_body_tokens, backfill=len(mails))
                # A failed call ends a round and puts its batch back with a retry time; the
                # rest is still due, so go on until nothing is left to send.
                while store.messages_due(time.time()):
                    if not pipeline.triage_pending():
                        break
            wall = time.perf_counter() - started
            results = _results(store, uid_to_label, backend.model_injection)
        finally:
            store.close()
    return RunResult(backend=config.llm.backend, model=_model_name(config),
                     num_ctx=pipeline.num_ctx,
                     system_prompt_sent=bool(config.llm.system_prompt.strip())
                     or config.llm.backend != "ollama",
                     system_prompt_source=_system_prompt_source(config),
                     batch_size=batch_size, mails=results, calls=backend.calls,
                     wall_seconds=wall)


def _results(store: MailStore, uid_to_label: dict[int, Label],
             model_injection: dict[str, bool]) -> list[MailResult]:
    by_uid = {message.uid: message for message in store.messages()}
    results = []
    for uid, label in uid_to_label.items():
        message = by_uid.get(uid)
        if message is None:  # never stored: a duplicate Message-ID in the set
            results.append(MailResult(label, None, "not stored", "not stored"))
            continue
        verdict = store.verdict(message.key)
        prediction = None
        if verdict is not None:
            prediction = Prediction(
                priority=verdict.priority, action=verdict.action, category=verdict.category,
                folder=verdict.folder, injection=verdict.injection_suspected,
                model_injection=model_injection.get(message.prompt_id),
                heuristic_injection=bool(verdict.injection_signals))
        state = message.state.value
        if message.state is MailState.NEW and message.retry_at is not None:
            state = "waiting (call failed)"
        results.append(MailResult(label, prediction, state, message.last_error))
    return results


def _score(result: RunResult) -> QualityScore:
    return score_run([(m.label, m.prediction) for m in result.mails],
                     actions=[a.value for a in SuggestedAction],
                     categories=[c.value for c in Category],
                     priorities=[p.value for p in Priority])


def _per_mail(calls: Sequence[CallRecord], mails: int) -> dict[str, Any]:
    prompt = [c.prompt_tokens for c in calls if c.prompt_tokens is not None]
    completion = [c.completion_tokens for c in calls if c.completion_tokens is not None]
    seconds = sum(c.seconds for c in calls)
    return {
        "prompt_tokens": sum(prompt) / mails if mails else None,
        "completion_tokens": sum(completion) / mails if mails else None,
        "calls_with_token_counts": len(prompt),
        "model_seconds": seconds / mails if mails else None,
    }


def as_json(result: RunResult, score: QualityScore) -> dict[str, Any]:
    outcomes = Counter(c.outcome for c in result.calls)
    return {
        "schema_version": 1,
        "run": {"backend": result.backend, "model": result.model, "num_ctx": result.num_ctx,
                "system_prompt_sent": result.system_prompt_sent,
                "system_prompt_source": result.system_prompt_source,
                "batch_size": result.batch_size, "wall_seconds": result.wall_seconds,
                "seconds_per_mail": result.wall_seconds / len(result.mails)
                if result.mails else None},
        "scores": score.as_dict(),
        "calls": {"count": len(result.calls), "outcomes": dict(outcomes),
                  "schema_invalid_replies": sum(n for kind, n in outcomes.items()
                                                if kind not in ("accepted", "call_failed",
                                                                "prompt_too_long",
                                                                "over_room", "cut_off")),
                  "per_mail": _per_mail(result.calls, len(result.mails)),
                  "each": [asdict(c) for c in result.calls]},
        "mails": [{"file": m.label.file, "expected": asdict(m.label),
                   "predicted": asdict(m.prediction) if m.prediction else None,
                   "state": m.state, "error": m.error} for m in result.mails],
    }


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"


def _confusion_of(data: dict[str, Any]) -> Confusion:
    return Confusion(tuple(data["labels"]),
                     {(expected, predicted): count
                      for expected, row in data["rows"].items()
                      for predicted, count in row.items()})


def _verdict_text(verdict: dict[str, Any], injection: str) -> str:
    folder = f"/{verdict['folder']}" if verdict.get("folder") else ""
    flag = " INJ" if verdict[injection] else ""
    return f"{verdict['priority']}/{verdict['action']}{folder}/{verdict['category']}{flag}"


def report(data: dict[str, Any], *, details: bool = False) -> str:
    """The tables, from `as_json`'s output (so a saved run can be shown again)."""
    run_info, calls, scores = data["run"], data["calls"], data["scores"]
    per_mail = calls["per_mail"]
    rows = data["mails"]
    mails = len(rows)
    answered = sum(row["predicted"] is not None for row in rows)
    without = Counter(row["state"] for row in rows if row["predicted"] is None)
    # Since cd2ab59 a backend without a Modelfile sends the built-in prompt when [llm]
    # system_prompt is empty; runs saved before (no "system_prompt_source") sent none.
    source = run_info.get("system_prompt_source")
    system = ("the built-in prompt (tui/prompts.py), sent with every batch: no Modelfile "
              "holds one here" if source == "built-in"
              else "[llm] system_prompt, sent with every batch" if run_info["system_prompt_sent"]
              else "none sent; the Modelfile's SYSTEM applies" if run_info["backend"] == "ollama"
              else "none sent ([llm] system_prompt is empty and an OpenAI-compatible server "
                   "has no Modelfile: the model sees only the task line, the mails and the "
                   "schema)")
    lines = [
        f"triage quality: {mails} mails, {run_info['backend']} backend, {run_info['model']}, "
        f"num_ctx {run_info['num_ctx']}, "
        + (f"at most {run_info['batch_size']} a batch" if run_info["batch_size"]
           else "batches as large as the budget allows"),
        f"system prompt: {system}",
        f"verdicts: {answered} of {mails}"
        + (f"; without: {', '.join(f'{n} {s}' for s, n in without.items())}" if without
           else ""),
        f"calls: {calls['count']}; "
        + ", ".join(f"{kind} {n}" for kind, n in sorted(calls["outcomes"].items()))
        + f"; schema-invalid replies: {calls['schema_invalid_replies']}",
        "",
        f"{'accuracy':<24}{'all mails':>18}{'of answered':>13}   always the most common label",
    ]
    # From the labels themselves, so a run saved before baselines existed shows them too.
    baselines = {name: majority_baseline([row["expected"][name] for row in rows]).as_dict()
                 for name in ("priority", "action", "category")}
    for name, key in (("priority", "priority"),
                      ("priority within 1 step", "priority_within_one_step"),
                      ("action", "action"), ("category", "category"),
                      ("move + folder", "move_folder")):
        acc = scores["accuracy"][key]
        baseline = baselines.get(key)
        floor = (f"   {_pct(baseline['rate']):>4} ({baseline['value']})"
                 if baseline and baseline["value"] else "")
        lines.append(f"  {name:<22}{_pct(acc['rate']):>7} ({acc['correct']:>3}/"
                     f"{acc['total']:<3}){_pct(acc['answered_rate']):>13}{floor}")
    positives = sum(row["expected"]["injection"] for row in rows)
    lines += ["", f"injection ({positives} of {mails} labelled){'precision':>14}"
                  f"{'recall':>8}{'tp':>5}{'fp':>5}{'fn':>5}"]
    for name, key in (("product (model or code)", "product"), ("model alone", "model"),
                      ("code heuristics alone", "heuristics")):
        binary = scores["injection"][key]
        lines.append(f"  {name:<36}{_pct(binary['precision']):>7}{_pct(binary['recall']):>8}"
                     f"{binary['tp']:>5}{binary['fp']:>5}{binary['fn']:>5}")

    def number(value: float | None, digits: int = 1) -> str:
        return "-" if value is None else f"{value:,.{digits}f}"

    lines += [
        "",
        f"tokens per mail (server counts, {per_mail['calls_with_token_counts']} of "
        f"{calls['count']} calls, refused replies included): prompt "
        f"{number(per_mail['prompt_tokens'])}, completion "
        f"{number(per_mail['completion_tokens'])}",
        f"seconds per mail: {number(run_info['seconds_per_mail'], 2)} "
        f"(wall {run_info['wall_seconds']:,.0f} s; in model calls "
        f"{number(per_mail['model_seconds'], 2)} s a mail)",
    ]
    for name in ("priority", "action", "category"):
        lines += ["", format_confusion(_confusion_of(scores["confusion"][name]), name)]
    lines.append("(rows: expected; columns: predicted; none? = no verdict)")
    if details:
        lines += ["", "mails (expected -> predicted):"]
        for row in rows:
            want = _verdict_text(row["expected"], "injection")
            got = (f"no verdict: {row['error'] or row['state']}" if row["predicted"] is None
                   else _verdict_text(row["predicted"], "injection"))
            lines.append(f"  {'=' if want == got else 'x'} {row['file']}: {want} -> {got}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--config", type=Path,
                        help="a triage-tui config file (config/triage.toml's format); "
                             "[llm] picks the backend")
    source.add_argument("--render", type=Path, metavar="JSON",
                        help="show the tables of a run saved with --json or --json-out")
    parser.add_argument("--limit", type=int, help="only the first N mails of the set")
    parser.add_argument("--batch-size", type=int, help="at most N mails a batch")
    parser.add_argument("--set", type=Path, default=SET_DIR, help="the labelled set's folder")
    parser.add_argument("--json", action="store_true", help="print JSON instead of tables")
    parser.add_argument("--json-out", type=Path, metavar="FILE",
                        help="also write the JSON to FILE")
    parser.add_argument("--details", action="store_true",
                        help="also list every mail, expected against predicted")
    parser.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    args = parser.parse_args(argv)
    for name in ("limit", "batch_size"):
        value = getattr(args, name)
        if value is not None and value < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1")
    if args.render:
        print(report(json.loads(args.render.read_text(encoding="utf-8")),
                     details=args.details))
        return 0
    try:
        config = load_config_file(args.config)
    except ConfigError as error:
        print(f"triage_quality: {error}", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.ERROR, stream=sys.stderr)
    mails = load_set(args.set)[: args.limit]

    def progress(line: str) -> None:
        if not args.quiet:
            print(line, file=sys.stderr, flush=True)

    result = run(config, mails, batch_size=args.batch_size, progress=progress)
    data = as_json(result, _score(result))
    if args.json_out:
        args.json_out.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(data, indent=2) if args.json else report(data, details=args.details))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
