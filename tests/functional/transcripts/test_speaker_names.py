"""Renaming a speaker is stored and used in the written outputs (whisperx's real writers)."""

from __future__ import annotations

import json
from pathlib import Path

from tui.transcripts.options import TranscribeOptions
from tui.transcripts.pipeline import TranscriptPipeline
from tui.transcripts.records import StoredSegment
from tui.transcripts.store import TranscriptStore


def test_rename_rewrites_every_output(tmp_path: Path) -> None:
    store = TranscriptStore(tmp_path / "state.db")
    audio = tmp_path / "standup.wav"
    audio.write_bytes(b"RIFF")
    digest = store.add("d" * 64, audio, 4).record.content_hash
    words = ({"word": "Hello", "start": 0.1, "end": 0.4, "score": 0.9,
              "speaker": "SPEAKER_00"},)
    store.replace_segments(digest, [
        StoredSegment(0, 0.1, 1.0, "Hello", "SPEAKER_00", words),
        StoredSegment(1, 1.2, 2.0, "Hi there", "SPEAKER_01", ()),
    ])
    store.finish(digest, [], "en")
    options = TranscribeOptions(output_formats=("all",))
    pipeline = TranscriptPipeline(store, options, tmp_path / "out")
    outputs = pipeline.rename_speaker(digest, "SPEAKER_00", "Ana")
    assert {p.suffix for p in outputs} == {".json", ".srt", ".vtt", ".txt", ".tsv"}
    document = json.loads((tmp_path / "out" / "standup.json").read_text())
    assert [s.get("speaker") for s in document["segments"]] == ["Ana", "SPEAKER_01"]
    assert "[Ana]" in (tmp_path / "out" / "standup.srt").read_text()
    assert store.speaker_names(digest) == {"SPEAKER_00": "Ana"}
    # A restart keeps the name.
    store.close()
    assert TranscriptStore(tmp_path / "state.db").speaker_names(digest) == {"SPEAKER_00": "Ana"}
