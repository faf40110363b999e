"""The mail pipeline: an IMAP thread that notices mail (IDLE or polling) and reconnects with
backoff, a triage thread that sends budget-sized batches to the model, and actions the user
decides, applied on a separate connection. Headless; subscribers get events on these threads.
"""

from __future__ import annotations

import logging
import random
import socket
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import imapclient

from tui.adapters.credentials import CredentialsMissing, resolve_imap_password
from tui.adapters.imap_connect import ImapConnectError
from tui.budget.batch_fit import fixed_prompt_tokens
from tui.budget.tokens import estimate_tokens
from tui.config import Config
from tui.llm import (
    BackendError,
    BackendStatus,
    ModelMissing,
    PromptTooLong,
    TriageBackend,
    make_backend,
)
from tui.llm.protocol import with_system_prompt
from tui.llm.reply_checks import prompt_cut_reason, reply_cut_reason
from tui.llm.slot import LlmSlot
from tui.mail.actions import ActionError, apply_action, undo_last_action
from tui.mail.batching import ItemTooLarge, TokenCalibration, plan_batches, split_batch
from tui.mail.events import (
    ActionApplied,
    ActionFailed,
    ActionUndone,
    BatchRetried,
    ImapStatus,
    MailArrived,
    TriageDeferred,
    TriageFailed,
    TriageRequeued,
    TriageStatus,
    VerdictPreview,
    VerdictReady,
)
from tui.mail.imap_mailbox import ImapMailbox, MailboxError
from tui.mail.prompt import (
    PromptEmail,
    build_messages,
    injection_signals,
    prompt_tokens,
    render_email,
)
from tui.mail.records import MailState, StoredMessage
from tui.mail.store import MailStore
from tui.mail.sync import SyncResult, sync_folder
from tui.mail.verdicts import (
    ReplyProblem,
    SuggestedAction,
    Verdict,
    VerdictStream,
    parse_reply,
    verdict_format_schema,
    verdict_text_chars,
)
from tui.prompts import TRIAGE_SYSTEM_PROMPT
from tui.subscribers import Listener, Subscribers

log = logging.getLogger(__name__)

# Tokens of the From/Subject/Date lines and tags around each email in the prompt.
EMAIL_FRAME_TOKENS = 60
MAX_BACKOFF_SECONDS = 60.0
IDLE_CHECK_SECONDS = 1.0
MODEL_RETRY_SECONDS = 30.0
# How often the triage loop looks for mail whose retry time has come.
TRIAGE_POLL_SECONDS = 5.0
# A batch whose reply could not be parsed is split; a single email gets this many tries.
MAX_SINGLE_ATTEMPTS = 2
# A call that fails (no answer, HTTP error, timeout, broken stream) puts its batch back in the
# queue for base·2ⁿ⁻¹ seconds (with jitter, capped); after this many in a row, it fails.
RETRY_BASE_SECONDS = 10.0
RETRY_MAX_SECONDS = 900.0
MAX_CALL_FAILURES = 8
_CONNECTION_ERRORS = (MailboxError, ImapConnectError, OSError, socket.timeout, ssl.SSLError,
                      imapclient.exceptions.IMAPClientError, EOFError)


@dataclass(frozen=True)
class BatchOutcome:
    keys: tuple[int, ...]
    verdicts: int
    failed: int
    deferred: int = 0              # back in the queue after a failed call
    error: str | None = None       # why the call failed
    retry_at: float | None = None  # when the deferred mail is sent again


def to_prompt_email(message: StoredMessage) -> PromptEmail:
    return PromptEmail(id=message.prompt_id, sender=message.sender, subject=message.subject,
                       date=message.date, body=message.body, attachments=message.attachments,
                       truncated=message.truncated)


