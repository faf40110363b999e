"""`<name>.summary.md` from a validated summary: pure text, the same words the transcript
screen shows."""

from __future__ import annotations

from collections.abc import Sequence

from tui.summaries.schema import MeetingSummary


def clock(seconds: float) -> str:
    """83.4 → 00:01:23, as the transcript lines show times."""
    whole = int(seconds)
    return f"{whole // 3600:02d}:{whole % 3600 // 60:02d}:{whole % 60:02d}"


def _times(times: Sequence[float]) -> str:
    return ", ".join(f"[{clock(t)}]" for t in times)


def _md(text: str) -> str:
    """One line of model text, kept from reading as markdown structure."""
    return " ".join(text.split()).replace("<", "&lt;")


def summary_markdown(summary: MeetingSummary, *, title: str, passes: int | None = None,
                     model: str = "") -> str:
    lines = [f"# Summary: {_md(title)}", "", _md(summary.abstract), ""]

    def section(heading: str, rows: list[str]) -> None:
        lines.extend([f"## {heading}", ""])
        lines.extend(rows or ["_none_"])
        lines.append("")

    section("Topics", [f"- {_md(t.title)} — {_times(t.segments)}" for t in summary.topics])
    section("Decisions", [f"- {_md(d.text)} — {_times(d.segments)}"
                          for d in summary.decisions])
    rows = []
    for item in summary.action_items:
        who = [f"owner: {_md(item.owner)}" if item.owner else "owner: —"]
        if item.due:
            who.append(f"due: {_md(item.due)}")
        rows.append(f"- [ ] {_md(item.what)} ({'; '.join(who)}) — {_times(item.segments)}")
    section("Action items", rows)
    section("Open questions", [f"- {_md(q.text)} — {_times(q.segments)}"
                               for q in summary.open_questions])
    footer = []
    if model:
        footer.append(f"by {model}")
    if passes:
        footer.append(f"{passes} LLM pass{'es' if passes != 1 else ''}")
    if footer:
        lines.append(f"_Written {' in '.join(footer)}; times point at the transcript's "
                     "segments._")
    return "\n".join(lines).rstrip() + "\n"
