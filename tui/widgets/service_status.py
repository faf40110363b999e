"""One line naming each service and whether it is usable."""

from __future__ import annotations

from rich.text import Text
from textual.reactive import reactive
from textual.widgets import Static

from tui.doctor import CheckResult

_SHORT_NAMES = {"LLM model": "model", "Drop folder": "drop", "WhisperX model": "whisper"}
SHORT_DETAIL_CHARS = 32


def short_detail(detail: str) -> str:
    """The gist of a failure for a one-line status; the full text is in `doctor` and the log."""
    gist = detail.split(":", 1)[0].split(" (", 1)[0].strip()
    if len(gist) > SHORT_DETAIL_CHARS:
        gist = gist[: SHORT_DETAIL_CHARS - 1] + "…"
    return gist


class ServiceStatus(Static):
    results: reactive[tuple[CheckResult, ...] | None] = reactive(None)

    def render(self) -> Text:
        if self.results is None:
            return Text("checking GPU, Ollama, IMAP, drop folder, WhisperX model, ffmpeg …",
                        style="dim")
        line = Text()
        for index, result in enumerate(self.results):
            if index:
                line.append(" │ ", style="dim")
            name = _SHORT_NAMES.get(result.name, result.name)
            line.append("● " if result.ok else "✗ ", style="green" if result.ok else "red")
            line.append(name, style="bold")
            if not result.ok:
                line.append(f" {short_detail(result.detail)}", style="red")
        return line
