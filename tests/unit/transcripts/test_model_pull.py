"""The pure parts of `triage-tui models pull`: what is fetched, progress events, failures."""

from __future__ import annotations

import errno
import pickle

from tui.config import WhisperxConfig
from tui.transcripts.download_words import describe_download
from tui.transcripts.events import ModelDownload
from tui.transcripts.model_pull import (
    WHISPER_FILES,
    DownloadTracker,
    PullTarget,
    explain_download_error,
    targets_for,
)

MB = 10**6


def test_a_download_event_crosses_a_process_queue_unchanged() -> None:
    event = ModelDownload("large-v3", "model.bin", 1_200 * MB, 3_087 * MB)
    assert pickle.loads(pickle.dumps(event)) == event
    assert round(event.percent or 0) == 39 and not event.finished
    assert ModelDownload("x", "f", 5, 5).finished
    assert ModelDownload("x", "f", 5).percent is None  # the server gave no size


def test_download_lines_say_model_file_percent_and_sizes() -> None:
    assert describe_download(ModelDownload("large-v3", "model.bin", 1_200 * MB, 3_087 * MB)) \
        == "downloading large-v3: model.bin 38 % (1.2 GB of 3.1 GB)"
    assert describe_download(ModelDownload("tiny.en", "vocabulary.txt", 422_309, 422_309)) \
        == "downloaded tiny.en: vocabulary.txt 100 % (422.3 kB of 422.3 kB)"
    assert describe_download(ModelDownload("x", "f", 3 * MB)) == "downloading x: f 3.0 MB"


def test_the_tracker_sends_one_event_per_percent_with_the_first_and_the_last() -> None:
    events: list[ModelDownload] = []
    tracker = DownloadTracker("large-v3", events.append)
    total = 1_000_000
    tracker.update("model.bin", 0, total)
    for done in range(1_000, total + 1, 1_000):  # 1000 network chunks
        tracker.update("model.bin", done, total)
    tracker.update("config.json", 0, 2_000)
    tracker.update("config.json", 2_000, 2_000)
    big = [event for event in events if event.file == "model.bin"]
    assert len(big) == 101  # 0 % … 100 %, each once
    assert [int(event.percent or 0) for event in big] == list(range(101))
    assert big[-1].finished and events[-1] == ModelDownload("large-v3", "config.json", 2_000,
                                                            2_000)
    assert tracker.downloaded_bytes == total + 2_000


def test_a_resumed_download_counts_only_the_bytes_fetched_now() -> None:
    tracker = DownloadTracker("m", lambda event: None)
    tracker.update("model.bin", 600, 1_000)  # 600 bytes were there from an earlier try
    tracker.update("model.bin", 1_000, 1_000)
    assert tracker.downloaded_bytes == 400


def test_without_names_pull_fetches_what_the_config_needs() -> None:
    config = WhisperxConfig(model="large-v3", language="", align=True, diarize=True)
    targets = targets_for(config, environ={})
    whisper, alignment, diarization = targets
    assert whisper == PullTarget("whisper", "large-v3", repo="Systran/faster-whisper-large-v3",
                                 allow_patterns=WHISPER_FILES)
    assert alignment.skip_reason.startswith("[whisperx] language is empty")
    assert "--language" in alignment.skip_reason
    assert diarization.repo == "pyannote/speaker-diarization-community-1"
    assert diarization.skip_reason.startswith("HF_TOKEN is not set")
    with_token = targets_for(config, environ={"HF_TOKEN": "hf_x"})[-1]
    assert with_token.repo == diarization.repo and not with_token.skip_reason
    assert with_token.token_env == "HF_TOKEN"


def test_names_pull_those_whisper_models_and_local_folders_are_skipped() -> None:
    config = WhisperxConfig(model="large-v3", align=True, diarize=True)
    targets = targets_for(config, ["turbo", "tiny.en", "/models/mine", "org/whisper-ct2"],
                          environ={"HF_TOKEN": "x"})
    assert [(t.label, t.repo) for t in targets] == [
        ("turbo", "mobiuslabsgmbh/faster-whisper-large-v3-turbo"),
        ("tiny.en", "Systran/faster-whisper-tiny.en"),
        ("/models/mine", ""),
        ("org/whisper-ct2", "org/whisper-ct2"),
    ]
    assert targets[2].skip_reason == "a local folder: nothing to download"


def test_the_alignment_model_is_whisperx_default_for_the_language() -> None:
    english = targets_for(WhisperxConfig(model="small.en", diarize=False), environ={})[1]
    # torchaudio's checkpoint, where torch.hub fetches it from for whisperx.
    assert english.url == ("https://download.pytorch.org/torchaudio/models/"
                           "wav2vec2_fairseq_base_ls960_asr_ls960.pth")
    dutch = targets_for(WhisperxConfig(language="nl", diarize=False), environ={})[1]
    assert dutch.repo == "jonatasgrosman/wav2vec2-large-xlsr-53-dutch"
    assert dutch.label == "alignment (nl)"
    none = targets_for(WhisperxConfig(language="xx", diarize=False), environ={})[1]
    assert "no default alignment model for 'xx'" in none.skip_reason


def test_a_full_disk_and_an_unwritable_folder_are_said_with_the_fix(tmp_path) -> None:
    target = PullTarget("whisper", "large-v3", repo="Systran/faster-whisper-large-v3")
    full = explain_download_error(OSError(errno.ENOSPC, "No space left on device"), target,
                                  tmp_path)
    assert full.cause == f"large-v3: the disk holding {tmp_path} is full"
    assert "[whisperx] model_dir" in full.fix
    denied = explain_download_error(PermissionError(errno.EACCES, "Permission denied"), target,
                                    tmp_path)
    assert denied.cause == f"large-v3: cannot write to {tmp_path} (Permission denied)"
