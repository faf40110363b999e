"""What the mail side keeps about a message: its state, its verdict, the actions applied.

Plain values, apart from the SQLite code that stores them (`tui.mail.store`), so the views and
the events can carry them without importing a database.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any


class MailState(str, Enum):
    """Every state has a way out: NEW → TRIAGING → TRIAGED → DECIDED; a call that fails
    (server down, HTTP error, timeout, dropped or garbled stream) puts the batch back to NEW
    with `retry_at` set; a process that stops mid-batch leaves TRIAGING, which the next start
    returns to NEW; FAILED (and anything else) goes back to NEW when the user re-triages."""

    NEW = "new"              # fetched, waiting for triage (at `retry_at`, if set)
    TRIAGING = "triaging"    # in a batch sent to the model
    TRIAGED = "triaged"      # has a verdict, waiting for the user
    FAILED = "failed"        # the model could not give a valid verdict; raw reply kept
    DECIDED = "decided"      # the user accepted or overrode; action applied


@dataclass(frozen=True)
class StoredMessage:
    key: int
    # The mail's identity on the server: its Message-ID or, for mail without one, a content
    # fingerprint in the same column (`tui.mail.parsing.is_fingerprint` tells them apart).
    message_id: str
    folder: str
    uidvalidity: int
    uid: int
    sender: str
    subject: str
    date: str
    body: str
    attachments: tuple[str, ...]
    truncated: bool
    problems: tuple[str, ...]
    state: MailState
    attempts: int
    last_error: str | None
    raw_reply: str | None
    # When a failed call put it back in the queue: not sent again before this (epoch seconds).
    retry_at: float | None = None
    # Calls that failed in a row while it waited (server errors, not bad replies).
    failures: int = 0

    @property
    def prompt_id(self) -> str:
        """The short id the model sees (and must echo back) for this message."""
        return f"m{self.key}"

    @property
    def waiting(self) -> bool:
        """Back in the queue after a failed call, with a retry time."""
        return self.state is MailState.NEW and self.retry_at is not None


@dataclass(frozen=True)
class StoredVerdict:
    key: int
    priority: str
    category: str
    action: str
    folder: str | None
    summary: str
    reason: str
    injection_suspected: bool
    injection_signals: tuple[str, ...]


@dataclass(frozen=True)
class AppliedAction:
    action_id: int
    key: int
    action: str
    folder: str | None
    source: str
    undo: dict[str, Any]
    applied_at: float
    undone_at: float | None
