"""The dashboard: wiring only. Adapters run in thread workers and answer with messages."""

from __future__ import annotations

import logging

from textual import on, work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import Footer, Header
from textual.worker import Worker, WorkerState

from tui.adapters.nvml import GpuUnavailable, read_gpus
from tui.config import Config
from tui.doctor import run_checks
from tui.gpu_view import GpuReading
from tui.messages import GpuSampled, PlanReady, ServicesChecked
from tui.plan_service import PlanOptions, make_plan
from tui.planner.units import gib_to_bytes
from tui.screens.plan_screen import PlanScreen
from tui.widgets.gpu_panel import GpuPanel
from tui.widgets.placeholder_pane import PendingPane
from tui.widgets.service_status import ServiceStatus

log = logging.getLogger(__name__)

GPU_POLL_SECONDS = 2.0
# Below this many columns the two panes stack instead of sitting side by side.
NARROW_WIDTH = 100


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

    def __init__(self, config: Config) -> None:
        super().__init__()
        self.config = config
        self._plan: PlanReady | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        yield ServiceStatus(id="services")
        with Horizontal(id="panes"):
            yield PendingPane(
                "Transcripts",
                f"Drop folder: {self.config.paths.drop_folder}\n\n"
                "The transcription pipeline is not part of this build yet.",
                id="transcripts",
            )
            yield PendingPane(
                "Triage",
                f"Model: {self.config.ollama.model} at {self.config.ollama.host}\n\n"
                "The mail pipeline is not part of this build yet.",
                id="triage",
            )
        yield GpuPanel(
            gpu_index=self.config.budget.gpu_index,
            warn_headroom_bytes=gib_to_bytes(self.config.budget.warn_headroom_gib),
            id="gpu",
        )
        yield Footer()

    def on_mount(self) -> None:
        self.set_keymap(self.config.keymap)
        self.query_one("#gpu", GpuPanel).border_title = "GPU"
        self.check_services()
        self.compute_plan()
        self.poll_gpu()

    def on_resize(self) -> None:
        self.screen.set_class(self.size.width < NARROW_WIDTH, "-narrow")

    # -- workers: blocking adapters off the UI thread --------------------------------

    @work(thread=True, exclusive=True, group="services", exit_on_error=False)
    def check_services(self) -> None:
        self.post_message(ServicesChecked(run_checks(self.config)))

    @work(thread=True, exclusive=True, group="plan", exit_on_error=False)
    def compute_plan(self) -> None:
        try:
            self.post_message(PlanReady(make_plan(self.config, PlanOptions())))
        except Exception as error:  # any planner failure is shown, never fatal
            log.exception("planning failed")
            self.post_message(PlanReady(None, str(error)))

    @work(thread=True, exclusive=True, group="gpu", exit_on_error=False)
    def poll_gpu(self) -> None:
        gpus = read_gpus()
        reading = (GpuReading(unavailable=gpus) if isinstance(gpus, GpuUnavailable)
                   else GpuReading(samples=tuple(gpus)))
        self.post_message(GpuSampled(reading))

    # -- messages → widgets ----------------------------------------------------------

    @on(ServicesChecked)
    def show_services(self, message: ServicesChecked) -> None:
        self.query_one(ServiceStatus).results = tuple(message.results)
        for result in message.results:
            if not result.ok:
                log.info("%s: %s (fix: %s)", result.name, result.detail, result.fix)

    @on(PlanReady)
    def show_plan_result(self, message: PlanReady) -> None:
        self._plan = message
        panel = self.query_one(GpuPanel)
        panel.plan = message.result
        panel.plan_error = message.error

    @on(GpuSampled)
    def show_gpu(self, message: GpuSampled) -> None:
        self.query_one(GpuPanel).reading = message.reading
        # Re-arm only after a reading arrives, so polls never overlap.
        if message.reading.unavailable is None:
            self.set_timer(GPU_POLL_SECONDS, self.poll_gpu)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state is WorkerState.ERROR:
            log.error("worker %s failed", event.worker.name, exc_info=event.worker.error)
            self.notify(f"{event.worker.name} failed: {event.worker.error}", severity="error",
                        timeout=10)

    # -- actions ---------------------------------------------------------------------

    def action_show_plan(self) -> None:
        plan = self._plan
        self.push_screen(PlanScreen(plan.result if plan else None, plan.error if plan else None))

    def action_toggle_help(self) -> None:
        if self.screen.query("HelpPanel"):
            self.action_hide_help_panel()
        else:
            self.action_show_help_panel()

    def action_recheck(self) -> None:
        self.query_one(ServiceStatus).results = None
        self.check_services()
        self.compute_plan()


def make_app(config: Config) -> TriageApp:
    return TriageApp(config)
