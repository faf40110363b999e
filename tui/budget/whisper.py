"""WhisperX's GPU memory: Whisper weights under CTranslate2, batch activations, alignment
and diarization models, per model size and compute type.

Weights are parameters × measured bytes per parameter. Activations are an empirical model,
`workspace + per_chunk × batch_size`, scaled by the decoder's state (d_model × decoder
layers); both constants come from `bench/whisper_memory.py` on a GPU.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from tui.budget.units import MIB


@dataclass(frozen=True)
class WhisperSpec:
    name: str
    parameters: int
    d_model: int
    encoder_layers: int
    decoder_layers: int
    heads: int
    n_mels: int


WHISPER_MODELS: dict[str, WhisperSpec] = {
    spec.name: spec
    for spec in (
        # Parameters counted from openai/whisper's model.py at these dimensions.
        WhisperSpec("tiny", 37_200_000, 384, 4, 4, 6, 80),
        WhisperSpec("base", 71_800_000, 512, 6, 6, 8, 80),
        WhisperSpec("small", 240_600_000, 768, 12, 12, 12, 80),
        WhisperSpec("medium", 762_300_000, 1024, 24, 24, 16, 80),
        WhisperSpec("large-v1", 1_541_400_000, 1280, 32, 32, 20, 80),
        WhisperSpec("large-v2", 1_541_400_000, 1280, 32, 32, 20, 80),
        WhisperSpec("large-v3", 1_541_600_000, 1280, 32, 32, 20, 128),
        WhisperSpec("large-v3-turbo", 807_000_000, 1280, 32, 4, 20, 128),
        WhisperSpec("distil-large-v3", 754_500_000, 1280, 32, 2, 20, 128),
    )
}
_ALIASES = {
    "large": "large-v3",
    "turbo": "large-v3-turbo",
    "tiny.en": "tiny",
    "base.en": "base",
    "small.en": "small",
    "medium.en": "medium",
}


class ComputeType(str, Enum):
    """CTranslate2 compute types whisperx exposes (`--compute_type`)."""

    FLOAT16 = "float16"
    INT8_FLOAT16 = "int8_float16"
    INT8 = "int8"
    FLOAT32 = "float32"

    @property
    def weight_bytes_per_parameter(self) -> float:
        # Measured on the GPU (bench/GPU-RESULTS.md): CTranslate2 holds ~2.44 B per parameter
        # for float16 weights and ~1.22 B for int8_float16 (allocator blocks, float copies of
        # norms/embeddings); rounded up. On CUDA "int8" runs as int8_float16.
        return {"float16": 2.5, "int8_float16": 1.26, "int8": 1.26, "float32": 5.0}[self.value]

    @property
    def activation_bytes(self) -> int:
        # On CUDA, CTranslate2 runs "int8" as int8_float16: activations stay in half precision.
        return 4 if self is ComputeType.FLOAT32 else 2


# Calibration: measured on an H100 (bench/GPU-RESULTS.md, 2026-11-25) with random-weight
# models of the real shapes, beam 5, every hypothesis decoded to CTranslate2's 224-token
# limit (the worst case: noise and music make Whisper do exactly that). large-v3 needs
# 532–564 MiB more per 30 s chunk from batch 8 to 32 and nearly no fixed workspace; these
# constants plan every measured configuration 1–20 % above its peak. faster-whisper's
# published real-speech numbers (224 MiB per chunk) show typical files need less.
_REFERENCE = WHISPER_MODELS["large-v2"]
_REFERENCE_WORKSPACE_BYTES = 128 * MIB
_REFERENCE_PER_CHUNK_BYTES = 600 * MIB

# Alignment: torchaudio WAV2VEC2_ASR_BASE_960H (English, ~94.4 M params) or a
# wav2vec2-large-xlsr-53 fine-tune (~315 M params) for other languages, loaded in float32.
ALIGN_PARAMETERS = {"english": 94_400_000, "other": 315_400_000}
_ALIGN_ACTIVATION_BYTES = 256 * MIB
# Voice activity detection (whisperx's default, pyannote segmentation under PyTorch on the
# card), measured on an H200 (bench/README.md, 2026-12-03): a VAD stage peaks at 444 MiB
# reserved whether the file is 15 s or 320 s long (pyannote's windows go in batches of at
# most 32); the worker gives it back before the next Whisper batch, so it is a stage of its
# own (a small model at batch 1 needs less for Whisper than this). Between stages PyTorch
# keeps 54 MiB (the model), inside the WhisperX CUDA context line's measured margin.
_VAD_ACTIVATION_BYTES = 448 * MIB
# Diarization (pyannote): segmentation (~1.5 M) + WeSpeaker ResNet34 embedding (~6.6 M),
# float32; activations dominate, batch 32 embedding windows.
DIARIZE_PARAMETERS = 8_100_000
_DIARIZE_ACTIVATION_BYTES = 512 * MIB


class UnknownWhisperModel(ValueError):
    pass


def whisper_spec(name: str) -> WhisperSpec:
    key = _ALIASES.get(name, name)
    key = key.removeprefix("faster-whisper-").removeprefix("openai/whisper-")
    if key not in WHISPER_MODELS:
        known = ", ".join(WHISPER_MODELS)
        raise UnknownWhisperModel(f"unknown Whisper model {name!r}; known: {known}")
    return WHISPER_MODELS[key]


def whisper_spec_matching(text: str) -> WhisperSpec | None:
    """The known model a path or repository name mentions (`.../faster-whisper-large-v3`)."""
    lowered = text.lower()
    for key in sorted(WHISPER_MODELS, key=len, reverse=True):
        if key in lowered:
            return WHISPER_MODELS[key]
    for alias, key in _ALIASES.items():
        if alias in lowered:
            return WHISPER_MODELS[key]
    return None


def nearest_whisper_spec(parameters: int) -> WhisperSpec:
    """The known shape closest in size, for a local model directory with no known name."""
    return min(WHISPER_MODELS.values(), key=lambda spec: abs(spec.parameters - parameters))


def whisper_weights_bytes(spec: WhisperSpec, compute_type: ComputeType) -> int:
    return int(spec.parameters * compute_type.weight_bytes_per_parameter)


def _decoder_state_ratio(spec: WhisperSpec) -> float:
    return (spec.d_model * spec.decoder_layers) / (_REFERENCE.d_model * _REFERENCE.decoder_layers)


def _encoder_ratio(spec: WhisperSpec) -> float:
    return (spec.d_model * spec.encoder_layers) / (_REFERENCE.d_model * _REFERENCE.encoder_layers)


def asr_activation_bytes(spec: WhisperSpec, compute_type: ComputeType, batch_size: int) -> int:
    if batch_size <= 0:
        raise ValueError(f"batch_size must be positive, got {batch_size}")
    precision = compute_type.activation_bytes / 2
    workspace = _REFERENCE_WORKSPACE_BYTES * _encoder_ratio(spec) * precision
    per_chunk = _REFERENCE_PER_CHUNK_BYTES * _decoder_state_ratio(spec) * precision
    # The encoder's share of a chunk (one layer's attention scores at a time) does not
    # shrink with the decoder, so a decoder-light model such as turbo keeps a floor.
    per_chunk = max(per_chunk, _REFERENCE_PER_CHUNK_BYTES * 0.25 * _encoder_ratio(spec) * precision)
    return int(workspace + per_chunk * batch_size)


def vad_activation_bytes() -> int:
    return _VAD_ACTIVATION_BYTES


def align_weights_bytes(language: str | None) -> int:
    params = ALIGN_PARAMETERS["english" if language in (None, "en") else "other"]
    return params * 4


def align_activation_bytes() -> int:
    return _ALIGN_ACTIVATION_BYTES


def diarize_weights_bytes() -> int:
    return DIARIZE_PARAMETERS * 4


def diarize_activation_bytes() -> int:
    return _DIARIZE_ACTIVATION_BYTES
