"""LlmSlot: one call at a time, mail first."""

from __future__ import annotations

import threading
import time

from tui.llm.slot import LlmSlot


def test_waiting_mail_goes_before_the_next_summary_pass() -> None:
    slot = LlmSlot()
    order: list[str] = []
    assert slot.acquire("summary")             # a summary pass is in flight
    mail = threading.Thread(target=lambda: (slot.acquire("mail"), order.append("mail"),
                                            slot.release()))
    mail.start()
    time.sleep(0.1)
    nxt = threading.Thread(target=lambda: (slot.acquire("summary"), order.append("summary"),
                                           slot.release()))
    nxt.start()
    time.sleep(0.1)
    assert order == []                         # both wait for the pass in flight
    slot.release()
    mail.join(2)
    nxt.join(2)
    assert order == ["mail", "summary"]


def test_announced_mail_holds_summaries_back_until_it_starts_or_expires() -> None:
    slot = LlmSlot(announcement_seconds=0.3)
    slot.announce_mail()
    stop = threading.Event()
    started = time.monotonic()
    assert slot.acquire("summary", stop=stop)
    assert time.monotonic() - started >= 0.25  # waited for the announcement to lapse
    slot.release()
    stop.set()
    slot.announce_mail()
    assert not slot.acquire("summary", stop=stop)   # a stop ends the wait, nothing taken
    assert slot.holder is None
