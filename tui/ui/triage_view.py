"""What the triage pane shows, without Textual: the list's columns for a width, each mail's
cells, and the selected mail's details."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from rich.text import Text

if TYPE_CHECKING:
    from tui.mail.records import StoredMessage, StoredVerdict

PRIORITY_STYLES = {"urgent": "bold red", "high": "yellow", "normal": "", "low": "dim"}
PRIORITY_ORDER = {"urgent": 0, "high": 1, "normal": 2, "low": 3}

# The list's columns, left to right. `action` is the suggestion, or where the mail is on its
# way to one (writing…, retry 40s, ✓ flag): one column instead of two keeps the subject
# readable at 80 columns and in a side-by-side pane.
COLUMNS = {"mark": " ", "priority": "pri", "from": "from", "subject": "subject",
           "action": "action"}
CELL_PADDING = 1  # blank cells each side of each column (DataTable's cell_padding)
PRIORITY_WIDTH = 6  # "urgent"
ACTION_WIDTH = (11, 16)  # "✓ mark_read", up to "✓ move→Archive"
SENDER_WIDTH = (8, 22)
MIN_SUBJECT_WIDTH = 8


@dataclass
class MailRow:
    message: StoredMessage
    verdict: StoredVerdict | None = None
    state: str = "new"
    generating: bool = False


def retry_state(retry_in: float) -> str:
    """The state of mail waiting after a failed call: "retry 40s", "retry 3m"."""
    seconds = max(0, round(retry_in))
    if seconds < 100:
        return f"retry {seconds}s"
    if seconds < 6000:
        return f"retry {round(seconds / 60)}m"
    return f"retry {round(seconds / 3600)}h"


def column_widths(width: int) -> dict[str, int]:
    """Column widths that fill a list `width` cells wide: the fixed columns first, the
    sender about a third of the rest, the subject what is left."""
    room = max(0, width - 2 * CELL_PADDING * len(COLUMNS))
    action = min(ACTION_WIDTH[1], max(ACTION_WIDTH[0], room // 6))
    rest = max(0, room - 1 - PRIORITY_WIDTH - action)
    sender = min(SENDER_WIDTH[1], max(SENDER_WIDTH[0], rest * 35 // 100))
    return {"mark": 1, "priority": PRIORITY_WIDTH, "from": sender,
            "subject": max(MIN_SUBJECT_WIDTH, rest - sender), "action": action}


def fit(text: str | Text, width: int) -> Text:
    """At most `width` cells, an ellipsis where it was cut."""
    fitted = Text(text) if isinstance(text, str) else text.copy()
    fitted.truncate(width, overflow="ellipsis")
    return fitted


def sender_name(sender: str) -> str:
    """`Ana Ruiz <ana@example.org>` → `Ana Ruiz`; a bare address stays whole."""
    return sender.split("<")[0].strip().strip('"') or sender


def action_cell(row: MailRow) -> Text:
    """The suggested action, or where the mail is on its way to one."""
    state, verdict = row.state, row.verdict
    if row.generating:
        return Text("writing…", style="italic")
    if state.startswith("✓"):
        return Text(state, style="green")
    if state == "failed":
        return Text("✗ failed", style="red")
    if state.startswith("retry"):
        return Text(state, style="yellow")
    if verdict is None or state in ("new", "triaging"):
        return Text(state, style="dim")
    cell = Text()
    if verdict.injection_suspected:
        cell.append("⚠ ", style="bold red")
    return cell.append(verdict.action + (f"→{verdict.folder}" if verdict.folder else ""))


def row_cells(row: MailRow, widths: dict[str, int], marked: bool) -> list[Text]:
    """The cells of one mail, in the order of COLUMNS, each fitted to its column."""
    priority = row.verdict.priority if row.verdict else "-"
    return [Text("●" if marked else " "),
            fit(Text(priority, style=PRIORITY_STYLES.get(priority, "")), widths["priority"]),
            fit(sender_name(row.message.sender), widths["from"]),
            fit(row.message.subject, widths["subject"]),
            fit(action_cell(row), widths["action"])]


def mail_detail(row: MailRow, body_chars: int | None = None) -> Text:
    """The mail, its verdict and why; the body cut at `body_chars` (None: all of it)."""
    message, verdict = row.message, row.verdict
    detail = Text()
    detail.append(f"{message.prompt_id}  {message.sender}\n", style="bold")
    detail.append(f"{message.subject}\n")
    if verdict:
        detail.append(f"{verdict.category} · {verdict.priority} · suggests {verdict.action}"
                      f"{' → ' + verdict.folder if verdict.folder else ''}", style="cyan")
        if row.state.startswith("✓"):
            detail.append(f" · done: {row.state.removeprefix('✓ ')}", style="green")
        detail.append(f"\n{verdict.summary}\nwhy: {verdict.reason}\n")
        if verdict.injection_suspected:
            signals = "; ".join(verdict.injection_signals) or "flagged by the model"
            detail.append(f"⚠ possible prompt injection: {signals}\n", style="bold red")
    elif message.last_error:
        waiting = f" ({row.state})" if row.state.startswith("retry") else ""
        detail.append(f"triage failed{waiting}: {message.last_error}\n", style="red")
    for problem in message.problems:
        detail.append(f"note: {problem}\n", style="yellow")
    if message.attachments:
        detail.append(f"attachments: {', '.join(message.attachments)}\n", style="dim")
    body = message.body if body_chars is None else message.body[:body_chars]
    detail.append(body, style="dim")
    if body_chars is not None and len(message.body) > body_chars:
        detail.append(" …", style="dim")
    return detail
