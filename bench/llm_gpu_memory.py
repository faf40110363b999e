"""The LLM side of the GPU plan against llama.cpp's `llama-server` on a real GPU.

A Devstral-Small-shaped GGUF (`devstral_gguf.py`: the real tensor names, shapes and Q4_K_M
types, zero weights, a sparse file) is served by `llama-server -ngl 99` built with CUDA from the
llama.cpp sources that the llama-cpp-python 0.3.36 sdist carries. For each num_ctx and cache
setting the server is started alone on the card, a prompt that fills the context is sent
(token ids, so no tokenizer is involved), and the server process's GPU memory is sampled
through NVML (per-process `usedGpuMemory`, every 10 ms) at idle (after load and warm-up) and
while the prompt is processed. llama.cpp's own log lines give its buffers (model, KV,
compute). `report` sets these against `tui.budget`'s plan for the same request.

Subcommands (one device call can run `all`; `report` runs anywhere):

    python3 bench/llm_gpu_memory.py pack                 # here: .llmcarry/ (sources + scripts)
    python3 .llmcarry/llm_gpu_memory.py build            # device: cmake + ninja, llama-server
    python3 .llmcarry/llm_gpu_memory.py measure --json $OUT/llm_gpu_memory.json
    python3 .llmcarry/llm_gpu_memory.py all --json $OUT/llm_gpu_memory.json --deadline-s 560
    python3 bench/llm_gpu_memory.py report bench/results/llm_gpu_memory-h200-2026-12-02.json

Settings are Ollama's defaults for one model: one slot (`-np 1`, OLLAMA_NUM_PARALLEL=1),
batch and micro-batch 512 (Ollama's num_batch), every layer on the GPU; `-fit off` so
llama.cpp does not resize anything to the free memory.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tarfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

MIB = 1024**2
LLAMA_CPP_COMMIT = "0c1e570"  # vendor/llama.cpp of llama-cpp-python 0.3.36 (2026-10-01)
SDIST_SOURCES = "/work/dl/llama_cpp_python-0.3.36/vendor/llama.cpp"
CARRY = "llama.cpp-src.tar.xz"
DEFAULT_CONFIGS = ("f16:off", "f16:on", "q8_0:on")
DEFAULT_CTX = (8192, 16384)
NUM_BATCH = 512
FIRST_ORDINARY_TOKEN = 1256  # after Tekken's 1000 control and 256 byte tokens


# --------------------------------------------------------------------------- pack (here)

# What the llama-server target needs; everything else in the 176 MB tree stays behind.
_KEEP_DIRS = ("cmake", "include", "src", "common", "vendor", "licenses", "ggml/cmake",
              "ggml/include", "ggml/src/ggml-cpu", "ggml/src/ggml-cuda", "tools/server",
              "tools/mtmd", "gguf-py/gguf")
_KEEP_FILES = ("CMakeLists.txt", "LICENSE", "ggml/CMakeLists.txt",
               "scripts/ui-assets.cmake", "tools/ui/CMakeLists.txt", "tools/ui/sources.cmake",
               "tools/ui/ui.cpp.in", "tools/ui/ui.h.in")
_DROP = re.compile(r"(^tools/server/(tests|bench)/|^tools/mtmd/(tests|legacy-models)/"
                   r"|^tools/mtmd/test-\d|\.(png|jpe?g|mp3|mp4|wav)$|/__pycache__/)")
# tools/CMakeLists.txt adds a dozen programs; the server needs only these three.
_TOOLS_CMAKE = """\
# bench/llm_gpu_memory.py: only what llama-server needs
find_package(Threads REQUIRED)
llama_add_compile_flags()
add_subdirectory(ui)
add_subdirectory(server)
add_subdirectory(mtmd)
"""


def _files_to_pack(root: Path) -> list[str]:
    names: list[str] = []
    for d in _KEEP_DIRS:
        for path in sorted((root / d).rglob("*")):
            if path.is_file():
                rel = path.relative_to(root).as_posix()
                if not _DROP.search(rel):
                    names.append(rel)
    # ggml/src's own files (not the other backends' folders)
    names += sorted(p.relative_to(root).as_posix() for p in (root / "ggml/src").iterdir()
                    if p.is_file())
    names += [f for f in _KEEP_FILES if (root / f).is_file()]
    return names


def pack(sources: Path, carry: Path) -> None:
    carry.mkdir(parents=True, exist_ok=True)
    names = _files_to_pack(sources)
    out = carry / CARRY
    tools_cmake = carry / "tools-CMakeLists.txt"
    tools_cmake.write_text(_TOOLS_CMAKE)
    with tarfile.open(out, "w:xz", preset=9) as tar:
        for name in names:
            tar.add(sources / name, arcname=f"llama.cpp/{name}", recursive=False)
        tar.add(tools_cmake, arcname="llama.cpp/tools/CMakeLists.txt")
    tools_cmake.unlink()
    for script in ("llm_gpu_memory.py", "devstral_gguf.py"):
        shutil.copy2(HERE / script, carry / script)
    raw = sum((sources / n).stat().st_size for n in names)
    print(f"{out}: {len(names)} files, {raw / MIB:.1f} MiB of sources, "
          f"{out.stat().st_size / MIB:.2f} MiB packed; scripts copied to {carry}")


# --------------------------------------------------------------------------- build (device)

def _run(cmd: list[str], log: Path | None = None, **kw: Any) -> None:
    print("+", " ".join(cmd), flush=True)
    if log is None:
        subprocess.run(cmd, check=True, **kw)
        return
    with log.open("a") as fh:
        result = subprocess.run(cmd, stdout=fh, stderr=subprocess.STDOUT, **kw)
    if result.returncode:
        print(log.read_text()[-6000:])
        raise SystemExit(f"failed ({result.returncode}): {' '.join(cmd)}")


def _find(patterns: list[str]) -> Path | None:
    import glob

    for pattern in patterns:
        hits = sorted(glob.glob(pattern, recursive=True))
        if hits:
            return Path(hits[0])
    return None


def _nvidia_wheel_dirs() -> list[str]:
    """Where this interpreter's pip `nvidia-*` wheels live (torch's cuBLAS, for one)."""
    try:
        import nvidia  # type: ignore[import-not-found]
    except ImportError:
        return []
    return [str(p) for p in getattr(nvidia, "__path__", [])]


def _cuda_library_flags() -> list[str]:
    """cuBLAS (and the driver library for ggml's VMM pool) where the toolkit lacks them:
    some images ship nvcc and cudart only, with cuBLAS in pip's nvidia wheels."""
    flags: list[str] = []
    roots = ["/usr/local/cuda/lib64", "/usr/local/cuda/targets/*/lib", "/usr/lib/x86_64-linux-gnu"]
    if not _find([f"{r}/libcublas.so" for r in roots]):
        site = [*_nvidia_wheel_dirs(), "/opt/*/.venv/lib/python3*/site-packages/nvidia",
                "/usr/local/lib/python3*/*-packages/nvidia",
                "/usr/lib/python3/dist-packages/nvidia"]
        lib = _find([f"{s}/cu13/lib/libcublas.so.13" for s in site]
                    + [f"{s}/cublas/lib/libcublas.so.1*" for s in site])
        if lib is None:
            print("no cuBLAS found: the configure step will say what is missing", flush=True)
        else:
            lt = next(lib.parent.glob("libcublasLt.so.1*"))
            inc = lib.parent.parent / "include"
            print(f"cuBLAS from {lib.parent} (headers {inc})", flush=True)
            flags += [f"-DCUDA_cublas_LIBRARY={lib}", f"-DCUDA_cublasLt_LIBRARY={lt}",
                      f"-DCMAKE_CUDA_FLAGS=-I{inc}", f"-DCMAKE_CXX_FLAGS=-I{inc}",
                      f"-DCMAKE_EXE_LINKER_FLAGS=-Wl,-rpath,{lib.parent}",
                      f"-DCMAKE_SHARED_LINKER_FLAGS=-Wl,-rpath,{lib.parent}"]
    if not _find([f"{r}/libcuda.so" for r in roots] + ["/usr/local/cuda/lib64/stubs/libcuda.so"]):
        driver = _find([f"{r}/libcuda.so.1" for r in roots] + ["/usr/lib64/libcuda.so.1",
                                                                "/usr/local/nvidia/lib64/libcuda.so.1"])
        if driver is None:
            ldconfig = subprocess.run(["ldconfig", "-p"], capture_output=True, text=True).stdout
            m = re.search(r"libcuda\.so\.1 .*=> (\S+)", ldconfig)
            driver = Path(m[1]) if m else None
        if driver is not None:
            flags.append(f"-DCUDA_cuda_driver_LIBRARY={driver}")
        else:
            # ggml's VMM pool needs the driver library; without it the legacy pool is used
            print("WARNING: no libcuda found: building with GGML_CUDA_NO_VMM=ON", flush=True)
            flags.append("-DGGML_CUDA_NO_VMM=ON")
    return flags


def build(carry: Path, workdir: Path, jobs: int) -> Path:
    server = workdir / "build/bin/llama-server"
    if server.exists():
        print(f"{server} already built (warm machine)", flush=True)
        return server
    workdir.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    if not (workdir / "llama.cpp").exists():
        with tarfile.open(carry / CARRY) as tar:
            tar.extractall(workdir, filter="data")
    log = workdir / "build.log"
    configure = [
        "cmake", "-S", str(workdir / "llama.cpp"), "-B", str(workdir / "build"), "-G", "Ninja",
        "-DCMAKE_BUILD_TYPE=Release", "-DGGML_CUDA=ON", "-DCMAKE_CUDA_ARCHITECTURES=90",
        "-DLLAMA_USE_PREBUILT_UI=OFF", "-DLLAMA_BUILD_UI=OFF", "-DLLAMA_OPENSSL=OFF",
        "-DLLAMA_BUILD_TESTS=OFF", "-DLLAMA_BUILD_EXAMPLES=OFF", "-DLLAMA_BUILD_APP=OFF",
        "-DLLAMA_BUILD_TOOLS=ON", "-DLLAMA_BUILD_SERVER=ON",
        f"-DLLAMA_BUILD_COMMIT={LLAMA_CPP_COMMIT}", "-DLLAMA_BUILD_NUMBER=0",
        *_cuda_library_flags(),
    ]
    (workdir / "configure.json").write_text(json.dumps(configure))
    _run(configure, log)
    print(f"configured in {time.monotonic() - started:.0f} s", flush=True)
    _run(["cmake", "--build", str(workdir / "build"), "--target", "llama-server",
          "-j", str(jobs)], log)
    print(f"built llama-server in {time.monotonic() - started:.0f} s", flush=True)
    return server


# --------------------------------------------------------------------------- measure (device)

class Sampler:
    """NVML readings of one process (and of the whole card) every `interval` seconds."""

    def __init__(self, interval: float = 0.01) -> None:
        import pynvml

        self.nvml = pynvml
        pynvml.nvmlInit()
        self.handle = pynvml.nvmlDeviceGetHandleByIndex(0)
        self.interval = interval
        self.pid: int | None = None
        self.peak_process = 0
        self.peak_device = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def device_used(self) -> int:
        return int(self.nvml.nvmlDeviceGetMemoryInfo(self.handle).used)

    def process_used(self, pid: int | None = None) -> int:
        pid = pid or self.pid
        for proc in self.nvml.nvmlDeviceGetComputeRunningProcesses(self.handle):
            if proc.pid == pid:
                return int(proc.usedGpuMemory or 0)
        return 0

    def reset_peak(self) -> None:
        self.peak_process = self.process_used()
        self.peak_device = self.device_used()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.peak_process = max(self.peak_process, self.process_used())
                self.peak_device = max(self.peak_device, self.device_used())
            except self.nvml.NVMLError:
                pass
            time.sleep(self.interval)

    def start(self, pid: int) -> None:
        self.pid = pid
        self.peak_process = self.peak_device = 0
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join()

    def card(self) -> dict[str, Any]:
        nvml = self.nvml
        name = nvml.nvmlDeviceGetName(self.handle)
        return {
            "name": name.decode() if isinstance(name, bytes) else name,
            "driver": _text(nvml.nvmlSystemGetDriverVersion()),
            "cuda_driver_version": nvml.nvmlSystemGetCudaDriverVersion_v2(),
            "total_bytes": int(nvml.nvmlDeviceGetMemoryInfo(self.handle).total),
            "multiprocessors": _sm_count(self.handle, nvml),
        }


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _sm_count(handle: Any, nvml: Any) -> int | None:
    try:
        return int(nvml.nvmlDeviceGetNumGpuCores(handle)) // 128  # Hopper: 128 cores an SM
    except Exception:
        return None


_BUFFER = re.compile(r"(?P<func>\w+):\s+(?P<dev>\S+)\s+(?P<kind>model|KV|compute|output|RS)"
                     r" buffer size =\s+(?P<mib>[\d.]+) MiB")


def parse_buffers(log: str) -> list[dict[str, Any]]:
    """llama.cpp's buffer lines: the last of each (device, kind), as the final reserve wins."""
    found: dict[tuple[str, str], dict[str, Any]] = {}
    for line in log.splitlines():
        m = _BUFFER.search(line.strip())
        if m:
            found[(m["dev"], m["kind"])] = {"device": m["dev"], "kind": m["kind"],
                                            "mib": float(m["mib"]), "line": line.strip()}
    return list(found.values())


def _interesting(log: str) -> list[str]:
    keys = ("buffer size", "offload", "flash_attn", "n_ctx", "n_batch", "n_ubatch", "type_k",
            "CUDA0", "ggml_cuda_init", "Device 0", "build", "system_info", "kv_unified",
            "n_seq_max", "graph", "fit", "causal_attn", "n_ctx_seq", "VMM")
    return [line for line in log.splitlines() if any(k in line for k in keys)][:120]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _http(url: str, payload: dict[str, Any] | None = None, timeout: float = 600) -> Any:
    data = json.dumps(payload).encode() if payload is not None else None
    req = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        return json.loads(resp.read() or b"null")


def prompt_tokens(n: int) -> list[int]:
    span = 131072 - FIRST_ORDINARY_TOKEN
    return [1] + [FIRST_ORDINARY_TOKEN + (i * 7919) % span for i in range(n - 1)]


def run_config(server: Path, model: Path, num_ctx: int, cache: str, fa: str,
               sampler: Sampler | None, workdir: Path) -> dict[str, Any]:
    port = _free_port()
    log_path = workdir / f"server-{num_ctx}-{cache}-fa{fa}.log"
    cmd = [str(server), "-m", str(model), "-ngl", "99", "-c", str(num_ctx), "-np", "1",
           "-b", str(NUM_BATCH), "-ub", str(NUM_BATCH), "-fa", fa, "-ctk", cache, "-ctv", cache,
           "-fit", "off", "-cram", "0", "--no-ui", "-lv", "4", "--host", "127.0.0.1",
           "--port", str(port)]
    result: dict[str, Any] = {"num_ctx": num_ctx, "cache_type": cache,
                              "flash_attention": fa == "on", "n_batch": NUM_BATCH,
                              "n_ubatch": NUM_BATCH, "parallel": 1, "command": " ".join(cmd)}
    device_before = sampler.device_used() if sampler else None
    started = time.monotonic()
    with log_path.open("w") as log_fh:
        proc = subprocess.Popen(cmd, stdout=log_fh, stderr=subprocess.STDOUT)
    try:
        if sampler:
            sampler.start(proc.pid)
        base = f"http://127.0.0.1:{port}"
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"llama-server exited with {proc.returncode}")
            try:
                _http(f"{base}/health", timeout=2)
                break
            except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
                if time.monotonic() - started > 300:
                    raise RuntimeError("llama-server not ready after 300 s") from None
                time.sleep(0.25)
        result["load_s"] = round(time.monotonic() - started, 1)
        time.sleep(1.0)
        if sampler:
            result["nvml_idle_bytes"] = sampler.process_used()
            result["nvml_load_peak_bytes"] = sampler.peak_process
            result["device_used_before_bytes"] = device_before
            result["device_used_idle_bytes"] = sampler.device_used()
        fills = []
        for tokens in (num_ctx // 2, num_ctx - 64):
            if sampler:
                sampler.reset_peak()
            t0 = time.monotonic()
            reply = _http(f"{base}/completion",
                          {"prompt": prompt_tokens(tokens), "n_predict": 4, "cache_prompt": False,
                           "temperature": 0.0})
            elapsed = time.monotonic() - t0
            time.sleep(0.3)
            fill: dict[str, Any] = {
                "prompt_tokens": tokens,
                "prompt_n": (reply.get("timings") or {}).get("prompt_n"),
                "predicted_n": (reply.get("timings") or {}).get("predicted_n"),
                "seconds": round(elapsed, 2),
            }
            if sampler:
                fill["nvml_peak_bytes"] = sampler.peak_process
                fill["nvml_after_bytes"] = sampler.process_used()
                fill["device_peak_bytes"] = sampler.peak_device
            fills.append(fill)
        result["fills"] = fills
        if sampler:
            result["nvml_peak_bytes"] = max(f["nvml_peak_bytes"] for f in fills)
    finally:
        if sampler:
            sampler.stop()
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    log = log_path.read_text(errors="replace")
    result["buffers"] = parse_buffers(log)
    result["log_lines"] = _interesting(log)
    result["wall_s"] = round(time.monotonic() - started, 1)
    return result


_PROBE = r"""
#include <cstdio>
#include <unistd.h>
#include <cuda_runtime.h>
#include <cublas_v2.h>
int main() {
    cudaFree(0); std::printf("context\n"); std::fflush(stdout); sleep(2);
    cublasHandle_t h; cublasCreate(&h);
    float *a; cudaMalloc(&a, 64 * 64 * sizeof(float));
    float one = 1.f, zero = 0.f;
    cublasSgemm(h, CUBLAS_OP_N, CUBLAS_OP_N, 64, 64, 64, &one, a, 64, a, 64, &zero, a, 64);
    cudaDeviceSynchronize(); std::printf("cublas\n"); std::fflush(stdout); sleep(2);
    return 0;
}
"""


def context_probe(workdir: Path, sampler: Sampler) -> dict[str, Any]:
    """A bare CUDA context, then with a cuBLAS handle and one GEMM (4 x 4 KiB of data)."""
    src, exe = workdir / "probe.cu", workdir / "probe"
    src.write_text(_PROBE)
    cmd = ["nvcc", "-O2", "-arch=sm_90", str(src), "-o", str(exe), "-lcublas"]
    for flag in _cuda_library_flags():
        if flag.startswith("-DCUDA_cublas_LIBRARY="):
            lib = Path(flag.split("=", 1)[1])
            cmd[-1:] = [f"-I{lib.parent.parent / 'include'}", str(lib),
                        f"-Xlinker=-rpath,{lib.parent}"]
    try:
        subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=120)
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError) as error:
        return {"error": str(getattr(error, "stderr", "") or error)[-800:]}
    proc = subprocess.Popen([str(exe)], stdout=subprocess.PIPE, text=True)
    readings: dict[str, Any] = {}
    assert proc.stdout is not None
    for line in proc.stdout:
        time.sleep(0.5)
        readings[f"{line.strip()}_bytes"] = sampler.process_used(proc.pid)
    proc.wait()
    return readings


