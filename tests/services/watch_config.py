"""A config file for `triage-tui watch` on the CPU with tiny.en, for tests that run the real
command in a subprocess."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class WatchConfig:
    path: Path
    drop: Path
    out: Path
    database: Path


def cpu_watch_config(tmp_path: Path, model_dir: Path | str, database: Path | None = None, *,
                     drop: Path | None = None, stable_seconds: float = 0.5,
                     log_file: Path | None = None) -> WatchConfig:
    drop, out = drop or tmp_path / "drop", tmp_path / "out"
    database = database or tmp_path / "state.db"
    log_line = f'log_file = "{log_file}"' if log_file else ""
    path = tmp_path / "config.toml"
    path.write_text(f"""
[paths]
drop_folder = "{drop}"
output_dir = "{out}"
database = "{database}"
{log_line}
[whisperx]
model = "{model_dir}"
device = "cpu"
compute_type = "int8"
batch_size = 4
threads = 2
align = false
diarize = false
stable_seconds = {stable_seconds}
""")
    return WatchConfig(path, drop, out, database)
