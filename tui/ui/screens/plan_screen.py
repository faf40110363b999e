"""The full plan table (`p`), the same Rich table `triage-tui plan` prints."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from tui.planning.report import plan_table
from tui.ui.widgets.key_footer import KeyFooter

if TYPE_CHECKING:
    from tui.planning.service import PlanResult


class PlanScreen(ModalScreen[None]):
    BINDINGS = [
        Binding("escape,p,q", "dismiss", "Close", id="plan.close"),
    ]

    def __init__(self, result: PlanResult | None, error: str | None) -> None:
        super().__init__()
        self.result = result
        self.error = error

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="plan-body"):
            if self.result is not None:
                yield Static(plan_table(self.result))
            else:
                yield Static(self.error or "the plan is still being computed")
        yield KeyFooter()
