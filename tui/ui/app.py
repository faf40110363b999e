"""The dashboard: wiring only. `Services` (tui.runtime) runs the pipelines on their own
threads; their events come in through one inbox and each widget applies what concerns it;
the panes' commands become pipeline calls in thread workers."""

from __future__ import annotations

import gc
import logging
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from textual import events, on, work
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import Horizontal
from textual.message import Message
from textual.reactive import Reactive
from textual.screen import Screen
from textual.widgets import Header
from textual.worker import Worker, WorkerState

from tui.budget.units import gib_to_bytes
from tui.ui.event_inbox import EventInbox
from tui.ui.messages import EventsArrived, SearchRequested
from tui.ui.widgets.gpu_panel import GpuPanel
from tui.ui.widgets.key_footer import KeyFooter
from tui.ui.widgets.service_status import ServiceStatus
from tui.ui.widgets.transcript_pane import TranscriptPane
from tui.ui.widgets.triage_pane import TriagePane

# The config (pydantic), the services and the screens are imported when first needed: the
# dashboard's first frame waits for none of them (bench/dashboard_latency.py, first frame).
if TYPE_CHECKING:
    from tui.config import Config
    from tui.gpu_sampler import GpuReader
    from tui.runtime.events import StoppedCleanly
    from tui.runtime.services import Services
    from tui.search.records import SearchHit
    from tui.transcripts.pipeline import TranscriptPipeline
    from tui.transcripts.records import StoredSegment
    from tui.ui.screens.search_screen import SearchChoice

log = logging.getLogger(__name__)
P = TypeVar("P")

# The layout follows the terminal, both ways, whenever it is resized (Textual sets these
# classes on every screen): under WIDE_FROM columns the panes stack (-narrow), under TALL_FROM
# rows the dashboard is compact (-short: no title bar, the mail preview on demand). app.tcss
# says what each class changes.
WIDE_FROM = 100
TALL_FROM = 30

# The garbage collector, once the dashboard is up (tune_gc): what start-up made is frozen (out
# of every later collection), and the youngest generation is collected every 5,000 new objects
# instead of 700, so that the frames' short-lived objects die by reference counting before a
# collection can promote them. With the defaults, full collections ran about once a second
# while lines streamed in, each stopping the UI thread for up to ~270 ms on the 2-core machine
# (bench/dashboard_latency.py, its GC line); so tuned, the keys' p95 fell by half or more.
GC_THRESHOLDS = (5_000, 10, 10)


class TranscriptLoaded(Message):
    """A stored transcript, read for a search hit, to show at the segment found."""

    def __init__(self, name: str, segments: list[StoredSegment], names: dict[str, str],
                 index: int | None) -> None:
        self.name = name
        self.segments = segments
        self.names = names
        self.index = index
        super().__init__()


class DashboardScreen(Screen[None]):
    """The dashboard's screen. Textual's Screen repaints itself, every widget on it, whenever
    the focus moves (its `focused` reactive repaints), ~30 ms of each Tab on the 2-core
    machine (bench/dashboard_latency.py); the widgets that gain and lose the focus, and those
    whose styles change with it, repaint themselves without it."""

    focused: Reactive[Any] = Reactive(None, repaint=False)


EXIT_USAGE = 2  # the command line's status for a config it cannot use (tui.cli)

SEARCH_TITLES = {"transcripts": "Search all transcripts:", "mail": "Search all mail:"}


