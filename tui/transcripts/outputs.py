"""Write transcripts with whisperx's own writers, atomically, in the output directory."""

from __future__ import annotations

import copy
import os
import tempfile
from pathlib import Path
from typing import Any

from tui.transcripts.options import TranscribeOptions


def apply_speaker_names(result: dict[str, Any], names: dict[str, str]) -> dict[str, Any]:
    if not names:
        return result
    renamed = copy.deepcopy(result)
    for segment in renamed.get("segments", []):
        if segment.get("speaker") in names:
            segment["speaker"] = names[segment["speaker"]]
        for word in segment.get("words", []):
            if word.get("speaker") in names:
                word["speaker"] = names[word["speaker"]]
    return renamed


def writer_shape(result: dict[str, Any]) -> dict[str, Any]:
    """The result as whisperx's writers need it: "words" in every segment or in none.

    The subtitle writers take their word-level path when the first segment has the key and
    then read every segment's; an empty list there writes nothing (a 0-byte .srt). So with
    no word timings at all the key goes; where only some segments have them, the others get
    their text as one untimed word, which the writers place at the segment's times."""
    segments = result.get("segments", [])
    timed = [bool(segment.get("words")) for segment in segments]
    if all(timed):
        return result
    if not any(timed):
        shaped = [{k: v for k, v in segment.items() if k != "words"} for segment in segments]
    else:
        shaped = [segment if segment.get("words") else
                  {**segment, "words": [{"word": str(segment.get("text", "")).strip()}]}
                  for segment in segments]
    return {**result, "segments": shaped}


def output_name(audio_path: Path, taken: dict[Path, Path], output_dir: Path,
                formats: tuple[str, ...]) -> str:
    """The name (without the format's extension) the outputs of `audio_path` get: its stem,
    like whisperx (`talk.m4a` → `talk.srt`); when another recording already has outputs
    under that name (`talk.wav` and `talk.m4a`, or two `talk.wav` in subfolders), its full
    file name (`talk.m4a.srt`), then with a number (`talk.m4a (2).srt`). `taken` maps each
    output already written to its recording."""
    def free(name: str) -> bool:
        return all(taken.get(output_dir / f"{name}.{fmt}", audio_path) == audio_path
                   for fmt in formats)

    for name in (audio_path.stem, audio_path.name):
        if free(name):
            return name
    number = 2
    while not free(f"{audio_path.name} ({number})"):
        number += 1
    return f"{audio_path.name} ({number})"


def write_outputs(result: dict[str, Any], audio_path: Path, output_dir: Path,
                  options: TranscribeOptions, speaker_names: dict[str, str] | None = None,
                  name: str | None = None) -> list[Path]:
    """Every requested format as `<name>.<format>` (`name` defaults to the recording's stem),
    staged in a hidden temp dir and renamed into place, so a reader never sees half a file."""
    from whisperx.utils import get_writer  # plain Python; no torch behind it

    result = writer_shape(apply_speaker_names(result, speaker_names or {}))
    # whisperx's writers name their file after the audio path's stem: give them one whose
    # stem is the name (it may itself hold a dot: "talk.m4a" → "talk.m4a.srt").
    writer_path = f"{name or audio_path.stem}.audio"
    has_words = any(segment.get("words") for segment in result.get("segments", []))
    # Word-level options need word timings; without alignment whisperx's CLI refuses them.
    writer_args = options.writer_args() if has_words else {
        "highlight_words": False, "max_line_count": None, "max_line_width": None}
    output_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    with tempfile.TemporaryDirectory(dir=output_dir, prefix=".triage-tui-") as staging:
        for output_format in options.formats:
            get_writer(output_format, staging)(result, writer_path, writer_args)
        for staged in sorted(Path(staging).iterdir()):
            target = output_dir / staged.name
            os.replace(staged, target)
            written.append(target)
    return written
