"""A long synthetic meeting written straight into the transcript store: a finished file, its
segments (three speakers, two of them named), as the pipeline would leave them."""

from __future__ import annotations

import hashlib
from pathlib import Path

from tui.mail.batching import TokenCalibration
from tui.summaries.planner import SummaryPlan, plan_summary
from tui.summaries.prompt import segment_lines
from tui.transcripts.records import StoredSegment
from tui.transcripts.store import TranscriptStore

_LINES = [
    "Good morning, let's start with the warehouse lease on Harbour Road.",
    "The landlord wants a five year term and a deposit of three months.",
    "I think we should sign if they fix the loading dock first.",
    "Agreed, we sign the lease once the dock is repaired.",
    "Ana, can you send the signed contract to the landlord by Friday?",
    "Yes, I will send it on Friday morning.",
    "Next topic is the delivery van, it failed its inspection again.",
    "Bruno will book the garage for the brakes before the end of the month.",
    "Who pays for the van repair, us or the leasing company?",
    "We don't know yet, the contract is unclear about repairs.",
    "Then let's ask the leasing company and decide next week.",
    "The new hire starts on Monday and needs a laptop and a badge.",
    "I will order the laptop today and ask security for the badge.",
    "Sales numbers for March are up eight percent over February.",
    "Most of that came from the two new customers in Porto.",
]


def write_meeting(store: TranscriptStore, folder: Path, segments: int = 100,
                  name: str = "weekly.m4a") -> str:
    """A finished transcript of `segments` segments (about 4 s each); its content hash."""
    audio = folder / name
    audio.write_bytes(b"not really audio")
    digest = hashlib.sha256(f"{name}:{segments}".encode()).hexdigest()
    store.add(digest, audio, audio.stat().st_size)
    parts = [StoredSegment(i, round(i * 4.3 + 0.25, 2), round(i * 4.3 + 4.0, 2),
                           f"{_LINES[i % len(_LINES)]} (item {i})",
                           f"SPEAKER_0{i % 3}") for i in range(segments)]
    store.replace_segments(digest, parts)
    store.rename_speaker(digest, "SPEAKER_00", "Ana")
    store.rename_speaker(digest, "SPEAKER_01", "Bruno")
    outputs = folder / "out"
    outputs.mkdir(exist_ok=True)
    srt = outputs / f"{audio.stem}.srt"
    srt.write_text("1\n00:00:00,250 --> 00:00:04,000\nGood morning\n")
    store.finish(digest, [srt], "en")
    return digest


def predicted_plan(store: TranscriptStore, digest: str, *, num_ctx: int,
                   reserve: int) -> SummaryPlan:
    """The passes the planner predicts for a stored transcript, before any calibration: what
    the runner starts from."""
    lines = segment_lines(store.segments(digest), store.speaker_names(digest))
    return plan_summary(lines, num_ctx=num_ctx, reserve=reserve, calibration=TokenCalibration())
