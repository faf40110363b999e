"""Bring the local store up to date with one IMAP folder, losing nothing and repeating nothing.

The position (UIDVALIDITY, last UID) advances only after a chunk's messages are committed,
so a connection dropped mid-fetch resumes from the last committed UID; Message-IDs are
unique in the store, so a mail seen twice is never queued twice. A UIDVALIDITY change means
every cached UID is void: known mail is re-located by Message-ID.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from tui.mail.imap_mailbox import FetchedMessage, ImapMailbox
from tui.mail.parsing import parse_email
from tui.mail.records import StoredMessage
from tui.mail.store import MailStore

log = logging.getLogger(__name__)

FETCH_CHUNK = 20


@dataclass(frozen=True)
class SyncResult:
    new: tuple[StoredMessage, ...]
    relocated: int
    uidvalidity_changed: bool


def _store_fetched(store: MailStore, folder: str, uidvalidity: int, fetched: FetchedMessage,
                   max_body_tokens: int) -> tuple[StoredMessage, bool]:
    parsed = parse_email(fetched.raw, max_body_tokens=max_body_tokens)
    return store.add_message(
        message_id=parsed.message_id, folder=folder, uidvalidity=uidvalidity, uid=fetched.uid,
        sender=parsed.sender, subject=parsed.subject,
        date=parsed.date.isoformat() if parsed.date else "",
        body=parsed.body,
        attachments=[f"{a.filename or '(unnamed)'} ({a.content_type}, {a.size} B)"
                     for a in parsed.attachments],
        truncated=parsed.truncated, problems=list(parsed.problems))


def _relocate_known(mailbox: ImapMailbox, store: MailStore, folder: str,
                    uidvalidity: int) -> tuple[int, int]:
    """After a UIDVALIDITY change: map every UID to its Message-ID, move known mail to its
    new UID, and return (relocated, highest UID of known mail)."""
    uids = mailbox.all_uids()
    by_message_id = {mid: uid for uid, mid in mailbox.message_ids(uids).items() if mid}
    relocated, highest_known = 0, 0
    for message in store.messages():
        uid = by_message_id.get(message.message_id)
        if uid is not None and message.folder == folder:
            store.relocate(message.key, folder, uidvalidity, uid)
            relocated += 1
            highest_known = max(highest_known, uid)
    return relocated, highest_known


def sync_folder(mailbox: ImapMailbox, store: MailStore, folder: str, *,
                max_body_tokens: int, backfill: int) -> SyncResult:
    info = mailbox.select(folder)
    position = store.sync_position(folder)
    relocated = 0
    changed = position is not None and position[0] != info.uidvalidity
    if position is None:
        # First contact: take the newest `backfill` messages, not the whole archive.
        uids = mailbox.all_uids()
        last_uid = uids[-backfill - 1] if len(uids) > backfill else 0
    elif changed:
        log.warning("%s: UIDVALIDITY changed (%s → %s); resyncing by Message-ID", folder,
                    position[0], info.uidvalidity)
        relocated, last_known = _relocate_known(mailbox, store, folder, info.uidvalidity)
        last_uid = last_known
    else:
        last_uid = position[1]
    store.set_sync_position(folder, info.uidvalidity, last_uid)

    new: list[StoredMessage] = []
    pending = mailbox.uids_after(last_uid)
    for start in range(0, len(pending), FETCH_CHUNK):
        chunk = pending[start:start + FETCH_CHUNK]
        for fetched in mailbox.fetch(chunk):
            try:
                message, is_new = _store_fetched(store, folder, info.uidvalidity, fetched,
                                                 max_body_tokens)
            except Exception:  # one bad message never stops the loop
                log.exception("%s UID %s: could not store", folder, fetched.uid)
                continue
            if is_new:
                new.append(message)
        store.set_sync_position(folder, info.uidvalidity, max(chunk))
    return SyncResult(tuple(new), relocated, changed)
