"""A pane whose pipeline is not wired into this build yet; it says so plainly."""

from __future__ import annotations

from textual.widgets import Static


class PendingPane(Static, can_focus=True):
    def __init__(self, title: str, message: str, **kwargs: object) -> None:
        super().__init__(message, **kwargs)  # type: ignore[arg-type]
        self.border_title = title
