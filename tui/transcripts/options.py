"""WhisperX options: what one transcription runs with, flag for flag as the `whisperx` CLI
names them.

Plain data so it crosses into the WhisperX worker process; secrets (the HF token) are
resolved from the environment inside the worker and never stored here.

One source for defaults: every option `[whisperx]` has a key for takes its default from
`WhisperxConfig`'s (through `_from_config_section(WhisperxConfig())`), so
`TranscribeOptions()`, `TranscribeOptions.from_config(WhisperxConfig())` and `triage-tui
transcribe` without flags agree. Only the decoding options the config has no key for keep
the whisperx CLI's own defaults (beam 5, best of 5, the temperature fallback, ...).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from tui.config import WhisperxConfig

# whisperx's "all" writes these five; Audacity labels (aud) only when asked for by name.
_ALL_EXPANDS_TO = ("txt", "vtt", "srt", "tsv", "json")


def _from_config_section(config: WhisperxConfig) -> dict[str, Any]:
    """The options a `[whisperx]` section sets, in TranscribeOptions' terms ("" is None)."""
    return {
        "asr_backend": config.asr_backend,
        "remote_url": config.remote_url,
        "remote_model": config.remote_model,
        "remote_api_key_env": config.remote_api_key_env,
        "model": config.model,
        "model_dir": str(config.model_dir) if config.model_dir else None,
        "device": config.device,
        "gpu": config.gpu,
        "compute_type": config.compute_type,
        "batch_size": config.batch_size,
        "language": config.language or None,
        "task": config.task,
        "initial_prompt": config.initial_prompt or None,
        "vad_method": config.vad_method,
        "vad_onset": config.vad_onset,
        "vad_offset": config.vad_offset,
        "chunk_size": config.chunk_size,
        "align": config.align and config.task != "translate",
        "align_model": config.align_model or None,
        "interpolate_method": config.interpolate_method,
        "return_char_alignments": config.return_char_alignments,
        "diarize": config.diarize,
        "min_speakers": config.min_speakers,
        "max_speakers": config.max_speakers,
        "diarize_model": config.diarize_model,
        "hf_token_env": config.hf_token_env,
        "threads": config.threads,
        "output_formats": tuple(config.output_formats),
        "highlight_words": config.highlight_words,
        "max_line_width": config.max_line_width,
        "max_line_count": config.max_line_count,
    }


# The defaults of every option the config has a key for: the config's own defaults.
_CONFIG_DEFAULTS = _from_config_section(WhisperxConfig())


