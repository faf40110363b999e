"""The status line in words, without Textual: each service's state as a short sentence with
the one thing to do, and the line packed to a width so that no service is ever cut off."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from rich.console import Console
from rich.text import Text

if TYPE_CHECKING:
    from tui.check_result import CheckResult
    from tui.mail.events import ImapStatus, TriageStatus
    from tui.runtime.events import ServiceStarted
    from tui.transcripts.events import AsrPaused

Level = Literal["ok", "waiting", "problem"]
Detail = Literal["all", "problems", "causes", "names"]

IMAP_SETUP = "run `triage-tui init`"
# What the IMAP check and the mail pipeline say when no config file exists at all.
NO_CONFIG_FILE = "no config file"
SEPARATOR = " │ "
# The status line takes at most this many rows while it can say less to fit them.
MAX_LINES = 3
DOCTOR = "`triage-tui doctor` says what to do"
# A cause longer than this is shortened at a word (the whole text is in the log and in
# `triage-tui doctor`): the status line names the problem, it does not quote it.
MAX_CAUSE_CHARS = 60
_COMMANDS = ("ollama ", "triage-tui ", "apt-get ", "apt ", "chmod ", "huggingface-cli ",
             "pip ", "export ", "nvidia-smi")
# `ConnectError: `, `NVMLError_LibraryNotFound: `: a class name, not words.
_EXCEPTION_PREFIX = re.compile(
    r"^(?:[\w.]+\.)?[A-Z]\w*(?:Error|Exception|Unavailable|Missing)\w*: ")
_MARKS = {"ok": ("● ", "green"), "waiting": ("◌ ", "yellow"), "problem": ("✗ ", "red")}


@dataclass(frozen=True)
class ServiceState:
    """One service on the status line: `detail` is what it is doing (ok, waiting) or what is
    wrong (problem); `fix` the one thing to do about a problem."""

    name: str
    level: Level
    detail: str = ""
    fix: str = ""

    def words(self, detail: Detail = "all") -> Text:
        """`● IMAP ana@example.org`; `✗ IMAP: not set up — run `triage-tui init``. Less
        detail for a crowded line: "problems" drops what working services are doing, "causes"
        also the fixes, "names" all but the names."""
        mark, style = _MARKS[self.level]
        text = Text(mark, style=style)
        text.append(self.name, style="bold")
        if detail == "names":
            return text
        if self.level == "problem":
            text.append(f": {self.detail}" if self.detail else "", style="red")
            if self.fix and detail != "causes":
                text.append(f" — {self.fix}")
        elif self.detail and not (detail != "all" and self.level == "ok"):
            text.append(f" {self.detail}", style="yellow" if self.level == "waiting" else "")
        return text


def shorten(text: str, limit: int = MAX_CAUSE_CHARS) -> str:
    """At most `limit` characters, cut between words, never inside one."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1].rsplit(" ", 1)[0].rstrip(",;:")
    return cut + "…"


def _first_clause(text: str) -> str:
    """The part before a parenthesis, a "; " or a ", or " that is not inside `backticks`."""
    depth = 0
    for index, char in enumerate(text):
        if char == "`":
            depth ^= 1
        elif not depth and text.startswith((" (", "; ", ", or ", ". "), index):
            return text[:index]
    return text


def cause_words(name: str, detail: str) -> str:
    """The gist of what is wrong, in words: no exception class, no repeated service name."""
    text = _first_clause(detail.strip())
    text = _EXCEPTION_PREFIX.sub("", text)
    if text.lower().startswith(name.lower() + " "):
        text = text[len(name) + 1:]
    return shorten(text.strip().rstrip("."))


def fix_words(fix: str) -> str:
    """The one thing to do: the fix's first clause; a bare command becomes "run `cmd`"."""
    text = _first_clause(fix.strip()).rstrip(".")
    if text.startswith(_COMMANDS):
        return f"run `{text}`"
    return text


def _imap_not_set_up(detail: str) -> bool:
    return "no IMAP account" in detail or "not-configured" in detail


def imap_not_set_up(detail: str) -> ServiceState:
    """`✗ IMAP: not set up — run `triage-tui init``; "no config file" when there is none."""
    words = NO_CONFIG_FILE if NO_CONFIG_FILE in detail else "not set up"
    return ServiceState("IMAP", "problem", words, IMAP_SETUP)


