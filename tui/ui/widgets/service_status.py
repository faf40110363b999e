"""One line naming each service and whether it is usable; live states replace start-up checks."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from tui.check_result import CheckResult
from tui.mail.events import ImapStatus, TriageStatus
from tui.runtime.events import ChecksDone, ServiceStarted
from tui.transcripts.events import AsrPaused, AsrResumed

_SHORT_NAMES = {"LLM model": "model", "Drop folder": "drop", "WhisperX model": "whisper"}
SHORT_DETAIL_CHARS = 32
_IMAP_USABLE = ("connected", "idle", "polling")


def short_detail(detail: str) -> str:
    """The gist of a failure for a one-line status; the full text is in `doctor` and the log."""
    gist = detail.split(":", 1)[0].split(" (", 1)[0].strip()
    if len(gist) > SHORT_DETAIL_CHARS:
        gist = gist[: SHORT_DETAIL_CHARS - 1] + "…"
    return gist


class ServiceStatus(Static):
    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.statuses: dict[str, tuple[bool, str]] = {}
        # Not usable now, but recovering by itself (shown whole, in yellow: no fix to give).
        self.retrying: set[str] = set()
        self.checked = False
        self._watcher_detail = ""

    def set_checks(self, results: list[CheckResult]) -> None:
        for result in results:
            name = _SHORT_NAMES.get(result.name, result.name)
            # A live status (set by a running pipeline) is newer than the start-up check.
            self.statuses.setdefault(name, (result.ok, short_detail(result.detail)))
        self.checked = True
        self.refresh()

    def set_live(self, name: str, ok: bool, detail: str, *, retrying: bool = False) -> None:
        self.statuses[name] = (ok, detail if ok or retrying else short_detail(detail))
        if retrying:
            self.retrying.add(name)
        else:
            self.retrying.discard(name)
        self.refresh()

    def apply(self, event: object) -> None:
        """A pipeline event that changes a service's live state; others are ignored."""
        if isinstance(event, ChecksDone):
            self.set_checks(list(event.results))
        elif isinstance(event, ServiceStarted):
            if event.name == "watcher" and event.ok:
                self._watcher_detail = event.detail
            if not (event.name == "IMAP" and event.ok):  # IMAP says more once it connects
                self.set_live(event.name, event.ok, event.detail)
            if not event.ok:  # the status line has room for the gist only
                self.app.notify(f"{event.name}: {event.detail}", severity="error", timeout=20)
        elif isinstance(event, ImapStatus):
            detail = event.state if not event.retry_in else \
                f"{event.state} in {event.retry_in:.0f}s"
            self.set_live("IMAP", event.state in _IMAP_USABLE, detail)
        elif isinstance(event, TriageStatus):
            ok = event.state in ("ready", "working")
            self.set_live(event.backend, ok, event.detail if ok else
                          f"{event.detail} → {event.fix}")
        elif isinstance(event, AsrPaused):
            self.set_live("watcher", False, event.status_text, retrying=True)
        elif isinstance(event, AsrResumed):
            self.set_live("watcher", True, self._watcher_detail)

    def render(self) -> Text:
        if not self.checked and not self.statuses:
            return Text("checking GPU, Ollama, IMAP, drop folder, WhisperX model, ffmpeg …",
                        style="dim")
        line = Text()
        for index, (name, (ok, detail)) in enumerate(self.statuses.items()):
            if index:
                line.append(" │ ", style="dim")
            if name in self.retrying:
                line.append("◌ ", style="yellow")
                line.append(name, style="bold")
                line.append(f" {detail}", style="yellow")
                continue
            line.append("● " if ok else "✗ ", style="green" if ok else "red")
            line.append(name, style="bold")
            if detail:
                line.append(f" {detail}", style="" if ok else "red")
        return line