def _versions(server: Path) -> dict[str, Any]:
    info: dict[str, Any] = {"llama_cpp_commit": LLAMA_CPP_COMMIT,
                            "llama_cpp_python_sdist": "0.3.36"}
    try:
        out = subprocess.run([str(server), "--version"], capture_output=True, text=True,
                             timeout=60)
        info["llama_server_version"] = (out.stdout + out.stderr).strip()[-600:]
    except (OSError, subprocess.TimeoutExpired) as error:
        info["llama_server_version"] = str(error)
    try:
        out = subprocess.run(["nvcc", "--version"], capture_output=True, text=True, timeout=30)
        info["nvcc"] = out.stdout.strip().splitlines()[-1]
    except (OSError, subprocess.TimeoutExpired, IndexError):
        pass
    try:
        out = subprocess.run(["nvidia-smi"], capture_output=True, text=True, timeout=30)
        info["nvidia_smi_header"] = "\n".join(out.stdout.splitlines()[:4])
    except (OSError, subprocess.TimeoutExpired):
        pass
    return info


def measure(args: argparse.Namespace, deadline: float) -> dict[str, Any]:
    from devstral_gguf import write_gguf

    workdir: Path = args.workdir
    server = args.server or workdir / "build/bin/llama-server"
    model = workdir / "devstral-shaped.gguf"
    gguf_py = args.gguf_py or str(workdir / "llama.cpp/gguf-py")
    if not model.exists() or args.layers != 40:
        model_info = write_gguf(model, args.layers, gguf_py)
    else:
        from devstral_gguf import devstral_tensors, tensor_bytes

        model_info = {"path": str(model), "file_bytes": model.stat().st_size,
                      "tensor_bytes": tensor_bytes(devstral_tensors(args.layers)),
                      "layers": args.layers}
    configure = workdir / "configure.json"
    results: dict[str, Any] = {
        "date": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
        "configure": json.loads(configure.read_text()) if configure.exists() else None,
        "model": model_info, "versions": _versions(server), "runs": [],
        "settings": {"n_batch": NUM_BATCH, "n_ubatch": NUM_BATCH, "parallel": 1, "ngl": 99},
    }
    sampler = None if args.no_nvml else Sampler()
    if sampler:
        results["gpu"] = sampler.card()
        results["cuda_context_probe"] = context_probe(workdir, sampler)
        print("context probe:", results["cuda_context_probe"], flush=True)
    _save(results, args.json)
    for num_ctx in args.ctx:
        for config in args.configs:
            cache, fa = config.split(":")
            if time.monotonic() > deadline:
                results.setdefault("skipped", []).append(f"{num_ctx} {config}")
                print(f"deadline: skipped {num_ctx} {config}", flush=True)
                continue
            print(f"-- num_ctx {num_ctx}, cache {cache}, flash attention {fa}", flush=True)
            try:
                run = run_config(server, model, num_ctx, cache, fa, sampler, workdir)
            except Exception as error:
                log = workdir / f"server-{num_ctx}-{cache}-fa{fa}.log"
                tail = log.read_text(errors="replace")[-3000:] if log.exists() else ""
                run = {"num_ctx": num_ctx, "cache_type": cache, "flash_attention": fa == "on",
                       "error": str(error), "log_tail": tail}
                print(f"   FAILED: {error}\n{tail}", flush=True)
            results["runs"].append(run)
            _print_run(run)
            _save(results, args.json)
    return results