def from_check(result: CheckResult) -> ServiceState:
    """A start-up check (the same as `triage-tui doctor`'s)."""
    if result.ok:
        return ServiceState(result.name, "ok", result.detail)
    if result.name == "IMAP" and _imap_not_set_up(result.detail):
        return imap_not_set_up(result.detail)
    return ServiceState(result.name, "problem", cause_words(result.name, result.detail),
                        fix_words(result.fix))


def from_started(event: ServiceStarted) -> ServiceState:
    if event.ok:
        return ServiceState(event.name, "ok", event.detail)
    return ServiceState(event.name, "problem", cause_words(event.name, event.detail),
                        "details in the log")


def from_imap(event: ImapStatus) -> ServiceState:
    state, detail = event.state, event.detail
    if state == "not-configured":
        return imap_not_set_up(detail)
    if state in ("connected", "idle"):
        return ServiceState("IMAP", "ok", detail)
    if state == "polling":
        return ServiceState("IMAP", "ok", f"checks {detail}" if detail else "")
    if state == "connecting":
        return ServiceState("IMAP", "waiting", f"connecting to {detail}" if detail
                            else "connecting")
    if state == "reconnecting":
        retry = f", retrying in {event.retry_in:.0f} s" if event.retry_in else ", retrying"
        return ServiceState("IMAP", "waiting", f"connection lost{retry}")
    fix = IMAP_SETUP if "password" in detail else "check [imap] host, port and password"
    return ServiceState("IMAP", "problem", cause_words("IMAP", detail), fix)


def from_triage(event: TriageStatus) -> ServiceState:
    """The LLM backend, as the mail pipeline last found it."""
    if event.state in ("ready", "working"):
        return ServiceState(event.backend, "ok", event.detail)
    if event.state == "retrying":  # it answers; one call failed and is retried by itself
        return ServiceState(event.backend, "waiting", event.detail)
    return ServiceState(event.backend, "problem", cause_words(event.backend, event.detail),
                        fix_words(event.fix))


def from_asr_paused(event: AsrPaused) -> ServiceState:
    return ServiceState("watcher", "waiting", event.status_text)


def pack(states: list[ServiceState], width: int, max_lines: int = MAX_LINES) -> Text:
    """The states as lines of at most `width` cells: separated by " │ " on a line, a service
    that does not fit moved whole to the next line (one longer than a line wraps between
    words). All the details if that fits on one line; else working services by name and
    problems in words with their fixes; while that takes more than `max_lines`, the last
    problem still told loses its fix, then its words (the line then says where to read
    them): the first problems keep the one thing to do."""
    lines = _pack_lines([state.words("all") for state in states], width)
    if len(lines) <= 1:
        return Text("\n").join(lines)
    problems = [index for index, state in enumerate(states) if state.level == "problem"]
    detail: list[Detail] = ["problems"] * len(states)
    steps = [(index, less) for index in reversed(problems) for less in ("causes", "names")]
    for index, less in [(None, None), *steps]:
        if index is not None and less is not None:
            detail[index] = less
        entries = [state.words(level) for state, level in zip(states, detail, strict=True)]
        if "names" in (detail[index] for index in problems):
            entries.append(Text(DOCTOR, style="dim"))
        lines = _pack_lines(entries, width)
        if len(lines) <= max_lines:
            break
    return Text("\n").join(lines)


def _pack_lines(entries: list[Text], width: int) -> list[Text]:
    lines: list[Text] = []
    line = Text()
    for entry in entries:
        fits_after = line.cell_len + len(SEPARATOR) + entry.cell_len <= width
        if line.cell_len and (fits_after or entry.cell_len > width > 0):
            # Beside the last one; an entry longer than a line wraps from here anyway.
            line = Text.assemble(line, (SEPARATOR, "dim"), entry)
        else:
            if line.cell_len:
                lines.append(line)
            line = entry
        if line.cell_len > width > 0:
            *whole, line = _wrap(line, width)
            lines.extend(whole)
    if line.cell_len:
        lines.append(line)
    return lines


def _wrap(text: Text, width: int) -> list[Text]:
    """A long entry split between words (a word longer than the line is folded)."""
    console = Console(width=width, color_system=None, legacy_windows=False)
    wrapped = text.copy()
    wrapped.overflow = "fold"
    return list(wrapped.wrap(console, width)) or [Text()]
