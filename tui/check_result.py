"""One service check's verdict, shared by `triage-tui doctor` and the dashboard's status line
(which must not import the checks themselves: they pull in the IMAP and LLM clients)."""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class CheckResult:
    name: str
    ok: bool
    detail: str
    fix: str = ""

    def as_dict(self) -> dict[str, object]:
        return asdict(self)
