"""The key bar at the bottom of the dashboard and of each screen over it."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from itertools import groupby

from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.screen import Screen
from textual.widget import Widget


@dataclass(frozen=True)
class ShownKey:
    key: str          # what a click presses
    display: str      # how the key is written ("⏎", "^p")
    description: str  # "" for the keys of a compact group: the group's words follow them
    enabled: bool


@dataclass(frozen=True)
class KeyGroupShown:
    keys: tuple[ShownKey, ...]
    description: str  # a group's words ("flag/read/move"), or "" for a single key


def shown_keys(screen: Screen) -> tuple[tuple[KeyGroupShown, ...], ShownKey | None]:
    """What Textual's Footer shows for `screen`, in its order: each action once (its first
    binding), consecutive bindings of one group together; and the command palette's key."""
    app = screen.app
    active = screen.active_bindings
    by_action: defaultdict[str, list[tuple[Binding, bool]]] = defaultdict(list)
    for _, binding, enabled, _tooltip in active.values():
        if binding.show:
            by_action[binding.action].append((binding, enabled))
    groups: list[KeyGroupShown] = []
    for group, runs in groupby(by_action.values(), lambda run: run[0][0].group):
        firsts = [run[0] for run in runs]
        if group is not None and len(firsts) > 1:
            groups.append(KeyGroupShown(tuple(
                ShownKey(binding.key, app.get_key_display(binding), "", enabled)
                for binding, enabled in firsts), group.description))
        else:
            groups.extend(KeyGroupShown((ShownKey(
                binding.key, app.get_key_display(binding), binding.description, enabled),), "")
                for binding, enabled in firsts)
    palette = None
    if app.ENABLE_COMMAND_PALETTE and app.COMMAND_PALETTE_BINDING in active:
        _, binding, enabled, _tooltip = active[app.COMMAND_PALETTE_BINDING]
        palette = ShownKey(binding.key, app.get_key_display(binding), binding.description,
                           enabled)
    return tuple(groups), palette


class KeyFooter(Widget):
    """The active keys in one line, as Textual's Footer shows them (a click presses the key),
    drawn as one piece of text and repainted, never laid out, when the keys change.

    Textual's Footer is a row of widgets (a dozen `FooterKey`s) that it builds again, with a
    layout of the whole screen, whenever the screen says its bindings may have changed: on
    every focus change and when the dashboard comes back from a screen over it. That was
    ~45-60 ms of each Tab, Enter and Escape on the 2-core machine
    (bench/dashboard_latency.py); drawing one line is ~1 ms.
    """

    DEFAULT_CSS = """
    KeyFooter {
        dock: bottom;
        height: 1;
        color: $footer-foreground;
        background: $footer-background;
        text-wrap: nowrap;
        .key-footer--key {
            color: $footer-key-foreground;
            background: $footer-key-background;
            text-style: bold;
        }
        .key-footer--description {
            color: $footer-description-foreground;
            background: $footer-description-background;
        }
        .key-footer--rule {
            color: $foreground 20%;
        }
    }
    """
    COMPONENT_CLASSES = {"key-footer--key", "key-footer--description", "key-footer--rule"}

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self._shown: tuple[tuple[KeyGroupShown, ...], ShownKey | None] = ((), None)
        self._update_pending = False
        self._spans: list[tuple[int, str]] = []  # (first column, key) of what was drawn

    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, self._bindings_changed)
        self._update()

    def _bindings_changed(self, screen: Screen) -> None:
        if self.is_attached and screen is self.screen and not self._update_pending:
            self._update_pending = True  # once a refresh, however often the screen says so
            self.call_after_refresh(self._update)

    def _update(self) -> None:
        self._update_pending = False
        if not self.is_attached:
            return
        shown = shown_keys(self.screen)
        if shown != self._shown:
            self._shown = shown
            self.refresh()

    def _styles(self, shown: ShownKey) -> tuple[Style, Style]:
        """The key's and its words' styles (dim when the key does nothing now)."""
        dim = Style(dim=not shown.enabled or None)
        return (self.get_component_rich_style("key-footer--key") + dim,
                self.get_component_rich_style("key-footer--description") + dim)

    def _place(self, text: Text, shown: ShownKey) -> None:
        """What a click between here and the text's end presses."""
        self._spans.append((text.cell_len, shown.key))

    def on_click(self, event: events.Click) -> None:
        # The spans start where each key's text starts; the last start at or before the
        # click is the key under it (the palette's key is placed from the right edge).
        pressed = None
        for start, key in self._spans:
            if event.x >= start:
                pressed = key
        if pressed is not None:
            event.stop()
            self.app.simulate_key(pressed)

    def render(self) -> Text:
        groups, palette = self._shown
        words_style = self.get_component_rich_style("key-footer--description")
        left = Text(no_wrap=True, overflow="crop")
        self._spans = []
        for group in groups:
            if group.description:  # " frm flag/read/move "
                left.append(" ")
                for shown in group.keys:
                    self._place(left, shown)
                    left.append(shown.display, self._styles(shown)[0])
                self._spans.append((left.cell_len, ""))  # the words press nothing
                left.append(f" {group.description} ", words_style)
                continue
            shown = group.keys[0]  # " a Accept "
            self._place(left, shown)
            key_style, its_words_style = self._styles(shown)
            left.append(f" {shown.display} ", key_style)
            left.append(f"{shown.description} ", its_words_style)
        width = self.size.width
        if palette is None:
            left.truncate(width, overflow="crop", pad=True)
            self._spans.append((width, ""))
            return left
        key_style, its_words_style = self._styles(palette)  # "▏^p palette " at the right
        right = Text.assemble(("▏", self.get_component_rich_style("key-footer--rule")),
                              (palette.display, key_style),
                              (f" {palette.description} ", its_words_style))
        left.truncate(max(0, width - right.cell_len), overflow="crop", pad=True)
        self._spans = [span for span in self._spans if span[0] < left.cell_len]
        self._spans.append((left.cell_len, palette.key))
        return Text.assemble(left, right, no_wrap=True, overflow="crop")
