"""Real speech (and broken audio) for tests, made locally with espeak-ng, sox and ffmpeg.

No Whisper-compatible test audio can be downloaded here, so tests synthesise it.  espeak-ng
is robotic, but Whisper tiny.en transcribes it well enough for word-overlap checks, and two
different espeak voices (e.g. ``en-us`` and ``en-gb+m3``) give a dialogue with two clearly
distinct "speakers" whose turn boundaries we know exactly (we place them ourselves).

Everything is written as 16 kHz, mono, signed 16-bit PCM WAV: the format whisperx resamples
to anyway (``whisperx.audio.SAMPLE_RATE``), so timings computed from sample counts here are
exact in whisperx's time base.

Gotcha for callers: ``whisperx.align`` and ``whisperx.diarize.DiarizationPipeline.__call__``
test ``isinstance(audio, str)`` before loading a file, so pass ``str(path)`` (or an array from
``whisperx.load_audio``), never a ``Path`` or a :class:`Dialogue`, to those two.
"""

from __future__ import annotations

import os
import random
import shutil
import subprocess
import tempfile
import wave
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

#: whisperx.audio.SAMPLE_RATE; repeated here so this module does not import whisperx (slow).
SAMPLE_RATE = 16_000

#: Default silence between dialogue lines: long enough for whisperx's pyannote VAD
#: (min_duration_off 0.1 s) and for Whisper to start a new segment, short enough to stay fast.
DEFAULT_GAP_S = 0.7

# ffmpeg arguments per output extension.  Explicit codecs, because ffmpeg's choice for a
# container depends on how it was built (e.g. .ogg could become opus or vorbis).
_FFMPEG_CODECS: dict[str, list[str]] = {
    ".wav": ["-c:a", "pcm_s16le"],
    ".mp3": ["-c:a", "libmp3lame", "-b:a", "64k"],
    ".m4a": ["-c:a", "aac", "-b:a", "64k"],
    ".aac": ["-c:a", "aac", "-b:a", "64k"],
    ".ogg": ["-c:a", "libvorbis", "-q:a", "4"],
    ".opus": ["-c:a", "libopus", "-b:a", "32k"],
    ".flac": ["-c:a", "flac"],
}


@dataclass(frozen=True)
class Turn:
    """One dialogue line as placed in the output file (seconds from the file's start).

    ``start``/``end`` bound the synthesised speech itself: espeak's own leading and trailing
    silence is trimmed off before placement, so these are tight speaker-turn boundaries.
    """

    index: int
    speaker: str  # "SPEAKER_A", "SPEAKER_B", ...: one per distinct voice, in order of appearance
    voice: str
    text: str
    start: float
    end: float

    @property
    def duration(self) -> float:
        return self.end - self.start


@dataclass(frozen=True)
class Dialogue:
    """A synthesised multi-voice WAV plus its ground-truth turns.

    It is path-like (``os.fspath(dialogue)`` / ``open(dialogue)`` work), but see the module
    docstring: whisperx wants ``str(dialogue.path)``.
    """

    path: Path
    turns: tuple[Turn, ...]
    duration: float

    def __fspath__(self) -> str:
        return str(self.path)

    @property
    def speakers(self) -> list[str]:
        return sorted({turn.speaker for turn in self.turns})

    @property
    def words(self) -> list[str]:
        """All spoken words, lowercased without punctuation (for overlap checks)."""
        return [w for turn in self.turns for w in normalise_words(turn.text)]


def normalise_words(text: str) -> list[str]:
    """Lowercase words without surrounding punctuation: a fair basis for word-overlap checks."""
    words = (w.strip(".,!?;:\"()[]").lower() for w in text.replace("-", " ").split())
    return [w for w in words if w]


def word_overlap(expected: str | Sequence[str], transcript: str) -> float:
    """Fraction of the expected words (as a set) that occur in the transcript."""
    wanted = set(normalise_words(expected) if isinstance(expected, str) else expected)
    if not wanted:
        return 1.0
    return len(wanted & set(normalise_words(transcript))) / len(wanted)


def _run(cmd: list[str]) -> None:
    # check=True with captured output, so a failure shows the tool's own error message.
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"{cmd[0]} failed ({proc.returncode}): {' '.join(cmd)}\n{proc.stderr}")


def _to_16k_mono(src: Path, out: Path, *, trim: bool) -> None:
    # `rate -h`: high-quality resampling from espeak's 22.05 kHz.  The optional silence
    # effect pair trims leading silence, reverses, trims again, reverses back: a standard
    # sox idiom to strip both ends, so Turn.start/end bound the speech itself.
    effects = ["rate", "-h", str(SAMPLE_RATE)]
    if trim:
        effects += ["silence", "1", "0.02", "0.5%", "reverse",
                    "silence", "1", "0.02", "0.5%", "reverse"]
    _run(["sox", str(src), "-r", str(SAMPLE_RATE), "-c", "1", "-b", "16", "-e", "signed-integer",
          str(out), *effects])


def wav_duration(path: Path | str) -> float:
    """Duration of a PCM WAV file in seconds (from its header)."""
    with wave.open(str(path), "rb") as w:
        return w.getnframes() / w.getframerate()


