"""`triage-tui models pull` against a model hub on loopback (real HTTP, the real tiny.en
CTranslate2 files): the files land where the worker loads them from, byte for byte, with
progress on the way; failures are said in words with the fix."""

from __future__ import annotations

import filecmp
import json
import re
from pathlib import Path

import pytest

from tests.conftest import run_cli
from tests.services.model_hub import ModelHub
from tui.adapters.whisper_models import locate_whisper_model

TINY_REPO = "Systran/faster-whisper-tiny.en"
DIARIZATION = "pyannote/speaker-diarization-community-1"


def hub_env(user_env: dict[str, str], hub_url: str, tmp_path: Path, **extra: str
            ) -> dict[str, str]:
    env = {**user_env, "HF_ENDPOINT": hub_url, "HF_HOME": str(tmp_path / "hf-home"), **extra}
    env.pop("HF_HUB_OFFLINE", None)  # the point is to download
    env.pop("HF_TOKEN", None)
    env.update(extra)
    return env


def write_config(tmp_path: Path, *, model: str = "tiny.en", diarize: bool = False) -> Path:
    config = tmp_path / "c.toml"
    config.write_text(f'[whisperx]\nmodel = "{model}"\nmodel_dir = "{tmp_path / "models"}"\n'
                      f'align = false\ndiarize = {str(diarize).lower()}\n', encoding="utf-8")
    return config


def test_pull_downloads_the_configured_model_with_progress(
        tmp_path: Path, user_env: dict[str, str], tiny_whisper_model_dir: Path) -> None:
    config = write_config(tmp_path)
    with ModelHub() as hub:
        hub.add_repo(TINY_REPO, tiny_whisper_model_dir)
        host = hub.host
        env = hub_env(user_env, host, tmp_path)
        result = run_cli(["--config", str(config), "models", "pull"], env)
        assert result.returncode == 0, result.stderr
        fetched = sum(1 for method, path in hub.requests
                      if method == "GET" and "/resolve/" in path)

        # Where faster-whisper (the worker) looks: the same check doctor makes.
        folder = locate_whisper_model("tiny.en", tmp_path / "models")
        assert folder is not None
        for name in ("config.json", "model.bin", "tokenizer.json", "vocabulary.txt"):
            assert filecmp.cmp(folder / name, tiny_whisper_model_dir / name, shallow=False)

        # Not a TTY: a line every few percent of each file, model.bin's ending at 100 %.
        out = result.stdout
        percents = [int(p) for p in re.findall(r"download\w* tiny\.en: model\.bin (\d+) %", out)]
        assert len(set(percents)) >= 5, out
        assert percents == sorted(percents) and percents[-1] == 100
        assert "downloaded tiny.en: model.bin 100 % (75.5 MB of 75.5 MB)" in out
        assert re.search(r"^tiny\.en: downloaded 78\.1 MB \(.*/models/models--Systran--"
                         r"faster-whisper-tiny\.en/snapshots/", out, re.M), out

        # Again: nothing fetched twice; the summary says it is there.
        again = run_cli(["--config", str(config), "models", "pull", "--json"], env)
        assert again.returncode == 0, again.stderr
        assert sum(1 for method, path in hub.requests
                   if method == "GET" and "/resolve/" in path) == fetched
    summary = json.loads(again.stdout)
    assert summary["endpoint"] == host
    assert [(m["name"], m["status"], m["downloaded_bytes"]) for m in summary["models"]] == [
        ("tiny.en", "present", 0)]
    assert summary["models"][0]["path"] == str(folder)

    listing = run_cli(["--config", str(config), "models", "list", "--json"], env)
    assert [(m["repo"], m["bytes"]) for m in json.loads(listing.stdout)["models"]] == [
        (TINY_REPO, sum(f.stat().st_size for f in tiny_whisper_model_dir.iterdir()))]


def test_pull_without_a_token_skips_the_gated_diarization_pipeline_and_says_why(
        tmp_path: Path, user_env: dict[str, str], tiny_whisper_model_dir: Path) -> None:
    config = write_config(tmp_path, diarize=True)
    with ModelHub() as hub:
        hub.add_repo(TINY_REPO, tiny_whisper_model_dir)
        result = run_cli(["--config", str(config), "models", "pull", "tiny.en"],
                         hub_env(user_env, hub.host, tmp_path))
        assert result.returncode == 0, result.stderr
        # Names given: those Whisper models only.
        assert DIARIZATION not in result.stdout
        result = run_cli(["--config", str(config), "models", "pull"],
                         hub_env(user_env, hub.host, tmp_path))
    assert result.returncode == 0, result.stderr
    assert (f"{DIARIZATION}: skipped: HF_TOKEN is not set (the pipeline is gated): accept its "
            f"conditions at https://huggingface.co/{DIARIZATION} and export HF_TOKEN=<token>"
            ) in result.stdout
    assert not any(DIARIZATION in path for _, path in hub.requests)


@pytest.mark.parametrize(("case", "cause", "fix"), [
    ("missing", "large-v9: {host} has no model Systran/faster-whisper-large-v9",
     "fix: check the name: Whisper models are tiny, base, small, medium, large-v3, turbo"),
    ("gated", f"{DIARIZATION}: the model hub refused access to {DIARIZATION} (a gated model)",
     f"fix: accept its conditions at https://huggingface.co/{DIARIZATION} with the account of "
     "the token, and export HF_TOKEN=<token> with read access"),
    ("down", "large-v9: the model hub at {host} is unreachable",
     "fix: check the network (a proxy needs HTTPS_PROXY; a mirror, HF_ENDPOINT)"),
])
def test_a_failed_download_says_what_happened_and_the_fix(
        tmp_path: Path, user_env: dict[str, str], case: str, cause: str, fix: str) -> None:
    config = write_config(tmp_path, model="large-v9", diarize=case == "gated")
    hub = ModelHub().start()
    host = hub.host
    try:
        if case == "gated":
            hub.add_repo(DIARIZATION, Path(__file__).parent, ["__init__.py"])
            hub.fail(DIARIZATION, 403)
            hub.add_repo("Systran/faster-whisper-large-v9", Path(__file__).parent,
                         ["__init__.py"])
        if case == "down":
            hub.stop()  # refused on its port
        result = run_cli(["--config", str(config), "models", "pull"],
                         hub_env(user_env, host, tmp_path, HF_TOKEN="hf_not_enough"))
    finally:
        hub.stop()
    assert result.returncode == 1
    assert cause.format(host=host) in result.stderr
    assert fix in result.stderr
    # Words, not a traceback or an exception's class name.
    output = result.stdout + result.stderr
    assert "Traceback" not in output and "Error" not in output