@dataclass(frozen=True)
class TranscribeOptions:
    # From [whisperx]: defaults are WhisperxConfig's.
    asr_backend: str = _CONFIG_DEFAULTS["asr_backend"]
    remote_url: str = _CONFIG_DEFAULTS["remote_url"]
    remote_model: str = _CONFIG_DEFAULTS["remote_model"]
    remote_api_key_env: str = _CONFIG_DEFAULTS["remote_api_key_env"]
    model: str = _CONFIG_DEFAULTS["model"]
    model_dir: str | None = _CONFIG_DEFAULTS["model_dir"]
    device: str = _CONFIG_DEFAULTS["device"]
    # The card: nvidia-smi's index or a UUID; "" leaves CUDA's own choice.
    gpu: str = _CONFIG_DEFAULTS["gpu"]
    compute_type: str = _CONFIG_DEFAULTS["compute_type"]
    batch_size: int = _CONFIG_DEFAULTS["batch_size"]
    language: str | None = _CONFIG_DEFAULTS["language"]
    task: str = _CONFIG_DEFAULTS["task"]
    initial_prompt: str | None = _CONFIG_DEFAULTS["initial_prompt"]
    vad_method: str = _CONFIG_DEFAULTS["vad_method"]
    vad_onset: float = _CONFIG_DEFAULTS["vad_onset"]
    vad_offset: float = _CONFIG_DEFAULTS["vad_offset"]
    chunk_size: int = _CONFIG_DEFAULTS["chunk_size"]
    align: bool = _CONFIG_DEFAULTS["align"]
    align_model: str | None = _CONFIG_DEFAULTS["align_model"]
    interpolate_method: str = _CONFIG_DEFAULTS["interpolate_method"]
    return_char_alignments: bool = _CONFIG_DEFAULTS["return_char_alignments"]
    diarize: bool = _CONFIG_DEFAULTS["diarize"]
    min_speakers: int | None = _CONFIG_DEFAULTS["min_speakers"]
    max_speakers: int | None = _CONFIG_DEFAULTS["max_speakers"]
    diarize_model: str = _CONFIG_DEFAULTS["diarize_model"]
    hf_token_env: str = _CONFIG_DEFAULTS["hf_token_env"]
    threads: int = _CONFIG_DEFAULTS["threads"]
    output_formats: tuple[str, ...] = _CONFIG_DEFAULTS["output_formats"]
    highlight_words: bool = _CONFIG_DEFAULTS["highlight_words"]
    max_line_width: int | None = _CONFIG_DEFAULTS["max_line_width"]
    max_line_count: int | None = _CONFIG_DEFAULTS["max_line_count"]
    # No [whisperx] key: the whisperx CLI's defaults (flags of `triage-tui transcribe` only).
    hotwords: str | None = None
    temperature: float = 0.0
    temperature_increment_on_fallback: float | None = 0.2
    beam_size: int = 5
    best_of: int = 5
    patience: float = 1.0
    length_penalty: float = 1.0
    suppress_tokens: str = "-1"
    suppress_numerals: bool = False
    compression_ratio_threshold: float = 2.4
    logprob_threshold: float = -1.0
    no_speech_threshold: float = 0.6
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_config(cls, config: WhisperxConfig) -> TranscribeOptions:
        return cls(**_from_config_section(config))

    def with_overrides(self, **overrides: Any) -> TranscribeOptions:
        known = {f.name for f in fields(self)}
        unknown = set(overrides) - known
        if unknown:
            raise ValueError(f"unknown transcription options: {', '.join(sorted(unknown))}")
        return replace(self, **{k: v for k, v in overrides.items() if v is not None})

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def formats(self) -> tuple[str, ...]:
        expanded: list[str] = []
        for name in self.output_formats:
            for output_format in (_ALL_EXPANDS_TO if name == "all" else (name,)):
                if output_format not in expanded:
                    expanded.append(output_format)
        return tuple(expanded)

    @property
    def effective_language(self) -> str | None:
        # English-only checkpoints force English, as the CLI does.
        if self.model.endswith(".en") or Path(self.model).name.endswith(".en"):
            return "en"
        return self.language

    def temperatures(self) -> tuple[float, ...]:
        if self.temperature_increment_on_fallback is None:
            return (self.temperature,)
        # Exactly numpy.arange(t, 1.0 + 1e-6, step), which the whisperx CLI uses: the same
        # floats give the same fallback schedule.
        step = self.temperature_increment_on_fallback
        count = math.ceil((1.0 + 1e-6 - self.temperature) / step)
        return tuple(self.temperature + i * step for i in range(max(count, 0)))

    def asr_options(self) -> dict[str, Any]:
        """The `asr_options` the whisperx CLI builds from the same flags."""
        return {
            "beam_size": self.beam_size,
            "best_of": self.best_of,
            "patience": self.patience,
            "length_penalty": self.length_penalty,
            "temperatures": list(self.temperatures()),
            "compression_ratio_threshold": self.compression_ratio_threshold,
            "log_prob_threshold": self.logprob_threshold,
            "no_speech_threshold": self.no_speech_threshold,
            "condition_on_previous_text": False,
            "initial_prompt": self.initial_prompt,
            "hotwords": self.hotwords,
            "suppress_tokens": [int(x) for x in self.suppress_tokens.split(",")],
            "suppress_numerals": self.suppress_numerals,
        }

    def writer_args(self) -> dict[str, Any]:
        return {"highlight_words": self.highlight_words, "max_line_count": self.max_line_count,
                "max_line_width": self.max_line_width}


def after_out_of_memory(options: TranscribeOptions,
                        configured_batch_size: int) -> TranscribeOptions | None:
    """What to retry with after CUDA ran out of memory: half the batch; at batch 1, int8
    weights (about half of float16) at the configured batch again; None when nothing
    smaller is left."""
    if options.batch_size > 1:
        return replace(options, batch_size=options.batch_size // 2)
    if options.device != "cpu" and not options.compute_type.startswith("int8"):
        return replace(options, compute_type="int8_float16",
                       batch_size=max(1, configured_batch_size))
    return None
