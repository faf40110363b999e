"""WhisperX options, mirroring the `whisperx` CLI flag for flag (same names, same defaults).

Plain data so it crosses into the WhisperX worker process; secrets (the HF token) are
resolved from the environment inside the worker and never stored here.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from tui.config import WhisperxConfig

ALL_FORMATS = ("srt", "vtt", "txt", "tsv", "json", "aud")
# whisperx's "all" writes these five; Audacity labels (aud) only when asked for by name.
_ALL_EXPANDS_TO = ("txt", "vtt", "srt", "tsv", "json")


@dataclass(frozen=True)
class TranscribeOptions:
    asr_backend: str = "whisperx"
    remote_url: str = ""
    remote_model: str = ""
    remote_api_key_env: str = "OPENAI_API_KEY"
    model: str = "large-v3"
    model_dir: str | None = None
    device: str = "auto"
    # The card: nvidia-smi's index or a UUID; "" leaves CUDA's own choice.
    gpu: str = ""
    compute_type: str = "float16"
    batch_size: int = 8
    language: str | None = None
    task: str = "transcribe"
    initial_prompt: str | None = None
    hotwords: str | None = None
    vad_method: str = "pyannote"
    vad_onset: float = 0.5
    vad_offset: float = 0.363
    chunk_size: int = 30
    align: bool = True
    align_model: str | None = None
    interpolate_method: str = "nearest"
    return_char_alignments: bool = False
    diarize: bool = True
    min_speakers: int | None = None
    max_speakers: int | None = None
    diarize_model: str = "pyannote/speaker-diarization-community-1"
    hf_token_env: str = "HF_TOKEN"
    threads: int = 0
    # Decoding, as the whisperx CLI's defaults.
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
    # Outputs.
    output_formats: tuple[str, ...] = ("all",)
    highlight_words: bool = False
    max_line_width: int | None = None
    max_line_count: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_config(cls, config: WhisperxConfig) -> TranscribeOptions:
        return cls(
            asr_backend=config.asr_backend,
            remote_url=config.remote_url,
            remote_model=config.remote_model,
            remote_api_key_env=config.remote_api_key_env,
            model=config.model,
            model_dir=str(config.model_dir) if config.model_dir else None,
            device=config.device,
            gpu=config.gpu,
            compute_type=config.compute_type,
            batch_size=config.batch_size,
            language=config.language or None,
            task=config.task,
            initial_prompt=config.initial_prompt or None,
            vad_method=config.vad_method,
            vad_onset=config.vad_onset,
            vad_offset=config.vad_offset,
            chunk_size=config.chunk_size,
            align=config.align and config.task != "translate",
            align_model=config.align_model or None,
            interpolate_method=config.interpolate_method,
            return_char_alignments=config.return_char_alignments,
            diarize=config.diarize,
            min_speakers=config.min_speakers,
            max_speakers=config.max_speakers,
            diarize_model=config.diarize_model,
            hf_token_env=config.hf_token_env,
            threads=config.threads,
            output_formats=tuple(config.output_formats),
            highlight_words=config.highlight_words,
            max_line_width=config.max_line_width,
            max_line_count=config.max_line_count,
        )

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
