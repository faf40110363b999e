"""Small modal pickers: an action to override with, a folder to move to."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, OptionList
from textual.widgets.option_list import Option

from tui.mail.verdicts import SuggestedAction


class ActionPicker(ModalScreen[SuggestedAction | None]):
    BINDINGS = [Binding("escape", "dismiss(None)", "Cancel", id="picker.cancel")]

    def compose(self) -> ComposeResult:
        with Vertical(classes="picker"):
            yield Label("Override with:")
            yield OptionList(*(Option(a.value, id=a.value) for a in SuggestedAction),
                             id="action-options")

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(SuggestedAction(str(event.option.id)))


class FolderPrompt(ModalScreen[str | None]):
    BINDINGS = [Binding("escape", "dismiss(None)", "Cancel", id="folder.cancel")]

    def __init__(self, suggestion: str = "") -> None:
        super().__init__()
        self.suggestion = suggestion

    def compose(self) -> ComposeResult:
        with Vertical(classes="picker"):
            yield Label("Move to folder:")
            yield Input(value=self.suggestion, placeholder="Archive", id="folder-input")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value.strip() or None)