class MailPipeline:
    def __init__(self, config: Config, store: MailStore, *,
                 ssl_context: ssl.SSLContext | None = None,
                 model: TriageBackend | None = None,
                 llm_slot: LlmSlot | None = None) -> None:
        self.config = config
        # Shared with the meeting summaries (tui.llm.slot): mail goes first.
        self.llm_slot = llm_slot or LlmSlot()
        self.store = store
        self._ssl_context = ssl_context
        self.num_ctx = config.budget.num_ctx
        self.model = model or make_backend(config)
        self.calibration = TokenCalibration()
        self._subscribers = Subscribers("mail")
        self._stopping = threading.Event()
        self._new_mail = threading.Event()
        self._threads: list[threading.Thread] = []
        self._started_threads: list[threading.Thread] = []
        self._action_lock = threading.Lock()
        self._action_mailbox: ImapMailbox | None = None
        self._idle_mailbox: ImapMailbox | None = None
        self.model_ready = False
        # The backend's latest state, as last published (None before the first check).
        self.last_status: TriageStatus | None = None

    # -- subscribers ------------------------------------------------------------------------

    def subscribe(self, listener: Listener) -> None:
        self._subscribers.add(listener)

    def _publish(self, event: object) -> None:
        self._subscribers.publish(event)

    # -- IMAP -------------------------------------------------------------------------------

    @property
    def max_body_tokens(self) -> int:
        return max(16, self.config.budget.email_tokens - EMAIL_FRAME_TOKENS)

    def _open_mailbox(self) -> ImapMailbox:
        password = resolve_imap_password(self.config.imap)
        mailbox = ImapMailbox(self.config.imap, password, self._ssl_context)
        mailbox.connect()
        return mailbox

    def _sync(self, mailbox: ImapMailbox) -> SyncResult:
        result = sync_folder(mailbox, self.store, self.config.imap.folder,
                             max_body_tokens=self.max_body_tokens,
                             backfill=self.config.imap.backfill)
        for message in result.new:
            self._publish(MailArrived(message, message.key))
        if result.new:
            self.llm_slot.announce_mail()
            self._new_mail.set()
        return result

    def sync_once(self) -> SyncResult:
        mailbox = self._open_mailbox()
        try:
            return self._sync(mailbox)
        finally:
            mailbox.close()

    def _wait_for_changes(self, mailbox: ImapMailbox) -> None:
        """IDLE (renewed every idle_renew_seconds) or poll, until mail arrives or we stop."""
        imap = self.config.imap
        if mailbox.has_capability("IDLE"):
            self._publish(ImapStatus("idle", f"{imap.username}@{imap.host}/{imap.folder}"))
            started = time.monotonic()
            while not self._stopping.is_set():
                if mailbox.idle(IDLE_CHECK_SECONDS):
                    return
                if time.monotonic() - started >= imap.idle_renew_seconds:
                    # RFC 2177: re-issue IDLE before 29 minutes; NOOP proves the socket lives.
                    mailbox.noop()
                    return
        else:
            self._publish(ImapStatus("polling", f"every {imap.poll_seconds}s"))
            self._stopping.wait(imap.poll_seconds)
            mailbox.noop()

    def _imap_loop(self) -> None:
        imap = self.config.imap
        backoff = 1.0
        while not self._stopping.is_set():
            mailbox: ImapMailbox | None = None
            try:
                self._publish(ImapStatus("connecting", f"{imap.host}:{imap.port}"))
                mailbox = self._open_mailbox()
                self._idle_mailbox = mailbox
                self._publish(ImapStatus("connected", f"{imap.username}@{imap.host}"))
                backoff = 1.0
                while not self._stopping.is_set():
                    self._sync(mailbox)
                    self._wait_for_changes(mailbox)
            except CredentialsMissing as error:
                self._publish(ImapStatus("error", str(error), MAX_BACKOFF_SECONDS))
                self._stopping.wait(MAX_BACKOFF_SECONDS)
            except _CONNECTION_ERRORS as error:
                if self._stopping.is_set():
                    break
                delay = backoff + random.uniform(0, backoff / 2)
                log.warning("IMAP connection lost (%s); reconnecting in %.1fs", error, delay)
                self._publish(ImapStatus("reconnecting", str(error), delay))
                self._stopping.wait(delay)
                backoff = min(backoff * 2, MAX_BACKOFF_SECONDS)
            finally:
                self._idle_mailbox = None
                if mailbox is not None:
                    mailbox.close()

    # -- triage -----------------------------------------------------------------------------

    def check_model(self) -> bool:
        status = self.model.check()
        if status.context_limit and status.context_limit < self.num_ctx:
            # The server's own cap wins: batches must fit what it will accept.
            log.warning("%s caps the context at %d (budget says %d)", self.model.label,
                        status.context_limit, self.num_ctx)
            self.num_ctx = status.context_limit
        self.last_status = TriageStatus(status.state, status.detail, status.fix,
                                        self.model.label)
        self._publish(self.last_status)
        self.model_ready = status.ready
        return self.model_ready

    def _fixed_prompt_tokens(self) -> int:
        # The plan's emails-per-batch figure counts the same way.
        return fixed_prompt_tokens(self.config.llm.system_prompt, self.config.llm.task_prompt)

    @staticmethod
    def _email_tokens(message: StoredMessage) -> int:
        return estimate_tokens(render_email(to_prompt_email(message)))

    def _run_batch(self, batch: list[StoredMessage]) -> BatchOutcome:
        """Send one batch; a bad reply is split and retried. A failed call (any exception)
        is raised to `triage_pending`, which puts whatever is unfinished back in the queue."""
        keys = [m.key for m in batch]
        by_id = {m.prompt_id: m for m in batch}
        ids = list(by_id)
        self.store.set_state(keys, MailState.TRIAGING)
        emails = [to_prompt_email(m) for m in batch]
        messages = build_messages(emails, task_prompt=self.config.llm.task_prompt,
                                  system_prompt=self.config.llm.system_prompt or None)
        # What the server counts includes the system prompt even when the batch carries none
        # (Ollama's Modelfile SYSTEM; the built-in one the other backends add), as the plan's
        # fixed prompt does: the calibration compares like with like.
        estimated = prompt_tokens(with_system_prompt(
            messages, self.config.llm.system_prompt or TRIAGE_SYSTEM_PROMPT))
        stream = VerdictStream(ids)

        def on_text(text: str) -> None:
            for verdict in stream.feed(text):
                self._publish(VerdictPreview(by_id[verdict.id].key, verdict))

        try:
            schema = verdict_format_schema(ids, text_chars=verdict_text_chars(
                ids, self.config.budget.generation_reserve_tokens,
                self.calibration.bytes_per_token))
            reply = self.model.run_batch(messages, schema, on_text)
        except PromptTooLong as error:
            # A server that refuses over-long prompts (vLLM) instead of cutting them.
            self.store.count_attempt(keys)
            self.calibration.observe(estimated, self.num_ctx)
            return self._retry(batch, f"prompt refused as too long: {error}", "")
        # Attempts count answers; a call that got none is deferred, not counted.
        self.store.count_attempt(keys)
        if reply.prompt_eval_count:
            self.calibration.observe(estimated, reply.prompt_eval_count)
        reserve = self.config.budget.generation_reserve_tokens
        # Ollama cuts an over-long prompt silently (HTTP 200); a prompt that used more than
        # the planned room may have lost its start, system prompt included.
        cut = prompt_cut_reason(reply, num_ctx=self.num_ctx, reserve=reserve)
        # The prompt fit; the *reply* hit its token limit, so its JSON is cut off.
        cut = cut or reply_cut_reason(reply, num_ctx=self.num_ctx, reserve=reserve)
        if cut:
            return self._retry(batch, cut, reply.text)
        try:
            verdicts = parse_reply(reply.text, ids)
        except ReplyProblem as problem:
            return self._retry(batch, f"{problem.kind}: {problem.detail}", reply.text)
        for verdict in verdicts:
            self._save_verdict(by_id[verdict.id], verdict, emails, ids)
        return BatchOutcome(tuple(keys), len(verdicts), 0)

    def _retry(self, batch: list[StoredMessage], reason: str, raw: str) -> BatchOutcome:
        keys = tuple(m.key for m in batch)
        log.warning("triage batch %s rejected: %s", keys, reason)
        if len(batch) > 1:
            self._publish(BatchRetried(keys, f"{reason}; splitting the batch"))
            first, second = split_batch(batch)
            outcomes = [self._run_batch(first), self._run_batch(second)]
            return BatchOutcome(keys, sum(o.verdicts for o in outcomes),
                                sum(o.failed for o in outcomes))
        message = self.store.message(batch[0].key)
        if message is not None and message.attempts < MAX_SINGLE_ATTEMPTS:
            self._publish(BatchRetried(keys, f"{reason}; retrying"))
            return self._run_batch([message])
        self.store.set_state(list(keys), MailState.FAILED, error=reason, raw_reply=raw)
        self._publish(TriageFailed(keys, reason))
        return BatchOutcome(keys, 0, len(keys))

    def _save_verdict(self, message: StoredMessage, verdict: Verdict,
                      emails: list[PromptEmail], ids: list[str]) -> None:
        email = next(e for e in emails if e.id == message.prompt_id)
        signals = injection_signals(email, [i for i in ids if i != message.prompt_id])
        suspected = verdict.injection_suspected or bool(signals)
        self.store.save_verdict(
            message.key, priority=verdict.priority.value, category=verdict.category.value,
            action=verdict.action.value, folder=verdict.folder, summary=verdict.summary,
            reason=verdict.reason, injection_suspected=suspected,
            injection_signals=list(signals))
        stored = self.store.verdict(message.key)
        assert stored is not None
        self._publish(VerdictReady(message.key, stored))
        action = verdict.action
        if (self.config.imap.auto_apply and not suspected and not action.is_destructive
                and action is not SuggestedAction.NONE):
            self.decide(message.key, action, verdict.folder, source="auto")

    @staticmethod
    def retry_delay(failures: int) -> float:
        """Exponential backoff with jitter: the n-th failed call in a row waits about
        base·2ⁿ⁻¹ seconds (capped), a random half to whole of it, so clients spread out."""
        delay = min(RETRY_MAX_SECONDS, RETRY_BASE_SECONDS * 2 ** max(0, failures - 1))
        return random.uniform(delay / 2, delay)

    def _describe_failure(self, error: BaseException) -> str:
        if isinstance(error, ModelMissing):
            return f"{self.model.label} does not have the model: {error}"
        if isinstance(error, BackendError):
            return f"{self.model.label}: {error}"
        return f"{self.model.label} call failed unexpectedly: {type(error).__name__}: {error}"

    def _defer(self, batch: list[StoredMessage], error: BaseException) -> BatchOutcome:
        """A call failed: what this batch has not finished goes back to the queue with a
        retry time (or, after MAX_CALL_FAILURES failed calls in a row, to FAILED, from where
        the user retries); the status says whether the server, the model or the call is
        the problem."""
        keys = tuple(m.key for m in batch)
        reason = self._describe_failure(error)
        unfinished = [m for m in map(self.store.message, keys)
                      if m is not None and m.state in (MailState.NEW, MailState.TRIAGING)]
        exhausted = [m.key for m in unfinished if m.failures + 1 >= MAX_CALL_FAILURES]
        waiting = [m.key for m in unfinished if m.key not in exhausted]
        failures = max((m.failures for m in unfinished), default=0) + 1
        delay = self.retry_delay(failures)
        retry_at = time.time() + delay
        ids = ", ".join(f"m{key}" for key in keys)
        if isinstance(error, BackendError):
            log.warning("triage of %s failed: %s; back in the queue, retry in %.0f s", ids,
                        reason, delay)
        else:  # a bug or an unexpected library error: the traceback belongs in the log
            log.exception("triage of %s failed unexpectedly; back in the queue, retry in "
                          "%.0f s", ids, delay)
        deferred = self.store.defer(waiting, retry_at, reason)
        if deferred:
            self._publish(TriageDeferred(tuple(deferred), reason, retry_at, delay))
        if exhausted:
            final = f"{reason} (after {MAX_CALL_FAILURES} failed calls)"
            self.store.set_state(exhausted, MailState.FAILED, error=final)
            self._publish(TriageFailed(tuple(exhausted), final))
        self._report_backend(reason, delay)
        return BatchOutcome(keys, 0, len(exhausted), deferred=len(deferred), error=reason,
                            retry_at=retry_at if deferred else None)

    def _report_backend(self, reason: str, delay: float) -> None:
        """After a failed call: is the server down, the model gone, or only this call?"""
        try:
            status = self.model.check()
        except Exception:  # the check itself failed: say what the call said
            log.exception("%s check failed", self.model.label)
            status = BackendStatus(False, "unavailable", reason)
        self.model_ready = status.ready
        if status.ready:
            self.last_status = TriageStatus(
                "retrying", f"call failed, retry in {delay:.0f} s ({reason})",
                "retried automatically; `t` re-triages now", self.model.label)
        else:
            self.last_status = TriageStatus(status.state, status.detail, status.fix,
                                            self.model.label)
        self._publish(self.last_status)

    def _plan(self, pending: list[StoredMessage]) -> list[list[StoredMessage]]:
        while pending:
            try:
                return plan_batches(
                    pending, self._email_tokens, num_ctx=self.num_ctx,
                    fixed_tokens=self._fixed_prompt_tokens(),
                    generation_reserve=self.config.budget.generation_reserve_tokens,
                    calibration=self.calibration)
            except ItemTooLarge as error:
                # Bodies are truncated to fit at parse time; this needs a tiny num_ctx.
                item: StoredMessage = error.item  # type: ignore[assignment]
                reason = f"needs {error.tokens} tokens, only {error.room} fit"
                self.store.set_state([item.key], MailState.FAILED, error=reason)
                self._publish(TriageFailed((item.key,), "email too large for the context: "
                                           + reason))
                pending = [m for m in pending if m.key != item.key]
        return []

    def triage_pending(self) -> list[BatchOutcome]:
        """Triage every message waiting for a verdict whose retry time has come, in
        budget-sized batches. Never leaves mail `triaging`: a call that fails puts its batch
        back in the queue with a retry time and ends this round (the rest stays queued)."""
        batches = self._plan(self.store.messages_due(time.time()))
        if not batches:
            return []
        outcomes: list[BatchOutcome] = []
        # The whole round holds the LLM slot: a summary waits until the mail is done.
        with self.llm_slot.use("mail", stop=self._stopping) as got:
            if not got:
                return outcomes
            for batch in batches:
                if self._stopping.is_set():
                    break
                self._publish(TriageStatus("working", f"batch of {len(batch)}",
                                           backend=self.model.label))
                try:
                    outcomes.append(self._run_batch(batch))
                except Exception as error:  # whatever the call did, its mail gets a way out
                    outcomes.append(self._defer(batch, error))
                    return outcomes
        self.last_status = TriageStatus("ready", f"num_ctx {self.num_ctx}",
                                        backend=self.model.label)
        self._publish(self.last_status)
        return outcomes

    def _next_wake(self) -> float:
        """Seconds until the triage loop looks again: new mail wakes it sooner."""
        retry_at = self.store.next_retry_at()
        if retry_at is None:
            return TRIAGE_POLL_SECONDS
        return min(TRIAGE_POLL_SECONDS, max(0.05, retry_at - time.time()))

    def _triage_loop(self) -> None:
        while not self._stopping.is_set():
            if not self.model_ready and not self.check_model():
                self._stopping.wait(MODEL_RETRY_SECONDS)
                continue
            try:
                self.triage_pending()
            except Exception:  # keep collecting mail whatever one round does
                log.exception("triage round failed")
                self.store.resume_unfinished()
            self._new_mail.wait(self._next_wake())
            self._new_mail.clear()

    # -- decisions --------------------------------------------------------------------------

    def _with_action_mailbox(self, work: Callable[[ImapMailbox], object]) -> object:
        with self._action_lock:
            for attempt in range(2):
                if self._action_mailbox is None:
                    self._action_mailbox = self._open_mailbox()
                try:
                    return work(self._action_mailbox)
                except _CONNECTION_ERRORS:
                    # A stale connection: reconnect once, then let the error through.
                    self._action_mailbox.close()
                    self._action_mailbox = None
                    if attempt:
                        raise
            raise AssertionError("unreachable")

    def decide(self, key: int, action: SuggestedAction, folder: str | None = None, *,
               source: str = "accept") -> bool:
        message = self.store.message(key)
        if message is None:
            self._publish(ActionFailed(key, action.value, "unknown message"))
            return False
        try:
            self._with_action_mailbox(lambda mailbox: apply_action(
                mailbox, self.store, message, action, folder=folder,
                archive_folder=self.config.imap.archive_folder, source=source))
        except (ActionError, CredentialsMissing, *_CONNECTION_ERRORS) as error:
            log.warning("action %s on %s failed: %s", action.value, key, error)
            self._publish(ActionFailed(key, action.value, str(error)))
            return False
        self._publish(ActionApplied(key, action.value, folder, source))
        return True

    def accept(self, key: int) -> bool:
        verdict = self.store.verdict(key)
        if verdict is None:
            self._publish(ActionFailed(key, "accept", "no verdict yet"))
            return False
        return self.decide(key, SuggestedAction(verdict.action), verdict.folder)

    def undo(self, key: int) -> bool:
        try:
            action = self._with_action_mailbox(
                lambda mailbox: undo_last_action(mailbox, self.store, key))
        except (ActionError, CredentialsMissing, *_CONNECTION_ERRORS) as error:
            self._publish(ActionFailed(key, "undo", str(error)))
            return False
        self._publish(ActionUndone(key, str(action)))
        return True

    def retriage(self, keys: list[int]) -> None:
        """Send mails back to the model now (the user asked again with `t`), retry time and
        attempt counts reset."""
        self.store.requeue(keys)
        self._publish(TriageRequeued(tuple(keys)))
        self._new_mail.set()

    def retry_failed(self) -> list[int]:
        """Failed mail, and mail waiting for a retry time, goes back to the model now."""
        keys = [m.key for m in self.store.messages((MailState.FAILED, MailState.NEW))
                if m.state is MailState.FAILED or m.retry_at is not None]
        self.retriage(keys)
        return keys

    # -- lifecycle --------------------------------------------------------------------------

    def resume(self) -> list[int]:
        """Mail left `triaging` by a run that stopped mid-batch goes back to the queue."""
        return self.store.resume_unfinished()

    def stored_events(self) -> list[object]:
        """What the store already holds, as the events that produced it, for a view that
        starts from the stored state."""
        events: list[object] = []
        for message in self.store.messages():
            events.append(MailArrived(message, message.key))
            verdict = self.store.verdict(message.key)
            if verdict is not None:
                events.append(VerdictReady(message.key, verdict))
        return events

    def start(self) -> None:
        if not self.config.imap.enabled:
            # Without any config file the status says so (and to run `triage-tui init`).
            self._publish(ImapStatus("not-configured", "set [imap] host and username"
                                     if self.config.source else "no config file"))
        else:
            self._threads.append(threading.Thread(target=self._imap_loop, name="imap",
                                                  daemon=True))
        self._threads.append(threading.Thread(target=self._triage_loop, name="triage",
                                              daemon=True))
        for thread in self._threads:
            thread.start()
        self._started_threads.extend(self._threads)

    def stop(self) -> None:
        self._stopping.set()
        self._new_mail.set()
        # A backend with a process of its own (the embedded engine) ends it: a batch in
        # flight goes back to the queue rather than holding the triage thread.
        close = getattr(self.model, "close", None)
        if callable(close):
            close()
        for thread in self._threads:
            thread.join(timeout=5)
        self._threads.clear()
        with self._action_lock:
            if self._action_mailbox is not None:
                self._action_mailbox.close()
                self._action_mailbox = None

    def live_threads(self) -> list[str]:
        """Threads this pipeline started that still run (none once `stop` returned)."""
        return [thread.name for thread in self._started_threads if thread.is_alive()]