def speak(text: str, out: Path, voice: str = "en-us", speed: int = 150, *,
          trim: bool = True) -> Path:
    """Synthesise ``text`` with espeak-ng into ``out`` as 16 kHz mono 16-bit WAV.

    ``voice`` is any espeak-ng voice, with an optional variant: ``en-us``, ``en-gb+m3``,
    ``en-us+f3``...; ``speed`` is in words per minute (espeak's ``-s``).  ``trim`` removes
    espeak's leading/trailing silence (about 0.1-0.3 s) so the file is speech edge to edge.
    """
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="speak-") as tmp:
        raw = Path(tmp) / "espeak.wav"  # espeak-ng writes 22.05 kHz mono
        _run(["espeak-ng", "-v", voice, "-s", str(speed), "-w", str(raw), text])
        _to_16k_mono(raw, out, trim=trim)
    return out


def two_speaker_dialogue(out: Path, lines: Sequence[tuple[str, str]], *,
                         gap_s: float = DEFAULT_GAP_S, lead_s: float = 0.3,
                         speed: int = 150) -> Dialogue:
    """Synthesise ``lines`` of ``(voice, text)`` into one WAV with ``gap_s`` silence between.

    Works for any number of lines/voices; "two speaker" is the common case.  ``lead_s`` of
    silence precedes the first line and follows the last one, because speech that starts at
    sample 0 is clipped by VAD/segmentation frame edges.  Returns a :class:`Dialogue` whose
    ``turns`` are exact (computed from sample counts, not estimated).
    """
    if not lines:
        raise ValueError("a dialogue needs at least one line")
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    speakers: dict[str, str] = {}
    turns: list[Turn] = []
    with tempfile.TemporaryDirectory(prefix="dialogue-") as tmp:
        parts: list[Path] = []
        cursor = round(lead_s * SAMPLE_RATE)  # in samples, so timings carry no rounding drift
        for index, (voice, text) in enumerate(lines):
            part = speak(text, Path(tmp) / f"line{index:03d}.wav", voice=voice, speed=speed)
            parts.append(part)
            with wave.open(str(part), "rb") as w:
                n = w.getnframes()
            speaker = speakers.setdefault(voice, f"SPEAKER_{chr(ord('A') + len(speakers))}")
            turns.append(Turn(index=index, speaker=speaker, voice=voice, text=text,
                              start=cursor / SAMPLE_RATE, end=(cursor + n) / SAMPLE_RATE))
            cursor += n + round(gap_s * SAMPLE_RATE)
        # One sox call: pad each part with the gap (the last one and the first with the lead)
        # and concatenate; all parts share one format so sox concatenates sample-exactly.
        padded: list[str] = []
        for index, part in enumerate(parts):
            before = lead_s if index == 0 else 0.0
            after = lead_s if index == len(parts) - 1 else gap_s
            padded_part = Path(tmp) / f"padded{index:03d}.wav"
            _run(["sox", str(part), str(padded_part), "pad", f"{before:.6f}", f"{after:.6f}"])
            padded.append(str(padded_part))
        if len(padded) == 1:
            shutil.copyfile(padded[0], out)
        else:
            _run(["sox", *padded, str(out)])
    return Dialogue(path=out, turns=tuple(turns), duration=wav_duration(out))


def silence(out: Path, seconds: float) -> Path:
    """Digital silence (all-zero samples), 16 kHz mono 16-bit WAV."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    _run(["sox", "-n", "-r", str(SAMPLE_RATE), "-c", "1", "-b", "16", "-e", "signed-integer",
          str(out), "trim", "0", f"{seconds:.6f}"])
    return out


def corrupt_audio(out: Path, size: int = 8192, seed: int = 0) -> Path:
    """Random bytes under an audio name (.wav, .mp3, ...): no decoder can make sense of them.

    The first bytes are forced away from any magic number (RIFF, ID3, fLaC, OggS, MPEG sync
    0xFFEx) so ffmpeg cannot half-recognise the file by luck of the seed.
    """
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    data = bytearray(random.Random(seed).randbytes(size))
    data[:8] = b"garbage!"
    out.write_bytes(bytes(data))
    return out


def truncated_copy(src: Path, out: Path, fraction: float = 0.5) -> Path:
    """The first ``fraction`` of ``src``'s bytes, like a file still being copied or synced.

    Note that for a WAV the header still announces the full length; ffmpeg (and so
    ``whisperx.load_audio``) decodes what is there without failing.
    """
    if not 0.0 <= fraction <= 1.0:
        raise ValueError(f"fraction must be within [0, 1], got {fraction}")
    data = Path(src).read_bytes()
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(data[: int(len(data) * fraction)])
    return out


def to_format(src: Path | os.PathLike[str], out: Path) -> Path:
    """Convert ``src`` with ffmpeg to the format named by ``out``'s extension.

    Supported: .wav .mp3 .m4a .aac .ogg (vorbis) .opus .flac.  Sample rate and channels are
    kept (16 kHz mono for files made here).
    """
    out = Path(out)
    codec = _FFMPEG_CODECS.get(out.suffix.lower())
    if codec is None:
        raise ValueError(f"unsupported extension {out.suffix!r}; "
                         f"use one of {sorted(_FFMPEG_CODECS)}")
    out.parent.mkdir(parents=True, exist_ok=True)
    _run(["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y",
          "-i", os.fspath(src), "-vn", *codec, str(out)])
    return out
