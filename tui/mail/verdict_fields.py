"""The closed choices a verdict is made of (priority, category, suggested action). Apart from
the pydantic schema in `verdicts` so that the dashboard can name and bind them before the
schema is built (its first frame does not wait for pydantic)."""

from __future__ import annotations

from enum import Enum


class Priority(str, Enum):
    URGENT = "urgent"
    HIGH = "high"
    NORMAL = "normal"
    LOW = "low"


class Category(str, Enum):
    ACTION = "action"
    REPLY = "reply"
    MEETING = "meeting"
    FYI = "fyi"
    NEWSLETTER = "newsletter"
    RECEIPT = "receipt"
    NOTIFICATION = "notification"
    SPAM = "spam"
    OTHER = "other"


class SuggestedAction(str, Enum):
    NONE = "none"
    FLAG = "flag"
    MARK_READ = "mark_read"
    MOVE = "move"
    ARCHIVE = "archive"

    @property
    def is_destructive(self) -> bool:
        """MOVE and ARCHIVE take mail out of the inbox, so auto-apply never does them."""
        return self in (SuggestedAction.MOVE, SuggestedAction.ARCHIVE)
