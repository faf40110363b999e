"""Build `.gpucarry/bundle.tar.xz`: what `bench/transcribe_speed.py` needs on the lent GPU machine.

That machine has Python 3.12, PyTorch 2.11 (CUDA 13), torchaudio, transformers, huggingface_hub,
tokenizers, lightning, pandas and the like, but not whisperx, faster-whisper, ctranslate2,
pyannote.audio and their smaller dependencies, nor ffmpeg, nor espeak-ng, and it cannot reach a
package registry. Everything travels in the working tree, 64 MiB at most, so:

* pure-Python distributions are copied, file by file from their RECORD, out of this
  machine's `.venv` (the versions the app is tested with here; Python 3.11 files run on 3.12);
* the two compiled ones come from cp312 wheels in `.whl/`: ctranslate2 4.8.5 (its
  `_ext*.so` carries 68 MB of debug info, removed with `strip --strip-debug`) and pydantic-core;
* `av` (PyAV, 100 MB) is replaced by a stub: faster-whisper imports it at import time but only
  calls it in `decode_audio`, which whisperx never uses (it decodes with ffmpeg);
  torchcodec (pyannote's file decoder) is left out: pyannote imports it inside try/except and
  whisperx hands it waveforms, not files;
* one espeak-ng dialogue, made here with `tests/services/speech.py` (16 kHz mono WAV), is
  the audio; the benchmark makes its per-file variants from it;
* `app/tui`: the app's package as committed (`git archive`, HEAD unless `--app-commit`), so
  the app timed is a known commit even while the working tree is being edited; its commit id
  is in `app/COMMIT` (`bench/transcribe_speed.py --app-root /tmp/gpucarry/app` runs it).

Packages the machine already has (torch, torchaudio, transformers, huggingface_hub, tokenizers,
numpy, pandas, lightning, torchmetrics, matplotlib, onnxruntime, …) are not carried: the
benchmark runs against the machine's own versions, which it prints. protobuf is carried (the
OpenTelemetry exporter pyannote imports needs it); it is the version the machine has, 7.36.2,
an abi3 build. The result is ~36 MiB of xz (128 MiB unpacked), built in under a minute. The
list was found by tracing which files both tools import on this machine and checking each
file's distribution against the machine's package list; what is left out on purpose is
optional there (torchcodec, defusedxml, backports.zstd).

Run here (repository root), once:
    echo /.gpucarry/ >> .git/info/exclude            # keep the bundle out of git
    python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 \\
        --implementation cp --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 \\
        --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 -d .whl \\
        ctranslate2==4.8.5 pydantic_core==2.50.5
    .venv/bin/python bench/make_gpu_bundle.py         # under a minute (xz -9)
then name `.gpucarry` in the device call's `carry` (see bench/transcribe_speed.py).
"""

from __future__ import annotations

import argparse
import io
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import zipfile
from importlib import metadata
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

# Pure-Python distributions the whisperx CLI and `triage-tui transcribe` import on the
# transcription path (found by tracing both on this machine) that the GPU machine lacks.
DISTRIBUTIONS = [
    # whisperx and faster-whisper
    "whisperx", "faster-whisper", "nltk",
    # pyannote.audio (whisperx's VAD) and what it imports
    "pyannote-audio", "pyannote-core", "pyannote-database", "pyannote-metrics",
    "pyannote-pipeline", "pyannoteai-sdk", "asteroid-filterbanks", "omegaconf",
    "julius", "torch-audiomentations", "torch-pitch-shift", "primePy",
    "pytorch-metric-learning", "optuna", "colorlog", "opentelemetry-api", "opentelemetry-sdk",
    "opentelemetry-semantic-conventions", "opentelemetry-exporter-otlp-proto-http",
    "opentelemetry-exporter-otlp-proto-common", "opentelemetry-exporter-otlp-common",
    "opentelemetry-exporter-http-transport", "opentelemetry-proto",
    "googleapis-common-protos", "protobuf",
    # triage-tui's own (the transcribe command's config and client imports)
    "pydantic", "annotated-types", "typing-inspection", "platformdirs", "ollama",
]
# Compiled distributions: from cp312 wheels in .whl/ (the GPU machine runs Python 3.12).
WHEELS = {"ctranslate2": "ctranslate2-4.8.5-cp312-*.whl",
          "pydantic_core": "pydantic_core-2.50.5-cp312-*.whl"}
# Compiled files that are Python-version independent (the stable ABI) may be copied.
STABLE_ABI = ".abi3.so"

AV_STUB = '''"""Stand-in for PyAV on the lent GPU machine (bench/make_gpu_bundle.py).

faster-whisper imports av at import time for `decode_audio`; whisperx decodes with ffmpeg and
never calls it. Any use of av fails loudly.
"""

__version__ = "0+bench-stub"


def __getattr__(name):
    raise ImportError(f"av.{name}: PyAV is a stub in this benchmark bundle")
'''