def _save(results: dict[str, Any], path: Path | None) -> None:
    if path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(results, indent=1) + "\n")


def _print_run(run: dict[str, Any]) -> None:
    for b in run.get("buffers", []):
        print(f"   {b['device']:>12} {b['kind']:>7} {b['mib']:10.2f} MiB", flush=True)
    if "nvml_idle_bytes" in run:
        print(f"   NVML idle {run['nvml_idle_bytes'] / MIB:.0f} MiB, fills "
              + ", ".join(f"{f['prompt_tokens']} tok: peak {f['nvml_peak_bytes'] / MIB:.0f} "
                          f"after {f['nvml_after_bytes'] / MIB:.0f} MiB ({f['seconds']} s)"
                          for f in run["fills"]), flush=True)


# --------------------------------------------------------------------------- report (anywhere)

def gpu_buffer_mib(run: dict[str, Any], kind: str) -> float:
    return sum(b["mib"] for b in run.get("buffers", [])
               if b["kind"] == kind and b["device"].startswith("CUDA")
               and not b["device"].startswith("CUDA_Host"))


def plan_for(run: dict[str, Any]) -> Any:
    sys.path.insert(0, str(HERE.parent))
    from tui.budget.cache_types import KvCacheType
    from tui.budget.known_models import known_model_shape
    from tui.budget.plan import PlanRequest, plan_budget
    from tui.budget.units import GIB

    shape = known_model_shape("devstral-small")
    request = PlanRequest(shape=shape, gpu_total_bytes=200 * GIB, gpu_total_source="bench",
                          num_ctx=run["num_ctx"], cache_type=KvCacheType(run["cache_type"]),
                          flash_attention=run["flash_attention"], parallel=run.get("parallel", 1),
                          num_batch=run.get("n_batch", NUM_BATCH), whisper=None)
    return plan_budget(request)


