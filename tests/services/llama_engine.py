"""llama.cpp inside the test process, through llama-cpp-python: the `[llm] backend =
"llamacpp"` engine, run for real.

llama-cpp-python is installed without compiling llama.cpp a second time (its sdist with
`CMAKE_ARGS="-DLLAMA_BUILD=OFF -DLLAVA_BUILD=OFF"`, see scripts/install --test); it loads the
shared libraries that scripts/llama-server builds for llama-server (the same llama.cpp
sources, from the same sdist) through `LLAMA_CPP_LIB_PATH`. The models are that script's too.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
from pathlib import Path

import pytest

from tests.services.llama_server import SMOLLM2, EngineUnavailable, engine_dir

LIB_PATH_VAR = "LLAMA_CPP_LIB_PATH"


@pytest.fixture(scope="session")
def llamacpp_lib_dir() -> Path:
    """The folder scripts/llama-server fills (bin/: libllama.so, libggml*.so; models/), with
    llama-cpp-python pointed at its bin/ (for this process and the subprocesses it starts).

    Skips, saying why, only when llama-cpp-python is not installed or the folder cannot be
    had; a library that is there but does not load is a failure."""
    if importlib.util.find_spec("llama_cpp") is None:
        pytest.skip("llama-cpp-python is not installed (the `llamacpp` extra; CI installs it "
                    "without a build: see scripts/install --test)")
    try:
        folder = engine_dir()
    except (EngineUnavailable, OSError, subprocess.TimeoutExpired) as error:
        pytest.skip(f"no llama.cpp build from scripts/llama-server: {error}")
    os.environ.setdefault(LIB_PATH_VAR, str(folder / "bin"))
    import llama_cpp  # loads libllama.so now: a broken build fails here, not in a test

    assert llama_cpp.llama_max_devices() >= 1
    return folder


def smollm2(folder: Path) -> Path:
    """SmolLM2-135M-Instruct (Q4_1, with a chat template) in the engine folder."""
    return folder / "models" / SMOLLM2
