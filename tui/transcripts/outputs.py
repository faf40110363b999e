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


def write_outputs(result: dict[str, Any], audio_path: Path, output_dir: Path,
                  options: TranscribeOptions, speaker_names: dict[str, str] | None = None
                  ) -> list[Path]:
    """Every requested format, staged in a hidden temp dir and renamed into place, so a
    reader never sees half a file."""
    from whisperx.utils import get_writer  # plain Python; no torch behind it

    result = apply_speaker_names(result, speaker_names or {})
    has_words = any(segment.get("words") for segment in result.get("segments", []))
    # Word-level options need word timings; without alignment whisperx's CLI refuses them.
    writer_args = options.writer_args() if has_words else {
        "highlight_words": False, "max_line_count": None, "max_line_width": None}
    output_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    with tempfile.TemporaryDirectory(dir=output_dir, prefix=".triage-tui-") as staging:
        for output_format in options.formats:
            get_writer(output_format, staging)(result, str(audio_path), writer_args)
        for staged in sorted(Path(staging).iterdir()):
            target = output_dir / staged.name
            os.replace(staged, target)
            written.append(target)
    return written
