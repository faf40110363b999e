"""A thin adapter over one imapclient connection: select, fetch with BODY.PEEK[], IDLE, flags
and moves. Policy (what to fetch, when to reconnect, what an action means) lives elsewhere."""

from __future__ import annotations

import contextlib
import ssl
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import imapclient

from tui.adapters.imap_connect import connect_imap
from tui.config import ImapConfig
from tui.mail.parsing import is_fingerprint, message_id_from_headers, message_identity

_BODY = b"BODY[]"
_MESSAGE_ID_FIELD = b"BODY[HEADER.FIELDS (MESSAGE-ID)]"
# Whole messages fetched at a time to fingerprint mail without a Message-ID.
_FINGERPRINT_CHUNK = 20


class MailboxError(Exception):
    pass


@dataclass(frozen=True)
class FolderInfo:
    uidvalidity: int
    uidnext: int | None
    exists: int


@dataclass(frozen=True)
class FetchedMessage:
    uid: int
    raw: bytes
    flags: tuple[str, ...]


def _text(value: bytes | str) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def message_id_of(header_bytes: bytes) -> str:
    """The Message-ID exactly as `parse_email` reads it, so store and server always agree."""
    return message_id_from_headers(header_bytes)


class ImapMailbox:
    """One authenticated connection. Not thread-safe: one owner at a time."""

    def __init__(self, config: ImapConfig, password: str,
                 ssl_context: ssl.SSLContext | None = None) -> None:
        self.config = config
        self._password = password
        self._ssl_context = ssl_context
        self._client: imapclient.IMAPClient | None = None
        self.selected: str | None = None

    # -- connection -------------------------------------------------------------------------

    @property
    def client(self) -> imapclient.IMAPClient:
        if self._client is None:
            raise MailboxError("not connected")
        return self._client

    def connect(self) -> None:
        self._client = connect_imap(self.config, self._password, self._ssl_context)
        self.selected = None

    def close(self) -> None:
        client, self._client = self._client, None
        self.selected = None
        if client is None:
            return
        try:
            client.logout()
        except Exception:  # the socket may already be dead; closing is all we want
            with contextlib.suppress(Exception):
                client.shutdown()

    def has_capability(self, name: str) -> bool:
        return bool(self.client.has_capability(name))

    # -- reading ----------------------------------------------------------------------------

    def select(self, folder: str) -> FolderInfo:
        response = self.client.select_folder(folder)
        self.selected = folder
        return FolderInfo(uidvalidity=int(response[b"UIDVALIDITY"]),
                          uidnext=int(response[b"UIDNEXT"]) if b"UIDNEXT" in response else None,
                          exists=int(response.get(b"EXISTS", 0)))

    def uids_after(self, last_uid: int) -> list[int]:
        # "n:*" always matches the highest UID, even when it is below n: filter.
        return sorted(uid for uid in self.client.search(["UID", f"{last_uid + 1}:*"])
                      if uid > last_uid)

    def all_uids(self) -> list[int]:
        return sorted(self.client.search(["ALL"]))

    def fetch(self, uids: Iterable[int]) -> list[FetchedMessage]:
        wanted = list(uids)
        if not wanted:
            return []
        # BODY.PEEK[] so triage never sets \\Seen; the answer comes back under BODY[].
        response = self.client.fetch(wanted, ["BODY.PEEK[]", "FLAGS"])
        messages = []
        for uid in wanted:
            data = response.get(uid)
            # Unsolicited FETCH responses (other clients changing flags) carry no body.
            if not data or _BODY not in data:
                continue
            messages.append(FetchedMessage(uid, bytes(data[_BODY]),
                                           tuple(_text(f) for f in data.get(b"FLAGS", ()))))
        return messages

    def message_ids(self, uids: Iterable[int]) -> dict[int, str]:
        wanted = list(uids)
        if not wanted:
            return {}
        response = self.client.fetch(wanted, ["BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)]"])
        return {uid: message_id_of(bytes(data[_MESSAGE_ID_FIELD]))
                for uid, data in response.items() if _MESSAGE_ID_FIELD in data}

    def identities(self, uids: Iterable[int]) -> dict[int, str]:
        """UID → identity, as the store keys mail: the Message-ID, or the content fingerprint
        of mail without one (only those are fetched whole). UIDs gone meanwhile are left out."""
        wanted = list(uids)
        found = self.message_ids(wanted)
        missing = [uid for uid in wanted if uid in found and not found[uid]]
        for start in range(0, len(missing), _FINGERPRINT_CHUNK):
            for fetched in self.fetch(missing[start:start + _FINGERPRINT_CHUNK]):
                found[fetched.uid] = message_identity(fetched.raw)
        return {uid: identity for uid, identity in found.items() if identity}

    def uidnext(self, folder: str) -> int:
        """The UID the next message in `folder` will get (STATUS; no SELECT)."""
        status = self.client.folder_status(folder, [b"UIDNEXT"])
        return int(status[b"UIDNEXT"])

    def find_uid(self, identity: str, *, min_uid: int = 1) -> int | None:
        """The UID (from `min_uid` on) holding this identity in the selected folder, verified;
        None if absent. A Message-ID is searched for on the server; a fingerprint (mail
        without Message-ID) by fingerprinting the messages there without a Message-ID."""
        if is_fingerprint(identity):
            candidates = self.uids_after(min_uid - 1)
        else:
            candidates = [uid for uid in self.client.search(["HEADER", "Message-ID", identity])
                          if uid >= min_uid]
        # HEADER search matches substrings: check what each candidate really is.
        matches = [uid for uid, found in self.identities(candidates).items()
                   if found == identity]
        return max(matches) if matches else None

    def internal_dates(self, uids: Iterable[int]) -> dict[int, datetime]:
        """UID → INTERNALDATE (when the server received the message; kept by COPY/MOVE)."""
        wanted = list(uids)
        if not wanted:
            return {}
        response = self.client.fetch(wanted, ["INTERNALDATE"])
        return {uid: data[b"INTERNALDATE"] for uid, data in response.items()
                if isinstance(data.get(b"INTERNALDATE"), datetime)}

    def flags(self, uid: int) -> set[str]:
        response = self.client.get_flags([uid])
        return {_text(flag) for flag in response.get(uid, ())}

    # -- waiting ----------------------------------------------------------------------------

    def idle(self, timeout: float) -> bool:
        """IDLE for up to `timeout` seconds; True when the server announced a change."""
        client = self.client
        client.idle()
        try:
            responses = client.idle_check(timeout=timeout)
        finally:
            client.idle_done()
        changed = False
        for response in responses:
            if not isinstance(response, tuple) or not response:
                continue
            if response[0] == b"BYE":
                raise MailboxError("server said BYE")
            if len(response) >= 2 and response[1] in (b"EXISTS", b"RECENT", b"EXPUNGE"):
                changed = True
        return changed

    def noop(self) -> Any:
        return self.client.noop()

    # -- changing ---------------------------------------------------------------------------

    def add_flags(self, uid: int, flags: list[str]) -> None:
        self.client.add_flags([uid], [f.encode() for f in flags], silent=True)

    def remove_flags(self, uid: int, flags: list[str]) -> None:
        self.client.remove_flags([uid], [f.encode() for f in flags], silent=True)

    def move(self, uid: int, target: str, *, use_move: bool | None = None) -> None:
        """MOVE (RFC 6851); without it COPY, then \\Deleted and UID EXPUNGE of that UID only,
        so other clients' deleted mail is never purged."""
        if use_move is None:
            use_move = self.has_capability("MOVE")
        if use_move:
            self.client.move([uid], target)
            return
        if not self.has_capability("UIDPLUS"):
            raise MailboxError("the server has neither MOVE nor UIDPLUS: a move would need a "
                               "plain EXPUNGE, which could purge other clients' deleted mail")
        self.client.copy([uid], target)
        self.client.add_flags([uid], [b"\\Deleted"], silent=True)
        self.client.uid_expunge([uid])
