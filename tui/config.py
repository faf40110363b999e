"""The typed configuration: one TOML file, every key known, every mistake named.

Lookup order: `--config PATH`, then `$TRIAGE_TUI_CONFIG`, then `<XDG config>/triage-tui/
config.toml`, then the built-in defaults (which `config/triage.toml` documents key by key).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any, Literal

import tomllib
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from tui.paths import user_config_file

CONFIG_ENV_VAR = "TRIAGE_TUI_CONFIG"


class ConfigError(Exception):
    """A config file that cannot be used; the message names the file and the key."""


# A config is an interface: a value of the wrong type is an error naming the key, never coerced
# (`auto_apply = "yes"`, `port = "993"` and `align = 1` are refused). An int is still a float.
# Paths are written as strings in TOML, so a path key takes a string.
ConfigPath = Annotated[Path, Field(strict=False)]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True, validate_default=True,
                              strict=True)


class PathsConfig(_Section):
    drop_folder: ConfigPath = Path("~/triage-tui/drop")
    output_dir: ConfigPath = Path("~/triage-tui/transcripts")
    database: ConfigPath | None = None
    log_file: ConfigPath | None = None

    @field_validator("drop_folder", "output_dir", "database", "log_file", mode="after")
    @classmethod
    def _expand_user(cls, value: Path | None) -> Path | None:
        return value.expanduser() if value is not None else None


class ImapConfig(_Section):
    host: str = ""
    port: int = Field(default=993, ge=1, le=65535)
    security: Literal["tls", "starttls", "plain"] = "tls"
    ca_file: ConfigPath | None = None
    username: str = ""
    password_env: str = "TRIAGE_TUI_IMAP_PASSWORD"
    password_command: str = ""
    keyring_service: str = "triage-tui"
    folder: str = "INBOX"
    archive_folder: str = "Archive"
    idle_renew_seconds: int = Field(default=540, ge=30, le=1740)
    poll_seconds: int = Field(default=60, ge=5)
    timeout_seconds: float = Field(default=30.0, gt=0)
    backfill: int = Field(default=50, ge=0)
    auto_apply: bool = False

    @field_validator("ca_file", mode="after")
    @classmethod
    def _expand_ca_file(cls, value: Path | None) -> Path | None:
        return value.expanduser() if value is not None else None

    @property
    def enabled(self) -> bool:
        return bool(self.host and self.username)


class OllamaConfig(_Section):
    host: str = "http://127.0.0.1:11434"
    model: str = "triage"
    base_model: str = "devstral-small:latest"
    keep_alive: str = "30m"
    num_parallel: int = Field(default=1, ge=1, le=64)
    flash_attention: bool = False
    kv_cache_type: Literal["f16", "q8_0", "q4_0"] = "f16"
    timeout_seconds: float = Field(default=300.0, gt=0)


class LlmConfig(_Section):
    """What every backend shares; the backend-specific keys live in [ollama], [openai] and
    [llamacpp]."""

    backend: Literal["ollama", "openai", "llamacpp"] = "ollama"
    gpu: str = ""
    temperature: float = Field(default=0.1, ge=0.0, le=2.0)
    system_prompt: str = ""
    task_prompt: str = "Analyze my background email triage."


# Keys that moved from [ollama] to [llm]: the old spelling still loads, with a note.
MOVED_TO_LLM = ("temperature", "system_prompt", "task_prompt")


class OpenAIConfig(_Section):
    base_url: str = "http://127.0.0.1:8000/v1"
    model: str = "mistralai/Devstral-Small-2507"
    api_key_env: str = "OPENAI_API_KEY"
    timeout_seconds: float = Field(default=300.0, gt=0)


class LlamaCppConfig(_Section):
    """llama.cpp in this process (`[llm] backend = "llamacpp"`, the `llamacpp` extra)."""

    # A .gguf path, or an Ollama model name whose weights blob is loaded from disk.
    model: str = "devstral-small:latest"
    ollama_models: ConfigPath | None = None
    gpu_layers: int = Field(default=-1, ge=-1)
    flash_attention: bool = False
    kv_cache_type: Literal["f16", "q8_0", "q4_0"] = "f16"
    threads: int = Field(default=0, ge=0)
    timeout_seconds: float = Field(default=300.0, gt=0)

    @field_validator("ollama_models", mode="after")
    @classmethod
    def _expand_models(cls, value: Path | None) -> Path | None:
        return value.expanduser() if value is not None else None


class WhisperxConfig(_Section):
    asr_backend: Literal["whisperx", "openai"] = "whisperx"
    remote_url: str = "http://127.0.0.1:8001/v1"
    remote_model: str = "openai/whisper-large-v3"
    remote_api_key_env: str = "OPENAI_API_KEY"
    model: str = "large-v3"
    model_dir: ConfigPath | None = None
    device: Literal["auto", "cuda", "cpu"] = "auto"
    gpu: str = ""
    compute_type: Literal["float16", "int8_float16", "int8", "float32"] = "float16"
    batch_size: int = Field(default=2, ge=1, le=256)
    language: str = ""
    task: Literal["transcribe", "translate"] = "transcribe"
    initial_prompt: str = ""
    vad_method: Literal["pyannote", "silero"] = "pyannote"
    vad_onset: float = Field(default=0.5, gt=0, lt=1)
    vad_offset: float = Field(default=0.363, gt=0, lt=1)
    chunk_size: int = Field(default=30, ge=1, le=30)
    align: bool = True
    align_model: str = ""
    interpolate_method: Literal["nearest", "linear", "ignore"] = "nearest"
    return_char_alignments: bool = False
    diarize: bool = True
    min_speakers: int | None = Field(default=None, ge=1)
    max_speakers: int | None = Field(default=None, ge=1)
    diarize_model: str = "pyannote/speaker-diarization-community-1"
    hf_token_env: str = "HF_TOKEN"
    threads: int = Field(default=0, ge=0)
    output_formats: list[Literal["srt", "vtt", "txt", "tsv", "json", "aud", "all"]] = Field(
        default_factory=lambda: ["all"]
    )
    highlight_words: bool = False
    max_line_width: int | None = Field(default=None, ge=1)
    max_line_count: int | None = Field(default=None, ge=1)
    file_patterns: list[str] = Field(
        default_factory=lambda: ["*.wav", "*.mp3", "*.m4a", "*.flac", "*.ogg", "*.opus",
                                 "*.webm", "*.mp4", "*.mkv"]
    )
    recursive: bool = False
    stable_seconds: float = Field(default=2.0, ge=0)
    idle_unload_seconds: int = Field(default=0, ge=0)


class BudgetConfig(_Section):
    gpu_gib: float = Field(default=0.0, ge=0)
    num_ctx: int = Field(default=8192, ge=256)
    headroom_gib: float = Field(default=2.0, ge=0)
    warn_headroom_gib: float = Field(default=1.0, ge=0)
    email_tokens: int = Field(default=550, ge=16)
    generation_reserve_tokens: int = Field(default=2048, ge=0)
    fallback_gpu_gib: float = Field(default=24.0, gt=0)


class SummariesConfig(_Section):
    """Meeting summaries by the triage LLM (same server, same num_ctx, the one slot)."""

    # None: on when the config file sets up an LLM (an [llm], [ollama], [openai] or
    # [llamacpp] section, or IMAP triage); true or false decides.
    enabled: bool | None = None


class Config(_Section):
    paths: PathsConfig = Field(default_factory=PathsConfig)
    imap: ImapConfig = Field(default_factory=ImapConfig)
    llm: LlmConfig = Field(default_factory=LlmConfig)
    ollama: OllamaConfig = Field(default_factory=OllamaConfig)
    openai: OpenAIConfig = Field(default_factory=OpenAIConfig)
    llamacpp: LlamaCppConfig = Field(default_factory=LlamaCppConfig)
    whisperx: WhisperxConfig = Field(default_factory=WhisperxConfig)
    budget: BudgetConfig = Field(default_factory=BudgetConfig)
    summaries: SummariesConfig = Field(default_factory=SummariesConfig)
    keymap: dict[str, str] = Field(default_factory=dict)

    source: Path | None = Field(default=None, exclude=True)
    # One line per deprecated spelling the file used: "<file>: [old] key is deprecated; ...".
    deprecations: list[str] = Field(default_factory=list, exclude=True)


    @property
    def summaries_enabled(self) -> bool:
        """`[summaries] enabled`, or, unset, whether this config sets up an LLM."""
        if self.summaries.enabled is not None:
            return self.summaries.enabled
        llm_sections = {"llm", "ollama", "openai", "llamacpp"}
        return bool(llm_sections & self.model_fields_set) or self.imap.enabled


# Set by the loader, never read from a file.
_LOADER_FIELDS = ("source", "deprecations")


def _format_validation_error(error: ValidationError, path: Path) -> str:
    lines = [f"{path}: invalid configuration"]
    for problem in error.errors():
        key = ".".join(str(part) for part in problem["loc"])
        if problem["type"] == "extra_forbidden":
            lines.append(f"  {key}: unknown key")
        else:
            lines.append(f"  {key}: {problem['msg']} (got {problem.get('input')!r})")
    return "\n".join(lines)


def _move_deprecated_keys(data: dict[str, Any], path: Path) -> tuple[dict[str, Any], list[str]]:
    """`data` with [ollama] temperature/system_prompt/task_prompt moved to [llm], and a note
    for each; both spellings with different values is an error naming both."""
    ollama = data.get("ollama")
    if not isinstance(ollama, dict) or not any(key in ollama for key in MOVED_TO_LLM):
        return data, []
    llm = data.get("llm", {})
    if not isinstance(llm, dict):
        return data, []  # validation names the broken [llm]
    ollama, llm = dict(ollama), dict(llm)
    notes = []
    for key in MOVED_TO_LLM:
        if key not in ollama:
            continue
        value = ollama.pop(key)
        if key in llm and llm[key] != value:
            raise ConfigError(
                f"{path}: invalid configuration\n  [ollama] {key} = {value!r} and [llm] {key} "
                f"= {llm[key]!r} disagree: [ollama] {key} is deprecated, keep only [llm] {key}")
        llm[key] = value
        notes.append(f"{path}: [ollama] {key} is deprecated; use [llm] {key}")
    return {**data, "ollama": ollama, "llm": llm}, notes


def parse_config(data: dict[str, Any], path: Path) -> Config:
    for name in _LOADER_FIELDS:
        if name in data:
            raise ConfigError(f"{path}: invalid configuration\n  {name}: unknown key")
    data, notes = _move_deprecated_keys(data, path)
    try:
        config = Config.model_validate(data)
    except ValidationError as error:
        raise ConfigError(_format_validation_error(error, path)) from None
    config.source = path
    config.deprecations = notes
    return config


def load_config_file(path: Path) -> Config:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found") from None
    except OSError as error:
        raise ConfigError(f"{path}: cannot read config file: {error.strerror}") from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: config file is not UTF-8") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: not valid TOML: {error}") from None
    return parse_config(data, path)


def resolve_config_path(explicit: Path | None = None) -> Path | None:
    """The file to load, or None when no file exists and defaults apply."""
    if explicit is not None:
        return explicit
    from_env = os.environ.get(CONFIG_ENV_VAR)
    if from_env:
        return Path(from_env).expanduser()
    default = user_config_file()
    return default if default.exists() else None


def load_config(explicit: Path | None = None) -> Config:
    path = resolve_config_path(explicit)
    if path is None:
        return Config()
    return load_config_file(path)