class TriageApp(App[None]):
    CSS_PATH = "app.tcss"
    TITLE = "triage-tui"
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (WIDE_FROM, "-wide")]
    VERTICAL_BREAKPOINTS = [(0, "-short"), (TALL_FROM, "-tall")]
    # A zoomed pane (z) keeps the status line and the keys with it.
    ALLOW_IN_MAXIMIZED_VIEW = "KeyFooter, #services"
    BINDINGS = [
        Binding("q", "quit", "Quit", id="quit"),
        Binding("p", "show_plan", "Plan", id="plan"),
        Binding("question_mark", "toggle_help", "Help", id="help"),
        Binding("ctrl+r", "recheck", "Recheck", id="recheck"),
        Binding("z", "zoom", "Zoom", id="zoom"),
        Binding("tab", "focus_next", "Next pane", show=False, id="focus_next"),
        Binding("shift+tab", "focus_previous", "Previous pane", show=False,
                id="focus_previous"),
    ]

    def __init__(self, config: Config | None = None, *,
                 load_config: Callable[[], Config] | None = None,
                 gpu_reader: GpuReader | None = None,
                 process_namer: Callable[[int], str] | None = None,
                 start_services: bool = True, run_doctor: bool = True,
                 services: Services | None = None, tune_gc: bool = False) -> None:
        """With a `config`, the dashboard is set up as it mounts. Without one, `load_config`
        runs on a thread once the first frame is on screen (how `triage-tui` starts: the
        panes appear before the config's models and the services are even imported), and
        the dashboard is set up when it returns."""
        if config is None and load_config is None:
            raise TypeError("TriageApp needs a config or a load_config")
        super().__init__()
        self.config = config
        self._load_config = load_config
        if gpu_reader is None or process_namer is None:
            from tui.adapters.nvml import process_name, read_gpus
        self.gpu_reader = gpu_reader or read_gpus  # NVML's, unless a test or bench says
        self.process_namer = process_namer or process_name
        self.start_services = start_services
        self.run_doctor = run_doctor
        self.tune_gc = tune_gc  # process-wide: for the process that runs the dashboard only
        self.services = services
        self.inbox = EventInbox(lambda: self.post_message(EventsArrived()))
        self.stopped: StoppedCleanly | None = None  # what quitting left behind, if anything
        self.last_key_at = 0.0  # time.monotonic() of the last key pressed

    def get_default_screen(self) -> Screen[Any]:
        return DashboardScreen(id="_default")

    def compose(self) -> ComposeResult:
        # What the panes take from the config is handed to them in _configured, at mount
        # with a config, or once it is read after the first frame.
        yield Header()
        yield ServiceStatus(id="services")
        with Horizontal(id="panes"):
            yield TranscriptPane(id="transcripts")
            yield TriagePane(id="triage")
        yield GpuPanel(warn_headroom_bytes=0, id="gpu")
        yield KeyFooter()

    def on_mount(self) -> None:
        self.query_one(TriagePane).focus()  # start in the mail list, where the review keys are
        self.query_one(GpuPanel).border_title = "GPU"
        if self.config is not None:
            self._configured(self.config)
        if self.tune_gc:
            self.call_after_refresh(tune_garbage_collector)

    def on_ready(self) -> None:
        if self.config is None:
            self.load_config()

    @work(thread=True, exclusive=True, group="config", exit_on_error=False)
    def load_config(self) -> None:
        from tui.config import ConfigError

        assert self._load_config is not None
        try:
            config = self._load_config()
        except ConfigError as error:
            # As before the dashboard existed: the problem on stderr, exit status 2.
            self.call_from_thread(self.exit, return_code=EXIT_USAGE,
                                  message=f"triage-tui: {error}")
            return
        self.call_from_thread(self._configured, config)

    def _configured(self, config: Config) -> None:
        """The config, given at mount or read after the first frame: the panes learn what
        they name, then the services start."""
        self.config = config
        self.query_one(TranscriptPane).configure(config.paths.drop_folder,
                                                 whisper_model=config.whisperx.model)
        self.query_one(TriagePane).archive_folder = config.imap.archive_folder
        self.query_one(GpuPanel).warn_headroom_bytes = gib_to_bytes(
            config.budget.warn_headroom_gib)
        for note in dict.fromkeys(config.deprecations):
            self.notify(note, severity="warning", timeout=15, markup=False)
        if self.services is None:
            from tui.runtime.services import Services

            self.services = Services(config, role="dashboard")
        self.set_keymap(config.keymap)
        if self.run_doctor:
            self.check_services()
        self.compute_plan()
        self.services.start_gpu_sampler(self.receive, self.gpu_reader, self.process_namer)
        if self.start_services:
            self.start_pipelines()

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, events.Key):
            # Keys first: while keys come, the transcript pane writes new lines in slices.
            self.last_key_at = time.monotonic()
        await super().on_event(event)

    def receive(self, event: object) -> None:
        """The pipelines' listener (any thread): events queue in the inbox."""
        self.inbox.put(event)

    # -- workers: blocking work off the UI thread; results come back through the inbox ---

    @work(thread=True, exclusive=True, group="checks", exit_on_error=False)
    def check_services(self) -> None:
        assert self.services is not None  # made by _configured
        self.services.check(self.receive)

    @work(thread=True, exclusive=True, group="plan", exit_on_error=False)
    def compute_plan(self) -> None:
        assert self.services is not None
        self.services.plan(self.receive, self.gpu_reader)

    @work(thread=True, exclusive=True, group="pipelines", exit_on_error=False)
    def start_pipelines(self) -> None:
        assert self.services is not None
        self.services.start_transcripts(self.receive)
        self.services.start_summaries(self.receive)
        self.services.start_mail(self.receive)

    def _pipeline(self, name: str) -> Any:
        """A running pipeline (`mail`, `transcripts`), or None before the services are up."""
        return getattr(self.services, name, None) if self.services is not None else None

    def _run_on(self, pipeline: P | None, work: Callable[[P], object], name: str) -> None:
        """A pane's command, run on its pipeline in a thread worker."""
        if pipeline is None:
            self.notify(f"{name}: that pipeline is not running", severity="warning")
            return
        self.run_worker(lambda: work(pipeline), name=name, group="pane-commands",
                        thread=True, exit_on_error=False)

    @on(EventsArrived)
    def deliver_events(self) -> None:
        widgets = (self.query_one(TranscriptPane), self.query_one(TriagePane),
                   self.query_one(ServiceStatus), self.query_one(GpuPanel))
        for event in self.inbox.take():
            for widget in widgets:
                widget.apply(event)

    # -- pane commands → pipelines ------------------------------------------------------

    @on(TriagePane.Accept)
    def accept(self, message: TriagePane.Accept) -> None:
        self._run_on(self._pipeline("mail"), lambda mail: [mail.accept(k) for k in message.keys],
                     "accept")

    @on(TriagePane.Undo)
    def undo(self, message: TriagePane.Undo) -> None:
        self._run_on(self._pipeline("mail"), lambda mail: [mail.undo(k) for k in message.keys],
                     "undo")

    @on(TriagePane.Retriage)
    def retriage(self, message: TriagePane.Retriage) -> None:
        self._run_on(self._pipeline("mail"), lambda mail: mail.retriage(message.keys), "re-triage")

    @on(TriagePane.Decide)
    def decide(self, message: TriagePane.Decide) -> None:
        self._run_on(self._pipeline("mail"), lambda mail: [
            mail.decide(key, message.action, message.folder, source="override")
            for key in message.keys], message.action.value)

    @on(TranscriptPane.RetryFailed)
    def retry_failed_recordings(self) -> None:
        def retry(pipeline: TranscriptPipeline) -> None:
            queued = pipeline.retry_failed()
            self.notify(f"{len(queued)} failed recording(s) queued again" if queued
                        else "no failed recordings to retry")

        self._run_on(self._pipeline("transcripts"), retry, "retry failed")

    @on(TranscriptPane.RenameSpeaker)
    def rename_speaker(self, message: TranscriptPane.RenameSpeaker) -> None:
        def rename(pipeline: TranscriptPipeline) -> None:
            outputs = pipeline.rename_speaker(message.content_hash, message.speaker,
                                              message.name)
            if outputs:
                self.notify(f"{message.speaker} is now {message.name}; "
                            f"{len(outputs)} output files rewritten")
            summaries = self._pipeline("summaries")
            if outputs and summaries is not None:
                # The summary names speakers too: written again with the new name.
                summaries.regenerate(message.content_hash)

        self._run_on(self._pipeline("transcripts"), rename, "rename speaker")

    # -- search: the index's query runs in the search screen's worker --------------------

    @on(SearchRequested)
    def open_search(self, message: SearchRequested) -> None:
        self.search(message.scope, message.text)

    def search(self, scope: str, text: str = "") -> None:
        services = self.services
        if services is None:
            self.notify("search: still starting, try again in a moment", severity="warning")
            return
        from tui.search.records import SCOPES
        from tui.ui.screens.search_screen import SearchScreen

        kinds = SCOPES[scope]

        def run(query: str, limit: int) -> list[SearchHit]:
            return services.search(query, kinds, limit)

        self.push_screen(SearchScreen(SEARCH_TITLES.get(scope, "Search:"), run, text),
                         self.go_to_hit)

    def go_to_hit(self, choice: SearchChoice | None) -> None:
        """Enter on a hit: a mail is selected in the triage list; a segment opens its
        transcript scrolled to it."""
        if choice is None:
            return
        from tui.search.records import MAIL

        hit = choice.hit
        if hit.kind == MAIL:
            self.query_one(TriagePane).show_search_choice(
                choice.text, int(hit.ref), [int(h.ref) for h in choice.hits if h.kind == MAIL])
        else:
            self.load_transcript(hit)

    @work(thread=True, group="search", exit_on_error=False)
    def load_transcript(self, hit: SearchHit) -> None:
        assert self.services is not None  # a hit came from the services' index
        record, segments, names = self.services.stored_transcript(hit.ref)
        name = (record.path if record else Path(hit.label)).name or hit.ref[:12]
        self.post_message(TranscriptLoaded(name, segments, names, hit.position))

    @on(TranscriptLoaded)
    def show_transcript(self, message: TranscriptLoaded) -> None:
        if not message.segments:
            self.notify(f"{message.name}: its transcript is no longer stored",
                        severity="warning")
            return
        from tui.ui.screens.transcript_screen import TranscriptScreen
        from tui.ui.transcript_view import transcript_entries

        lines, at = transcript_entries(message.segments, message.names, message.index)
        self.push_screen(TranscriptScreen(message.name, lines, at))

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        """The command palette (ctrl+p) offers the searches too."""
        yield from super().get_system_commands(screen)
        yield SystemCommand("Search transcripts", "Find words said in any stored transcript",
                            lambda: self.search("transcripts"))
        yield SystemCommand("Search mail", "Find words in any stored mail or verdict",
                            lambda: self.search("mail"))

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state is WorkerState.ERROR:
            log.error("worker %s failed", event.worker.name, exc_info=event.worker.error)
            self.notify(f"{event.worker.name} failed: {event.worker.error}", severity="error",
                        timeout=10, markup=False)

    # -- actions -----------------------------------------------------------------------

    def action_show_plan(self) -> None:
        from tui.ui.screens.plan_screen import PlanScreen

        panel = self.query_one(GpuPanel)
        self.push_screen(PlanScreen(panel.plan, panel.plan_error))

    def action_toggle_help(self) -> None:
        if self.screen.query("HelpPanel"):
            self.action_hide_help_panel()
        else:
            self.action_show_help_panel()

    def action_zoom(self) -> None:
        """The focused pane fills the screen; `z` (or Escape) again brings the others back."""
        screen = self.screen
        if screen.maximized is not None:
            screen.minimize()
        elif screen.focused is not None:
            screen.maximize(screen.focused)

    def action_recheck(self) -> None:
        if self.services is None:
            return  # still starting: the checks run once the config is read
        self.check_services()
        self.compute_plan()

    def on_unmount(self) -> None:
        if self.services is not None:
            self.stopped = self.services.stop()


def tune_garbage_collector() -> None:
    """See GC_THRESHOLDS. Collected first, so no garbage is frozen; turned on (`triage-tui`
    starts with it off)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)
    gc.enable()


def make_app(config: Config | None = None, **kwargs: Any) -> TriageApp:
    return TriageApp(config, **kwargs)
