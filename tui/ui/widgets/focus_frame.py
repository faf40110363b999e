"""A pane whose border shows whether the focus is in it, recoloured without a style update."""

from __future__ import annotations

from textual import events
from textual.color import Color
from textual.containers import Vertical
from textual.theme import Theme

# The theme's variables the border takes, away from and with the focus (app.tcss draws the
# same `round $primary-darken-2` until the pane is mounted).
FRAME_COLOURS = {False: "primary-darken-2", True: "accent"}


class FocusFrame(Vertical):
    """A `:focus-within` rule would say the same, but Textual then updates the styles of
    every widget inside the pane on each focus move, ~12 ms of each Tab on the 2-core machine
    (bench/dashboard_latency.py); recolouring the border's edges repaints the pane only
    (an edge's colour needs no new layout)."""

    _framed_with: tuple[str, bool] | None = None  # (theme, focused) the border was drawn for

    def on_mount(self) -> None:
        self.app.theme_changed_signal.subscribe(self, self._theme_changed)
        self._frame()

    def on_descendant_focus(self, _event: events.DescendantFocus) -> None:
        self._frame()

    def on_descendant_blur(self, _event: events.DescendantBlur) -> None:
        self._frame()

    def on_focus(self, _event: events.Focus) -> None:
        self._frame()

    def on_blur(self, _event: events.Blur) -> None:
        self._frame()

    def _theme_changed(self, _theme: Theme) -> None:
        self._frame()

    def _frame(self) -> None:
        focused = self.has_focus_within
        drawn_for = (self.app.theme, focused)
        if drawn_for == self._framed_with:
            return
        self._framed_with = drawn_for
        colour = Color.parse(self.app.theme_variables[FRAME_COLOURS[focused]])
        edge = ("round", colour)
        styles = self.styles
        styles.border_top = styles.border_right = styles.border_bottom = edge
        styles.border_left = edge
