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

`embedded` does the same for the product's own engine (`[llm] backend = "llamacpp"`,
llama-cpp-python 0.3.36): it builds llama.cpp's shared libraries with CUDA
(`BUILD_SHARED_LIBS=ON`, target `llama`: libllama, libggml, libggml-base, libggml-cpu,
libggml-cuda), points LLAMA_CPP_LIB_PATH at them, makes the backend from a config
(`tui.llm.make_backend`, with the plan's `llm_fits_its_card` deciding the offload, as the
dashboard does) and checks it, then runs in this one process the engine that the backend's
own process serves (`tui.llm.llamacpp_engine.LlamaCppEngine`): load, one batch, sampling this
process's NVML entry. The Devstral-shaped GGUF (with a chat
template) gets a prompt that fills the context (zero weights: the reply is noise, cut at a
few tokens); SmolLM2-135M-Instruct gets two short mails and must give verdicts.

    .venv/bin/python bench/llm_gpu_memory.py pack --embedded --wheel pydantic_core-…cp312….whl \
        --smollm2 PATH/SmolLM2-135M-Instruct.gguf [--smollm2-first-mib 44 --carry2 DIR]
    python3 .llmcarry/llm_gpu_memory.py embedded --json $OUT/llm_embedded.json \
        [--assemble-from DIR... --smollm2 OUT.gguf]    # SmolLM2 from the parts two calls carried
    python3 bench/llm_gpu_memory.py report bench/results/llm_embedded-h200-2026-12-02.json

Each model runs in a child process (`python -X faulthandler`) that prints its steps and
llama.cpp's lines as they come and saves the run before each step: a crash in llama.cpp is
recorded (`error`, `last_step`, `log_tail`) and the other model still runs.

