"""The status line: each service and whether it is usable, in words, with the one thing to
do about a problem; live states replace start-up checks. Every service stays visible: the
line wraps between services (status_view.pack), and grows a line rather than cut one."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from rich.text import Text
from textual.widgets import Static

from tui.ui.status_view import (
    ServiceState,
    from_asr_paused,
    from_check,
    from_imap,
    from_started,
    from_triage,
    pack,
)

if TYPE_CHECKING:
    from tui.check_result import CheckResult

log = logging.getLogger(__name__)


class ServiceStatus(Static):
    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.states: dict[str, ServiceState] = {}
        self.checked = False
        self._watcher_detail = ""
        self._packed_width = 0

    def set_checks(self, results: list[CheckResult]) -> None:
        for result in results:
            # A live status (set by a running pipeline) is newer than the start-up check.
            if result.name not in self.states:
                self.set_state(from_check(result), detail=f"{result.detail} ({result.fix})")
        self.checked = True
        self.refresh(layout=True)

    def set_state(self, state: ServiceState, *, detail: str = "") -> None:
        """Shown at once; a new problem goes to the log whole (the line has its gist)."""
        before = self.states.get(state.name)
        self.states[state.name] = state
        if state.level == "problem" and state != before:
            log.warning("%s: %s", state.name, detail or f"{state.detail} — {state.fix}")
        self.refresh(layout=True)  # the line may need another row, or one less

    def apply(self, event: object) -> None:
        """A pipeline event that changes a service's live state; others are ignored."""
        # Imported with the first event: the first frame waits for none of the event types
        # (bench/dashboard_latency.py, first frame).
        from tui.mail.events import ImapStatus, TriageStatus
        from tui.runtime.events import ChecksDone, ServiceStarted
        from tui.transcripts.events import AsrPaused, AsrResumed

        if isinstance(event, ChecksDone):
            self.set_checks(list(event.results))
        elif isinstance(event, ServiceStarted):
            if event.name == "watcher" and event.ok:
                self._watcher_detail = event.detail
            if not (event.name == "IMAP" and event.ok):  # IMAP says more once it connects
                self.set_state(from_started(event), detail=event.detail)
            if not event.ok:  # the status line has room for the gist only
                self.app.notify(f"{event.name}: {event.detail}", severity="error", timeout=20,
                                markup=False)
        elif isinstance(event, ImapStatus):
            self.set_state(from_imap(event), detail=event.detail)
        elif isinstance(event, TriageStatus):
            self.set_state(from_triage(event), detail=f"{event.detail} ({event.fix})")
        elif isinstance(event, AsrPaused):
            self.set_state(from_asr_paused(event))
        elif isinstance(event, AsrResumed):
            self.set_state(ServiceState("watcher", "ok", self._watcher_detail))

    def on_resize(self) -> None:
        # How the services pack depends on the width: measure the height again.
        if self.content_size.width != self._packed_width:
            self.refresh(layout=True)

    def render(self) -> Text:
        if not self.checked and not self.states:
            return Text("checking GPU, Ollama, IMAP, drop folder, WhisperX model, ffmpeg …",
                        style="dim")
        self._packed_width = self.content_size.width
        return pack(list(self.states.values()), self.content_size.width or 80)
