"""GPU memory from NVML (nvidia-ml-py), read the way nvitop does.

NVML is initialised lazily once; every failure becomes a `GpuUnavailable` reason instead of
an exception in the caller, because "no GPU" is a normal state for laptops and CI. Memory is
read with `nvmlDeviceGetMemoryInfo(..., version=nvmlMemory_v2)` so the driver's reserved
memory is reported apart from what processes use.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class GpuProcessMemory:
    pid: int
    used_bytes: int | None


@dataclass(frozen=True)
class GpuMemorySample:
    index: int
    name: str
    uuid: str
    total_bytes: int
    used_bytes: int
    free_bytes: int
    reserved_bytes: int
    utilization_percent: int | None
    processes: tuple[GpuProcessMemory, ...]


@dataclass(frozen=True)
class GpuUnavailable:
    reason: str
    fix: str


_init_lock = threading.Lock()
_init_state: dict[str, Any] = {"done": False, "error": None}


def _nvml() -> Any:
    import pynvml

    with _init_lock:
        if not _init_state["done"]:
            try:
                pynvml.nvmlInit()
            except pynvml.NVMLError as error:
                _init_state["error"] = error
            _init_state["done"] = True
    if _init_state["error"] is not None:
        raise _init_state["error"]
    return pynvml


def _unavailable(error: Exception) -> GpuUnavailable:
    text = str(error)
    if "Library Not Found" in text or "LibraryNotFound" in type(error).__name__:
        return GpuUnavailable(
            "no NVIDIA driver (libnvidia-ml.so not found)",
            "install the NVIDIA driver, or run on the CPU (everything but speed works)",
        )
    if "Driver Not Loaded" in text:
        return GpuUnavailable("NVIDIA driver not loaded", "load the driver (nvidia-smi to check)")
    return GpuUnavailable(f"NVML error: {text}", "check the driver with nvidia-smi")


def _decode(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _processes(pynvml: Any, handle: Any) -> tuple[GpuProcessMemory, ...]:
    seen: dict[int, GpuProcessMemory] = {}
    for query in (pynvml.nvmlDeviceGetComputeRunningProcesses,
                  pynvml.nvmlDeviceGetGraphicsRunningProcesses):
        try:
            running = query(handle)
        except pynvml.NVMLError:
            continue
        for process in running:
            used = process.usedGpuMemory
            # NVML reports "not available" (inside containers, WDDM) as a huge sentinel.
            used_bytes = None if used is None or used >= (1 << 63) else int(used)
            seen[int(process.pid)] = GpuProcessMemory(int(process.pid), used_bytes)
    return tuple(seen.values())


def read_gpus() -> list[GpuMemorySample] | GpuUnavailable:
    try:
        pynvml = _nvml()
    except Exception as error:  # the bindings raise many NVMLError_* subclasses
        return _unavailable(error)
    try:
        count = pynvml.nvmlDeviceGetCount()
        samples = []
        for index in range(count):
            handle = pynvml.nvmlDeviceGetHandleByIndex(index)
            try:
                memory = pynvml.nvmlDeviceGetMemoryInfo(handle, version=pynvml.nvmlMemory_v2)
                reserved = int(memory.reserved)
            except pynvml.NVMLError:
                memory = pynvml.nvmlDeviceGetMemoryInfo(handle)
                reserved = 0
            try:
                utilization: int | None = int(pynvml.nvmlDeviceGetUtilizationRates(handle).gpu)
            except pynvml.NVMLError:
                utilization = None
            samples.append(GpuMemorySample(
                index=index,
                name=_decode(pynvml.nvmlDeviceGetName(handle)),
                uuid=_decode(pynvml.nvmlDeviceGetUUID(handle)),
                total_bytes=int(memory.total),
                used_bytes=int(memory.used),
                free_bytes=int(memory.free),
                reserved_bytes=reserved,
                utilization_percent=utilization,
                processes=_processes(pynvml, handle),
            ))
    except Exception as error:
        return _unavailable(error)
    if not samples:
        return GpuUnavailable("NVML sees no GPU", "check nvidia-smi and CUDA_VISIBLE_DEVICES")
    return samples


def process_name(pid: int) -> str:
    """The process's command name (Linux /proc); "" when it cannot be read."""
    try:
        with open(f"/proc/{pid}/comm", encoding="utf-8") as stream:
            return stream.read().strip()
    except OSError:
        return ""
