"""The planner's KV-cache arithmetic against real allocations on a GPU.

Allocates a Mistral/Devstral-shaped KV cache (40 layers, 8 KV heads, head_dim 128) with
PyTorch and compares the bytes the GPU really gave this process (NVML's per-process entry,
and PyTorch's own count) with `tui.budget.kv_cache.estimate_kv_cache`. Two layouts:

* one buffer holding every layer's K and V, as ggml allocates a llama.cpp/Ollama cache;
* one tensor per layer for K and one for V (80 tensors).

Element types: f16 (torch.float16), and a q8_0-shaped int8 cache: ggml's q8_0 stores blocks
of 32 int8 values plus one f16 scale (34 B per 32 elements), allocated here as int8 values
plus a float16 scale tensor (per-layer layout) or as one byte buffer (one-buffer layout).

This validates the arithmetic and the NVML reader, not llama.cpp's own allocator.

Run on a machine with an NVIDIA GPU:  python3 bench/kv_cache_memory.py
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tui.budget.cache_types import KvCacheType
from tui.budget.kv_cache import estimate_kv_cache
from tui.budget.model_shape import ModelShape

MIB = 1024**2
LAYERS, KV_HEADS, HEAD_DIM, HEADS = 40, 8, 128, 32

SHAPE = ModelShape(
    name="devstral-shaped (40 layers, 8 KV heads, head_dim 128)",
    architecture="llama",
    block_count=LAYERS,
    head_count=(HEADS,) * LAYERS,
    head_count_kv=(KV_HEADS,) * LAYERS,
    key_length=HEAD_DIM,
    value_length=HEAD_DIM,
    embedding_length=5120,
    source="bench",
)


def own_process_bytes(pynvml, handle) -> int:
    for proc in pynvml.nvmlDeviceGetComputeRunningProcesses(handle):
        if proc.pid == os.getpid():
            return int(proc.usedGpuMemory or 0)
    return 0


def allocate(torch, layout: str, cache: str, num_ctx: int) -> list:
    elements = num_ctx * KV_HEADS * HEAD_DIM  # per layer, for K or for V
    if layout == "one buffer":
        per_layer = elements * 2 if cache == "f16" else elements + elements // 32 * 2
        block = torch.empty(LAYERS * 2 * per_layer, dtype=torch.uint8, device="cuda")
        block.fill_(1)
        return [block]
    tensors = []
    for _layer in range(LAYERS):
        for _kv in range(2):
            if cache == "f16":
                t = torch.empty((num_ctx, KV_HEADS, HEAD_DIM), dtype=torch.float16,
                                device="cuda")
                tensors.append(t.fill_(1))
            else:
                q = torch.empty((num_ctx, KV_HEADS, HEAD_DIM), dtype=torch.int8,
                                device="cuda")
                scale = torch.empty((num_ctx, KV_HEADS, HEAD_DIM // 32), dtype=torch.float16,
                                    device="cuda")
                tensors += [q.fill_(1), scale.fill_(1)]
    return tensors


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--num-ctx", nargs="+", type=int,
                        default=[2048, 4096, 8192, 16384, 32768])
    parser.add_argument("--index", type=int, default=0)
    args = parser.parse_args()

    import pynvml
    import torch

    pynvml.nvmlInit()
    handle = pynvml.nvmlDeviceGetHandleByIndex(args.index)
    torch.cuda.set_device(args.index)
    torch.zeros(1, device="cuda")
    torch.cuda.synchronize()
    time.sleep(0.3)
    name = pynvml.nvmlDeviceGetName(handle)
    print(f"card: {name.decode() if isinstance(name, bytes) else name}; torch "
          f"{torch.__version__}; shape: {SHAPE.name}")
    print("planned = tui.budget.kv_cache.estimate_kv_cache(...).total_bytes (parallel 1); "
          "error % = (planned - measured) / measured")
    print()
    header = (f"{'layout':>16} {'cache':>5} {'num_ctx':>7} {'planned B':>13} "
              f"{'torch alloc B':>13} {'err%':>7} {'NVML Δ B':>13} {'err%':>7} "
              f"{'planned MiB':>11} {'NVML Δ MiB':>10}")
    print(header)
    print("-" * len(header))
    worst = 0.0
    for layout in ("one buffer", "per-layer K, V"):
        for cache, cache_type in (("f16", KvCacheType.F16), ("q8_0", KvCacheType.Q8_0)):
            for num_ctx in args.num_ctx:
                torch.cuda.empty_cache()
                torch.cuda.synchronize()
                time.sleep(0.3)
                base_nvml = own_process_bytes(pynvml, handle)
                base_torch = torch.cuda.memory_allocated()
                tensors = allocate(torch, layout, cache, num_ctx)
                torch.cuda.synchronize()
                time.sleep(0.3)
                nvml_delta = own_process_bytes(pynvml, handle) - base_nvml
                torch_delta = torch.cuda.memory_allocated() - base_torch
                planned = estimate_kv_cache(SHAPE, num_ctx, cache_type).total_bytes
                err_torch = 100 * (planned - torch_delta) / torch_delta
                err_nvml = 100 * (planned - nvml_delta) / nvml_delta
                worst = max(worst, abs(err_torch), abs(err_nvml))
                print(f"{layout:>16} {cache:>5} {num_ctx:>7} {planned:>13,} "
                      f"{torch_delta:>13,} {err_torch:>7.3f} {nvml_delta:>13,} "
                      f"{err_nvml:>7.3f} {planned / MIB:>11.1f} {nvml_delta / MIB:>10.1f}",
                      flush=True)
                del tensors
    print()
    print(f"worst error: {worst:.3f} %")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
