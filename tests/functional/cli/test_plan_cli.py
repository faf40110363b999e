"""`triage-tui plan` and `triage-tui modelfile` through the real entry point."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import run_cli
from tests.services.ollama_server import FakeOllamaServer

CLOSED_PORT_HOST = "http://127.0.0.1:9"


def write_config(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_plan_json_with_nothing_running(tmp_path: Path, user_env: dict[str, str]) -> None:
    config = write_config(tmp_path / "c.toml", f'[ollama]\nhost = "{CLOSED_PORT_HOST}"\n')
    result = run_cli(["--config", str(config), "plan", "--json"], user_env)
    assert result.returncode == 0, result.stderr
    plan = json.loads(result.stdout)
    assert plan["kv_cache_bytes"] == 1_342_177_280
    assert plan["num_ctx"] == 8192
    assert plan["model"]["source"] == "built-in table"
    assert any("Ollama unreachable" in attempt for attempt in plan["model"]["attempts"])
    assert plan["gpu"]["source"].startswith("assumed 24 GiB card")
    assert plan["gpu"]["total_bytes"] == 24 * 2**30
    assert plan["headroom_bytes"] == plan["gpu"]["total_bytes"] - plan["total_bytes"]
    assert plan["fits"] is True
    assert plan["email_batch"]["emails"] == 10
    assert plan["server_env"]["OLLAMA_NUM_PARALLEL"] == "1"
    assert {c["key"] for c in plan["components"]} >= {"llm_weights", "llm_kv_cache",
                                                      "whisper_weights"}


def test_plan_reads_the_shape_from_ollama(tmp_path: Path, user_env: dict[str, str],
                                          ollama_server: FakeOllamaServer) -> None:
    ollama_server.add_devstral_small("devstral-small", size_bytes=14_333_915_872)
    config = write_config(tmp_path / "c.toml", f'[ollama]\nhost = "{ollama_server.host}"\n')
    result = run_cli(["--config", str(config), "plan", "--json", "--gpu-gib", "24"], user_env)
    assert result.returncode == 0, result.stderr
    plan = json.loads(result.stdout)
    assert plan["model"]["source"] == f"Ollama /api/show at {ollama_server.host}"
    assert plan["model"]["weights_bytes"] == 14_333_915_872
    # /api/show lists no tensors: the table says Devstral's Q4_K embedding (360 MiB) has its
    # own output matrix, so llama.cpp keeps it on the host
    assert plan["model"]["token_embedding_bytes"] == 377_487_360
    weights = next(c for c in plan["components"] if c["key"] == "llm_weights")
    assert weights["bytes"] == 14_333_915_872 - 377_487_360
    assert plan["kv_cache_bytes"] == 1_342_177_280
    assert plan["gpu"]["source"] == "--gpu-gib 24"
    paths = [request.path for request in ollama_server.requests]
    assert "/api/show" in paths and "/api/tags" in paths


def test_plan_solves_for_headroom(tmp_path: Path, user_env: dict[str, str]) -> None:
    result = run_cli(["plan", "--json", "--offline", "--headroom-gib", "3"], user_env)
    assert result.returncode == 0, result.stderr
    plan = json.loads(result.stdout)
    assert plan["num_ctx_solved_for_headroom"] is True
    assert plan["num_ctx"] == plan["max_num_ctx_for_headroom"]
    assert plan["num_ctx"] % 256 == 0
    assert plan["headroom_bytes"] >= 3 * 2**30


def test_plan_that_breaks_the_headroom_exits_1(user_env: dict[str, str]) -> None:
    result = run_cli(["plan", "--offline", "--num-ctx", "65536"], user_env)
    assert result.returncode == 1
    assert "does not keep the headroom target" in result.stdout


def test_no_num_ctx_fits_exits_1(user_env: dict[str, str]) -> None:
    result = run_cli(["plan", "--offline", "--gpu-gib", "8", "--headroom-gib", "2"], user_env)
    assert result.returncode == 1
    assert "no num_ctx leaves" in result.stderr


def test_plan_table_names_the_source_and_env(user_env: dict[str, str]) -> None:
    result = run_cli(["plan", "--offline", "--kv-type", "q8_0", "--parallel", "2"], user_env)
    assert "model shape from: built-in table" in result.stdout
    assert "OLLAMA_FLASH_ATTENTION=1" in result.stdout
    assert "OLLAMA_KV_CACHE_TYPE=q8_0" in result.stdout


def test_plan_exports(user_env: dict[str, str]) -> None:
    vllm = json.loads(run_cli(["plan", "--offline", "--json", "--export", "vllm"],
                              user_env).stdout)
    assert vllm["export"]["flags"]["--max-model-len"] == "8192"
    trtllm = run_cli(["plan", "--offline", "--export", "trtllm"], user_env)
    assert "trtllm-serve" in trtllm.stdout and "max_tokens: 8192" in trtllm.stdout


def test_unknown_model_is_a_usage_error(user_env: dict[str, str]) -> None:
    result = run_cli(["plan", "--offline", "--llm", "no-such-model"], user_env)
    assert result.returncode == 2
    assert "no shape for model 'no-such-model'" in result.stderr


def test_bad_config_exits_2_naming_key_and_file(tmp_path: Path,
                                                user_env: dict[str, str]) -> None:
    config = write_config(tmp_path / "bad.toml", "[budget]\nnum_ctxx = 1\n")
    result = run_cli(["--config", str(config), "plan"], user_env)
    assert result.returncode == 2
    assert str(config) in result.stderr and "budget.num_ctxx: unknown key" in result.stderr


def test_negative_values_are_rejected(user_env: dict[str, str]) -> None:
    result = run_cli(["plan", "--num-ctx", "-5"], user_env)
    assert result.returncode == 2 and "--num-ctx must be positive" in result.stderr


def test_modelfile_writes_then_is_up_to_date(tmp_path: Path, user_env: dict[str, str]) -> None:
    output = tmp_path / "Modelfile.triage"
    first = run_cli(["modelfile", "--offline", "--output", str(output)], user_env)
    assert first.returncode == 0, first.stderr
    assert "PARAMETER num_ctx 8192" in output.read_text()
    second = run_cli(["modelfile", "--offline", "--output", str(output)], user_env)
    assert "up to date" in second.stdout
    smaller = run_cli(["modelfile", "--offline", "--output", str(output), "--num-ctx", "4096"],
                      user_env)
    assert smaller.returncode == 0
    assert "PARAMETER num_ctx 4096" in output.read_text()


def test_modelfile_refuses_a_plan_over_budget(tmp_path: Path, user_env: dict[str, str]) -> None:
    output = tmp_path / "Modelfile.triage"
    result = run_cli(["modelfile", "--offline", "--output", str(output), "--num-ctx", "65536"],
                     user_env)
    assert result.returncode == 1 and not output.exists()
    assert "not written" in result.stderr


def test_plan_for_two_cards_prints_each_card_and_pins_the_servers(
        user_env: dict[str, str]) -> None:
    result = run_cli(["plan", "--json", "--offline", "--gpu-gib", "24", "--whisper-gpu", "1",
                      "--headroom-gib", "2", "--export", "vllm"], user_env)
    assert result.returncode == 0, result.stderr
    plan = json.loads(result.stdout)
    llm_card, whisper_card = plan["cards"]
    assert (llm_card["index"], llm_card["services"]) == (0, ["llm"])
    assert (whisper_card["index"], whisper_card["services"]) == (1, ["whisperx"])
    assert llm_card["headroom_bytes"] == plan["headroom_bytes"] >= 2 * 2**30
    assert plan["num_ctx"] == 33536
    assert plan["server_env"]["CUDA_VISIBLE_DEVICES"] == "0"
    assert plan["export"]["command"].startswith(
        "CUDA_DEVICE_ORDER=PCI_BUS_ID CUDA_VISIBLE_DEVICES=0 vllm serve ")
    table = run_cli(["plan", "--offline", "--gpu-gib", "24", "--whisper-gpu", "1"], user_env)
    assert "GPU budget: devstral-small on GPU 0, 24.0 GiB" in table.stdout
    assert "GPU budget: WhisperX on GPU 1, 24.0 GiB" in table.stdout
