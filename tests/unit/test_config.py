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
