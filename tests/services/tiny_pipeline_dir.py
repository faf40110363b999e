"""A tiny pyannote diarization pipeline *on disk*, loadable by name like a hub pipeline.

:func:`tests.services.tiny_models.tiny_diarization_pipeline` builds a pipeline in memory, so
tests must bypass ``whisperx.diarize.DiarizationPipeline.__init__`` to use it.  This module
writes the same kind of pipeline to a directory laid out like the hub repository
pyannote/speaker-diarization-community-1, so that in any process, offline::

    from whisperx.diarize import DiarizationPipeline
    dp = DiarizationPipeline(model_name=str(path), device="cpu")  # no hub access
    df = dp(audio)  # 16 kHz float32 numpy array (or a str path)

Layout written by :func:`save_tiny_diarization_pipeline`::

    <directory>/config.yaml                  pipeline class, constructor params, hyper-params
    <directory>/embedding/pytorch_model.bin  WeSpeakerResNet34 checkpoint (~0.4 MB)
    <directory>/plda/xvec_transform.npz      random PLDA (VBx needs it), ~0.4 MB in all
    <directory>/plda/plda.npz
    <directory>/segmentation/pytorch_model.bin  only for segmentation="random-powerset"

How pyannote.audio 4.0.7 resolves it: ``Pipeline.from_pretrained(dir)`` reads
``dir/config.yaml``, replaces every ``$model/<sub>`` value by ``{"checkpoint": dir,
"subfolder": <sub>, ...}``, and calls ``SpeakerDiarization(**pipeline.params)``; there
``Model.from_pretrained(checkpoint=dir, subfolder=<sub>)`` opens ``dir/<sub>/pytorch_model.bin``
and ``PLDA.from_pretrained`` opens ``dir/plda/{xvec_transform,plda}.npz``.  A plain string
value is used as a local checkpoint path, which is how ``segmentation="whisperx-vad"`` points
at the trained model inside the installed whisperx package (17.7 MB, not copied; loading it
prints Lightning's "automatically upgraded your loaded checkpoint" notice).

Embedding model: a checkpoint is reloaded by ``Klass(**hyper_parameters)`` followed by a
*strict* ``load_state_dict``, so the architecture must be reproducible from hyper-parameters
alone; the shrunk ResNet trunk of ``tiny_models.tiny_embedding_model`` is not (it is swapped
in after construction), and a custom class would only load where this test package is
importable.  So the real ``WeSpeakerResNet34`` class is saved, with two tricks:

* ``num_mel_bins=16`` (community-1: 80), a genuine hyper-parameter: the conv trunk works on
  a 16-row instead of an 80-row fbank image, about 5x less compute; output still 256-d;
* each large weight is saved as an overlapping strided *view* (``Tensor.as_strided``) of a
  few thousand random values drawn from the layer's own initialiser; ``torch.save`` keeps
  views as (small storage, strides), and ``load_state_dict`` materialises them into the
  full-size parameters.  So 6.6 M parameters take ~0.4 MB on disk instead of 26 MB.  The
  weights are structured (e.g. conv filters of neighbouring channels are shifted copies),
  which does not matter for random stand-ins.

Values (speaker labels, turn boundaries with "random-powerset") are as arbitrary as with
the in-memory pipeline; see ``tiny_models`` for the invariants.  Pyannote 4 sends usage
telemetry by default: set ``PYANNOTE_METRICS_ENABLED=false`` in processes that load this.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import torch

from tests.services.tiny_models import (
    AHC_PARAMETERS,
    COMMUNITY1_PARAMETERS,
    ClusteringKind,
    SegmentationKind,
    _seeded,
    tiny_plda,
    tiny_segmentation_model,
)

#: Fbank bins of the saved embedding model (community-1 uses 80; must be a multiple of 8,
#: the ResNet's frequency downsampling).
EMBEDDING_MEL_BINS = 16

#: Tensors with fewer elements than this are saved as they are.
_COMPACT_MIN_NUMEL = 4096
#: Strides for a compacted tensor's dimensions, innermost first.
_COMPACT_STRIDES = (1, 2, 3, 5, 7, 11)


def _compact(tensor: torch.Tensor) -> torch.Tensor:
    """A view of ``tensor``'s shape over a small storage of its own first values."""
    if not tensor.is_floating_point() or tensor.numel() < _COMPACT_MIN_NUMEL:
        return tensor.detach().clone()
    if tensor.dim() > len(_COMPACT_STRIDES):
        raise ValueError(f"cannot compact a {tensor.dim()}-d tensor")
    strides = tuple(reversed(_COMPACT_STRIDES[: tensor.dim()]))
    pool_size = 1 + sum((size - 1) * stride for size, stride in zip(tensor.shape, strides,
                                                                     strict=True))
    pool = tensor.detach().flatten()[:pool_size].clone()
    return pool.as_strided(tensor.shape, strides)


