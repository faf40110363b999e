"""The LLM side of the plan against what llama.cpp used on a real GPU.

The results come from `bench/llm_gpu_memory.py` (llama-server built with CUDA from the
llama-cpp-python 0.3.36 sources, a Devstral-Q4_K_M-shaped GGUF with zero weights, NVIDIA H200,
2026-12-02): llama.cpp's own buffer sizes, and NVML's reading of the server process at idle and
at its peak while a prompt filled the context. The first file (4K, 8K, 16K) is what the rules
were fitted on; the second (12K, 32K) was measured afterwards, against the fitted rules.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tui.budget.cache_types import KvCacheType
from tui.budget.known_models import known_model_shape
from tui.budget.plan import Plan, PlanRequest, plan_budget
from tui.budget.units import GIB, MIB

RESULTS = Path(__file__).resolve().parents[2] / "bench" / "results"
FILES = ("llm_gpu_memory-h200-2026-12-02.json",
         "llm_gpu_memory-h200-2026-12-02-validation.json")


def _runs() -> list[tuple[str, dict[str, Any]]]:
    runs = []
    for name in FILES:
        for run in json.loads((RESULTS / name).read_text())["runs"]:
            runs.append((name, run))
    return runs


RUNS = _runs()


def _id(item: tuple[str, dict[str, Any]]) -> str:
    _, run = item
    return f"{run['num_ctx']}-{run['cache_type']}-fa{'on' if run['flash_attention'] else 'off'}"


def _plan(run: dict[str, Any]) -> Plan:
    shape = known_model_shape("devstral-small")
    assert shape is not None
    return plan_budget(PlanRequest(
        shape=shape, gpu_total_bytes=200 * GIB, gpu_total_source="test",
        num_ctx=run["num_ctx"], cache_type=KvCacheType(run["cache_type"]),
        flash_attention=run["flash_attention"], parallel=run["parallel"],
        num_batch=run["n_batch"], whisper=None))


def _cuda_buffer(run: dict[str, Any], kind: str) -> int:
    (mib,) = [b["mib"] for b in run["buffers"] if b["device"] == "CUDA0" and b["kind"] == kind]
    return round(mib * MIB)


def test_the_results_cover_both_cache_types_and_flash_attention() -> None:
    seen = {(run["num_ctx"], run["cache_type"], run["flash_attention"]) for _, run in RUNS}
    assert len(seen) == len(RUNS) == 15
    for num_ctx in (4096, 8192, 12288, 16384, 32768):
        assert {(num_ctx, "f16", False), (num_ctx, "f16", True), (num_ctx, "q8_0", True)} <= seen
    assert all("error" not in run for _, run in RUNS)


@pytest.mark.parametrize("item", RUNS, ids=[_id(i) for i in RUNS])
def test_every_llm_component_is_within_5_percent_and_the_total_is_not_below_the_peak(
        item: tuple[str, dict[str, Any]]) -> None:
    _, run = item
    plan = _plan(run)
    buffers = {kind: _cuda_buffer(run, kind) for kind in ("model", "KV", "compute")}
    outside_at_peak = run["nvml_peak_bytes"] - sum(buffers.values())
    measured = {
        "llm_weights": buffers["model"],
        "llm_kv_cache": buffers["KV"],
        "llm_graph": buffers["compute"],
        "llm_cuda_overhead": outside_at_peak,
    }
    for key, value in measured.items():
        planned = plan.component(key).bytes
        assert abs(planned - value) <= 0.05 * value, (key, planned / MIB, value / MIB)
    assert plan.owner_bytes("llm") >= run["nvml_peak_bytes"]
    assert plan.owner_bytes("llm") - run["nvml_peak_bytes"] < 0.01 * run["nvml_peak_bytes"]


@pytest.mark.parametrize("item", RUNS, ids=[_id(i) for i in RUNS])
def test_kv_cache_and_weights_are_llama_cpps_buffers_to_the_mib(
        item: tuple[str, dict[str, Any]]) -> None:
    _, run = item
    plan = _plan(run)
    # the KV formula is exact (llama.cpp prints two decimals of MiB)
    assert plan.kv_cache_bytes == _cuda_buffer(run, "KV")
    # weights: the file's bytes (7.5 MiB of them header) less the host-side embedding
    weights = plan.component("llm_weights").bytes - _cuda_buffer(run, "model")
    assert 0 <= weights < 8 * MIB


def test_the_peaks_are_those_issue_14_reported() -> None:
    """Issue 14 measured the same sources on an H200 (plan then: 15,943, 17,751 and 15,343
    MiB); these runs found the same peaks, which the plan now covers."""
    runs = {(r["num_ctx"], r["cache_type"], r["flash_attention"]): r for _, r in RUNS}
    for key, peak_mib in (((8192, "f16", False), 16_084), ((16384, "f16", False), 18_148),
                          ((8192, "q8_0", True), 14_832)):
        run = runs[key]
        assert round(run["nvml_peak_bytes"] / MIB) == peak_mib
        assert _plan(run).owner_bytes("llm") >= run["nvml_peak_bytes"]