Settings are Ollama's defaults for one model: one slot (`-np 1`, OLLAMA_NUM_PARALLEL=1),
batch and micro-batch 512 (Ollama's num_batch), every layer on the GPU; `-fit off` so
llama.cpp does not resize anything to the free memory.
"""

from __future__ import annotations

import argparse
import json
import logging
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
from collections.abc import Callable
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


# What the embedded engine imports that the GPU machine's image lacks (pure Python, copied from
# this interpreter); pydantic_core is compiled: its wheel for the device's Python is unpacked.
EMBEDDED_PACKAGES = ("llama_cpp", "diskcache", "pydantic", "annotated_types",
                     "typing_inspection", "typing_extensions", "ollama", "platformdirs")
# What bench/triage_quality.py adds (the OpenAI-compatible backend, the IMAP parsing): pure
# Python but for jiter (a wheel, like pydantic_core).
QUALITY_PACKAGES = ("openai", "httpx2", "httpcore2", "truststore", "httpx", "httpcore", "h11",
                    "anyio", "sniffio", "idna", "certifi", "imapclient", "tqdm")
# On the image already (KINDS.md): carried as a fallback, found only where the image lacks them.
EMBEDDED_FALLBACK = ("jinja2", "markupsafe")
_SKIP_COPY = shutil.ignore_patterns("__pycache__", "*.pyc", "*.so", "*.so.*", "*.dylib")


def _copy_module(name: str, into: Path) -> None:
    import importlib.util

    spec = importlib.util.find_spec(name)
    if spec is None or spec.origin is None:
        raise SystemExit(f"{name} is not importable here: pack with the project's .venv")
    origin = Path(spec.origin)
    if origin.name == "__init__.py":
        skip = _SKIP_COPY
        if name == "llama_cpp":  # its own lib/ (none here) and the server (FastAPI) stay
            skip = shutil.ignore_patterns("__pycache__", "*.pyc", "*.so", "*.so.*", "lib",
                                          "server")
        shutil.copytree(origin.parent, into / name, ignore=skip, dirs_exist_ok=True)
    else:
        shutil.copy2(origin, into / origin.name)
    # Its metadata too: some read their own version at import (imapclient does).
    import importlib.metadata as metadata

    for dist in metadata.packages_distributions().get(name, []):
        info = getattr(metadata.distribution(dist), "_path", None)
        if info is not None and Path(info).is_dir():
            shutil.copytree(info, into / Path(info).name, dirs_exist_ok=True)


def _split(path: Path, first: Path, rest: Path | None, first_bytes: int) -> dict[str, Any]:
    import hashlib

    data = path.read_bytes()
    first.write_bytes(data[:first_bytes])
    if rest is not None and len(data) > first_bytes:
        rest.parent.mkdir(parents=True, exist_ok=True)
        rest.write_bytes(data[first_bytes:])
    return {"name": path.name, "bytes": len(data), "sha256": hashlib.sha256(data).hexdigest(),
            "parts": [first.name] + ([rest.name] if rest is not None
                                     and len(data) > first_bytes else [])}


def pack_embedded(carry: Path, wheels: list[Path], smollm2: Path | None,
                  first_mib: float, carry2: Path | None, quality: bool = False) -> None:
    """The Python side of `embedded` into `carry`: site/ (EMBEDDED_PACKAGES and the wheels),
    fallback/, app/tui (this checkout's), and SmolLM2, split at `first_mib` when one call's
    64 MiB cannot hold it (the rest goes into `carry2`, for a second call). `quality`: also
    what bench/triage_quality.py needs (QUALITY_PACKAGES, the bench itself under app/), and
    site/ as one site.tar.xz (the OpenAI client alone is 30 MB of files), which the device
    command unpacks beside it (`tar -xJf site.tar.xz`)."""
    import zipfile

    site, fallback, app = carry / "site", carry / "fallback", carry / "app"
    for folder in (site, fallback, app):
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
    for name in EMBEDDED_PACKAGES + (QUALITY_PACKAGES if quality else ()):
        _copy_module(name, site)
    for name in EMBEDDED_FALLBACK:
        _copy_module(name, fallback)
    for wheel in wheels:
        with zipfile.ZipFile(wheel) as zf:
            zf.extractall(site)
    shutil.copytree(HERE.parent / "tui", app / "tui", ignore=shutil.ignore_patterns(
        "__pycache__", "*.pyc"))
    if quality:
        shutil.copytree(HERE, app / "bench", ignore=shutil.ignore_patterns(
            "__pycache__", "*.pyc", "results", "triage_quality_runs"))
        with tarfile.open(carry / "site.tar.xz", "w:xz", preset=6) as tar:
            tar.add(site, arcname="site")
        shutil.rmtree(site)
    if smollm2 is not None:
        manifest = _split(smollm2, carry / "smollm2.part-a",
                          (carry2 / "smollm2.part-b") if carry2 else None,
                          int(first_mib * MIB))
        (carry / "smollm2.json").write_text(json.dumps(manifest, indent=1) + "\n")
        if carry2 is not None:
            for script in ("llm_gpu_memory.py", "devstral_gguf.py"):
                shutil.copy2(HERE / script, carry2 / script)
            shutil.rmtree(carry2 / "app", ignore_errors=True)
            shutil.copytree(app, carry2 / "app")
            shutil.copy2(carry / "smollm2.json", carry2 / "smollm2.json")
    for folder in (carry, carry2):
        if folder is not None and folder.exists():
            size = sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())
            print(f"{folder}: {size / MIB:.1f} MiB")


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


def _unpack_sources(carry: Path, workdir: Path) -> None:
    """The carried llama.cpp sources under `workdir`, once per machine (both builds use them)."""
    if not (workdir / "llama.cpp").exists():
        with tarfile.open(carry / CARRY) as tar:
            tar.extractall(workdir, filter="data")


def build(carry: Path, workdir: Path, jobs: int) -> Path:
    server = workdir / "build/bin/llama-server"
    if server.exists():
        print(f"{server} already built (warm machine)", flush=True)
        return server
    workdir.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    _unpack_sources(carry, workdir)
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


def build_shared(carry: Path, workdir: Path, jobs: int, cuda: bool = True,
                 server: bool = False, fa_kernels: bool = True) -> Path:
    """llama.cpp's shared libraries as llama-cpp-python loads them (LLAMA_CPP_LIB_PATH):
    libllama.so and the ggml libraries it links (with ggml-cuda), used where they are built
    (CMake's build-tree rpath, as the llama-server of `build` runs). `server`: llama-server
    too, linked to the same libraries (one CUDA compile for both); `fa_kernels=False`
    builds ggml-cuda without its flash-attention kernels (GGML_CUDA_FA=OFF: a shorter
    build, for runs that keep flash attention off)."""
    build_dir = workdir / "build-shared"
    lib_dir = build_dir / "bin"
    if (lib_dir / "libllama.so").exists() and (not server or (lib_dir / "llama-server").exists()):
        print(f"{lib_dir}/libllama.so already built (warm machine)", flush=True)
        return lib_dir
    workdir.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    _unpack_sources(carry, workdir)
    log = workdir / "build-shared.log"
    configure = [
        "cmake", "-S", str(workdir / "llama.cpp"), "-B", str(build_dir), "-G", "Ninja",
        "-DCMAKE_BUILD_TYPE=Release", f"-DGGML_CUDA={'ON' if cuda else 'OFF'}",
        "-DBUILD_SHARED_LIBS=ON", f"-DLLAMA_BUILD_COMMON={'ON' if server else 'OFF'}",
        f"-DLLAMA_BUILD_TOOLS={'ON' if server else 'OFF'}",
        f"-DLLAMA_BUILD_SERVER={'ON' if server else 'OFF'}", "-DLLAMA_BUILD_TESTS=OFF",
        "-DLLAMA_BUILD_EXAMPLES=OFF", "-DLLAMA_BUILD_APP=OFF", "-DLLAMA_OPENSSL=OFF",
        "-DLLAMA_USE_PREBUILT_UI=OFF", "-DLLAMA_BUILD_UI=OFF",
        f"-DLLAMA_BUILD_COMMIT={LLAMA_CPP_COMMIT}", "-DLLAMA_BUILD_NUMBER=0",
    ]
    if cuda:
        configure += ["-DCMAKE_CUDA_ARCHITECTURES=90", "-DGGML_CUDA_NCCL=OFF",
                      f"-DGGML_CUDA_FA={'ON' if fa_kernels else 'OFF'}",
                      *_cuda_library_flags()]
    if shutil.which("ninja") is None:
        configure.remove("Ninja")
        configure.remove("-G")
    (workdir / "configure-shared.json").write_text(json.dumps(configure))
    _run(configure, log)
    print(f"configured in {time.monotonic() - started:.0f} s", flush=True)
    targets = ["llama", *(["llama-server"] if server else [])]
    _run(["cmake", "--build", str(build_dir), "--target", *targets, "-j", str(jobs)], log)
    print(f"built {' and '.join(targets)} in {time.monotonic() - started:.0f} s: "
          + ", ".join(sorted(p.name for p in lib_dir.glob("lib*.so"))), flush=True)
    return lib_dir


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

    def sample(self) -> None:
        """One reading into the peaks (what the thread does every `interval`)."""
        try:
            self.peak_process = max(self.peak_process, self.process_used())
            self.peak_device = max(self.peak_device, self.device_used())
        except self.nvml.NVMLError:
            pass

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
        if self.interval <= 0:  # no thread: readings only where the caller calls sample()
            return
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


def _versions(server: Path | None) -> dict[str, Any]:
    info: dict[str, Any] = {"llama_cpp_commit": LLAMA_CPP_COMMIT,
                            "llama_cpp_python_sdist": "0.3.36"}
    try:
        if server is None:
            raise OSError("no llama-server (shared libraries only)")
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


# --------------------------------------------------------------------------- embedded (device)

_OFFLOADED = re.compile(r"offloaded (\d+)/(\d+) layers to GPU")
# ASCII words that the synthetic Tekken-like vocabulary reads one byte a token (its one merge
# is " t"): a body of N characters is N tokens there.
_FILLER = "lorem ipsum dolor sic amen consectetur adipiscing elix sed do eiusmod "


class _LogLines(logging.Handler):
    """What llama.cpp logged through the backend's callback (its INFO lines are DEBUG here)."""

    def __init__(self, echo: bool = False) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []
        self.echo = echo  # each line to stderr as it comes: the last one stays if it crashes

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if message.startswith("llama.cpp: "):
            self.lines.append(message[len("llama.cpp: "):])
            if self.echo:
                print(f"   | {self.lines[-1]}", file=sys.__stderr__, flush=True)


def _embedded_environment(carry: Path, lib_dir: Path) -> dict[str, Any]:
    """LLAMA_CPP_LIB_PATH and the carried packages, before anything imports llama_cpp."""
    os.environ["LLAMA_CPP_LIB_PATH"] = str(lib_dir)
    for folder in (carry / "app", carry / "site"):
        if folder.is_dir():
            sys.path.insert(0, str(folder))
    if (carry / "fallback").is_dir():
        sys.path.append(str(carry / "fallback"))
    info: dict[str, Any] = {"python": sys.version.split()[0], "lib_dir": str(lib_dir),
                            "libraries": sorted(p.name for p in lib_dir.glob("lib*.so"))}
    for name in ("numpy", "jinja2", "markupsafe", "pydantic", "llama_cpp", "pynvml"):
        try:
            if name == "llama_cpp":  # as the engine imports it (libstdc++ loaded first)
                from tui.llm.llamacpp_engine import import_llama_cpp

                module = import_llama_cpp()
            else:
                module = __import__(name)
            info[name] = (f"{getattr(module, '__version__', '?')} from "
                          f"{Path(module.__file__ or '?').parent}")
        except Exception as error:  # record, then let the run say what it cannot do
            info[name] = f"not importable: {type(error).__name__}: {error}"
    return info


def _fill_messages(system_prompt: str, loaded: Any, target: int
                   ) -> tuple[list[dict[str, str]], list[str], int]:
    """One mail whose body makes the whole prompt (system prompt, template and all, as the
    backend counts it) `target` tokens."""
    from tui.mail.prompt import PromptEmail, build_messages

    def messages(body: str) -> list[dict[str, str]]:
        mail = PromptEmail(id="m1", sender="Bench <bench@example.org>", subject="Context fill",
                           date="Wed, 02 Dec 2026 10:00:00 +0000", body=body)
        return build_messages([mail], task_prompt="Analyze my background email triage.",
                              system_prompt=None)

    def count(msgs: list[dict[str, str]]) -> int:
        system = [{"role": "system", "content": system_prompt}]
        return len(loaded.prompt_tokens(system + msgs))

    size = 0
    for _ in range(4):
        body = (_FILLER * (size // len(_FILLER) + 1))[:size]
        n = count(messages(body))
        if n == target:
            break
        size = max(0, size + target - n)
    return messages(body), ["m1"], n


def _short_mail_batches() -> list[tuple[str, list[dict[str, str]], list[str]]]:
    """Two batches of two short mails: the functional test's Dovecot pair (with_attachments
    and encoded_headers of tests/services/mail_corpus.py, as the parser and the store give
    them to the prompt), which SmolLM2 answers validly on the CPU, and the tests' two_emails."""
    from tui.mail.prompt import PromptEmail, build_messages

    task = "Analyze my background email triage."
    corpus = [PromptEmail(id="m1", sender="Ana Ruiz <ana.ruiz@example.org>",
                          subject="Bericht für März und Termin",
                          date="2024-03-19T08:01:12+00:00",
                          body="Hallo Sam,\n\nanbei der Bericht für März und die Einladung.\n\n"
                               "Grüße\nAna",
                          attachments=("Bericht für März.pdf (application/pdf, 1330 B)",
                                       "invite.ics (text/calendar, 350 B)")),
              PromptEmail(id="m2", sender="José María García <jose.garcia@example.es>",
                          subject="Résumé für das Projekt – nächste Schritte 🚀",
                          date="2024-03-19T17:20:00+01:00",
                          body="Hola Sam,\n\nadjunto los próximos pasos.\n\nJosé")]
    simple = [PromptEmail(id="m1", sender="Ana Ruiz <ana@example.org>", subject="Contract v3",
                          date="Mon, 11 Mar 2024 09:30:12 +0100",
                          body="Please sign the contract by Friday."),
              PromptEmail(id="m2", sender="GitHub <noreply@github.com>",
                          subject="CI failed on main", date="Mon, 11 Mar 2024 10:00:00 +0000",
                          body="The build failed.")]
    return [(name, build_messages(mails, task_prompt=task, system_prompt=None), ["m1", "m2"])
            for name, mails in (("dovecot pair", corpus), ("two_emails", simple))]


def _plan_summary(result: Any) -> dict[str, Any]:
    plan = result.plan
    card = plan.llm_card
    return {
        "shape_source": result.lookup.shape.source,
        "gpu": {"bytes": result.gpu.bytes, "source": result.gpu.source,
                "index": result.gpu.index},
        "num_ctx": plan.request.num_ctx, "cache_type": str(plan.request.cache_type.value),
        "flash_attention": plan.request.flash_attention, "parallel": plan.request.parallel,
        "num_batch": plan.request.num_batch,
        "llm_bytes": plan.owner_bytes("llm"),
        "components": {c.key: c.bytes for c in plan.components},
        "card_total_bytes": card.gpu.total_bytes, "card_planned_bytes": card.planned_bytes,
        "headroom_bytes": card.headroom_bytes,
        "headroom_target_bytes": card.headroom_target_bytes, "fits": card.fits,
    }


def embedded_run(name: str, model: Path, *, num_ctx: int, reserve: int, fill: bool,
                 sampler: Sampler | None, echo: bool = False,
                 progress: Callable[[dict[str, Any]], None] | None = None) -> dict[str, Any]:
    """The product's engine on one model, as the dashboard configures it: the backend's
    check, then the engine the backend's process serves (`LlamaCppEngine`, with the plan's
    offload) run here, in this process, so that NVML's entry for this process is the
    engine's: load, one batch; NVML at each step; llama.cpp's own lines."""
    from tui.config import parse_config
    from tui.llm import make_backend
    from tui.llm.llamacpp_backend import EmbeddedTriageModel
    from tui.llm.llamacpp_engine import LlamaCppEngine
    from tui.llm.protocol import with_system_prompt
    from tui.mail.verdicts import ReplyProblem, VerdictList, parse_reply, verdict_format_schema
    from tui.planning.service import PlanOptions, make_plan

    pid = os.getpid()
    handler = _LogLines(echo)
    engine_log = logging.getLogger("tui.llm.llamacpp_engine")
    engine_log.addHandler(handler)
    engine_log.setLevel(logging.DEBUG)
    config = parse_config({
        "llm": {"backend": "llamacpp", "temperature": 0.0},
        "llamacpp": {"model": str(model), "timeout_seconds": 600},
        "budget": {"num_ctx": num_ctx, "generation_reserve_tokens": reserve},
    }, Path(f"bench-embedded-{name}.toml"))
    plans: list[Any] = []

    def plan_fits() -> bool:  # tui.planning.service.llm_fits_its_card, keeping the plan
        result = make_plan(config, PlanOptions())
        plans.append(result)
        return bool(result.plan.llm_card.fits)

    run: dict[str, Any] = {"model": name, "path": str(model), "num_ctx": num_ctx,
                           "reserve": reserve, "cache_type": "f16", "flash_attention": False,
                           "parallel": 1, "n_batch": NUM_BATCH, "n_ubatch": NUM_BATCH,
                           "config": config.llamacpp.model_dump(mode="json")}

    def _step(run: dict[str, Any], step: str) -> None:
        """Where the run is, on stderr and (through `progress`) in the JSON, before it goes
        on: what a crash leaves behind."""
        run["step"] = step
        print(f"   [{time.strftime('%H:%M:%S')}] {step}", file=sys.__stderr__, flush=True)
        if progress is not None:
            progress(run)

    started = time.monotonic()
    try:
        backend = make_backend(config, plan_fits=plan_fits)
        assert isinstance(backend, EmbeddedTriageModel)
        _step(run, "check")
        status = backend.check()
        run["check"] = {"ready": status.ready, "state": status.state, "detail": status.detail,
                        "fix": status.fix}
        print(f"   check: {run['check']}", flush=True)
        if sampler:
            run["nvml_after_check_bytes"] = sampler.process_used(pid)
            sampler.start(pid)
        _step(run, "load (plan, then llama.cpp)")
        t0 = time.monotonic()
        settings = config.llamacpp
        engine = LlamaCppEngine(str(backend.locate()), model=settings.model, num_ctx=num_ctx,
                                gpu_layers=settings.gpu_layers,
                                flash_attention=settings.flash_attention,
                                kv_cache_type=settings.kv_cache_type, threads=settings.threads,
                                plan_fits=plan_fits)
        loaded = engine.load()  # what the first batch does first; here apart, to read idle
        run["load_s"] = round(time.monotonic() - t0, 1)
        run["placement"] = loaded.placement
        if plans:
            run["plan_product"] = _plan_summary(plans[-1])
        llama = loaded.llama
        run["llama"] = {"n_ctx": llama.n_ctx(), "n_batch": llama.n_batch,
                        "n_ubatch": llama.context_params.n_ubatch,
                        "flash_attn_type": int(llama.context_params.flash_attn_type),
                        "type_k": int(llama.context_params.type_k),
                        "n_gpu_layers": int(llama.model_params.n_gpu_layers),
                        "split_mode": int(llama.model_params.split_mode),
                        "gpu_offload_supported": bool(
                            loaded.llama_cpp.llama_supports_gpu_offload())}
        time.sleep(1.0)
        if sampler:
            sampler.sample()
            run["nvml_idle_bytes"] = sampler.process_used(pid)
            run["nvml_load_peak_bytes"] = sampler.peak_process
        _step(run, "prompt")
        if fill:
            room = num_ctx - max(reserve, 1)
            messages, ids, counted = _fill_messages(backend.system_prompt, loaded, room - 8)
            batches = [("context fill", messages, ids)]
            run["prompt_tokens_counted"] = counted
        else:
            batches = _short_mail_batches()
        run["batches"] = []
        for label, messages, ids in batches:
            batch: dict[str, Any] = {"batch": label}
            run["batches"].append(batch)
            _step(run, f"batch: {label}")
            pieces: list[str] = []
            if sampler:
                sampler.reset_peak()
            t0 = time.monotonic()
            try:
                reply = engine.run_batch(with_system_prompt(messages, backend.system_prompt),
                                         verdict_format_schema(ids), pieces.append,
                                         max_tokens=reserve, temperature=0.0, timeout=600)
                batch.update({"text": reply.text[:2000],
                              "prompt_eval_count": reply.prompt_eval_count,
                              "eval_count": reply.eval_count, "done_reason": reply.done_reason,
                              "pieces": len(pieces)})
                try:
                    VerdictList.model_validate_json(reply.text)
                    batch["schema_valid"] = True
                except Exception as error:
                    batch["schema_valid"] = False
                    batch["schema_error"] = str(error)[:500]
                try:
                    verdicts = parse_reply(reply.text, ids)
                    batch["verdicts"] = [v.model_dump(mode="json") for v in verdicts]
                except ReplyProblem as problem:
                    batch["reply_problem"] = str(problem)[:500]
            except Exception as error:  # zero weights: whatever it did, recorded
                batch["error"] = f"{type(error).__name__}: {error}"[:2000]
            batch["seconds"] = round(time.monotonic() - t0, 2)
            time.sleep(0.3)
            if sampler:
                sampler.sample()
                batch["nvml_peak_bytes"] = sampler.peak_process
                batch["nvml_after_bytes"] = sampler.process_used(pid)
                batch["device_peak_bytes"] = sampler.peak_device
        if sampler:
            run["nvml_peak_bytes"] = max(b["nvml_peak_bytes"] for b in run["batches"])
        _step(run, "close")
        engine.close()
        time.sleep(0.5)
        if sampler:
            run["nvml_after_close_bytes"] = sampler.process_used(pid)
        _step(run, "done")
    except Exception as error:
        import traceback

        run["error"] = f"{type(error).__name__}: {error}"
        run["traceback"] = traceback.format_exc()[-3000:]
        print(f"   FAILED: {run['traceback']}", flush=True)
    finally:
        if sampler:
            sampler.stop()
        engine_log.removeHandler(handler)
    log_text = "\n".join(handler.lines)
    run["buffers"] = parse_buffers(log_text)
    m = _OFFLOADED.search(log_text)
    run["offloaded_layers"] = [int(m[1]), int(m[2])] if m else None
    run["log_lines"] = _interesting(log_text)
    run["wall_s"] = round(time.monotonic() - started, 1)
    return run


def _print_embedded(run: dict[str, Any]) -> None:
    print(f"   offloaded {run.get('offloaded_layers')}; placement {run.get('placement')}; "
          f"llama {run.get('llama')}", flush=True)
    _print_run({k: v for k, v in run.items() if k != "nvml_idle_bytes"})
    for key in ("nvml_idle_bytes", "nvml_peak_bytes", "nvml_after_close_bytes"):
        if key in run:
            print(f"   {key}: {run[key] / MIB:,.0f} MiB", flush=True)
    for b in run.get("batches", []):
        _print_batch(b)


def _print_batch(b: dict[str, Any]) -> None:
    if "error" in b:
        print(f"   {b['batch']}: error {b['error']}", flush=True)
        return
    peak = f", NVML peak {b['nvml_peak_bytes'] / MIB:,.0f} MiB" if "nvml_peak_bytes" in b else ""
    print(f"   {b['batch']}: {b['done_reason']}, prompt {b['prompt_eval_count']} tokens, "
          f"generated {b['eval_count']} in {b['seconds']} s{peak}; schema valid "
          f"{b['schema_valid']}; verdicts {b.get('verdicts') or b.get('reply_problem')}",
          flush=True)


def _signal_name(returncode: int) -> str:
    if returncode >= 0:
        return f"exit status {returncode}"
    try:
        return f"killed by {signal.Signals(-returncode).name}"
    except ValueError:
        return f"killed by signal {-returncode}"


def _embedded_child(args: argparse.Namespace, name: str, lib_dir: Path) -> dict[str, Any]:
    """One model in a fresh process (python -X faulthandler), so that a crash in llama.cpp
    costs that model's run only and leaves its log: llama.cpp's lines as they came, the
    step it was at and the Python stack at the fault."""
    out_dir = args.json.parent if args.json else args.workdir
    child_json = args.workdir / f"embedded-{name}.json"
    log_path = out_dir / f"embedded-{name}.log"
    cmd = [sys.executable, "-X", "faulthandler", str(Path(__file__).resolve()), "embedded",
           "--in-process", "--carry", str(args.carry), "--workdir", str(args.workdir),
           "--lib-dir", str(lib_dir), "--models", name, "--json", str(child_json),
           "--ctx", *map(str, args.ctx), "--reserve", str(args.reserve),
           "--layers", str(args.layers), "--nvml-interval-ms", str(args.nvml_interval_ms)]
    cmd += ["--gguf-py", args.gguf_py] if args.gguf_py else []
    cmd += ["--smollm2", str(args.smollm2)] if args.smollm2 else []
    cmd += ["--no-nvml"] if args.no_nvml else []
    cmd += ["--split-mode", args.split_mode]
    child_json.unlink(missing_ok=True)
    with log_path.open("w") as log_fh:
        proc = subprocess.run(cmd, stdout=log_fh, stderr=subprocess.STDOUT,
                              env={**os.environ, "PYTHONUNBUFFERED": "1"})
    log = log_path.read_text(errors="replace")
    print(log[-6000:], flush=True)
    runs = json.loads(child_json.read_text()).get("runs", []) if child_json.exists() else []
    run: dict[str, Any] = runs[0] if runs else {"model": name}
    if proc.returncode != 0 or not runs:
        run.setdefault("error", _signal_name(proc.returncode))
        run["returncode"] = proc.returncode
        run["log_tail"] = log[-6000:]
        steps = re.findall(r"\] (.+)$", log, flags=re.MULTILINE)
        run["last_step"] = steps[-1] if steps else None
    return run


def embedded(args: argparse.Namespace, deadline: float) -> dict[str, Any]:
    """Each model in a child process (`_embedded_child`) unless --in-process."""
    from devstral_gguf import CHAT_TEMPLATE, write_gguf

    carry: Path = args.carry
    workdir: Path = args.workdir
    lib_dir = args.lib_dir or build_shared(carry, workdir, args.jobs)
    results: dict[str, Any] = {
        "kind": "embedded",
        "date": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
        "environment": _embedded_environment(carry, lib_dir),
        "configure": (json.loads((workdir / "configure-shared.json").read_text())
                      if (workdir / "configure-shared.json").exists() else None),
        "versions": {"llama_cpp_commit": LLAMA_CPP_COMMIT, "llama_cpp_python": "0.3.36",
                     **({} if args.in_process else
                        {k: v for k, v in _versions(None).items()
                         if k in ("nvcc", "nvidia_smi_header")})},
        "settings": {"nvml_interval_ms": args.nvml_interval_ms, "in_process": args.in_process,
                     "split_mode": args.split_mode},
        "runs": [],
    }
    sampler = None if args.no_nvml else Sampler(args.nvml_interval_ms / 1000)
    if sampler:
        results["gpu"] = sampler.card()
    if not args.in_process:
        print(json.dumps(results["environment"], indent=1), flush=True)
    _save(results, args.json)
    for name in args.models:
        if time.monotonic() > deadline:
            results.setdefault("skipped", []).append(name)
            continue
        if name == "devstral":
            model = workdir / "devstral-shaped-chat.gguf"
            if not args.in_process or not model.exists():
                gguf_py = args.gguf_py or str(workdir / "llama.cpp/gguf-py")
                results["devstral_file"] = write_gguf(model, args.layers, gguf_py,
                                                      CHAT_TEMPLATE)
            num_ctx, reserve, fill = args.ctx[0], args.reserve, True
        elif name == "smollm2":
            model = args.smollm2
            num_ctx, reserve, fill = 4096, 1024, False
        else:
            raise SystemExit(f"unknown model {name}")
        print(f"-- embedded {name}: {model}, num_ctx {num_ctx}", flush=True)
        if args.in_process:
            if args.split_mode == "layer":  # what the backend reads when it loads
                import llama_cpp

                llama_cpp.LLAMA_SPLIT_MODE_NONE = llama_cpp.LLAMA_SPLIT_MODE_LAYER

            def progress(partial: dict[str, Any]) -> None:
                _save({**results, "runs": [*results["runs"], partial]}, args.json)

            run = embedded_run(name, Path(model), num_ctx=num_ctx, reserve=reserve, fill=fill,
                               sampler=sampler, echo=True, progress=progress)
            _print_embedded(run)
        else:
            run = _embedded_child(args, name, lib_dir)
        results["runs"].append(run)
        _save(results, args.json)
    return results


def assemble(carry: Path, parts_from: list[Path], out: Path) -> Path:
    """SmolLM2 from the parts two calls carried, checked against the manifest."""
    import hashlib

    manifest = json.loads((carry / "smollm2.json").read_text())
    data = b""
    for part in manifest["parts"]:
        found = next((folder / part for folder in parts_from if (folder / part).exists()), None)
        if found is None:
            raise SystemExit(f"{part} is in none of {parts_from}")
        data += found.read_bytes()
    if hashlib.sha256(data).hexdigest() != manifest["sha256"]:
        raise SystemExit("SmolLM2 parts do not make the file they were cut from")
    out.write_bytes(data)
    return out


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


def embedded_rows(planned: dict[str, int], run: dict[str, Any]) -> list[dict[str, Any]]:
    """`compare`'s rows for an embedded run against a plan's components (bytes by key)."""
    weights, kv, graph = (gpu_buffer_mib(run, k) for k in ("model", "KV", "compute"))
    buffers = weights + kv + graph
    idle = run["nvml_idle_bytes"] / MIB
    peak = run["nvml_peak_bytes"] / MIB
    rows = []
    for key, label, buf in (("llm_weights", "weights", weights), ("llm_kv_cache", "KV cache", kv),
                            ("llm_graph", "compute graph", graph),
                            ("llm_cuda_overhead", "outside buffers", None)):
        plan_mib = planned[key] / MIB
        measured = buf if buf is not None else peak - buffers
        rows.append({"component": label, "plan": plan_mib, "llama_cpp": buf,
                     "nvml_idle": None if buf is not None else idle - buffers,
                     "nvml_peak": None if buf is not None else peak - buffers,
                     "measured": measured,
                     "error_pct": 100 * (plan_mib - measured) / measured if measured else 0.0})
    total = sum(v for k, v in planned.items() if k.startswith("llm_")) / MIB
    rows.append({"component": "total", "plan": total, "llama_cpp": buffers, "nvml_idle": idle,
                 "nvml_peak": peak, "measured": peak, "error_pct": 100 * (total - peak) / peak})
    return rows


def _print_rows(rows: list[dict[str, Any]], markdown: bool) -> None:
    if markdown:
        print("| component | plan | llama.cpp buffer | NVML idle | NVML peak | plan − measured |")
        print("|---|---:|---:|---:|---:|---:|")
        for r in rows:
            print(f"| {r['component']} | {_fmt(r['plan'])} | {_fmt(r['llama_cpp'])} | "
                  f"{_fmt(r['nvml_idle'])} | {_fmt(r['nvml_peak'])} | "
                  f"{r['plan'] - r['measured']:+,.0f} ({r['error_pct']:+.1f} %) |")
        return
    print(f"{'component':<16}{'plan':>9}{'llama.cpp':>11}{'NVML idle':>11}"
          f"{'NVML peak':>11}{'plan-meas':>11}{'err %':>8}")
    for r in rows:
        print(f"{r['component']:<16}{_fmt(r['plan']):>9}{_fmt(r['llama_cpp']):>11}"
              f"{_fmt(r['nvml_idle']):>11}{_fmt(r['nvml_peak']):>11}"
              f"{r['plan'] - r['measured']:>+11,.0f}{r['error_pct']:>+8.1f}")


def report_embedded(results: dict[str, Any], markdown: bool) -> None:
    gpu = results.get("gpu", {})
    env = results.get("environment", {})
    print(f"embedded engine: {gpu.get('name')} ({gpu.get('driver')}), {results['date']}; "
          f"llama.cpp {results['versions'].get('llama_cpp_commit')}, llama-cpp-python "
          f"{env.get('llama_cpp', '?').split()[0]}, Python {env.get('python')}")
    for run in results["runs"]:
        print(f"\n{run['model']}: num_ctx {run.get('num_ctx')}, reserve {run.get('reserve')}; "
              f"offloaded {run.get('offloaded_layers')}; {run.get('placement')}")
        if "error" in run:
            print(f"FAILED {run['error']} (at: {run.get('last_step') or run.get('step')})")
            continue
        print(f"llama.cpp context: {run.get('llama')}")
        for b in run.get("batches", []):
            _print_batch(b)
        if "nvml_peak_bytes" not in run:
            continue
        product = run.get("plan_product")
        if product:
            print(f"\nagainst the product's plan ({product['shape_source']}; card "
                  f"{product['card_total_bytes'] / MIB:,.0f} MiB, fits {product['fits']}, "
                  f"headroom {product['headroom_bytes'] / MIB:,.0f} MiB):")
            _print_rows(embedded_rows(product["components"], run), markdown)
        if run["model"] == "devstral":
            plan = plan_for(run)
            print("\nagainst the plan of the llama-server runs (devstral-small from the table):")
            _print_rows(embedded_rows({c.key: c.bytes for c in plan.components}, run), markdown)


def report(path: Path, markdown: bool) -> None:
    results = json.loads(path.read_text())
    if results.get("kind") == "embedded":
        report_embedded(results, markdown)
        return
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
    p.add_argument("--embedded", action="store_true",
                   help="also the Python side of `embedded` (site/, app/tui, SmolLM2)")
    p.add_argument("--wheel", type=Path, nargs="*", default=[],
                   help="wheels for the device's Python to unpack into site/ (pydantic_core)")
    p.add_argument("--smollm2", type=Path, default=None)
    p.add_argument("--smollm2-first-mib", type=float, default=1e9,
                   help="cut SmolLM2 after this many MiB; the rest goes into --carry2")
    p.add_argument("--carry2", type=Path, default=None,
                   help="the second call's folder: the rest of SmolLM2, the scripts, app/")
    p.add_argument("--quality", action="store_true",
                   help="also what bench/triage_quality.py needs; site/ as site.tar.xz")
    p = sub.add_parser("build-shared", help="device: the shared libraries (and llama-server)")
    p.add_argument("--carry", type=Path, default=HERE)
    p.add_argument("--workdir", type=Path, default=Path("/tmp/llm-gpu"))
    p.add_argument("-j", "--jobs", type=int, default=os.cpu_count() or 4)
    p.add_argument("--server", action="store_true", help="llama-server too, on the same libraries")
    p.add_argument("--no-fa-kernels", action="store_true",
                   help="GGML_CUDA_FA=OFF: no flash-attention kernels, a shorter build")
    p = sub.add_parser("embedded", help="device: the product's embedded engine on the GPU")
    p.add_argument("--carry", type=Path, default=HERE)
    p.add_argument("--workdir", type=Path, default=Path("/tmp/llm-gpu"))
    p.add_argument("-j", "--jobs", type=int, default=os.cpu_count() or 4)
    p.add_argument("--json", type=Path, default=None)
    p.add_argument("--ctx", type=int, nargs="+", default=[8192])
    p.add_argument("--reserve", type=int, default=16,
                   help="Devstral's reply reserve (max tokens): zero weights say nothing")
    p.add_argument("--layers", type=int, default=40)
    p.add_argument("--gguf-py", default=None)
    p.add_argument("--models", nargs="+", default=["devstral", "smollm2"])
    p.add_argument("--smollm2", type=Path, default=None, help="the GGUF, or where to assemble it")
    p.add_argument("--assemble-from", type=Path, nargs="*", default=[],
                   help="folders holding SmolLM2's parts (the manifest is in --carry)")
    p.add_argument("--lib-dir", type=Path, default=None, help="existing libllama.so folder")
    p.add_argument("--no-nvml", action="store_true", help="no GPU: check the flow only")
    p.add_argument("--nvml-interval-ms", type=float, default=10,
                   help="NVML sampling thread period; 0: no thread, readings at each step")
    p.add_argument("--in-process", action="store_true",
                   help="run the models in this process (the default runs each in a child)")
    p.add_argument("--split-mode", choices=("none", "layer"), default="none",
                   help="the engine's split mode: none (the product's: one card) or layer "
                        "(llama-server's default), to tell a crash of one from the other")
    p.add_argument("--deadline-s", type=float, default=540)
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
        if args.embedded:
            pack_embedded(args.carry, args.wheel, args.smollm2, args.smollm2_first_mib,
                          args.carry2, args.quality)
    elif args.command == "build-shared":
        build_shared(args.carry, args.workdir, args.jobs, server=args.server,
                     fa_kernels=not args.no_fa_kernels)
    elif args.command == "embedded":
        if args.assemble_from and "smollm2" in args.models:
            try:
                args.smollm2 = assemble(args.carry, args.assemble_from, args.smollm2
                                        or args.workdir / "SmolLM2-135M-Instruct.gguf")
            except (SystemExit, OSError, ValueError) as error:  # a part on a machine now gone
                print(f"SmolLM2 skipped: {error}", flush=True)
                args.models = [m for m in args.models if m != "smollm2"]
        embedded(args, started + args.deadline_s)
        print(f"total {time.monotonic() - started:.0f} s", flush=True)
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
