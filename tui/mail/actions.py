"""Apply a decided action on the server, recorded with what it takes to undo it.

Code, not the model, maps a verdict to IMAP operations, from a closed set; nothing is ever
deleted or expunged except the one copied message in the MOVE fallback. Before touching the
server the UID is checked to still hold the expected identity (UIDVALIDITY or another client
may have changed what it points at): the Message-ID, or for mail without one its content
fingerprint, found again by fingerprinting the folder's mail without a Message-ID.
"""

from __future__ import annotations

from typing import Any

from tui.mail.imap_mailbox import ImapMailbox, MailboxError
from tui.mail.parsing import is_fingerprint
from tui.mail.records import StoredMessage
from tui.mail.store import MailStore
from tui.mail.verdicts import SuggestedAction

_FLAG_FOR = {SuggestedAction.FLAG: "\\Flagged", SuggestedAction.MARK_READ: "\\Seen"}


class ActionError(Exception):
    pass


def _describe(message: StoredMessage) -> str:
    if is_fingerprint(message.message_id):
        return f"{message.prompt_id} (no Message-ID; {message.subject[:40]!r})"
    return message.message_id


def _locate(mailbox: ImapMailbox, store: MailStore, message: StoredMessage) -> int:
    """The message's current UID in its folder, verified by its identity."""
    info = mailbox.select(message.folder)
    if info.uidvalidity == message.uidvalidity:
        found = mailbox.identities([message.uid])
        if found.get(message.uid) == message.message_id:
            return message.uid
    uid = mailbox.find_uid(message.message_id)
    if uid is None:
        raise ActionError(f"{_describe(message)} is no longer in {message.folder}")
    store.relocate(message.key, message.folder, info.uidvalidity, uid)
    return uid


def _move(mailbox: ImapMailbox, store: MailStore, message: StoredMessage, uid: int,
          target: str) -> dict[str, Any]:
    # The moved copy gets a UID from the target's UIDNEXT on: look only there.
    first_new_uid = mailbox.uidnext(target)
    try:
        mailbox.move(uid, target)
    except MailboxError as error:
        raise ActionError(str(error)) from error
    info = mailbox.select(target)
    new_uid = mailbox.find_uid(message.message_id, min_uid=first_new_uid)
    if new_uid is None:
        raise ActionError(f"moved to {target}, but cannot find it there")
    store.relocate(message.key, target, info.uidvalidity, new_uid)
    return {"kind": "move", "from": message.folder, "to": target}


def apply_action(mailbox: ImapMailbox, store: MailStore, message: StoredMessage,
                 action: SuggestedAction, *, folder: str | None, archive_folder: str,
                 source: str) -> int:
    """Apply and record; returns the action's id for undo."""
    undo: dict[str, Any]
    if action is SuggestedAction.NONE:
        undo = {"kind": "none"}
    else:
        uid = _locate(mailbox, store, message)
        if action in _FLAG_FOR:
            flag = _FLAG_FOR[action]
            already = flag in mailbox.flags(uid)
            if not already:
                mailbox.add_flags(uid, [flag])
            # Undo removes the flag only if we were the ones to set it.
            undo = {"kind": "flags", "added": [] if already else [flag]}
        else:
            target = archive_folder if action is SuggestedAction.ARCHIVE else folder
            if not target:
                raise ActionError("a move needs a folder")
            if target == message.folder:
                undo = {"kind": "none"}
            else:
                undo = _move(mailbox, store, message, uid, target)
    return store.record_action(message.key, action.value, folder, source, undo)


def undo_last_action(mailbox: ImapMailbox, store: MailStore, key: int) -> str:
    applied = store.last_action(key)
    if applied is None:
        raise ActionError("nothing to undo")
    message = store.message(key)
    if message is None:
        raise ActionError("unknown message")
    undo = applied.undo
    if undo["kind"] == "flags" and undo["added"]:
        uid = _locate(mailbox, store, message)
        mailbox.remove_flags(uid, list(undo["added"]))
    elif undo["kind"] == "move":
        uid = _locate(mailbox, store, message)
        _move(mailbox, store, message, uid, undo["from"])
    store.mark_undone(applied.action_id, key)
    return applied.action
