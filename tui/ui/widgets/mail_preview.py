"""The selected mail's preview under the triage list."""

from __future__ import annotations

from rich.text import Text
from textual.visual import visualize
from textual.widgets import Static


class MailPreview(Static):
    """A Static whose update lays the screen out again only when its height changes.

    `Static.update` lays out (and so repaints) the whole screen, since the new text may need
    another height. Moving through the list, one mail after another mostly fills the preview
    to its max-height: then the height stays and repainting the preview is enough (a j/k
    press cost ~25 ms more on the 2-core machine with the layout; bench/dashboard_latency.py).
    """

    def show(self, text: Text) -> None:
        self.update(text, layout=self._height_changes(text))

    def _height_changes(self, text: Text) -> bool:
        if not self.is_mounted:
            return True
        if not self.display:
            return False  # hidden: it is laid out when it is shown again
        width, shown = self.content_region.width, self.content_region.height
        if width <= 0 or shown <= 0:
            return True
        old = self.visual.get_height(self.styles, width)
        new = visualize(self, text, markup=self._render_markup).get_height(self.styles, width)
        # The same natural height, or both cut at the height shown (the old one was cut,
        # so what is shown is the max-height): the layout would not move anything.
        return not (new == old or (old > shown and new >= shown))
