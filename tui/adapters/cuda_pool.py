"""The CUDA driver's default memory pool of the current card, through libcuda (ctypes).

CTranslate2's default CUDA allocator is `cuda_malloc_async` wherever the card supports
memory pools (CUDA >= 11.2; `CT2_CUDA_ALLOCATOR=cub_caching` selects CUB's caching allocator
instead): every tensor it holds, the Whisper weights included, is a stream-ordered
allocation from this pool. PyTorch's caching allocator takes its memory with cudaMalloc, not
from this pool, so the pool's figures are CTranslate2's share of the worker's memory. Read
only; None wherever the driver cannot say (no libcuda, no card, an old driver).
"""

from __future__ import annotations

import ctypes
from dataclasses import dataclass

# CUmemPool_attribute (cuda.h)
_RELEASE_THRESHOLD = 4
_RESERVED_MEM_CURRENT = 5
_RESERVED_MEM_HIGH = 6
_USED_MEM_CURRENT = 7
_USED_MEM_HIGH = 8


@dataclass(frozen=True)
class PoolUsage:
    reserved_bytes: int  # what the pool holds from the card now
    reserved_peak_bytes: int  # the most it held (since the process started)
    used_bytes: int  # what live allocations use now
    used_peak_bytes: int
    release_threshold_bytes: int  # what it keeps cached at a synchronisation (0: nothing)


def default_pool_usage(ordinal: int = 0) -> PoolUsage | None:
    """The default pool of CUDA device `ordinal` (as CUDA_VISIBLE_DEVICES numbers them)."""
    try:
        cuda = ctypes.CDLL("libcuda.so.1")
        device = ctypes.c_int()
        pool = ctypes.c_void_p()
        if cuda.cuInit(0) != 0 or cuda.cuDeviceGet(ctypes.byref(device), ordinal) != 0:
            return None
        if cuda.cuDeviceGetDefaultMemPool(ctypes.byref(pool), device) != 0:
            return None
        values = []
        for attribute in (_RESERVED_MEM_CURRENT, _RESERVED_MEM_HIGH, _USED_MEM_CURRENT,
                          _USED_MEM_HIGH, _RELEASE_THRESHOLD):
            value = ctypes.c_uint64()
            if cuda.cuMemPoolGetAttribute(pool, attribute, ctypes.byref(value)) != 0:
                return None
            values.append(int(value.value))
    except (OSError, AttributeError):
        return None
    return PoolUsage(*values)