def compare(run: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per component: plan, llama.cpp's buffer, NVML, and plan − measured."""
    plan = plan_for(run)
    weights, kv, graph = (gpu_buffer_mib(run, k) for k in ("model", "KV", "compute"))
    buffers = weights + kv + graph
    idle = run["nvml_idle_bytes"] / MIB
    peak = run["nvml_peak_bytes"] / MIB
    rows = []
    for key, label, buf, nvml_idle, nvml_peak in (
        ("llm_weights", "weights", weights, None, None),
        ("llm_kv_cache", "KV cache", kv, None, None),
        ("llm_graph", "compute graph", graph, None, None),
        ("llm_cuda_overhead", "outside buffers", None, idle - buffers, peak - buffers),
    ):
        planned = plan.component(key).bytes / MIB
        measured = buf if buf is not None else nvml_peak
        rows.append({"component": label, "plan": planned, "llama_cpp": buf,
                     "nvml_idle": nvml_idle, "nvml_peak": nvml_peak, "measured": measured,
                     "error_pct": 100 * (planned - measured) / measured})
    total = plan.owner_bytes("llm") / MIB
    rows.append({"component": "total", "plan": total, "llama_cpp": buffers, "nvml_idle": idle,
                 "nvml_peak": peak, "measured": peak, "error_pct": 100 * (total - peak) / peak})
    return rows


def _fmt(v: float | None) -> str:
    return "" if v is None else f"{v:,.0f}"


def report(path: Path, markdown: bool) -> None:
    results = json.loads(path.read_text())
    gpu = results.get("gpu", {})
    print(f"{path.name}: {gpu.get('name')} ({gpu.get('driver')}), {results['date']}; "
          f"llama.cpp {results['versions'].get('llama_cpp_commit')}")
    probe = results.get("cuda_context_probe", {})
    if "context_bytes" in probe:
        print(f"bare CUDA context {probe['context_bytes'] / MIB:.0f} MiB, with cuBLAS "
              f"{probe.get('cublas_bytes', 0) / MIB:.0f} MiB")
    for run in results["runs"]:
        title = (f"num_ctx {run['num_ctx']}, cache {run['cache_type']}, flash attention "
                 f"{'on' if run['flash_attention'] else 'off'}")
        if "error" in run:
            print(f"\n{title}: FAILED {run['error']}")
            continue
        rows = compare(run)
        fills = ", ".join(f"{f['prompt_tokens']} tokens → peak {f['nvml_peak_bytes'] / MIB:,.0f}"
                          for f in run["fills"])
        if markdown:
            print(f"\n**{title}** (MiB; NVML: {fills})\n")
            print("| component | plan | llama.cpp buffer | NVML idle | NVML peak "
                  "| plan − measured |")
            print("|---|---:|---:|---:|---:|---:|")
            for r in rows:
                print(f"| {r['component']} | {_fmt(r['plan'])} | {_fmt(r['llama_cpp'])} | "
                      f"{_fmt(r['nvml_idle'])} | {_fmt(r['nvml_peak'])} | "
                      f"{r['plan'] - r['measured']:+,.0f} ({r['error_pct']:+.1f} %) |")
        else:
            print(f"\n{title}   (MiB; NVML: {fills})")
            print(f"{'component':<16}{'plan':>9}{'llama.cpp':>11}{'NVML idle':>11}"
                  f"{'NVML peak':>11}{'plan-meas':>11}{'err %':>8}")
            for r in rows:
                print(f"{r['component']:<16}{_fmt(r['plan']):>9}{_fmt(r['llama_cpp']):>11}"
                      f"{_fmt(r['nvml_idle']):>11}{_fmt(r['nvml_peak']):>11}"
                      f"{r['plan'] - r['measured']:>+11,.0f}{r['error_pct']:>+8.1f}")


# --------------------------------------------------------------------------- CLI

def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("pack", help="here: stripped sources and the scripts into --carry")
    p.add_argument("--sources", type=Path, default=Path(SDIST_SOURCES))
    p.add_argument("--carry", type=Path, default=Path(".llmcarry"))
    for name in ("build", "measure", "all"):
        p = sub.add_parser(name)
        p.add_argument("--carry", type=Path, default=HERE)
        p.add_argument("--workdir", type=Path, default=Path("/tmp/llm-gpu"))
        p.add_argument("-j", "--jobs", type=int, default=os.cpu_count() or 4)
        p.add_argument("--json", type=Path, default=None)
        p.add_argument("--ctx", type=int, nargs="+", default=list(DEFAULT_CTX))
        p.add_argument("--configs", nargs="+", default=list(DEFAULT_CONFIGS),
                       help="cache:flash-attention pairs, e.g. f16:off q8_0:on")
        p.add_argument("--layers", type=int, default=40)
        p.add_argument("--server", type=Path, default=None, help="an existing llama-server")
        p.add_argument("--gguf-py", default=None)
        p.add_argument("--no-nvml", action="store_true", help="no GPU: check the flow only")
        p.add_argument("--deadline-s", type=float, default=540,
                       help="start no new configuration after this many seconds")
    p = sub.add_parser("report", help="plan vs llama.cpp vs NVML from a results JSON")
    p.add_argument("json", type=Path)
    p.add_argument("--markdown", action="store_true")
    args = parser.parse_args(argv)
    started = time.monotonic()
    if args.command == "pack":
        pack(args.sources, args.carry)
    elif args.command == "report":
        report(args.json, args.markdown)
    else:
        deadline = started + args.deadline_s
        if args.command in ("build", "all") and args.server is None:
            build(args.carry, args.workdir, args.jobs)
        if args.command in ("measure", "all"):
            measure(args, deadline)
        print(f"total {time.monotonic() - started:.0f} s", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
