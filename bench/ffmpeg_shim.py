"""Stand-ins for `ffmpeg` and `ffprobe` for PCM WAV files, standard library only.

The lent GPU machine has no ffmpeg and nothing can be installed there from the network.
`whisperx.load_audio` runs
    ffmpeg -nostdin -threads 0 -i FILE -f s16le -ac 1 -acodec pcm_s16le -ar 16000 -
and `tui.transcripts.probe` runs
    ffprobe -v error -print_format json -show_format -show_streams FILE
This script answers exactly those two calls for 16-bit PCM WAV files already at the requested
rate (the benchmark's espeak-ng audio is 16 kHz mono, whisperx's own format): the samples go
out unchanged (channels averaged when `-ac 1` is asked of a multi-channel file), and ffprobe's
JSON carries the fields the probe reads. Anything else (another container, a resample) exits
1 with a message on stderr, as ffmpeg would fail. `bench/transcribe_speed.py --ffmpeg-shim`
puts `ffmpeg` and `ffprobe` wrappers around it first on PATH for BOTH the whisperx CLI and
`triage-tui transcribe`, so the two are timed with the same decoder.

Usage: python3 bench/ffmpeg_shim.py ffmpeg|ffprobe ARGS...
"""

from __future__ import annotations

import array
import json
import sys
import wave
from pathlib import Path


def _value(args: list[str], flag: str) -> str | None:
    if flag in args:
        index = args.index(flag)
        if index + 1 < len(args):
            return args[index + 1]
    return None


def _open(path: str) -> wave.Wave_read:
    try:
        stream = wave.open(path, "rb")  # noqa: SIM115 (the callers close it)
    except (OSError, EOFError, wave.Error) as error:
        raise SystemExit(f"{path}: Invalid data found when processing input ({error})") from None
    if stream.getsampwidth() != 2 or stream.getcomptype() != "NONE":
        raise SystemExit(f"{path}: the shim reads 16-bit PCM WAV only")
    return stream


def ffmpeg(args: list[str]) -> int:
    path = _value(args, "-i")
    if path is None or args[-1] != "-" or _value(args, "-f") != "s16le":
        raise SystemExit("ffmpeg shim: only `-i FILE ... -f s16le ... -` is supported")
    with _open(path) as stream:
        rate = stream.getframerate()
        channels = stream.getnchannels()
        frames = stream.readframes(stream.getnframes())
    wanted_rate = int(_value(args, "-ar") or rate)
    if wanted_rate != rate:
        raise SystemExit(f"ffmpeg shim: {path} is {rate} Hz; resampling to {wanted_rate} Hz "
                         "is not supported")
    wanted_channels = int(_value(args, "-ac") or channels)
    if wanted_channels != channels:
        if wanted_channels != 1:
            raise SystemExit("ffmpeg shim: only down-mixing to one channel is supported")
        samples = array.array("h", frames)
        if sys.byteorder != "little":
            samples.byteswap()
        mixed = array.array("h", (sum(samples[i:i + channels]) // channels
                                  for i in range(0, len(samples), channels)))
        frames = mixed.tobytes()
    sys.stdout.buffer.write(frames)
    sys.stdout.buffer.flush()
    return 0


def ffprobe(args: list[str]) -> int:
    path = args[-1]
    with _open(path) as stream:
        rate = stream.getframerate()
        channels = stream.getnchannels()
        frames = stream.getnframes()
    duration = f"{frames / rate:.6f}"
    info = {
        "streams": [{
            "index": 0, "codec_name": "pcm_s16le", "codec_type": "audio",
            "sample_fmt": "s16", "sample_rate": str(rate), "channels": channels,
            "bits_per_sample": 16, "duration_ts": frames, "duration": duration,
        }],
        "format": {
            "filename": path, "nb_streams": 1, "format_name": "wav", "duration": duration,
            "size": str(Path(path).stat().st_size),
        },
    }
    print(json.dumps(info, indent=4))
    return 0


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in ("ffmpeg", "ffprobe"):
        print(__doc__, file=sys.stderr)
        return 2
    return ffmpeg(argv[1:]) if argv[0] == "ffmpeg" else ffprobe(argv[1:])


if __name__ == "__main__":
    try:
        raise SystemExit(main(sys.argv[1:]))
    except SystemExit as exit_:
        if isinstance(exit_.code, str):
            print(exit_.code, file=sys.stderr)
            raise SystemExit(1) from None
        raise
