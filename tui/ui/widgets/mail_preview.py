"""The selected mail's preview under the triage list."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static


class MailPreview(Static):
    """A Static of a fixed height (app.tcss) whose update does not lay the screen out again.

    `Static.update` lays out (and so repaints) the whole screen, since the new text may need
    another height. The dashboard's preview has a height set by the stylesheet, not by the
    mail, so repainting the preview is enough: a j/k press cost ~20-25 ms more on the 2-core
    machine with the layout (bench/dashboard_latency.py). Only the zoomed pane's preview
    takes each mail's height (up to half the pane), and lays out.
    """

    def show(self, text: Text) -> None:
        height = self.styles.height
        self.update(text, layout=height is None or height.is_auto)
