"""Two cards, one service each: does pinning put each process where the plan says, and does
the GPU panel's NVML reader see it there?

Plans Devstral + WhisperX large-v3 with WhisperX on card 1 (`[whisperx] gpu = "1"`), starts
two stand-in processes with exactly the environment the app gives them — the LLM server
with the plan's `server_env` (CUDA_VISIBLE_DEVICES = card 0's UUID), the WhisperX worker
through `pin_process("1", ...)` as `worker_main` does — each allocating its card's planned
bytes with PyTorch, then reads NVML as the panel does and checks every process is on its
planned card and `placement_warnings` is quiet. Then the LLM stand-in is restarted unpinned
onto WhisperX's card (what Ollama does when it picks the card with the most free memory)
and the warning must fire. The LLM stand-in names itself "ollama" (/proc/self/comm), which is
how the panel tells Ollama's runner apart.

Writes the NVML readings of both scenarios (with process names) as JSON for the tests
(tests/data/nvml_two_cards.json). Needs two NVIDIA GPUs and PyTorch:

    python3 bench/multi_gpu_placement.py --json-out $OUT/nvml_two_cards.json
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from dataclasses import asdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tui.adapters.nvml import GpuMemorySample, GpuUnavailable, process_name, read_gpus
from tui.budget.known_models import known_model_shape
from tui.budget.placement import pin_process, resolve_card
from tui.budget.plan import GpuCard, PlanRequest, WhisperRequest, plan_budget
from tui.ui.gpu_view import GpuReading, placement_warnings

GIB = 1024**3

# A process that takes `bytes` on the card CUDA gives it, says where, and waits for stdin.
STAND_IN = """
import sys, torch
name, size = sys.argv[1], int(sys.argv[2])
if name:
    open("/proc/self/comm", "w").write(name)
block = torch.empty(size, dtype=torch.uint8, device="cuda")
torch.cuda.synchronize()
print(torch.cuda.get_device_name(0), flush=True)
sys.stdin.readline()
"""


def readings() -> list[GpuMemorySample]:
    gpus = read_gpus()
    if isinstance(gpus, GpuUnavailable):
        raise SystemExit(f"no GPU: {gpus.reason}")
    if len(gpus) < 2:
        raise SystemExit(f"needs two GPUs, NVML sees {len(gpus)}")
    return gpus


def start(name: str, size: int, cuda_env: dict[str, str]) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CUDA_")} | cuda_env
    process = subprocess.Popen([sys.executable, "-c", STAND_IN, name, str(size)], env=env,
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    process.stdout.readline()  # allocated
    return process


def stop(process: subprocess.Popen[str]) -> None:
    assert process.stdin is not None
    process.stdin.write("\n")
    process.stdin.flush()
    process.wait(timeout=30)


def where(pid: int, gpus: list[GpuMemorySample]) -> list[tuple[int, int | None]]:
    return [(card.index, p.used_bytes) for card in gpus for p in card.processes if p.pid == pid]


def record(gpus: list[GpuMemorySample]) -> dict[str, object]:
    names = {p.pid: process_name(p.pid) for card in gpus for p in card.processes}
    return {"samples": [asdict(card) for card in gpus],
            "process_names": {str(pid): name for pid, name in names.items()}}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--json-out", type=Path)
    args = parser.parse_args()
    gpus = readings()
    shape = known_model_shape("devstral-small")
    assert shape is not None
    llm_place = resolve_card("", gpus)
    whisper_place = resolve_card("1", gpus)
    assert llm_place.index is not None and whisper_place.index is not None
    llm_card, whisper_card = gpus[llm_place.index], gpus[whisper_place.index]
    plan = plan_budget(PlanRequest(
        shape=shape, gpu_total_bytes=llm_card.total_bytes,
        gpu_total_source=f"NVML GPU {llm_card.index}", gpu_index=llm_card.index,
        whisper=WhisperRequest(), llm_device=llm_card.uuid,
        whisper_gpu=GpuCard(whisper_card.total_bytes, f"NVML GPU {whisper_card.index}",
                            whisper_card.index)))
    llm_bytes, whisper_bytes = (card.planned_bytes for card in plan.cards)
    print(f"cards: {[(c.index, c.name, c.uuid) for c in gpus]}")
    print(f"plan: LLM {llm_bytes / GIB:.2f} GiB on GPU {llm_card.index} "
          f"(server env {plan.server_env}), WhisperX {whisper_bytes / GIB:.2f} GiB on GPU "
          f"{whisper_card.index}")

    llm_env = {k: v for k, v in plan.server_env.items() if k.startswith("CUDA_")}
    worker_env: dict[str, str] = {}
    pin_process("1", worker_env)
    rows = []
    llm = start("ollama", llm_bytes, llm_env)
    worker = start("", whisper_bytes, worker_env)
    time.sleep(1.0)
    placed = readings()
    reading = GpuReading(tuple(placed))
    names = {p.pid: process_name(p.pid) for card in placed for p in card.processes}
    pinned_warnings = placement_warnings(plan, reading, {worker.pid}, names)
    rows.append(("pinned", where(llm.pid, placed), where(worker.pid, placed), pinned_warnings))
    recorded = {"pinned": record(placed), "whisperx_pid": worker.pid}
    stop(llm)

    # Unpinned on WhisperX's card, as Ollama does when it picks the card with most room.
    stray = start("ollama", llm_bytes, {"CUDA_VISIBLE_DEVICES": whisper_card.uuid})
    time.sleep(1.0)
    misplaced = readings()
    names = {p.pid: process_name(p.pid) for card in misplaced for p in card.processes}
    stray_warnings = placement_warnings(plan, GpuReading(tuple(misplaced)), {worker.pid}, names)
    rows.append(("LLM strayed", where(stray.pid, misplaced), where(worker.pid, misplaced),
                 stray_warnings))
    recorded["misplaced"] = record(misplaced)
    stop(stray)
    stop(worker)

    print(f"\n{'scenario':<12} {'LLM on (card, MiB)':<24} {'WhisperX on (card, MiB)':<26} "
          f"warnings")
    for scenario, llm_at, worker_at, warnings in rows:
        def show(at: list[tuple[int, int | None]]) -> str:
            return ", ".join(f"GPU {i} {(b or 0) / 2**20:,.0f}" for i, b in at)
        print(f"{scenario:<12} {show(llm_at):<24} {show(worker_at):<26} "
              f"{'; '.join(warnings) or 'none'}")
    ok = (rows[0][1] and rows[0][1][0][0] == llm_card.index
          and rows[0][2] and rows[0][2][0][0] == whisper_card.index
          and not rows[0][3] and rows[1][3])
    print("\nplacement as planned, and the stray LLM warned about:", "yes" if ok else "NO")
    if args.json_out:
        args.json_out.write_text(json.dumps(recorded, indent=1), encoding="utf-8")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
