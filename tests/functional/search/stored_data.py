"""Fill a state database through the real stores: many transcripts and many mails, one
phrase said in one transcript and written in one mail."""

from __future__ import annotations

from pathlib import Path

from tui.mail.store import MailStore
from tui.transcripts.records import StoredSegment
from tui.transcripts.store import TranscriptStore

PHRASE = "the warehouse lease in Porto"
FILLER = ["let's go over the numbers", "the sprint ends on Friday", "any blockers today",
          "I will send the slides", "the budget looks fine", "we need another reviewer"]


def digest(n: int) -> str:
    return f"{n:064x}"


def fill_transcripts(store: TranscriptStore, files: int = 12, segments: int = 30,
                     phrase_in: tuple[int, int] = (7, 21)) -> None:
    """`files` recordings of `segments` segments each (10 s apart); PHRASE is said once, in
    file `phrase_in[0]` at segment `phrase_in[1]`, by SPEAKER_01."""
    for n in range(files):
        store.add(digest(n), Path(f"/drop/meeting-{n:02d}.m4a"), 1000 + n)
        for i in range(segments):
            text = f"{FILLER[(n + i) % len(FILLER)]}, item {n}-{i}"
            if (n, i) == phrase_in:
                text = f"so about {PHRASE}, it ends in March"
            store.put_segment(digest(n), StoredSegment(i, i * 10.0, i * 10.0 + 9.5, text,
                                                       f"SPEAKER_0{i % 2}"))


def add_mail(store: MailStore, n: int, *, subject: str, body: str,
             sender: str | None = None) -> int:
    message, _ = store.add_message(
        message_id=f"<m{n}@example.org>", folder="INBOX", uidvalidity=1, uid=n,
        sender=sender or f"Person {n} <p{n}@example.org>", subject=subject, date="",
        body=body, attachments=[], truncated=False, problems=[])
    return message.key


def fill_mail(store: MailStore, mails: int = 15, phrase_in: int = 9) -> int:
    """`mails` mails; PHRASE in the body of mail number `phrase_in`, whose key is returned."""
    found = -1
    for n in range(mails):
        body = f"Hello, {FILLER[n % len(FILLER)]}. Regards, {n}"
        if n == phrase_in:
            body = f"Hi, we should sign {PHRASE} before the end of the month."
        key = add_mail(store, n, subject=f"Update {n}", body=body)
        store.save_verdict(key, priority="normal", category="work", action="none",
                           folder=None, summary=f"routine update {n}", reason="r",
                           injection_suspected=False, injection_signals=[])
        if n == phrase_in:
            found = key
    return found
