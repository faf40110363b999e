"""A real CUDA out-of-memory on the GPU: the WhisperX worker must halve its batch, then reload
Whisper with int8 weights, and finish the file instead of failing it.

Fills the card with a PyTorch allocation in this process until only `--free-mib` is left,
then runs `python -m tui transcribe` from this checkout (random-weight large-v3, float16,
bench/random_whisper.py) on a recording and prints what the worker reported. Two
scenarios by default: room for batch 2 but not 8 (the batch is halved), and too little for
float16 at batch 1 (the int8 reload). Needs an NVIDIA GPU and what make_gpu_bundle.py carries:

    tar xJf .gpucarry/bundle.tar.xz -C /tmp
    PYTHONPATH=/tmp/gpucarry/site python3 bench/oom_backoff.py \
        --audio /tmp/gpucarry/audio/speech.wav
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from random_whisper import build_whisperx_model_dir
from transcribe_speed import tool_env

ROOT = Path(__file__).resolve().parent.parent
MIB = 2**20
# (scenario, MiB left free for the worker, batch size asked for); large-v3 float16 peaks
# 4588 / 4972 / 6348 / 8428 MiB at batch 1 / 2 / 4 / 8 and int8_float16 2830 / 3502 / 4526
# (bench/GPU-RESULTS.md).
SCENARIOS = [("halve the batch", 5600, 8), ("reload as int8", 4300, 8)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--audio", type=Path, required=True)
    args = parser.parse_args()
    import torch

    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        model = root / "random-large-v3"
        build_whisperx_model_dir("large-v3", model)
        env, _ = tool_env(root)
        for number, (scenario, free_mib, batch) in enumerate(SCENARIOS):
            free, _ = torch.cuda.mem_get_info()
            filler = torch.empty(free - free_mib * MIB, dtype=torch.uint8, device="cuda")
            left = torch.cuda.mem_get_info()[0] // MIB
            out = root / f"out{number}"
            command = [sys.executable, "-m", "tui", "transcribe", str(args.audio),
                       "--device", "cuda", "--model", str(model), "--compute_type", "float16",
                       "--batch_size", str(batch), "--language", "en", "--no_align",
                       "--no-diarize", "--output_format", "json", "-o", str(out)]
            done = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True,
                                  check=False)
            del filler
            torch.cuda.empty_cache()
            said = [line.strip() for line in (done.stdout + done.stderr).splitlines()
                    if "out of memory" in line or "FAILED" in line]
            written = sorted(out.glob("*.json"))
            segments = (len(json.loads(written[0].read_text())["segments"])
                        if written else 0)
            rows.append((scenario, left, batch, said, done.returncode, segments))
            if done.returncode != 0:
                print(done.stdout[-3000:], done.stderr[-3000:])
    for scenario, left, batch, said, code, segments in rows:
        print(f"\n{scenario}: {left:,} MiB free for the worker, --batch_size {batch}: "
              f"exit {code}, {segments} segments written")
        for line in said:
            print(f"  {line}")
    return 0 if all(row[4] == 0 and row[5] > 0 for row in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
