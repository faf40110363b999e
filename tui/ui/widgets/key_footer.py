"""The key bar at the bottom of the dashboard and of each screen over it."""

from __future__ import annotations

from textual.screen import Screen
from textual.widgets import Footer


class KeyFooter(Footer):
    """Textual's Footer, rebuilt only when the keys it shows change, at most once a refresh.

    The Footer rebuilds all its keys (a dozen widgets, each styled and laid out) whenever the
    screen says its bindings may have changed: on every focus change, often twice, and when
    the dashboard comes back from a screen over it. That took ~45 ms a time on the 2-core
    machine (bench/dashboard_latency.py), mostly for the keys it already showed.
    """

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self._shown: tuple[object, ...] | None = None
        self._rebuild_pending = False

    def bindings_changed(self, screen: Screen) -> None:
        self._bindings_ready = True
        if not screen.app.app_focus:
            return
        if self.is_attached and screen is self.screen and not self._rebuild_pending:
            self._rebuild_pending = True
            self.call_after_refresh(self._rebuild_if_changed)

    def _keys(self) -> tuple[object, ...]:
        """What `compose` makes the keys from: each shown binding, and the palette's key."""
        app = self.app
        shown = [(binding.key, binding.action, binding.description, binding.show,
                  binding.group, enabled, tooltip, app.get_key_display(binding))
                 for (_, binding, enabled, tooltip) in self.screen.active_bindings.values()
                 if binding.show or binding.key == app.COMMAND_PALETTE_BINDING]
        return (*shown, self.show_command_palette, app.ENABLE_COMMAND_PALETTE, self.compact)

    async def _rebuild_if_changed(self) -> None:
        self._rebuild_pending = False
        if not self.is_attached:
            return
        keys = self._keys()
        if keys != self._shown:
            self._shown = keys
            await self.recompose()