# Lines of the dialogue the benchmark transcribes; repeated with two voices to the length asked.
LINES = [
    "The quarterly budget meeting starts at nine in the large room.",
    "Please send the signed contract to the legal team before Friday.",
    "We still need the numbers from finance for the second quarter.",
    "The new office opens in March, and the move takes two weekends.",
    "Can someone check whether the backup finished last night?",
    "Our customer in Lisbon asked for a call about the delayed shipment.",
    "The training budget was cut, so the workshop moves online.",
    "I will write the summary and share it with everyone this afternoon.",
]


def copy_distribution(name: str, site: Path) -> int:
    """Copy one installed distribution's files (code and dist-info) into `site`."""
    dist = metadata.distribution(name)
    root = Path(str(dist.locate_file("")))
    size = 0
    for entry in dist.files or []:
        relative = Path(str(entry))
        if relative.is_absolute() or ".." in relative.parts:
            continue  # scripts installed outside site-packages
        if "__pycache__" in relative.parts or relative.suffix == ".pyc":
            continue
        if relative.suffix == ".so" and not relative.name.endswith(STABLE_ABI):
            raise SystemExit(f"{name}: {relative} is compiled for this Python; add a cp312 "
                             "wheel to WHEELS instead")
        source = root / relative
        if not source.is_file():
            continue
        target = site / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)
        size += source.stat().st_size
    return size


def extract_wheel(pattern: str, wheels: Path, site: Path) -> int:
    matches = sorted(wheels.glob(pattern))
    if not matches:
        raise SystemExit(f"no {pattern} in {wheels}: download it first (see the docstring)")
    with zipfile.ZipFile(matches[-1]) as archive:
        archive.extractall(site)
        names = archive.namelist()
    for name in names:
        # Only the Python extension: the libraries auditwheel patched are left as they are.
        if name.endswith(".so") and "/_ext." in f"/{name}" and shutil.which("strip"):
            subprocess.run(["strip", "--strip-debug", str(site / name)], check=True)
    return sum((site / name).stat().st_size for name in names if (site / name).is_file())


def make_audio(out: Path, seconds: float) -> float:
    """An espeak-ng dialogue of two voices, at least `seconds` long (16 kHz mono WAV)."""
    from tests.services.speech import two_speaker_dialogue

    voices = ["en-us", "en-gb+m3"]
    lines: list[tuple[str, str]] = []
    # ~4.5 s a line with its gap; a few extra so the length is reached.
    while len(lines) * 4.5 < seconds + 10:
        index = len(lines)
        lines.append((voices[index % 2], LINES[index % len(LINES)]))
    dialogue = two_speaker_dialogue(out, lines)
    return dialogue.duration


def export_app(commit: str, target: Path) -> str:
    """The committed `tui/` package of `commit` into `target`; returns the full commit id."""
    full = subprocess.run(["git", "-C", str(REPO), "rev-parse", commit], capture_output=True,
                          text=True, check=True).stdout.strip()
    archive = subprocess.run(["git", "-C", str(REPO), "archive", "--format=tar", full, "tui"],
                             capture_output=True, check=True).stdout
    target.mkdir(parents=True)
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(target, filter="data")
    (target / "COMMIT").write_text(full + "\n")
    return full


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=REPO / ".gpucarry")
    parser.add_argument("--wheels", type=Path, default=REPO / ".whl")
    parser.add_argument("--audio-seconds", type=float, default=150.0,
                        help="length of the dialogue (default 150)")
    parser.add_argument("--app-commit", default="HEAD",
                        help="the commit whose tui/ package is timed (default HEAD)")
    parser.add_argument("--keep-site", type=Path,
                        help="also leave the unpacked tree here (for a local dry run)")
    args = parser.parse_args()
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="gpucarry-") as scratch:
        root = Path(scratch) / "gpucarry"
        site = root / "site"
        site.mkdir(parents=True)
        sizes: dict[str, int] = {}
        for name in DISTRIBUTIONS:
            sizes[name] = copy_distribution(name, site)
        for name, pattern in WHEELS.items():
            sizes[name] = extract_wheel(pattern, args.wheels, site)
        (site / "av").mkdir()
        (site / "av" / "__init__.py").write_text(AV_STUB)
        commit = export_app(args.app_commit, root / "app")
        audio = root / "audio" / "speech.wav"
        audio.parent.mkdir(parents=True)
        duration = make_audio(audio, args.audio_seconds)
        sizes["audio"] = audio.stat().st_size
        if args.keep_site:
            shutil.rmtree(args.keep_site, ignore_errors=True)
            shutil.copytree(root, args.keep_site)
        args.out.mkdir(parents=True, exist_ok=True)
        bundle = args.out / "bundle.tar.xz"
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w:xz", preset=9) as tar:
            tar.add(root, arcname="gpucarry")
        bundle.write_bytes(buffer.getvalue())
    for name, size in sorted(sizes.items(), key=lambda item: -item[1])[:8]:
        print(f"  {name:<40} {size / 2**20:7.1f} MiB unpacked")
    print(f"{bundle}: {bundle.stat().st_size / 2**20:.1f} MiB ({sum(sizes.values()) / 2**20:.0f} "
          f"MiB unpacked); audio {duration:.1f} s; app at {commit[:12]}; "
          f"{time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
