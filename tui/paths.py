"""Where triage-tui keeps its files, per the XDG base directory spec."""

from __future__ import annotations

from pathlib import Path

from platformdirs import user_config_path, user_state_path

APP_NAME = "triage-tui"


def user_config_file() -> Path:
    return user_config_path(APP_NAME) / "config.toml"


def state_dir() -> Path:
    return user_state_path(APP_NAME)


def default_database() -> Path:
    return state_dir() / "state.db"


def default_log_file() -> Path:
    return state_dir() / "triage-tui.log"


def repo_modelfile() -> Path:
    """`modelfiles/Modelfile.triage` beside the package in a source checkout."""
    return Path(__file__).resolve().parent.parent / "modelfiles" / "Modelfile.triage"
