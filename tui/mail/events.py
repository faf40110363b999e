"""What the mail pipeline tells its subscribers; plain data, no message bodies in reprs."""

from __future__ import annotations

from dataclasses import dataclass, field

from tui.mail.records import StoredMessage, StoredVerdict
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
    state: str  # ready, unavailable, model-missing, working
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
