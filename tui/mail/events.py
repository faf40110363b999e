"""What the mail pipeline tells its subscribers; plain data, no message bodies in reprs."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from tui.mail.records import StoredMessage, StoredVerdict

if TYPE_CHECKING:
    from tui.mail.verdicts import Verdict


@dataclass(frozen=True)
class ImapStatus:
    # not-configured, connecting, connected, idle, polling, reconnecting, error
    state: str
    detail: str = ""
    retry_in: float | None = None


@dataclass(frozen=True)
class MailArrived:
    message: StoredMessage = field(repr=False)
    key: int = 0


@dataclass(frozen=True)
class TriageStatus:
    # ready, working, unavailable (server not reachable), model-missing, retrying (the server
    # answers, but a call failed: its batch waits for a retry)
    state: str
    detail: str = ""
    fix: str = ""
    backend: str = "Ollama"


@dataclass(frozen=True)
class VerdictPreview:
    """A verdict still being generated: shown, never acted on."""

    key: int
    verdict: Verdict


@dataclass(frozen=True)
class VerdictReady:
    key: int
    verdict: StoredVerdict


@dataclass(frozen=True)
class BatchRetried:
    keys: tuple[int, ...]
    reason: str


@dataclass(frozen=True)
class TriageFailed:
    keys: tuple[int, ...]
    reason: str


@dataclass(frozen=True)
class TriageRequeued:
    """The user sent these mails back to the model (`t`, `--retriage`, `--retry-failed`):
    queued now, any retry time and failure cleared."""

    keys: tuple[int, ...]


@dataclass(frozen=True)
class TriageDeferred:
    """A call failed (server down, HTTP error, timeout, dropped or garbled stream): these
    mails are back in the queue and are sent again at `retry_at` (epoch seconds)."""

    keys: tuple[int, ...]
    reason: str
    retry_at: float
    retry_in: float


@dataclass(frozen=True)
class ActionApplied:
    key: int
    action: str
    folder: str | None
    source: str


@dataclass(frozen=True)
class ActionUndone:
    key: int
    action: str


@dataclass(frozen=True)
class ActionFailed:
    key: int
    action: str
    reason: str
