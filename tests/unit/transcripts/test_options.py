"""One source for WhisperX option defaults: `TranscribeOptions()`, the options a default
`[whisperx]` section gives, and `triage-tui transcribe` without flags are the same options,
field by field; and a key added to the config or the options cannot drift unnoticed."""

from __future__ import annotations

import argparse
from dataclasses import fields
from pathlib import Path

import pytest

from tui.cli import build_parser
from tui.commands.transcribe import options_from_args
from tui.config import Config, WhisperxConfig
from tui.transcripts.options import TranscribeOptions

OPTION_FIELDS = [f.name for f in fields(TranscribeOptions)]
# [whisperx] keys about the drop folder and the worker's lifetime, not about a transcription.
NOT_TRANSCRIPTION_OPTIONS = {"file_patterns", "recursive", "stable_seconds",
                             "idle_unload_seconds"}
# Options the config has no key for: the whisperx CLI's decoding defaults, flags only.
NO_CONFIG_KEY = {"hotwords", "temperature", "temperature_increment_on_fallback", "beam_size",
                 "best_of", "patience", "length_penalty", "suppress_tokens",
                 "suppress_numerals", "compression_ratio_threshold", "logprob_threshold",
                 "no_speech_threshold", "extra"}
SHARED = sorted(set(OPTION_FIELDS) & set(WhisperxConfig.model_fields))

# Every shared key set away from its default.
CHANGED = WhisperxConfig(
    asr_backend="openai", remote_url="http://gpu-box:9000/v1", remote_model="whisper-x",
    remote_api_key_env="ASR_KEY", model="tiny.en", model_dir=Path("/models"), device="cpu",
    gpu="1", compute_type="int8", batch_size=5, language="de", task="translate",
    initial_prompt="Minutes:", vad_method="silero", vad_onset=0.4, vad_offset=0.3,
    chunk_size=20, align=False, align_model="wav2vec2-de", interpolate_method="linear",
    return_char_alignments=True, diarize=False, min_speakers=2, max_speakers=3,
    diarize_model="pyannote/other", hf_token_env="HF_OTHER", threads=3,
    output_formats=["srt"], highlight_words=True, max_line_width=40, max_line_count=2,
)


def cli_args(*flags: str) -> argparse.Namespace:
    return build_parser().parse_args(["transcribe", "talk.wav", *flags])


def test_the_config_and_the_options_share_exactly_the_transcription_keys() -> None:
    config_only = set(WhisperxConfig.model_fields) - set(OPTION_FIELDS)
    options_only = set(OPTION_FIELDS) - set(WhisperxConfig.model_fields)
    # A new [whisperx] key, or a new option, must be placed on one side of this line.
    assert config_only == NOT_TRANSCRIPTION_OPTIONS
    assert options_only == NO_CONFIG_KEY


@pytest.mark.parametrize("name", OPTION_FIELDS)
def test_defaults_agree_field_by_field(name: str) -> None:
    built = getattr(TranscribeOptions(), name)
    from_config = getattr(TranscribeOptions.from_config(WhisperxConfig()), name)
    from_cli = getattr(options_from_args(Config(), cli_args()), name)
    assert built == from_config == from_cli, (
        f"{name}: TranscribeOptions() {built!r}, from_config {from_config!r}, "
        f"transcribe without flags {from_cli!r}")


@pytest.mark.parametrize("name", SHARED)
def test_every_shared_key_is_read_from_the_config(name: str) -> None:
    default = getattr(TranscribeOptions(), name)
    configured = getattr(TranscribeOptions.from_config(CHANGED), name)
    assert configured != default, f"[whisperx] {name} does not reach the options"
    assert getattr(options_from_args(Config(whisperx=CHANGED), cli_args()), name) == configured


def test_the_documented_defaults_behind_the_shared_keys() -> None:
    options = TranscribeOptions()
    assert options.batch_size == WhisperxConfig().batch_size == 2
    assert (options.beam_size, options.best_of, options.temperatures()[:2]) == (5, 5, (0.0, 0.2))


def test_flags_override_the_config() -> None:
    options = options_from_args(Config(whisperx=CHANGED),
                                cli_args("--batch_size", "7", "--beam-size", "2", "--no-diarize",
                                         "--output_format", "json", "--device_index", "0"))
    assert (options.batch_size, options.beam_size, options.diarize) == (7, 2, False)
    assert options.output_formats == ("json",) and options.gpu == "0"
    assert options.model == "tiny.en"
