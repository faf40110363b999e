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


def cpu_watch_config(tmp_path: Path, model_dir: Path,
                     database: Path | None = None) -> WatchConfig:
    drop, out = tmp_path / "drop", tmp_path / "out"
    database = database or tmp_path / "state.db"
    path = tmp_path / "config.toml"
    path.write_text(f"""
[paths]
drop_folder = "{drop}"
output_dir = "{out}"
database = "{database}"
[whisperx]
model = "{model_dir}"
device = "cpu"
compute_type = "int8"
batch_size = 4
threads = 2
align = false
diarize = false
stable_seconds = 0.5
""")
    return WatchConfig(path, drop, out, database)
