"""Invariants every mail fault test checks, and views of the server from a second connection.

- every mail ends with exactly one final verdict, or a visible failure with a way to retry
  (FAILED with its reason; or back in the queue with a reason and a retry time);
- no mail is left `triaging`;
- nothing is applied on the server that the user did not ask for (flags and folders as read
  over an independent IMAP connection).
"""

from __future__ import annotations

from collections.abc import Iterable

from tests.conftest import IMAP_USER
from tests.services.dovecot import DovecotServer
from tui.mail.records import MailState
from tui.mail.store import MailStore


def server_view(dovecot: DovecotServer, folder: str = "INBOX") -> dict[str, set[str]]:
    """Subject → flags, over a second connection; works for mail without a Message-ID."""
    return dovecot.flags_by_header(IMAP_USER, "Subject", folder)


def assert_mail_invariants(store: MailStore, *, waiting_allowed: bool = True) -> None:
    for message in store.messages():
        where = f"m{message.key} {message.subject!r} ({message.state.value})"
        assert message.state is not MailState.TRIAGING, f"{where}: stuck triaging"
        verdict = store.verdict(message.key)
        if message.state in (MailState.TRIAGED, MailState.DECIDED):
            assert verdict is not None, f"{where}: no verdict"
        elif message.state is MailState.FAILED:
            assert message.last_error, f"{where}: failed without a reason"
        else:  # NEW: waiting for the model, automatically retried
            assert waiting_allowed, f"{where}: still waiting"
            if message.last_error:
                assert message.retry_at, f"{where}: failed call without a retry time"


def assert_all_triaged_once(store: MailStore) -> None:
    assert_mail_invariants(store, waiting_allowed=False)
    for message in store.messages():
        assert message.state is MailState.TRIAGED, (message.subject, message.state)
        assert message.retry_at is None and message.failures == 0


def sent_ids(calls: Iterable[list[str]]) -> list[str]:
    """The prompt ids (m1, m2, ...) the scripted model was asked about, in order."""
    return [prompt_id for call in calls for prompt_id in call]
