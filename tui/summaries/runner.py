"""Summaries of finished transcripts, pass by pass, through whichever LLM backend triages mail
(`tui.llm`'s protocol: Ollama, OpenAI-compatible servers, llama.cpp in process), on the mail's
one slot (`LlmSlot`: mail first) and inside the same context cap.

A transcript is planned once (`planner.plan_summary`: map passes over runs of segments,
reduce passes over their notes) and the plan is stored with each pass's note as it is
validated, so a restart resumes at the first pass without one. Nothing is cut silently: each
reply is checked as a mail batch's is (`tui.llm.reply_checks`: the server's prompt count
against the planned room, `length` replies); a prompt the server refused or counted beyond
the room teaches the calibration and the transcript is planned again with smaller chunks
(the notes of unchanged chunks kept); a reply that is not a valid summary is asked for again,
then the summary fails with the reply kept. A call that got no answer (server down, model
missing) puts the summary back in the queue with a backoff.

Headless; subscribers get events on the runner's thread (`start`) or the caller's
(`summarise`, as `triage-tui summarize` does).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import random
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from tui.budget.tokens import BYTES_PER_TOKEN
from tui.llm.protocol import (
    BackendError,
    BackendUnavailable,
    BatchReply,
    ModelMissing,
    PromptTooLong,
    TriageBackend,
)
from tui.llm.reply_checks import prompt_cut_reason, reply_cut_reason
from tui.llm.slot import LlmSlot
from tui.mail.batching import TokenCalibration
from tui.mail.prompt import prompt_tokens
from tui.subscribers import Listener, Subscribers
from tui.summaries.events import (
    SummaryDeferred,
    SummaryFailed,
    SummaryPlanned,
    SummaryProgress,
    SummaryQueued,
    SummaryReady,
    SummaryRetried,
)
from tui.summaries.planner import PlanError, plan_summary
from tui.summaries.prompt import map_messages, reduce_messages, segment_lines
from tui.summaries.render import summary_markdown
from tui.summaries.schema import (
    MeetingSummary,
    SummaryProblem,
    parse_summary,
    summary_format_schema,
)
from tui.summaries.store import StoredPass, SummaryState, SummaryStore
from tui.transcripts.events import FileDone
from tui.transcripts.records import AudioFileRecord, FileState, StoredSegment
from tui.transcripts.store import TranscriptStore

log = logging.getLogger(__name__)

# A pass whose reply is not a valid summary (or was cut at `length`) is asked this many times.
MAX_PASS_ATTEMPTS = 2
# Plans after a prompt the server found too long, per run, before the summary fails.
MAX_REPLANS = 3
# Failed calls in a row (no answer) before the summary fails; the backoff between them.
MAX_CALL_FAILURES = 8
RETRY_BASE_SECONDS = 10.0
RETRY_MAX_SECONDS = 900.0
IDLE_POLL_SECONDS = 5.0
MODEL_RETRY_SECONDS = 30.0
PROGRESS_EVERY_SECONDS = 0.5


@dataclass(frozen=True)
class SummaryOutcome:
    content_hash: str
    state: SummaryState
    calls: int = 0                     # LLM calls this run made
    passes: int = 0                    # passes in the (final) plan
    reason: str = ""
    outputs: tuple[Path, ...] = ()


@dataclass(frozen=True)
class _PassResult:
    status: str                        # done, retry, replan, stopped
    reason: str = ""
    raw: str = ""


def source_digest(lines: Sequence[str]) -> str:
    """What a summary was made of: the lines as the model read them (speaker names in)."""
    return hashlib.sha256("\n".join(lines).encode("utf-8")).hexdigest()


def summary_paths(record: AudioFileRecord, output_dir: Path) -> tuple[Path, Path]:
    """`<name>.summary.json` and `<name>.summary.md` beside the transcript's outputs, `<name>`
    being the name those were written under (`talk.srt` → `talk`)."""
    if record.outputs:
        folder, name = record.outputs[0].parent, record.outputs[0].name.rsplit(".", 1)[0]
    else:
        folder, name = output_dir, record.path.stem
    return folder / f"{name}.summary.json", folder / f"{name}.summary.md"


def _write_atomically(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, staging = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            file.write(text)
        os.replace(staging, path)
    except BaseException:
        Path(staging).unlink(missing_ok=True)
        raise


class Summariser:
    def __init__(self, store: SummaryStore, transcripts: TranscriptStore,
                 model: TriageBackend, *, num_ctx: int, reserve: int,
                 output_dir: Path, llm_slot: LlmSlot | None = None,
                 calibration: TokenCalibration | None = None) -> None:
        self.store = store
        self.transcripts = transcripts
        self.model = model
        self.num_ctx = num_ctx
        self.reserve = reserve
        self.output_dir = output_dir
        self.llm_slot = llm_slot or LlmSlot()
        self.calibration = calibration or TokenCalibration()
        self.model_ready = False
        self._subscribers = Subscribers("summaries")
        self._stopping = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    # -- subscribers and the transcript side ------------------------------------------------

    def subscribe(self, listener: Listener) -> None:
        self._subscribers.add(listener)

    def _publish(self, event: object) -> None:
        self._subscribers.publish(event)

    def on_transcript_event(self, event: object) -> None:
        """The transcript pipeline's listener: a finished file is queued for its summary."""
        if isinstance(event, FileDone):
            self.enqueue(event.content_hash)

    def enqueue(self, content_hash: str, *, again: bool = False,
                reason: str = "transcript finished") -> bool:
        queued = self.store.enqueue(content_hash, again=again)
        if queued:
            self._publish(SummaryQueued(content_hash, reason))
            self._wake.set()
        return queued

    def regenerate(self, content_hash: str, reason: str = "speakers renamed") -> bool:
        """Summarise again from scratch (the transcript's lines changed)."""
        return self.enqueue(content_hash, again=True, reason=reason)

    # -- the backend --------------------------------------------------------------------------

    def check_model(self) -> bool:
        status = self.model.check()
        if status.context_limit and status.context_limit < self.num_ctx:
            log.warning("%s caps the context at %d (budget says %d): summaries use it",
                        self.model.label, status.context_limit, self.num_ctx)
            self.num_ctx = status.context_limit
        self.model_ready = status.ready
        return status.ready

    # -- one summary --------------------------------------------------------------------------

    def _source(self, record: AudioFileRecord) -> tuple[list[StoredSegment], list[str]]:
        segments = self.transcripts.segments(record.content_hash)
        names = self.transcripts.speaker_names(record.content_hash)
        return segments, segment_lines(segments, names)

    def _plan(self, content_hash: str, lines: list[str], digest: str,
              keep_notes: bool) -> None:
        plan = plan_summary(lines, num_ctx=self.num_ctx, reserve=self.reserve,
                            calibration=self.calibration)
        reuse = {}
        if keep_notes:
            reuse = {(p.planned.first, p.planned.last): (p.note, p.prompt_tokens)
                     for p in self.store.passes(content_hash)
                     if p.planned.kind == "map" and p.note is not None}
        self.store.set_plan(content_hash, plan, source_digest=digest, num_ctx=self.num_ctx,
                            reserve=self.reserve, reuse=reuse)  # type: ignore[arg-type]
        done = sum(1 for p in self.store.passes(content_hash) if p.done)
        self._publish(SummaryPlanned(content_hash, plan.map_passes, plan.reduce_passes, done))

    def summarise(self, content_hash: str, *,
                  stop: threading.Event | None = None) -> SummaryOutcome:
        """Run (or resume) the summary of one transcript to its end: done, failed, or back
        to pending when `stop` is set. A failed call (BackendError) is raised, with the
        summary left pending and its finished passes kept."""
        stop = stop or threading.Event()
        record = self.transcripts.get(content_hash)
        if self.store.job(content_hash) is None:
            self.enqueue(content_hash, reason="asked for")
        if record is None or record.state is not FileState.DONE:
            why = "no such transcript" if record is None else \
                f"the transcript is {record.state.value}, not done"
            return self._fail(content_hash, why)
        segments, lines = self._source(record)
        digest = source_digest(lines)
        job = self.store.job(content_hash)
        assert job is not None
        try:
            if (not self.store.passes(content_hash) or job.source_digest != digest
                    or (job.num_ctx, job.reserve) != (self.num_ctx, self.reserve)):
                self._plan(content_hash, lines, digest, keep_notes=False)
            else:
                passes = self.store.passes(content_hash)
                self._publish(SummaryPlanned(
                    content_hash, sum(1 for p in passes if p.planned.kind == "map"),
                    sum(1 for p in passes if p.planned.kind == "reduce"),
                    sum(1 for p in passes if p.done)))
        except PlanError as error:
            return self._fail(content_hash, str(error))
        self.store.set_state(content_hash, SummaryState.RUNNING)
        calls = replans = 0
        try:
            while True:
                passes = self.store.passes(content_hash)
                if not passes:
                    # Queued again meanwhile (`regenerate`: speakers renamed), its plan and
                    # notes dropped: the queue takes it up again, planned from the new lines.
                    return SummaryOutcome(content_hash, SummaryState.PENDING, calls, 0,
                                          "queued again")
                waiting = [p for p in passes if not p.done]
                if not waiting:
                    return self._finish(record, passes, calls)
                if stop.is_set():
                    self.store.set_state(content_hash, SummaryState.PENDING)
                    return SummaryOutcome(content_hash, SummaryState.PENDING, calls,
                                          len(passes), "stopped")
                current = waiting[0]
                result = self._run_pass(content_hash, current, passes, segments, lines, stop)
                calls += result.status != "stopped"
                if result.status == "done" or result.status == "stopped":
                    continue
                self._publish(SummaryRetried(content_hash, current.planned.index,
                                             result.reason))
                if result.status == "replan":
                    replans += 1
                    if current.planned.kind != "map" or current.planned.segment_count < 2 \
                            or replans > MAX_REPLANS:
                        return self._fail(content_hash, f"pass {current.planned.index + 1} of "
                                          f"{len(passes)}: {result.reason}", result.raw)
                    log.warning("summary %s: %s; planning again with smaller parts",
                                content_hash[:12], result.reason)
                    self._plan(content_hash, lines, digest, keep_notes=True)
                    continue
                attempts = next((p.attempts for p in self.store.passes(content_hash)
                                 if p.planned.index == current.planned.index), 0)
                if attempts >= MAX_PASS_ATTEMPTS:
                    return self._fail(content_hash, f"pass {current.planned.index + 1} of "
                                      f"{len(passes)} ({current.planned.kind}): "
                                      f"{result.reason} (after {attempts} attempts)",
                                      result.raw)
                log.warning("summary %s pass %d rejected: %s; asking again",
                            content_hash[:12], current.planned.index, result.reason)
        except PlanError as error:
            return self._fail(content_hash, str(error))
        except BaseException:
            # A failed call (or a bug): the summary goes back to the queue, notes kept.
            self.store.set_state(content_hash, SummaryState.PENDING)
            raise

    def _run_pass(self, content_hash: str, current: StoredPass, passes: list[StoredPass],
                  segments: list[StoredSegment], lines: list[str],
                  stop: threading.Event) -> _PassResult:
        planned = current.planned
        if planned.kind == "map":
            maps = [p.planned.index for p in passes if p.planned.kind == "map"]
            messages = map_messages(lines[planned.first:planned.last + 1],
                                    part=maps.index(planned.index) + 1, parts=len(maps))
            times = [s.start for s in segments[planned.first:planned.last + 1]]
        else:
            by_index = {p.planned.index: p for p in passes}
            notes = [MeetingSummary.model_validate_json(by_index[i].note or "")
                     for i in planned.inputs]
            messages = reduce_messages(notes)
            times = list(dict.fromkeys(t for note in notes for t in note.cited_times()))
        estimated = prompt_tokens(messages)
        total = len(passes)
        streamed = 0
        last_progress = 0.0

        def on_text(text: str) -> None:
            nonlocal streamed, last_progress
            streamed += len(text)
            now = time.monotonic()
            if now - last_progress >= PROGRESS_EVERY_SECONDS:
                last_progress = now
                # The estimate's bytes a token: the share of the reply budget streamed.
                percent = min(99.0, 100.0 * streamed / max(1, BYTES_PER_TOKEN * self.reserve))
                self._publish(SummaryProgress(content_hash, planned.index, total,
                                              planned.kind, percent))

        with self.llm_slot.use("summary", stop=stop) as got:
            if not got:
                return _PassResult("stopped")
            self._publish(SummaryProgress(content_hash, planned.index, total, planned.kind))
            try:
                schema = summary_format_schema(
                    times, reply_bytes=self.reserve * self.calibration.bytes_per_token)
                reply = self.model.run_batch(messages, schema, on_text)
            except PromptTooLong as error:
                self.store.count_attempt(content_hash, planned.index)
                self.calibration.observe(estimated, max(error.prompt_tokens or 0,
                                                        self.num_ctx))
                return _PassResult("replan", f"prompt refused as too long: {error}")
        self.store.count_attempt(content_hash, planned.index)
        return self._accept(content_hash, planned.index, total, planned.kind, reply,
                            estimated, times)

    def _accept(self, content_hash: str, index: int, total: int, kind: str,
                reply: BatchReply, estimated: int, times: list[float]) -> _PassResult:
        if reply.prompt_eval_count:
            self.calibration.observe(estimated, reply.prompt_eval_count)
        cut = prompt_cut_reason(reply, num_ctx=self.num_ctx, reserve=self.reserve)
        if cut:
            return _PassResult("replan", cut, reply.text)
        cut = reply_cut_reason(reply, num_ctx=self.num_ctx, reserve=self.reserve)
        if cut:
            return _PassResult("retry", cut, reply.text)
        try:
            note = parse_summary(reply.text, times)
        except SummaryProblem as problem:
            return _PassResult("retry", str(problem), reply.text)
        self.store.save_note(content_hash, index, note.compact_json(), estimated=estimated,
                             prompt_tokens=reply.prompt_eval_count)
        self._publish(SummaryProgress(content_hash, index, total, kind, 100.0, finished=True))
        return _PassResult("done")

    def _finish(self, record: AudioFileRecord, passes: list[StoredPass],
                calls: int) -> SummaryOutcome:
        summary = MeetingSummary.model_validate_json(passes[-1].note or "")
        markdown = summary_markdown(summary, title=record.path.name, passes=len(passes),
                                    model=self.model.label)
        json_path, md_path = summary_paths(record, self.output_dir)
        document = {"file": str(record.path), "content_hash": record.content_hash,
                    "passes": len(passes), **summary.model_dump(mode="json")}
        _write_atomically(json_path, json.dumps(document, ensure_ascii=False, indent=2) + "\n")
        _write_atomically(md_path, markdown)
        outputs = [json_path, md_path]
        if not self.store.finish(record.content_hash, summary.compact_json(), markdown,
                                 outputs):
            # Queued again while the last pass ran: the next run writes the files anew.
            return SummaryOutcome(record.content_hash, SummaryState.PENDING, calls, 0,
                                  "queued again")
        self._publish(SummaryReady(record.content_hash, markdown,
                                   summary.model_dump(mode="json"),
                                   tuple(str(p) for p in outputs)))
        return SummaryOutcome(record.content_hash, SummaryState.DONE, calls, len(passes),
                              outputs=tuple(outputs))

    def _fail(self, content_hash: str, reason: str, raw: str | None = None) -> SummaryOutcome:
        log.warning("summary of %s failed: %s", content_hash[:12], reason)
        if self.store.job(content_hash) is not None:
            self.store.fail(content_hash, reason, raw)
        self._publish(SummaryFailed(content_hash, reason))
        return SummaryOutcome(content_hash, SummaryState.FAILED, reason=reason)

    # -- the background queue -----------------------------------------------------------------

    @staticmethod
    def retry_delay(failures: int) -> float:
        delay = min(RETRY_MAX_SECONDS, RETRY_BASE_SECONDS * 2 ** max(0, min(failures, 30) - 1))
        return random.uniform(delay / 2, delay)

    def _defer(self, content_hash: str, error: BaseException) -> None:
        reason = f"{self.model.label}: {error}" if isinstance(error, BackendError) else \
            f"{self.model.label} call failed unexpectedly: {type(error).__name__}: {error}"
        if isinstance(error, (BackendUnavailable, ModelMissing)):
            self.model_ready = False
        job = self.store.job(content_hash)
        failures = (job.failures if job else 0) + 1
        if failures >= MAX_CALL_FAILURES:
            self._fail(content_hash, f"{reason} (after {MAX_CALL_FAILURES} failed calls)")
            return
        delay = self.retry_delay(failures)
        self.store.defer(content_hash, time.time() + delay, reason)
        self._publish(SummaryDeferred(content_hash, reason, delay))

    def run_pending(self) -> list[SummaryOutcome]:
        """Every queued summary whose time has come, in order, until the queue is empty or a
        call fails (that summary waits with a backoff; the others stay queued)."""
        outcomes = []
        while not self._stopping.is_set():
            job = self.store.next_due(time.time())
            if job is None:
                break
            try:
                outcomes.append(self.summarise(job.content_hash, stop=self._stopping))
            except Exception as error:  # whatever the call did, the summary gets a way out
                if not isinstance(error, BackendError):
                    log.exception("summary of %s failed unexpectedly", job.content_hash[:12])
                self._defer(job.content_hash, error)
                break
        return outcomes

    def _next_wake(self) -> float:
        retry_at = self.store.next_retry_at()
        if retry_at is None:
            return IDLE_POLL_SECONDS
        return min(IDLE_POLL_SECONDS, max(0.05, retry_at - time.time()))

    def _loop(self) -> None:
        while not self._stopping.is_set():
            if self.store.next_due(time.time()) is not None and not self.model_ready:
                try:
                    ready = self.check_model()
                except Exception:
                    log.exception("%s check failed", self.model.label)
                    ready = False
                if not ready:
                    self._stopping.wait(MODEL_RETRY_SECONDS)
                    continue
            try:
                self.run_pending()
            except Exception:  # keep the queue alive whatever one round does
                log.exception("summary round failed")
            self._wake.wait(self._next_wake())
            self._wake.clear()

    def resume(self) -> list[str]:
        """Summaries left running by an earlier run go back to the queue (notes kept)."""
        return self.store.resume_unfinished()

    def stored_events(self) -> list[object]:
        events: list[object] = []
        for job in self.store.jobs():
            if job.state is SummaryState.DONE and job.markdown:
                events.append(SummaryReady(job.content_hash, job.markdown,
                                           json.loads(job.summary or "{}"),
                                           tuple(str(p) for p in job.outputs)))
            elif job.state is SummaryState.FAILED:
                events.append(SummaryFailed(job.content_hash, job.error or "failed"))
        return events

    def start(self) -> None:
        self._stopping.clear()
        self._thread = threading.Thread(target=self._loop, name="summaries", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def live_threads(self) -> list[str]:
        return [self._thread.name] if self._thread is not None and self._thread.is_alive() \
            else []