def _save_checkpoint(model: Any, path: Path, *, compact: bool) -> None:
    """Write ``model`` as a checkpoint ``pyannote.audio.Model.from_pretrained`` can reload.

    Same keys Lightning's trainer writes that loading reads: ``state_dict``,
    ``hyper_parameters`` (the constructor arguments), ``pytorch-lightning_version`` (else
    Lightning tries to migrate it) and, from ``Model.on_save_checkpoint``, ``pyannote.audio``
    (version, architecture module/class, task specifications)."""
    import lightning

    state = model.state_dict()
    if compact:
        state = {name: _compact(value) for name, value in state.items()}
    checkpoint: dict[str, Any] = {
        "state_dict": state,
        "hyper_parameters": dict(model.hparams),
        "pytorch-lightning_version": lightning.__version__,
        "epoch": 0,
        "global_step": 0,
    }
    model.on_save_checkpoint(checkpoint)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(checkpoint, path)


def _whisperx_vad_checkpoint() -> Path:
    import whisperx

    return Path(whisperx.__file__).parent / "assets" / "pytorch_model.bin"


def save_tiny_diarization_pipeline(
    directory: Path,
    *,
    segmentation: SegmentationKind = "whisperx-vad",
    clustering: ClusteringKind = "VBxClustering",
    seed: int = 0,
) -> Path:
    """Write a random tiny pyannote ``SpeakerDiarization`` pipeline under ``directory``.

    Returns ``directory`` (created if needed; an existing ``config.yaml`` and sub-model
    folders are replaced).  Load it with ``pyannote.audio.Pipeline.from_pretrained(str(p))``
    or ``whisperx.diarize.DiarizationPipeline(model_name=str(p), device="cpu")``: no network,
    no Hugging Face cache, no token, and nothing from this test package is needed to load it
    (only pyannote.audio and, for ``"whisperx-vad"``, the installed whisperx).

    ``segmentation``: ``"whisperx-vad"`` (default) references whisperx's trained segmentation
    model by absolute path, so speech regions and the turn change between two voices are
    real; ``"random-powerset"`` saves ``tiny_models.tiny_segmentation_model(seed)`` (speech
    everywhere, one speaker per chunk).  ``clustering``: community-1's ``"VBxClustering"``
    (default) or 3.1-style ``"AgglomerativeClustering"``.  Same ``seed``, same files' values.
    Takes well under a second and ~1 MB of disk.
    """
    from pyannote.audio import __version__ as pyannote_version
    from pyannote.audio.core.task import Problem, Resolution, Specifications
    from pyannote.audio.models.embedding import WeSpeakerResNet34

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    for sub in ("segmentation", "embedding", "plda", "tiny-plda"):
        shutil.rmtree(directory / sub, ignore_errors=True)

    with _seeded(seed):
        embedding = WeSpeakerResNet34(num_mel_bins=EMBEDDING_MEL_BINS).eval()
    # A checkpoint needs task specifications (Model.on_save_checkpoint stores them and
    # on_load_checkpoint restores them); an untrained model has none, so give it what a
    # speaker-embedding task (tasks/embedding/mixins.py) would.
    embedding.specifications = Specifications(
        problem=Problem.REPRESENTATION, resolution=Resolution.CHUNK, duration=10.0,
        min_duration=1.0, classes=["speaker#1"],
    )
    _save_checkpoint(embedding, directory / "embedding" / "pytorch_model.bin", compact=True)
    tiny_plda(directory, dimension=embedding.dimension, seed=seed)  # writes tiny-plda/*.npz
    (directory / "tiny-plda").rename(directory / "plda")

    if segmentation == "random-powerset":
        _save_checkpoint(tiny_segmentation_model(seed),
                         directory / "segmentation" / "pytorch_model.bin", compact=False)
        segmentation_ref = "$model/segmentation"
        powerset = True
    elif segmentation == "whisperx-vad":
        vad = _whisperx_vad_checkpoint()
        if not vad.is_file():
            raise FileNotFoundError(vad)
        segmentation_ref = str(vad.resolve())
        powerset = False  # pyannote/segmentation 2.x: multi-label
    else:
        raise ValueError(f"unknown segmentation kind {segmentation!r}")

    if clustering == "VBxClustering":
        params: dict[str, dict[str, Any]] = {k: dict(v) for k, v in COMMUNITY1_PARAMETERS.items()}
    elif clustering == "AgglomerativeClustering":
        params = {k: dict(v) for k, v in AHC_PARAMETERS.items()}
    else:
        raise ValueError(f"unknown clustering {clustering!r}")
    if not powerset:
        params["segmentation"]["threshold"] = 0.5  # as tiny_diarization_pipeline does

    import yaml

    config = {
        "dependencies": {"pyannote.audio": pyannote_version},
        "pipeline": {
            "name": "pyannote.audio.pipelines.SpeakerDiarization",
            "params": {
                "segmentation": segmentation_ref,
                "embedding": "$model/embedding",
                "plda": "$model/plda",
                "clustering": clustering,
                "segmentation_batch_size": 8,
                "embedding_batch_size": 8,
            },
        },
        "params": params,
    }
    (directory / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    return directory
