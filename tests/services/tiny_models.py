"""Tiny, randomly initialised models of the right architecture for whisperx's extra stages.

Neither whisperx's alignment model (a wav2vec2 CTC model from torchaudio or the HF hub) nor
pyannote's diarization pipeline (pyannote/speaker-diarization-community-1) can be downloaded
here, so tests build stand-ins locally, in a second or two:

* :func:`tiny_align_model_dir` saves a ``transformers.Wav2Vec2ForCTC`` (wav2vec2-base-960h's
  conv stack, so 320x downsampling / 20 ms frames, with a tiny transformer) and its
  ``Wav2Vec2Processor`` to a directory that ``whisperx.load_align_model(..., model_name=dir)``
  loads through its Hugging Face branch.
* :func:`tiny_diarization_pipeline` wires a ``PyanNet`` segmentation model and a
  ``WeSpeakerResNet34``-style embedding model (both random) and a random PLDA into a real
  ``pyannote.audio.pipelines.SpeakerDiarization``, with community-1's default VBx clustering.
* :func:`whisperx_diarization_from` wraps such a pipeline in a
  ``whisperx.diarize.DiarizationPipeline`` without its ``from_pretrained`` call.
* :func:`ensure_offline_punkt` provides the NLTK ``punkt_tab`` data that ``whisperx.align``
  needs and otherwise tries to download (and fails, offline).

With random weights, every *value* (alignment times, speaker labels, speech regions) is
arbitrary; what tests can rely on is *structure*.  The invariants are documented on each
function and checked by ``tests/services/test_speech_and_tiny_models.py``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import torch

if TYPE_CHECKING:  # heavy imports stay lazy: importing this module must be cheap
    from pyannote.audio import Model, Pipeline
    from pyannote.audio.core.plda import PLDA
    from pyannote.audio.pipelines import SpeakerDiarization
    from whisperx.diarize import DiarizationPipeline

# --------------------------------------------------------------------------------------
# NLTK punkt_tab, needed by whisperx.align
# --------------------------------------------------------------------------------------

# A few abbreviations, so that "Dr. Smith" stays one sentence like with the real model.
_PUNKT_ABBREVIATIONS = ("dr", "mr", "mrs", "ms", "prof", "st", "vs", "etc", "e.g", "i.e", "inc")


def ensure_offline_punkt(root: Path) -> Path | None:
    """Make ``tokenizers/punkt_tab/english`` findable by NLTK without a download.

    ``whisperx.align`` splits every segment into sentences with
    ``nltk.data.load("tokenizers/punkt_tab/english.pickle")`` and, on ``LookupError``, calls
    ``nltk.download("punkt_tab")``, which fails offline and then re-raises ``LookupError``.
    If NLTK already finds a real punkt_tab, nothing is written; otherwise a minimal model
    (no collocations or sentence starters, a few abbreviations) is written under ``root``
    and ``root`` is put first on ``nltk.data.path``.  Untrained Punkt still splits on
    ``. `` + capital letter, which is all whisperx's sentence-level segments need.
    Returns ``root`` when it wrote the stand-in, ``None`` when real data was found.
    ``nltk.data.path`` is process-global, so the stand-in stays in use for the rest of the
    process: keep ``root`` alive that long (a session- or module-scoped tmp dir).
    """
    import nltk

    try:
        nltk.data.find("tokenizers/punkt_tab/english/")
        return None
    except LookupError:
        pass
    lang_dir = root / "tokenizers" / "punkt_tab" / "english"
    lang_dir.mkdir(parents=True, exist_ok=True)
    # The four files nltk.tokenize.punkt.load_punkt_params reads; empty ones are valid.
    (lang_dir / "collocations.tab").write_text("")
    (lang_dir / "sent_starters.txt").write_text("")
    (lang_dir / "abbrev_types.txt").write_text("\n".join(_PUNKT_ABBREVIATIONS) + "\n")
    (lang_dir / "ortho_context.tab").write_text("")
    if str(root) not in nltk.data.path:
        nltk.data.path.insert(0, str(root))
    nltk.data.find("tokenizers/punkt_tab/english/")  # fail here, not inside whisperx.align
    return root


@contextmanager
def _seeded(seed: int) -> Iterator[None]:
    # Random init draws from torch's global RNG; fork it so building a tiny model neither
    # depends on nor perturbs the RNG state of the test that calls us.
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield


# --------------------------------------------------------------------------------------
# Alignment: wav2vec2 CTC model loadable by whisperx.load_align_model
# --------------------------------------------------------------------------------------

#: facebook/wav2vec2-base-960h's vocab.json, in id order (the default English HF-style model;
#: torchaudio's WAV2VEC2_ASR_BASE_960H, whisperx's default for "en", has the same labels).
WAV2VEC2_960H_VOCAB: tuple[str, ...] = (
    "<pad>", "<s>", "</s>", "<unk>", "|",
    "E", "T", "A", "O", "N", "I", "H", "S", "R", "D", "L", "U", "M", "W", "C", "F", "G",
    "Y", "P", "B", "V", "K", "'", "X", "J", "Q", "Z",
)

#: wav2vec2-base's feature encoder: 7 conv layers, total stride 5*2^6 = 320 samples
#: (20 ms at 16 kHz), receptive field 400 samples.  Kept so frame timing matches real models;
#: only the channel count is shrunk.
_W2V2_CONV_KERNEL = (10, 3, 3, 3, 3, 2, 2)
_W2V2_CONV_STRIDE = (5, 2, 2, 2, 2, 2, 2)


def tiny_align_model_dir(tmp: Path, *, hidden_size: int = 32, num_layers: int = 2,
                         seed: int = 0) -> Path:
    """Save a random tiny ``Wav2Vec2ForCTC`` + ``Wav2Vec2Processor`` under ``tmp``; return the dir.

    Load it exactly like a hub model::

        model, metadata = whisperx.load_align_model("en", "cpu", model_name=str(path))

    whisperx (alignment.py, 3.8.6) takes the Hugging Face branch for any ``model_name`` that
    is not a ``torchaudio.pipelines`` bundle name, calls
    ``Wav2Vec2Processor.from_pretrained(name, cache_dir=model_dir, local_files_only=...)`` and
    ``Wav2Vec2ForCTC.from_pretrained(...)``: both accept a local directory, so no hub access
    (and no ``model_cache_only``) is needed.  ``metadata`` is
    ``{"language": "en", "dictionary": {lowercased token: id}, "type": "huggingface"}``;
    whisperx uses the ``"<pad>"`` entry as the CTC blank and maps spaces to ``"|"``.

    Invariants of ``whisperx.align`` with this model (values are arbitrary, structure is not):

    * one or more output segments per input segment (one per Punkt sentence), each with
      ``start``, ``end``, ``text`` and a ``words`` list; ``result["word_segments"]`` is the
      concatenation of all ``words``;
    * within a segment, words appear in text order and their ``word`` strings, joined by
      spaces, equal the segment's words;
    * every word with a ``start`` also has an ``end`` and a ``score`` in [0, 1], and
      ``seg.start <= word.start <= word.end <= seg.end`` (to the 1 ms whisperx rounds to),
      all inside the input segment's bounds;
    * a word with no alignable character (e.g. digits only) gets times from its neighbours
      via ``interpolate_method`` ("nearest"), so it may have no ``score``.
    If CTC backtracking fails, whisperx keeps the input segment with ``words == []``; with
    these random weights it does not fail (the trellis always reaches the last token), but
    tests should allow for it.
    """
    from transformers import (
        Wav2Vec2Config,
        Wav2Vec2CTCTokenizer,
        Wav2Vec2FeatureExtractor,
        Wav2Vec2ForCTC,
        Wav2Vec2Processor,
    )

    out = Path(tmp) / "tiny-wav2vec2-960h-vocab"
    out.mkdir(parents=True, exist_ok=True)
    vocab_file = out / "vocab.json"
    vocab_file.write_text(json.dumps({tok: i for i, tok in enumerate(WAV2VEC2_960H_VOCAB)}))
    tokenizer = Wav2Vec2CTCTokenizer(
        str(vocab_file), unk_token="<unk>", pad_token="<pad>", bos_token="<s>",
        eos_token="</s>", word_delimiter_token="|", do_lower_case=False,
    )
    # wav2vec2-base-960h's extractor settings: raw 16 kHz waveform, per-utterance normalised.
    feature_extractor = Wav2Vec2FeatureExtractor(
        feature_size=1, sampling_rate=16_000, padding_value=0.0, do_normalize=True,
        return_attention_mask=False,
    )
    Wav2Vec2Processor(feature_extractor=feature_extractor, tokenizer=tokenizer).save_pretrained(out)

    config = Wav2Vec2Config(
        vocab_size=len(WAV2VEC2_960H_VOCAB),
        hidden_size=hidden_size,
        num_hidden_layers=num_layers,
        num_attention_heads=2,
        intermediate_size=2 * hidden_size,
        conv_dim=(hidden_size,) * len(_W2V2_CONV_KERNEL),
        conv_kernel=_W2V2_CONV_KERNEL,
        conv_stride=_W2V2_CONV_STRIDE,
        feat_extract_norm="group",  # base models: GroupNorm in the first conv layer only
        do_stable_layer_norm=False,
        num_conv_pos_embeddings=16,  # 128 in base; shrunk, must stay even
        num_conv_pos_embedding_groups=4,  # must divide hidden_size
        pad_token_id=0,  # "<pad>" is the CTC blank, as whisperx assumes
        bos_token_id=1,
        eos_token_id=2,
        ctc_loss_reduction="sum",
        layerdrop=0.0,
    )
    with _seeded(seed):
        model = Wav2Vec2ForCTC(config)
    model.eval()
    model.save_pretrained(out)
    return out


# --------------------------------------------------------------------------------------
# Diarization: pyannote.audio 4.x SpeakerDiarization from random parts
# --------------------------------------------------------------------------------------

#: pyannote-community-1's default hyper-parameters (SpeakerDiarization.default_parameters()
#: in pyannote.audio 4.0.7): VBx clustering.
COMMUNITY1_PARAMETERS: dict[str, dict[str, float]] = {
    "segmentation": {"min_duration_off": 0.0},
    "clustering": {"threshold": 0.6, "Fa": 0.07, "Fb": 0.8},
}

#: pyannote/speaker-diarization-3.1's agglomerative clustering hyper-parameters.
AHC_PARAMETERS: dict[str, Any] = {
    "segmentation": {"min_duration_off": 0.0},
    "clustering": {"method": "centroid", "min_cluster_size": 12, "threshold": 0.7045654963945799},
}

SegmentationKind = Literal["random-powerset", "whisperx-vad"]
ClusteringKind = Literal["VBxClustering", "AgglomerativeClustering"]


def disable_pyannote_telemetry() -> None:
    """Stop pyannote.audio 4 from sending usage metrics (it does by default, to
    otel.pyannote.ai).  Offline the export only fails in a background thread, but tests
    should not even try.  pyannote reads the variable on every model/pipeline event."""
    os.environ["PYANNOTE_METRICS_ENABLED"] = "false"


def tiny_segmentation_model(seed: int = 0) -> Model:
    """A random ``PyanNet`` configured like pyannote/segmentation-3.0 (shrunk LSTM/linear).

    segmentation-3.0 is PyanNet(sincnet stride 10, 4 x BiLSTM(128), 2 x Linear(128)) trained
    as powerset multi-class: 10 s chunks, 3 speakers, at most 2 at once, so 7 output classes
    ({}, {1}, {2}, {3}, {1,2}, {1,3}, {2,3}).  A model gets ``specifications`` from its task
    during training; an untrained one needs them assigned by hand, then ``build()`` adds the
    task-dependent classifier (Linear -> 7) and activation (LogSoftmax).

    Random LSTM features are nearly constant over time, so a random classifier would pick
    one class everywhere -- usually an overlap class, which pyannote's clustering discards
    (it only keeps speakers active *alone* >= 20% of a chunk).  So the classifier is set to
    output class {1} (one speaker) everywhere: structurally valid, "speech everywhere".
    Consequences: silence is "speech" too, and since the last 10 s chunk is zero-padded past
    the end of the file, the last speaker turn ends up to ~10 s *after* the audio ends
    (e.g. 0.03-9.97 s for a 3 s file).  Use ``"whisperx-vad"`` segmentation for real regions.
    """
    from pyannote.audio.core.task import Problem, Resolution, Specifications
    from pyannote.audio.models.segmentation import PyanNet

    with _seeded(seed):
        model = PyanNet(
            sincnet={"stride": 10},
            lstm={"hidden_size": 32, "num_layers": 2, "bidirectional": True, "dropout": 0.0},
            linear={"hidden_size": 32, "num_layers": 2},
        )
        model.specifications = Specifications(
            problem=Problem.MONO_LABEL_CLASSIFICATION,
            resolution=Resolution.FRAME,
            duration=10.0,
            warm_up=(0.0, 0.0),
            classes=["speaker#1", "speaker#2", "speaker#3"],
            powerset_max_classes=2,
            permutation_invariant=True,
        )
        model.build()
    with torch.no_grad():
        model.classifier.weight.mul_(0.01)  # keep a trace of input dependence, but tiny
        bias = torch.full((model.dimension,), -5.0)
        bias[1] = 5.0  # powerset class 1 == {speaker#1}
        model.classifier.bias.copy_(bias)
    return model.eval()


def whisperx_vad_segmentation_model() -> Model:
    """The *trained* segmentation model that ships inside whisperx (whisperx/assets/
    pytorch_model.bin): pyannote/segmentation 2.x, a PyanNet (4 x BiLSTM(128)) for 5 s chunks,
    multi-label over 3 speakers (no powerset).  whisperx uses it for VAD; pyannote's
    SpeakerDiarization accepts it too (the pyannote 2.x diarization setup), giving real speech
    regions and local speaker turns offline.  Loading prints Lightning's checkpoint-upgrade
    notice (v1.5.4 -> 2.x)."""
    import whisperx
    from pyannote.audio import Model

    path = Path(whisperx.__file__).parent / "assets" / "pytorch_model.bin"
    model = Model.from_pretrained(str(path))
    if model is None:  # from_pretrained returns None instead of raising in some cases
        raise RuntimeError(f"could not load {path}")
    return model.eval()


def tiny_embedding_model(seed: int = 0, *, full_resnet34: bool = False) -> Model:
    """A random ``WeSpeakerResNet34`` (community-1's embedding architecture), 256-d output.

    The wrapper (kaldi fbank front end, masked TSTP statistics pooling, 256-d embedding) is
    the real one.  Unless ``full_resnet34``, its ResNet trunk is shrunk from ResNet34
    ([3, 4, 6, 3] blocks, 32 channels, 6.6 M parameters, ~0.3 s per 10 s chunk on 2 CPU
    cores) to one BasicBlock per stage with 8 channels, same layout and output size.
    """
    from pyannote.audio.models.embedding import WeSpeakerResNet34
    from pyannote.audio.models.embedding.wespeaker.resnet import BasicBlock, ResNet

    with _seeded(seed):
        model = WeSpeakerResNet34()
        if not full_resnet34:
            model.resnet = ResNet(BasicBlock, [1, 1, 1, 1], m_channels=8, feat_dim=80,
                                  embed_dim=256, pooling_func="TSTP", two_emb_layer=False)
    return model.eval()


def tiny_plda(tmp: Path, dimension: int = 256, lda_dimension: int = 128, seed: int = 0) -> PLDA:
    """A random ``pyannote.audio.core.plda.PLDA`` for VBx, written as the two .npz files
    ``PLDA.from_pretrained`` reads (``xvec_transform.npz``: mean1, mean2, lda;
    ``plda.npz``: mu, tr, psi).  The LDA is a random orthonormal projection, the PLDA an
    identity transform with decreasing positive between-class variances (psi), so
    ``vbx_setup``'s generalised eigenproblem is well-posed."""
    from pyannote.audio.core.plda import PLDA

    rng = np.random.default_rng(seed)
    out = Path(tmp) / "tiny-plda"
    out.mkdir(parents=True, exist_ok=True)
    lda, _ = np.linalg.qr(rng.standard_normal((dimension, lda_dimension)))
    np.savez(out / "xvec_transform.npz", mean1=np.zeros(dimension), mean2=np.zeros(lda_dimension),
             lda=lda)
    np.savez(out / "plda.npz", mu=np.zeros(lda_dimension), tr=np.eye(lda_dimension),
             psi=np.linspace(10.0, 0.1, lda_dimension))
    return PLDA(out / "xvec_transform.npz", out / "plda.npz", lda_dimension=lda_dimension)


def tiny_diarization_pipeline(
    tmp: Path,
    *,
    segmentation: SegmentationKind = "random-powerset",
    clustering: ClusteringKind = "VBxClustering",
    full_resnet34: bool = False,
    seed: int = 0,
) -> SpeakerDiarization:
    """A real, instantiated ``pyannote.audio.pipelines.SpeakerDiarization`` built offline.

    pyannote.audio 4.0.7's defaults (community-1) are VBx clustering, which needs a PLDA:
    ``get_plda`` is called unconditionally in ``__init__`` (its default is a hub checkpoint,
    and ``None`` is a ``TypeError``), so a random :func:`tiny_plda` is always passed, even for
    ``AgglomerativeClustering`` (3.1-style) which ignores it.

    ``segmentation``:
      * ``"random-powerset"`` (default): :func:`tiny_segmentation_model`, segmentation-3.0's
        architecture/specifications, one speaker active everywhere (even in silence);
      * ``"whisperx-vad"``: :func:`whisperx_vad_segmentation_model`, trained weights, so
        speech regions are real and silence yields an empty diarization.

    Calling it returns a ``DiarizeOutput`` (``legacy=False``, what whisperx 3.8.6 expects)
    with ``speaker_diarization``/``exclusive_speaker_diarization`` (``pyannote.core.Annotation``)
    and ``speaker_embeddings`` (``(num_speakers, 256)`` array).  Labels are ``SPEAKER_00``...
    Audio can be a path, or ``{"waveform": (1, n) float tensor, "sample_rate": 16000}``.
    """
    disable_pyannote_telemetry()
    from pyannote.audio.pipelines import SpeakerDiarization

    if segmentation == "random-powerset":
        seg_model = tiny_segmentation_model(seed)
    elif segmentation == "whisperx-vad":
        seg_model = whisperx_vad_segmentation_model()
    else:
        raise ValueError(f"unknown segmentation kind {segmentation!r}")
    emb_model = tiny_embedding_model(seed, full_resnet34=full_resnet34)

    pipeline = SpeakerDiarization(
        segmentation=seg_model,
        embedding=emb_model,
        plda=tiny_plda(tmp, dimension=emb_model.dimension, seed=seed),
        clustering=clustering,
        # Batches of 8: faster on CPU than community-1's default of 1, results identical.
        segmentation_batch_size=8,
        embedding_batch_size=8,
    )
    params: dict[str, dict[str, Any]] = {
        key: dict(value)
        for key, value in (COMMUNITY1_PARAMETERS if clustering == "VBxClustering"
                           else AHC_PARAMETERS).items()
    }
    if not seg_model.specifications.powerset:
        # Multi-label models need a binarisation threshold (pyannote 2.1 used ~0.44-0.58).
        params["segmentation"]["threshold"] = 0.5
    pipeline.instantiate(params)
    return pipeline


def whisperx_diarization_from(pipeline: Pipeline,
                              device: str | torch.device = "cpu") -> DiarizationPipeline:
    """Wrap a pyannote pipeline as ``whisperx.diarize.DiarizationPipeline``, skipping its
    ``__init__`` (which would call ``pyannote.audio.Pipeline.from_pretrained`` on the hub).

    In whisperx 3.8.6 ``__init__`` only sets ``self.model = Pipeline.from_pretrained(...)
    .to(device)``, and ``__call__`` only uses ``self.model``, so this is faithful.  Calling
    the wrapper ``dp(audio, num_speakers=None, min_speakers=None, max_speakers=None,
    return_embeddings=False, progress_callback=None)``:

    * ``audio`` must be a ``str`` path or a float32 numpy array at 16 kHz (a ``Path`` is
      neither: it falls through to ``audio[None, :]`` and fails);
    * it reads ``output.speaker_diarization``, so the pipeline must return a
      ``DiarizeOutput`` (``legacy=False``), not an ``Annotation``;
    * returns a ``pandas.DataFrame`` with columns ``segment`` (pyannote ``Segment``),
      ``label`` (track name), ``speaker`` (``"SPEAKER_00"``...), ``start``, ``end`` (float
      seconds), one row per speech turn (overlapping turns included); with
      ``return_embeddings=True``, a ``(df, {speaker: list[float]})`` tuple.
    """
    from whisperx.diarize import DiarizationPipeline

    if getattr(pipeline, "legacy", False):
        raise ValueError("whisperx needs DiarizeOutput: build the pipeline with legacy=False")
    dp = object.__new__(DiarizationPipeline)
    dp.model = pipeline.to(torch.device(device))
    return dp
