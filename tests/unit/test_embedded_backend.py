"""The embedded llama.cpp backend without llama.cpp: its config, where it finds the GGUF
(a path, or an Ollama model's blob by name), what it says when the file or llama-cpp-python is
missing, the GPU offload rule, and the plan it shares with the other backends."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from tui.adapters.ollama_blobs import (
    GgufNotFound,
    OllamaModelName,
    is_gguf_path,
    locate_gguf,
    ollama_blob,
    ollama_models_dir,
)
from tui.config import (
    BudgetConfig,
    Config,
    ConfigError,
    LlamaCppConfig,
    LlmConfig,
    OllamaConfig,
    parse_config,
)
from tui.doctor import check_embedded_engine, check_embedded_model
from tui.llm import BackendUnavailable, ModelMissing, make_backend
from tui.llm.llamacpp_backend import LABEL, EmbeddedTriageModel
from tui.planning.service import PlanOptions, llm_fits_its_card, make_plan
from tui.prompts import TRIAGE_SYSTEM_PROMPT

MODEL_LAYER = "application/vnd.ollama.image.model"
DIGEST = "ab" * 32


def embedded(model: str, **settings: object) -> Config:
    return Config(llm=LlmConfig(backend="llamacpp"),
                  llamacpp=LlamaCppConfig(model=model, **settings))  # type: ignore[arg-type]


def write_manifest(models: Path, path: str, layers: list[dict[str, object]]) -> Path:
    manifest = models / "manifests" / path
    manifest.parent.mkdir(parents=True)
    manifest.write_text(json.dumps({"schemaVersion": 2, "layers": layers}), encoding="utf-8")
    return manifest


def pulled(models: Path, path: str = "registry.ollama.ai/library/devstral-small/latest"
           ) -> Path:
    """An Ollama models folder holding one model, its weights blob a (tiny) file."""
    write_manifest(models, path, [
        {"mediaType": "application/vnd.ollama.image.template", "digest": "sha256:" + "cd" * 32},
        {"mediaType": MODEL_LAYER, "digest": f"sha256:{DIGEST}", "size": 4}])
    blob = models / "blobs" / f"sha256-{DIGEST}"
    blob.parent.mkdir(parents=True)
    blob.write_bytes(b"GGUF")
    return blob


# -- config ---------------------------------------------------------------------------------

def test_the_llamacpp_backend_and_its_section_load_from_toml(tmp_path: Path) -> None:
    config = parse_config({"llm": {"backend": "llamacpp"},
                           "llamacpp": {"model": "~/models/m.gguf", "ollama_models": "~/om",
                                        "gpu_layers": 0, "flash_attention": True,
                                        "kv_cache_type": "q8_0", "threads": 4}},
                          tmp_path / "c.toml")
    assert config.llm.backend == "llamacpp"
    assert config.llamacpp.model == "~/models/m.gguf"
    assert config.llamacpp.ollama_models == Path("~/om").expanduser()
    assert Config().llamacpp.gpu_layers == -1  # auto by default


@pytest.mark.parametrize(("section", "problem"), [
    ({"model_path": "m.gguf"}, "llamacpp.model_path: unknown key"),
    ({"gpu_layers": -2}, "llamacpp.gpu_layers"),
    ({"threads": "4"}, "llamacpp.threads"),
    ({"kv_cache_type": "q5_1"}, "llamacpp.kv_cache_type"),
])
def test_a_wrong_llamacpp_key_is_named(tmp_path: Path, section: dict[str, object],
                                       problem: str) -> None:
    with pytest.raises(ConfigError, match=problem.replace(".", r"\.")):
        parse_config({"llamacpp": section}, tmp_path / "c.toml")


def test_the_shipped_config_documents_every_llamacpp_key() -> None:
    import tomllib

    shipped = Path(__file__).resolve().parents[2] / "config" / "triage.toml"
    text = shipped.read_text(encoding="utf-8")
    section = text.split("[llamacpp]\n", 1)[1].split("\n[", 1)[0]
    for key in LlamaCppConfig.model_fields:  # set, or shown commented out (no default value)
        assert f"\n{key} = " in section or f"\n# {key} = " in section, key
    parse_config(tomllib.loads(text), shipped)


def test_the_factory_builds_the_embedded_backend_from_the_shared_settings() -> None:
    config = embedded("m.gguf", flash_attention=True, kv_cache_type="q4_0", threads=3,
                      gpu_layers=7, timeout_seconds=9.0)
    config = config.model_copy(update={
        "budget": BudgetConfig(num_ctx=6144, generation_reserve_tokens=512),
        "llm": LlmConfig(backend="llamacpp", temperature=0.3)})
    backend = make_backend(config)
    assert isinstance(backend, EmbeddedTriageModel) and backend.label == LABEL
    assert (backend.num_ctx, backend.max_tokens, backend.temperature) == (6144, 512, 0.3)
    assert (backend.flash_attention, backend.kv_cache_type, backend.threads,
            backend.gpu_layers, backend.timeout) == (True, "q4_0", 3, 7, 9.0)
    # No Modelfile holds the system prompt: the backend sends the built-in one.
    assert backend.system_prompt == TRIAGE_SYSTEM_PROMPT


def test_building_the_embedded_backend_imports_no_llama_cpp() -> None:
    code = ("import sys\nfrom tui.config import Config, LlmConfig\nfrom tui.llm import "
            "make_backend\nmake_backend(Config(llm=LlmConfig(backend='llamacpp'))).check\n"
            "print('llama_cpp' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True, cwd=Path(__file__).resolve().parents[2])
    assert result.stdout.strip() == "False"


# -- the GGUF: a path, or an Ollama model's blob ---------------------------------------------

@pytest.mark.parametrize(("name", "parts"), [
    ("devstral-small", ("registry.ollama.ai", "library", "devstral-small", "latest")),
    ("devstral-small:latest", ("registry.ollama.ai", "library", "devstral-small", "latest")),
    ("qwen2.5:7b-instruct-q4_K_M", ("registry.ollama.ai", "library", "qwen2.5",
                                    "7b-instruct-q4_K_M")),
    ("sam/triage:v2", ("registry.ollama.ai", "sam", "triage", "v2")),
    ("hf.co/bartowski/Model-GGUF:Q4_K_M", ("hf.co", "bartowski", "Model-GGUF", "Q4_K_M")),
    ("localhost:5000/team/model", ("localhost:5000", "team", "model", "latest")),
])
def test_ollama_names_are_read_as_ollama_reads_them(name: str,
                                                    parts: tuple[str, ...]) -> None:
    parsed = OllamaModelName.parse(name)
    assert (parsed.host, parsed.namespace, parsed.model, parsed.tag) == parts


def test_an_ollama_model_is_its_manifests_model_layer(tmp_path: Path) -> None:
    blob = pulled(tmp_path)
    assert ollama_blob("devstral-small", tmp_path) == blob
    assert locate_gguf("devstral-small:latest", tmp_path) == blob
    write_manifest(tmp_path, "registry.ollama.ai/sam/triage/v2",
                   [{"mediaType": MODEL_LAYER, "digest": f"sha256:{DIGEST}"}])
    assert ollama_blob("sam/triage:v2", tmp_path) == blob  # one blob, two names


def test_what_is_missing_is_said(tmp_path: Path) -> None:
    with pytest.raises(GgufNotFound, match=r"no model 'devstral-small:latest'.*no manifest"):
        ollama_blob("devstral-small", tmp_path)
    write_manifest(tmp_path, "registry.ollama.ai/library/empty/latest",
                   [{"mediaType": "application/vnd.ollama.image.template",
                     "digest": f"sha256:{DIGEST}"}])
    with pytest.raises(GgufNotFound, match="has no model layer"):
        ollama_blob("empty", tmp_path)
    write_manifest(tmp_path, "registry.ollama.ai/library/partial/latest",
                   [{"mediaType": MODEL_LAYER, "digest": f"sha256:{DIGEST}"}])
    with pytest.raises(GgufNotFound, match="which is not there"):
        ollama_blob("partial", tmp_path)
    broken = tmp_path / "manifests" / "registry.ollama.ai" / "library" / "broken" / "latest"
    broken.parent.mkdir(parents=True)
    broken.write_text("{not json", encoding="utf-8")
    with pytest.raises(GgufNotFound, match="cannot read Ollama's manifest"):
        ollama_blob("broken", tmp_path)
    with pytest.raises(GgufNotFound, match="no GGUF file at"):
        locate_gguf(str(tmp_path / "absent.gguf"))


def test_a_path_is_a_file_and_a_name_is_ollamas(tmp_path: Path) -> None:
    model = tmp_path / "weights.bin"
    model.write_bytes(b"GGUF")
    assert is_gguf_path("m.gguf") and is_gguf_path("~/m") and is_gguf_path(str(model))
    assert not is_gguf_path("devstral-small:latest") and not is_gguf_path("sam/triage")
    assert locate_gguf(str(model)) == model


def test_the_models_folder_is_the_setting_then_ollamas_variable_then_its_default(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OLLAMA_MODELS", str(tmp_path / "env"))
    assert ollama_models_dir(tmp_path / "set") == tmp_path / "set"
    assert ollama_models_dir(None) == tmp_path / "env"
    monkeypatch.delenv("OLLAMA_MODELS")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert ollama_models_dir(None) == tmp_path / ".ollama" / "models"


# -- what check() and run_batch() say when something is missing --------------------------

def test_a_missing_gguf_is_model_missing_with_the_fix(tmp_path: Path) -> None:
    backend = make_backend(embedded(str(tmp_path / "absent.gguf")))
    status = backend.check()
    assert (status.ready, status.state) == (False, "model-missing")
    assert "absent.gguf" in status.detail and "[llamacpp] model" in status.fix
    with pytest.raises(ModelMissing):
        backend.run_batch([{"role": "user", "content": "hi"}], {}, lambda _t: None)

    by_name = make_backend(embedded("devstral-small:latest", ollama_models=tmp_path))
    status = by_name.check()
    assert status.state == "model-missing" and str(tmp_path) in status.detail
    assert status.fix.startswith("ollama pull devstral-small:latest")
    doctor = check_embedded_model(embedded("devstral-small:latest", ollama_models=tmp_path))
    assert not doctor.ok and doctor.fix.startswith("ollama pull")


def test_without_llama_cpp_python_the_fix_names_the_extra(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    model = tmp_path / "m.gguf"
    model.write_bytes(b"GGUF")
    monkeypatch.setitem(sys.modules, "llama_cpp", None)  # what Python does for an absent one
    backend = make_backend(embedded(str(model)))
    status = backend.check()
    assert (status.ready, status.state) == (False, "unavailable")
    assert "llama-cpp-python is not installed" in status.detail
    assert "'.[llamacpp]'" in status.fix
    with pytest.raises(BackendUnavailable, match=r"not installed.*\[llamacpp\]"):
        backend.run_batch([{"role": "user", "content": "hi"}], {}, lambda _t: None)
    doctor = check_embedded_engine(embedded(str(model)))
    assert not doctor.ok and doctor.name == LABEL and "[llamacpp]" in doctor.fix
    assert check_embedded_model(embedded(str(model))).ok  # the file is there


# -- where the layers go -----------------------------------------------------------------

@pytest.mark.parametrize(("gpu_layers", "gpu", "fits", "layers", "says"), [
    (-1, True, True, -1, "every layer on the GPU"),
    (-1, True, False, 0, "the plan misses its headroom"),
    (-1, False, True, 0, "sees no GPU"),
    (12, False, False, 12, "12 layers on the GPU"),
    (0, True, True, 0, "0 layers on the GPU"),
])
def test_every_layer_goes_to_the_gpu_only_when_there_is_one_and_the_plan_fits(
        gpu_layers: int, gpu: bool, fits: bool, layers: int, says: str) -> None:
    engine = SimpleNamespace(llama_supports_gpu_offload=lambda: gpu)
    backend = make_backend(embedded("m.gguf", gpu_layers=gpu_layers), plan_fits=lambda: fits)
    assert isinstance(backend, EmbeddedTriageModel)
    decided, placement = backend._layers(engine)
    assert decided == layers and says in placement


def test_a_plan_that_fails_keeps_the_layers_on_the_cpu() -> None:
    def no_plan() -> bool:
        raise RuntimeError("no shape")

    backend = make_backend(embedded("m.gguf"), plan_fits=no_plan)
    assert isinstance(backend, EmbeddedTriageModel)
    engine = SimpleNamespace(llama_supports_gpu_offload=lambda: True)
    assert backend._layers(engine) == (0, "on the CPU: no plan (no shape)")


# -- the plan ---------------------------------------------------------------------------

def test_the_plan_counts_one_sequence_and_the_embedded_engines_cache(tmp_path: Path) -> None:
    config = embedded("devstral-small:latest", ollama_models=tmp_path, kv_cache_type="q8_0",
                      flash_attention=True)
    config = config.model_copy(update={
        "ollama": OllamaConfig(num_parallel=4, kv_cache_type="f16", flash_attention=False)})
    result = make_plan(config, PlanOptions(gpu_gib=24, offline=True))
    request = result.plan.request
    assert request.parallel == 1 and request.cache_type.value == "q8_0"
    assert request.flash_attention
    # No blob on disk: the name falls back to the table, and the plan says why.
    assert result.lookup.shape.source == "built-in table"
    assert any("GGUF for 'devstral-small:latest'" in a for a in result.lookup.attempts)


def test_the_plan_reads_the_blobs_own_header(tmp_path: Path) -> None:
    blob = pulled(tmp_path)  # not a real GGUF: the header cannot be read, and that is said
    result = make_plan(embedded("devstral-small", ollama_models=tmp_path),
                       PlanOptions(gpu_gib=24, offline=True))
    assert any(f"GGUF {blob}" in attempt for attempt in result.lookup.attempts)
    assert result.lookup.shape.source == "built-in table"


def test_the_offload_asks_the_plan_for_the_llms_card(tmp_path: Path) -> None:
    config = embedded("devstral-small:latest", ollama_models=tmp_path).model_copy(update={
        "budget": BudgetConfig(gpu_gib=48)})
    assert llm_fits_its_card(config)
    small = config.model_copy(update={"budget": BudgetConfig(gpu_gib=8)})
    assert not llm_fits_its_card(small)
