"""CUDA out of memory, as the worker process meets it: recognising one, and backing off.

Runs in the worker process (the session); plain Python, no torch. What the pipeline retries
with after an out-of-memory failure (half the batch, then int8) is its own business, in
`tui.transcripts.options.after_out_of_memory`.
"""

from __future__ import annotations

from typing import Any

# How an allocation failure reads: CTranslate2 ("CUDA failed with error out of memory"),
# PyTorch ("CUDA out of memory"), and cuBLAS failing to create its handle or workspace on a
# full card (seen on an H100: bench/oom_backoff.py).
_OUT_OF_MEMORY_MARKS = ("out of memory", "cublas_status_alloc_failed",
                        "cudaerrormemoryallocation")


def is_out_of_memory(error: BaseException) -> bool:
    """CUDA OOM from PyTorch (OutOfMemoryError), CTranslate2 or cuBLAS (RuntimeErrors)."""
    if type(error).__name__ == "OutOfMemoryError":
        return True
    text = str(error).lower()
    return isinstance(error, RuntimeError) and any(mark in text for mark in _OUT_OF_MEMORY_MARKS)


def shrink_diarization_batches(pipeline: Any) -> int | None:
    """Halve a pyannote speaker-diarization pipeline's segmentation and embedding batch
    sizes; the new embedding batch size, or None when both are 1 (or not there)."""
    shrunk = False
    for name in ("embedding_batch_size", "segmentation_batch_size"):
        size = getattr(pipeline, name, None)
        if isinstance(size, int) and size > 1:
            setattr(pipeline, name, size // 2)
            shrunk = True
    return getattr(pipeline, "embedding_batch_size", 1) if shrunk else None
