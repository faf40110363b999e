"""Small modal pickers: an action to override with, a folder to move to."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, OptionList
from textual.widgets.option_list import Option

from tui.mail.verdict_fields import SuggestedAction


class ActionPicker(ModalScreen[SuggestedAction | None]):
    BINDINGS = [Binding("escape", "dismiss(None)", "Cancel", id="picker.cancel")]

    def compose(self) -> ComposeResult:
        with Vertical(classes="picker"):
            yield Label("Override with:")
            yield OptionList(*(Option(a.value, id=a.value) for a in SuggestedAction),
                             id="action-options")

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(SuggestedAction(str(event.option.id)))


class TextPrompt(ModalScreen[str | None]):
    """One line of text: a folder to move to, a search query."""

    BINDINGS = [Binding("escape", "dismiss(None)", "Cancel", id="prompt.cancel")]

    def __init__(self, label: str, value: str = "", placeholder: str = "") -> None:
        super().__init__()
        self.label, self.value, self.placeholder = label, value, placeholder

    def compose(self) -> ComposeResult:
        with Vertical(classes="picker"):
            yield Label(self.label)
            yield Input(value=self.value, placeholder=self.placeholder, id="prompt-input")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value.strip() or None)


def folder_prompt(suggestion: str) -> TextPrompt:
    return TextPrompt("Move to folder:", suggestion, "Archive")
