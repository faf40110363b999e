"""The dashboard: wiring only. Pipelines and adapters run on their own threads (or in thread
workers) and reach the widgets as messages; keys become pipeline calls in thread workers."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from textual import on, work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import Footer, Header
from textual.worker import Worker, WorkerState

from tui.adapters.nvml import GpuMemorySample, GpuUnavailable, process_name, read_gpus
from tui.budget.units import gib_to_bytes
from tui.config import Config
from tui.doctor import run_checks
from tui.mail.events import (
    ActionApplied,
    ActionFailed,
    ActionUndone,
    ImapStatus,
    MailArrived,
    TriageFailed,
    TriageStatus,
    VerdictPreview,
    VerdictReady,
)
from tui.mail.verdicts import SuggestedAction
from tui.paths import default_database, default_log_file
from tui.planning.service import PlanOptions, make_plan
from tui.transcripts.events import (
    AsrPaused,
    AsrResumed,
    BatchSizeReduced,
    StepUnavailable,
    WorkerMemory,
)
from tui.ui.gpu_view import GpuReading
from tui.ui.messages import (
    GpuSampled,
    MailUpdate,
    PlanReady,
    ServicesChecked,
    ServiceState,
    TranscriptUpdate,
)
from tui.ui.screens.pickers import ActionPicker, folder_prompt
from tui.ui.screens.plan_screen import PlanScreen
from tui.ui.widgets.gpu_panel import GpuPanel
from tui.ui.widgets.service_status import ServiceStatus
from tui.ui.widgets.transcript_pane import TranscriptPane
from tui.ui.widgets.triage_pane import MailRow, TriagePane

log = logging.getLogger(__name__)

GPU_POLL_SECONDS = 2.0
# Below this many columns the two panes stack instead of sitting side by side.
NARROW_WIDTH = 100
GpuReader = Callable[[], "list[GpuMemorySample] | GpuUnavailable"]
_IMAP_OK = ("connected", "idle", "polling")


class TriageApp(App[None]):
    CSS_PATH = "app.tcss"
    TITLE = "triage-tui"
    BINDINGS = [
        Binding("q", "quit", "Quit", id="quit"),
        Binding("p", "show_plan", "Plan", id="plan"),
        Binding("question_mark", "toggle_help", "Help", id="help"),
        Binding("ctrl+r", "recheck", "Recheck", id="recheck"),
        Binding("tab", "focus_next", "Next pane", show=False, id="focus_next"),
        Binding("shift+tab", "focus_previous", "Previous pane", show=False,
                id="focus_previous"),
    ]

    def __init__(self, config: Config, *, gpu_reader: GpuReader = read_gpus,
                 process_namer: Callable[[int], str] = process_name,
                 start_services: bool = True, run_doctor: bool = True) -> None:
        super().__init__()
        self.config = config
        self.gpu_reader = gpu_reader
        self.process_namer = process_namer
        self.start_services = start_services
        self.run_doctor = run_doctor
        self._plan: PlanReady | None = None
        self.transcripts: Any = None
        self.watcher: Any = None
        self.watcher_detail = ""
        self.mail: Any = None
        self._stores: list[Any] = []

    def compose(self) -> ComposeResult:
        yield Header()
        yield ServiceStatus(id="services")
        with Horizontal(id="panes"):
            yield TranscriptPane(self.config.paths.drop_folder, id="transcripts")
            yield TriagePane(id="triage")
        yield GpuPanel(
            warn_headroom_bytes=gib_to_bytes(self.config.budget.warn_headroom_gib),
            id="gpu",
        )
        yield Footer()

    def on_mount(self) -> None:
        self.set_keymap(self.config.keymap)
        self.query_one("#gpu", GpuPanel).border_title = "GPU"
        if self.run_doctor:
            self.check_services()
        self.compute_plan()
        self.poll_gpu()
        if self.start_services:
            self.start_pipelines()

    def on_resize(self) -> None:
        self.screen.set_class(self.size.width < NARROW_WIDTH, "-narrow")

    # -- workers: blocking adapters off the UI thread ----------------------------------

    @work(thread=True, exclusive=True, group="services", exit_on_error=False)
    def check_services(self) -> None:
        self.post_message(ServicesChecked(run_checks(self.config)))

    @work(thread=True, exclusive=True, group="plan", exit_on_error=False)
    def compute_plan(self) -> None:
        try:
            self.post_message(PlanReady(make_plan(self.config, PlanOptions(),
                                                  gpus=self.gpu_reader())))
        except Exception as error:  # any planner failure is shown, never fatal
            log.exception("planning failed")
            self.post_message(PlanReady(None, str(error)))

    @work(thread=True, exclusive=True, group="gpu", exit_on_error=False)
    def poll_gpu(self) -> None:
        gpus = self.gpu_reader()
        if isinstance(gpus, GpuUnavailable):
            reading = GpuReading(unavailable=gpus)
        else:
            names = {p.pid: self.process_namer(p.pid) for card in gpus for p in card.processes}
            reading = GpuReading(samples=tuple(gpus), process_names=names)
        self.post_message(GpuSampled(reading))

    @work(thread=True, exclusive=True, group="pipelines", exit_on_error=False)
    def start_pipelines(self) -> None:
        self._start_transcripts()
        self._start_mail()

    def _start_transcripts(self) -> None:
        from tui.transcripts.options import TranscribeOptions
        from tui.transcripts.pipeline import TranscriptPipeline
        from tui.transcripts.store import TranscriptStore
        from tui.transcripts.watcher import DropFolderWatcher
        from tui.transcripts.worker.handle import WorkerProcess

        config = self.config
        try:
            store = TranscriptStore(config.paths.database or default_database())
            self._stores.append(store)
            options = TranscribeOptions.from_config(config.whisperx)
            worker = WorkerProcess(options, config.whisperx.idle_unload_seconds,
                                   log_path=str(config.paths.log_file or default_log_file()))
            pipeline = TranscriptPipeline(store, options, config.paths.output_dir, worker)
            pipeline.subscribe(self._forward_transcript_event)
            pipeline.start()
            self.transcripts = pipeline
            watcher = DropFolderWatcher(config.paths.drop_folder, config.whisperx.file_patterns,
                                        pipeline.add_file, recursive=config.whisperx.recursive,
                                        stable_seconds=config.whisperx.stable_seconds)
            watcher.start()
            self.watcher = watcher
        except Exception as error:  # a broken drop folder or database: say so, keep going
            log.exception("transcript pipeline failed to start")
            self.post_message(ServiceState("watcher", False, str(error)))
            return
        mode = "polling" if watcher.using_polling else "watching"
        asr = ("WhisperX" if options.asr_backend == "whisperx"
               else f"remote {options.remote_model}")
        self.watcher_detail = f"{mode}, ASR {asr}"
        self.post_message(ServiceState("watcher", True, self.watcher_detail))

    def _forward_transcript_event(self, event: object) -> None:
        """Segments go to the pane's inbox, so a burst of them never delays a key press;
        the rest the app handles."""
        if isinstance(event, (WorkerMemory, StepUnavailable, AsrPaused, AsrResumed,
                              BatchSizeReduced)):
            self.post_message(TranscriptUpdate(event))
        else:
            self.query_one(TranscriptPane).submit(event)

    def _start_mail(self) -> None:
        from tui.mail.pipeline import MailPipeline
        from tui.mail.store import MailStore

        try:
            store = MailStore(self.config.paths.database or default_database())
            self._stores.append(store)
            pipeline = MailPipeline(self.config, store)
        except Exception as error:
            log.exception("mail pipeline failed to start")
            self.post_message(ServiceState("IMAP", False, str(error)))
            return
        for message in store.messages():
            self.post_message(MailUpdate(MailArrived(message, message.key)))
            verdict = store.verdict(message.key)
            if verdict is not None:
                self.post_message(MailUpdate(VerdictReady(message.key, verdict)))
        pipeline.subscribe(lambda event: self.post_message(MailUpdate(event)))
        pipeline.start()
        self.mail = pipeline

    @work(thread=True, group="mail-actions", exit_on_error=False)
    def run_mail_command(self, command: str, keys: list[int],
                         action: SuggestedAction | None = None,
                         folder: str | None = None) -> None:
        pipeline = self.mail
        if pipeline is None:
            self.notify("mail is not connected", severity="warning")
            return
        for key in keys:
            if command == "accept":
                pipeline.accept(key)
            elif command == "undo":
                pipeline.undo(key)
            elif command == "retriage":
                pipeline.retriage([key])
            elif action is not None:
                pipeline.decide(key, action, folder, source="override")

    # -- messages → widgets ------------------------------------------------------------

    @on(ServicesChecked)
    def show_services(self, message: ServicesChecked) -> None:
        self.query_one(ServiceStatus).set_checks(message.results)
        for result in message.results:
            if not result.ok:
                log.info("%s: %s (fix: %s)", result.name, result.detail, result.fix)

    @on(ServiceState)
    def show_service_state(self, message: ServiceState) -> None:
        self.query_one(ServiceStatus).set_live(message.name, message.ok, message.detail)

    @on(PlanReady)
    def show_plan_result(self, message: PlanReady) -> None:
        self._plan = message
        panel = self.query_one(GpuPanel)
        panel.plan = message.result
        panel.plan_error = message.error

    @on(GpuSampled)
    def show_gpu(self, message: GpuSampled) -> None:
        panel = self.query_one(GpuPanel)
        panel.process_names = message.reading.process_names or {}
        panel.reading = message.reading
        # Re-arm only after a reading arrives, so polls never overlap.
        if message.reading.unavailable is None:
            self.set_timer(GPU_POLL_SECONDS, self.poll_gpu)

    @on(TranscriptUpdate)
    def show_transcript_event(self, message: TranscriptUpdate) -> None:
        event = message.event
        if isinstance(event, WorkerMemory):
            self.query_one(GpuPanel).whisperx_pids.add(event.pid)
        elif isinstance(event, BatchSizeReduced):
            weights = f", {event.compute_type} weights" if event.compute_type else ""
            self.notify(f"{event.reason}: batch size {event.batch_size}{weights}",
                        severity="warning", timeout=10)
        elif isinstance(event, StepUnavailable):
            self.notify(f"{event.reason}\nfix: {event.fix}", severity="warning", timeout=15)
            log.warning("%s (fix: %s)", event.reason, event.fix)
        elif isinstance(event, AsrPaused):
            self.query_one(ServiceStatus).set_live("watcher", False, event.status_text,
                                                   retrying=True)
        elif isinstance(event, AsrResumed):
            self.query_one(ServiceStatus).set_live("watcher", True, self.watcher_detail)
        else:
            self.query_one(TranscriptPane).apply(event)

    @on(MailUpdate)
    def show_mail_event(self, message: MailUpdate) -> None:
        event = message.event
        pane = self.query_one(TriagePane)
        if isinstance(event, MailArrived):
            pane.upsert(MailRow(event.message, state=event.message.state.value))
        elif isinstance(event, VerdictPreview):
            row = pane.rows.get(event.key)
            if row is not None:
                row.generating = True
                pane.upsert(row)
        elif isinstance(event, VerdictReady):
            row = pane.rows.get(event.key)
            if row is not None:
                row.verdict, row.generating = event.verdict, False
                if row.state in ("new", "triaging", "failed"):
                    row.state = "triaged"
                pane.upsert(row)
        elif isinstance(event, TriageFailed):
            for key in event.keys:
                pane.set_state(key, "failed")
        elif isinstance(event, ActionApplied):
            pane.set_state(event.key, f"✓ {event.action}")
        elif isinstance(event, ActionUndone):
            pane.set_state(event.key, "triaged")
            self.notify(f"m{event.key}: {event.action} undone")
        elif isinstance(event, ActionFailed):
            self.notify(f"m{event.key}: {event.action} failed: {event.reason}",
                        severity="error", timeout=10)
        elif isinstance(event, ImapStatus):
            detail = event.state if not event.retry_in else \
                f"{event.state} in {event.retry_in:.0f}s"
            self.query_one(ServiceStatus).set_live("IMAP", event.state in _IMAP_OK, detail)
        elif isinstance(event, TriageStatus):
            ok = event.state in ("ready", "working")
            self.query_one(ServiceStatus).set_live(event.backend, ok, event.detail if ok else
                                                   f"{event.detail} → {event.fix}")

    @on(TranscriptPane.RetryFailed)
    def retry_failed_recordings(self) -> None:
        self.requeue_failed_recordings()

    @work(thread=True, group="transcript-edits", exit_on_error=False)
    def requeue_failed_recordings(self) -> None:
        if self.transcripts is None:
            self.notify("the transcript pipeline is not running", severity="warning")
            return
        queued = self.transcripts.retry_failed()
        self.notify(f"{len(queued)} failed recording(s) queued again" if queued
                    else "no failed recordings to retry")

    @on(TranscriptPane.RenameSpeaker)
    def rename_speaker(self, message: TranscriptPane.RenameSpeaker) -> None:
        self.query_one(TranscriptPane).set_speaker_name(message.speaker, message.name)
        self.store_speaker_name(message.content_hash, message.speaker, message.name)

    @work(thread=True, group="transcript-edits", exit_on_error=False)
    def store_speaker_name(self, digest: str, speaker: str, name: str) -> None:
        if self.transcripts is None:
            return
        outputs = self.transcripts.rename_speaker(digest, speaker, name)
        if outputs:
            self.notify(f"{speaker} is now {name}; {len(outputs)} output files rewritten")

    @on(TriagePane.Command)
    def handle_triage_command(self, message: TriagePane.Command) -> None:
        pane = self.query_one(TriagePane)
        keys = message.keys
        pane.clear_marks()
        if message.command in ("accept", "undo", "retriage"):
            self.run_mail_command(message.command, keys)
        elif message.command in ("flag", "mark_read"):
            self.run_mail_command("decide", keys, SuggestedAction(message.command))
        elif message.command == "move":
            self._ask_folder(keys)
        elif message.command == "override":
            def picked(action: SuggestedAction | None) -> None:
                if action is SuggestedAction.MOVE:
                    self._ask_folder(keys)
                elif action is not None:
                    self.run_mail_command("decide", keys, action)

            self.push_screen(ActionPicker(), picked)

    def _ask_folder(self, keys: list[int]) -> None:
        def chosen(folder: str | None) -> None:
            if folder:
                self.run_mail_command("decide", keys, SuggestedAction.MOVE, folder)

        self.push_screen(folder_prompt(self.config.imap.archive_folder), chosen)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state is WorkerState.ERROR:
            log.error("worker %s failed", event.worker.name, exc_info=event.worker.error)
            self.notify(f"{event.worker.name} failed: {event.worker.error}", severity="error",
                        timeout=10)

    # -- actions -----------------------------------------------------------------------

    def action_show_plan(self) -> None:
        plan = self._plan
        self.push_screen(PlanScreen(plan.result if plan else None, plan.error if plan else None))

    def action_toggle_help(self) -> None:
        if self.screen.query("HelpPanel"):
            self.action_hide_help_panel()
        else:
            self.action_show_help_panel()

    def action_recheck(self) -> None:
        self.check_services()
        self.compute_plan()

    def stop_services(self) -> None:
        """Clean shutdown: watcher, pipelines (the WhisperX worker is killed, its file
        resumes next start), connections and databases."""
        for service in (self.watcher, self.transcripts, self.mail):
            if service is not None:
                try:
                    service.stop()
                except Exception:  # shutting down: log and carry on with the rest
                    log.exception("stopping %s failed", type(service).__name__)
        self.watcher = self.transcripts = self.mail = None
        for store in self._stores:
            store.close()
        self._stores.clear()

    def on_unmount(self) -> None:
        self.stop_services()


def make_app(config: Config, **kwargs: Any) -> TriageApp:
    return TriageApp(config, **kwargs)
