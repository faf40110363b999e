"""Bring the local store up to date with one IMAP folder, losing nothing and repeating nothing.

The position (UIDVALIDITY, last UID) advances only after a chunk's messages are committed,
so a connection dropped mid-fetch resumes from the last committed UID; identities (the
Message-ID, or a content fingerprint for mail without one) are unique in the store, so a mail
seen twice is never queued twice.

A UIDVALIDITY change (the mailbox was recreated or restored) voids every cached UID, and new
mail may now sit *below* the highest UID known before. So the whole folder is re-identified:
known mail moves to its new UID, everything not known is fetched whatever its UID (except
mail that arrived before our first sync of the folder: the first sync took only the newest
`backfill` messages, and a recreated archive must not be triaged), and only then does the
position take the new UIDVALIDITY, at the new highest UID. A drop in the middle leaves the
old UIDVALIDITY stored, so the next sync starts the reconciliation again.
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
# INTERNALDATE is the server's clock, first contact ours; allow for skew and time zones.
FIRST_CONTACT_MARGIN_SECONDS = 24 * 3600


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


def _fetch_chunk(mailbox: ImapMailbox, store: MailStore, folder: str, uidvalidity: int,
                 chunk: list[int], max_body_tokens: int) -> list[StoredMessage]:
    new: list[StoredMessage] = []
    for fetched in mailbox.fetch(chunk):
        try:
            message, is_new = _store_fetched(store, folder, uidvalidity, fetched,
                                             max_body_tokens)
        except Exception:  # one bad message never stops the loop
            log.exception("%s UID %s: could not store", folder, fetched.uid)
            continue
        if is_new:
            new.append(message)
    return new


def _reconcile(mailbox: ImapMailbox, store: MailStore, folder: str, uidvalidity: int
               ) -> tuple[int, list[int], int]:
    """After a UIDVALIDITY change: re-identify every message in the folder, move known mail
    to its new UID. Returns (relocated, UIDs of mail not known, highest UID)."""
    uids = mailbox.all_uids()
    identities = mailbox.identities(uids)
    known = store.locations()
    relocated, unknown = 0, []
    for uid in uids:
        identity = identities.get(uid)
        if identity is None:
            continue  # expunged meanwhile
        location = known.get(identity)
        if location is None:
            unknown.append(uid)
        elif location[1] == folder:
            store.relocate(location[0], folder, uidvalidity, uid)
            relocated += 1
    since = store.first_contact(folder)
    if since is not None and unknown:
        # What was already in the folder at our first sync, beyond the backfill, stays
        # untouched now too; mail without a date is fetched (nothing lost).
        arrived = mailbox.internal_dates(unknown)
        cutoff = since - FIRST_CONTACT_MARGIN_SECONDS
        older = {uid for uid in unknown if uid in arrived and arrived[uid].timestamp() < cutoff}
        if older:
            log.info("%s: %d message(s) older than the first sync left alone", folder,
                     len(older))
        unknown = [uid for uid in unknown if uid not in older]
    return relocated, unknown, max(uids, default=0)


def sync_folder(mailbox: ImapMailbox, store: MailStore, folder: str, *,
                max_body_tokens: int, backfill: int) -> SyncResult:
    info = mailbox.select(folder)
    position = store.sync_position(folder)
    relocated = 0
    changed = position is not None and position[0] != info.uidvalidity
    new: list[StoredMessage] = []
    if position is None:
        # First contact: take the newest `backfill` messages, not the whole archive.
        uids = mailbox.all_uids()
        last_uid = uids[-backfill - 1] if len(uids) > backfill else 0
        store.set_sync_position(folder, info.uidvalidity, last_uid)
    elif changed:
        log.warning("%s: UIDVALIDITY changed (%s → %s); re-identifying the folder's mail",
                    folder, position[0], info.uidvalidity)
        relocated, unknown, last_uid = _reconcile(mailbox, store, folder, info.uidvalidity)
        for start in range(0, len(unknown), FETCH_CHUNK):
            new += _fetch_chunk(mailbox, store, folder, info.uidvalidity,
                                unknown[start:start + FETCH_CHUNK], max_body_tokens)
        log.info("%s: %d known message(s) relocated, %d not known fetched", folder,
                 relocated, len(new))
        # Only now: a drop before this point redoes the reconciliation on the next sync.
        store.set_sync_position(folder, info.uidvalidity, last_uid)
    else:
        last_uid = position[1]

    pending = mailbox.uids_after(last_uid)
    for start in range(0, len(pending), FETCH_CHUNK):
        chunk = pending[start:start + FETCH_CHUNK]
        new += _fetch_chunk(mailbox, store, folder, info.uidvalidity, chunk, max_body_tokens)
        store.set_sync_position(folder, info.uidvalidity, max(chunk))
    return SyncResult(tuple(new), relocated, changed)
