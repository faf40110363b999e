"""The typed config: defaults, the documented file, and errors naming key and file."""

from __future__ import annotations

from pathlib import Path

import pytest

from tui.config import CONFIG_ENV_VAR, Config, ConfigError, load_config, load_config_file

REPO = Path(__file__).resolve().parents[2]
DOCUMENTED = REPO / "config" / "triage.toml"


def test_documented_config_equals_the_built_in_defaults() -> None:
    documented = load_config_file(DOCUMENTED)
    assert documented.model_dump() == Config().model_dump()


def test_every_default_key_is_documented_with_a_comment() -> None:
    text = DOCUMENTED.read_text(encoding="utf-8").splitlines()
    defaults = Config().model_dump()
    for section, values in defaults.items():
        if not isinstance(values, dict) or section == "keymap":
            continue
        assert f"[{section}]" in text, section
        for key in values:
            index = next((i for i, line in enumerate(text)
                          if line.split("=")[0].strip().lstrip("# ") == key), None)
            assert index is not None, f"{section}.{key} is not in {DOCUMENTED.name}"
            assert text[index - 1].lstrip().startswith("#"), f"{section}.{key} has no comment"


def test_unknown_key_names_key_and_file(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text("[imap]\nhots = 'mail.example.org'\n")
    with pytest.raises(ConfigError) as error:
        load_config_file(path)
    assert str(path) in str(error.value) and "imap.hots: unknown key" in str(error.value)


def test_unknown_section(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text("[smtp]\nhost = 'x'\n")
    with pytest.raises(ConfigError, match="smtp: unknown key"):
        load_config_file(path)


def test_wrong_type_names_key_and_value(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text("[budget]\nnum_ctx = 'lots'\n")
    with pytest.raises(ConfigError) as error:
        load_config_file(path)
    message = str(error.value)
    assert str(path) in message and "budget.num_ctx" in message and "'lots'" in message


def test_out_of_range_value(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text("[imap]\nport = 70000\n")
    with pytest.raises(ConfigError, match=r"imap\.port"):
        load_config_file(path)


def test_invalid_toml(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text("[imap\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config_file(path)


def test_missing_explicit_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "nope.toml")


def test_lookup_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv(CONFIG_ENV_VAR, raising=False)
    assert load_config().source is None  # nothing anywhere: built-in defaults

    xdg_file = tmp_path / "xdg" / "triage-tui" / "config.toml"
    xdg_file.parent.mkdir(parents=True)
    xdg_file.write_text("[budget]\nnum_ctx = 4096\n")
    assert load_config().budget.num_ctx == 4096

    env_file = tmp_path / "env.toml"
    env_file.write_text("[budget]\nnum_ctx = 6144\n")
    monkeypatch.setenv(CONFIG_ENV_VAR, str(env_file))
    assert load_config().budget.num_ctx == 6144

    explicit = tmp_path / "explicit.toml"
    explicit.write_text("[budget]\nnum_ctx = 2048\n")
    loaded = load_config(explicit)
    assert loaded.budget.num_ctx == 2048 and loaded.source == explicit


def test_paths_expand_the_home_directory() -> None:
    assert not str(Config().paths.drop_folder).startswith("~")


# ---- [llm] temperature/system_prompt/task_prompt, and their deprecated [ollama] spelling ----

def test_the_documented_file_uses_no_deprecated_key() -> None:
    assert load_config_file(DOCUMENTED).deprecations == []


def test_shared_llm_settings_live_under_llm(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text('[llm]\ntemperature = 0.4\nsystem_prompt = "Be brief."\n'
                    'task_prompt = "Triage."\n')
    config = load_config_file(path)
    assert (config.llm.temperature, config.llm.system_prompt, config.llm.task_prompt) == (
        0.4, "Be brief.", "Triage.")
    assert config.deprecations == []


def test_old_ollama_spelling_still_loads_with_a_note(tmp_path: Path) -> None:
    path = tmp_path / "old.toml"
    path.write_text('[ollama]\nhost = "http://127.0.0.1:9"\ntemperature = 0.3\n'
                    'system_prompt = "Old system."\ntask_prompt = "Old task."\n')
    config = load_config_file(path)
    assert config.llm.temperature == 0.3
    assert config.llm.system_prompt == "Old system."
    assert config.llm.task_prompt == "Old task."
    assert config.ollama.host == "http://127.0.0.1:9"
    assert config.deprecations == [
        f"{path}: [ollama] {key} is deprecated; use [llm] {key}"
        for key in ("temperature", "system_prompt", "task_prompt")]
    # The notes are about the file, not settings: dumps leave them out, like `source`.
    assert "deprecations" not in config.model_dump()
    assert "temperature" not in config.model_dump()["ollama"]


def test_old_spelling_is_validated_under_its_new_name(tmp_path: Path) -> None:
    path = tmp_path / "old.toml"
    path.write_text("[ollama]\ntemperature = 9.0\n")
    with pytest.raises(ConfigError, match=r"llm\.temperature"):
        load_config_file(path)


def test_both_spellings_agreeing_is_a_note(tmp_path: Path) -> None:
    path = tmp_path / "both.toml"
    path.write_text("[llm]\ntemperature = 0.2\n[ollama]\ntemperature = 0.2\n")
    config = load_config_file(path)
    assert config.llm.temperature == 0.2
    assert config.deprecations == [f"{path}: [ollama] temperature is deprecated; "
                                   "use [llm] temperature"]


def test_both_spellings_disagreeing_is_an_error_naming_both(tmp_path: Path) -> None:
    path = tmp_path / "both.toml"
    path.write_text('[llm]\ntask_prompt = "New."\n[ollama]\ntask_prompt = "Old."\n')
    with pytest.raises(ConfigError) as error:
        load_config_file(path)
    message = str(error.value)
    assert str(path) in message
    assert "[ollama] task_prompt" in message and "[llm] task_prompt" in message


def test_loader_fields_cannot_come_from_a_file(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text('deprecations = ["x"]\n')
    with pytest.raises(ConfigError, match="deprecations: unknown key"):
        load_config_file(path)


def test_cli_prints_each_deprecation_note_to_stderr_and_the_log(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    import json
    import logging

    from tui.cli import main

    root = logging.getLogger()
    before = list(root.handlers)
    monkeypatch.setattr(root, "handlers", list(before))  # main adds a file handler
    monkeypatch.setattr(root, "level", root.level)
    log_file = tmp_path / "triage.log"
    path = tmp_path / "old.toml"
    path.write_text(f'[paths]\nlog_file = "{log_file}"\n[ollama]\ntemperature = 0.3\n'
                    'task_prompt = "Old task."\n')
    code = main(["--config", str(path), "plan", "--offline", "--json", "--gpu-gib", "24"])
    captured = capsys.readouterr()
    assert code == 0
    assert json.loads(captured.out)["email_batch"]["emails"] >= 1
    for key in ("temperature", "task_prompt"):
        line = f"triage-tui: {path}: [ollama] {key} is deprecated; use [llm] {key}"
        assert captured.err.count(line) == 1, captured.err
    for handler in root.handlers:
        if handler not in before:
            handler.close()
    assert "[ollama] temperature is deprecated" in log_file.read_text(encoding="utf-8")


@pytest.mark.parametrize(("section", "key", "text", "wanted"), [
    ("imap", "auto_apply", '"yes"', "valid boolean"),
    ("imap", "port", '"993"', "valid integer"),
    ("whisperx", "align", "1", "valid boolean"),
    ("whisperx", "batch_size", "2.0", "valid integer"),
    ("ollama", "host", "11434", "valid string"),
    ("budget", "num_ctx", "true", "valid integer"),
])
def test_values_of_the_wrong_type_are_errors_not_coerced(
        tmp_path: Path, section: str, key: str, text: str, wanted: str) -> None:
    path = tmp_path / "config.toml"
    path.write_text(f"[{section}]\n{key} = {text}\n")
    with pytest.raises(ConfigError) as error:
        load_config_file(path)
    assert f"{section}.{key}: Input should be a {wanted}" in str(error.value)
    assert str(path) in str(error.value)


def test_an_integer_is_still_a_number_and_a_path_is_a_string(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('[imap]\ntimeout_seconds = 5\n[paths]\ndatabase = "/srv/state.db"\n')
    config = load_config_file(path)
    assert config.imap.timeout_seconds == 5.0
    assert config.paths.database == Path("/srv/state.db")
