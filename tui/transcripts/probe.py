"""Look inside a file with ffprobe before the worker spends a model's time on it, and tell
a recording that was cut short (the container declares more audio than could be decoded)."""

from __future__ import annotations

import json
import shutil
import struct
import subprocess
from dataclasses import dataclass
from pathlib import Path

_PROBE_TIMEOUT_SECONDS = 60
# Decoded audio may fall short of the declared duration by encoder padding (an MP3's last
# frame, AAC priming): only more than this is called missing.
_MISSING_TOLERANCE_SECONDS = 0.5
_MISSING_TOLERANCE_FRACTION = 0.02
# A WAV's data chunk size as writers that do not know the length yet leave it.
_WAV_UNKNOWN_SIZES = (0, 0xFFFFFFFF)
_WAV_HEADER_BYTES = 1 << 16


class ProbeError(Exception):
    pass


@dataclass(frozen=True)
class AudioProbe:
    duration_seconds: float | None
    codec: str
    sample_rate: int | None
    # What the container itself says the recording lasts, where it says more than ffprobe
    # reports: a WAV's data chunk size (ffprobe clips a cut WAV's duration to the bytes
    # present). Otherwise ffprobe's duration (an MP3's Xing frame count, an MP4's moov).
    declared_seconds: float | None = None


def wav_declared_seconds(path: Path) -> float | None:
    """The length a RIFF/WAVE header announces (data chunk size / byte rate), or None when
    the file is no such WAV or its writer left the size unknown."""
    try:
        with path.open("rb") as stream:
            head = stream.read(_WAV_HEADER_BYTES)
    except OSError:
        return None
    if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
        return None
    offset, byte_rate = 12, 0
    while offset + 8 <= len(head):
        chunk_id = head[offset:offset + 4]
        (size,) = struct.unpack_from("<I", head, offset + 4)
        if chunk_id == b"fmt " and offset + 16 <= len(head):
            (byte_rate,) = struct.unpack_from("<I", head, offset + 16)
        elif chunk_id == b"data":
            if size in _WAV_UNKNOWN_SIZES or byte_rate <= 0:
                return None
            return size / byte_rate
        offset += 8 + size + (size & 1)
    return None


def missing_audio_warning(declared_seconds: float | None, decoded_seconds: float) -> str | None:
    """A warning when the container declares clearly more audio than was decoded."""
    if not declared_seconds:
        return None
    missing = declared_seconds - decoded_seconds
    if missing <= max(_MISSING_TOLERANCE_SECONDS,
                      _MISSING_TOLERANCE_FRACTION * declared_seconds):
        return None
    return (f"truncated recording: the file declares {declared_seconds:.1f} s of audio but "
            f"only {decoded_seconds:.1f} s could be decoded; the transcript covers that part "
            "only (was the file still being copied? drop the complete file again)")


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
    declared = max((d for d in (duration, wav_declared_seconds(path)) if d), default=None)
    return AudioProbe(duration, str(stream.get("codec_name", "?")),
                      int(rate) if rate else None, declared)
