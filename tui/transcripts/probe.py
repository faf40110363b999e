"""Look inside a file with ffprobe before the worker spends a model's time on it."""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

_PROBE_TIMEOUT_SECONDS = 60


class ProbeError(Exception):
    pass


@dataclass(frozen=True)
class AudioProbe:
    duration_seconds: float | None
    codec: str
    sample_rate: int | None


def probe_audio(path: Path) -> AudioProbe:
    ffprobe = shutil.which("ffprobe")
    if ffprobe is None:
        raise ProbeError("ffprobe not found: apt-get install ffmpeg")
    try:
        completed = subprocess.run(
            [ffprobe, "-v", "error", "-print_format", "json", "-show_format", "-show_streams",
             str(path)],
            capture_output=True, text=True, timeout=_PROBE_TIMEOUT_SECONDS, check=False,
        )
    except subprocess.TimeoutExpired:
        raise ProbeError(f"ffprobe took over {_PROBE_TIMEOUT_SECONDS}s") from None
    if completed.returncode != 0:
        message = (completed.stderr.strip().splitlines() or ["unknown error"])[-1]
        raise ProbeError(f"not a readable media file: {message[:200]}")
    try:
        info = json.loads(completed.stdout or "{}")
    except json.JSONDecodeError:
        raise ProbeError("ffprobe gave no usable answer") from None
    audio = [s for s in info.get("streams", []) if s.get("codec_type") == "audio"]
    if not audio:
        raise ProbeError("the file has no audio stream")
    stream = audio[0]
    duration_text = stream.get("duration") or info.get("format", {}).get("duration")
    duration = float(duration_text) if duration_text not in (None, "N/A") else None
    if duration is not None and duration <= 0:
        raise ProbeError("the audio stream is empty (duration 0)")
    rate = stream.get("sample_rate")
    return AudioProbe(duration, str(stream.get("codec_name", "?")),
                      int(rate) if rate else None)
