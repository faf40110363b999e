"""The GPU panel's NVML reader against known allocations.

Allocates known amounts with PyTorch (plain cudaMalloc through its caching allocator) and
compares what `tui.adapters.nvml.read_gpus()` reports: the card's used memory must grow by
the allocation, and this process's own entry must match what the CUDA driver says it holds.

Run on a machine with an NVIDIA GPU:  python bench/nvml_truth.py [--sizes-gib 1 2 4 8]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tui.adapters.nvml import GpuMemorySample, GpuUnavailable, read_gpus

GIB = 1024**3


def card(index: int) -> GpuMemorySample:
    gpus = read_gpus()
    if isinstance(gpus, GpuUnavailable):
        raise SystemExit(f"no GPU: {gpus.reason}")
    return gpus[index]


def own_process_bytes(sample: GpuMemorySample) -> int | None:
    for process in sample.processes:
        if process.pid == os.getpid():
            return process.used_bytes
    return None


def settle() -> None:
    # NVML's counters follow the driver asynchronously; give them a moment.
    time.sleep(0.3)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes-gib", type=float, nargs="+", default=[1, 2, 4, 8, 16])
    parser.add_argument("--index", type=int, default=0)
    args = parser.parse_args()

    import torch

    torch.cuda.set_device(args.index)
    torch.zeros(1, device="cuda")  # create the context before the baseline
    torch.cuda.synchronize()
    settle()
    base = card(args.index)
    base_own = own_process_bytes(base)
    print(f"card: {base.name} ({base.uuid}), total {base.total_bytes / GIB:.2f} GiB, "
          f"reserved by driver {base.reserved_bytes / GIB:.3f} GiB")
    print(f"baseline: used {base.used_bytes / GIB:.3f} GiB, this process "
          f"{(base_own or 0) / GIB:.3f} GiB (CUDA context)")
    print()
    header = (f"{'allocated GiB':>14} {'NVML used Δ GiB':>16} {'error %':>8} "
              f"{'own process Δ GiB':>18} {'error %':>8} {'cudaMemGetInfo used Δ':>22} "
              f"{'NVML vs driver %':>17}")
    print(header)
    print("-" * len(header))
    free_before, _total = torch.cuda.mem_get_info(args.index)
    worst = 0.0
    for size_gib in args.sizes_gib:
        size = int(size_gib * GIB)
        block = torch.empty(size, dtype=torch.uint8, device="cuda")
        block.fill_(1)  # touch it
        torch.cuda.synchronize()
        settle()
        now = card(args.index)
        free_after, _ = torch.cuda.mem_get_info(args.index)
        used_delta = now.used_bytes - base.used_bytes
        own = own_process_bytes(now)
        own_delta = (own - base_own) if own is not None and base_own is not None else None
        driver_delta = free_before - free_after
        used_error = 100 * (used_delta - size) / size
        own_error = 100 * (own_delta - size) / size if own_delta is not None else float("nan")
        vs_driver = 100 * (used_delta - driver_delta) / driver_delta
        worst = max(worst, abs(used_error), abs(vs_driver))
        own_text = f"{own_delta / GIB:18.3f}" if own_delta is not None else f"{'n/a':>18}"
        print(f"{size_gib:14.2f} {used_delta / GIB:16.3f} {used_error:8.2f} {own_text} "
              f"{own_error:8.2f} {driver_delta / GIB:22.3f} {vs_driver:17.3f}")
        del block
        torch.cuda.empty_cache()
        torch.cuda.synchronize()
        settle()
    print()
    print(f"worst error: {worst:.2f} % ({'within' if worst <= 1 else 'OUTSIDE'} 1 %)")
    return 0 if worst <= 1 else 1


if __name__ == "__main__":
    raise SystemExit(main())
