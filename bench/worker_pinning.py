"""The real WhisperX worker on a two-GPU box: `triage-tui transcribe --gpu SEL` must put every
byte it allocates on the card SEL names (an index in nvidia-smi's order, a UUID, or "" for
CUDA's first card), and nothing on the other.

Runs `python -m tui transcribe` from this checkout with a random-weight Whisper model
(bench/random_whisper.py) on a recording, once per selector, while `gpu_peaks.GpuWatch`
(the dashboard's NVML poller at 50 ms) records the processes on each card. Needs two NVIDIA
GPUs and what make_gpu_bundle.py carries (whisperx, faster-whisper, ctranslate2, pyannote.audio):

    tar xJf .gpucarry/bundle.tar.xz -C /tmp
    PYTHONPATH=/tmp/gpucarry/site python3 bench/worker_pinning.py \
        --audio /tmp/gpucarry/audio/speech.wav
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from gpu_peaks import GpuWatch
from random_whisper import build_whisperx_model_dir
from transcribe_speed import tool_env

from tui.adapters.nvml import GpuUnavailable, read_gpus
from tui.budget.placement import resolve_card

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--audio", type=Path, required=True)
    parser.add_argument("--size", default="small", help="random model shape (random_whisper)")
    args = parser.parse_args()
    gpus = read_gpus()
    if isinstance(gpus, GpuUnavailable) or len(gpus) < 2:
        raise SystemExit("needs two GPUs")
    selectors = ["1", gpus[0].uuid, gpus[1].uuid[:12], ""]
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        model = root / f"random-{args.size}"
        build_whisperx_model_dir(args.size, model)
        env, _ = tool_env(root)
        env = {k: v for k, v in env.items() if not k.startswith("CUDA_")}
        for number, selector in enumerate(selectors):
            expected = resolve_card(selector, gpus).index
            command = [sys.executable, "-m", "tui", "transcribe", str(args.audio),
                       "--device", "cuda", "--gpu", selector, "--model", str(model),
                       "--compute_type", "float16", "--batch_size", "8", "--language", "en",
                       "--no_align", "--no-diarize", "--output_format", "json",
                       "-o", str(root / f"out{number}")]
            with GpuWatch() as watch:
                done = subprocess.run(command, env=env, cwd=ROOT, capture_output=True,
                                      text=True, check=False)
            if done.returncode != 0:
                print(done.stdout[-2000:], done.stderr[-2000:])
            seen = sorted(watch.peaks.card_pid_peaks.items())
            cards = {card for (card, _), _ in seen}
            ok = done.returncode == 0 and cards == {expected}
            rows.append((selector or '""', expected, seen, done.returncode, ok))
    print(f"{'--gpu':<44} {'expected':>8}  {'seen on (card: pid peak MiB)':<40} rc  ok")
    for selector, expected, seen, code, ok in rows:
        shown = ", ".join(f"GPU {card}: {pid} {peak / 2**20:,.0f}" for (card, pid), peak in seen)
        print(f"{selector:<44} {expected!s:>8}  {shown or 'nothing':<40} {code:>2}  "
              f"{'yes' if ok else 'NO'}")
    return 0 if all(row[-1] for row in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
