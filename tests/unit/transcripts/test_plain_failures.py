"""Failed recordings in words: each known failure class as a cause and the one thing to do,
never an exception's class name. The reasons are what the worker really reports (captured
from faster-whisper, huggingface_hub, CTranslate2 and the worker handle)."""

from __future__ import annotations

import pytest

from tui.transcripts.plain_failures import PlainFailure, explain_failure

# faster-whisper's download with no network (DNS fails) and through an unreachable proxy.
HUB_DOWN = ("LocalEntryNotFoundError: An error happened while trying to locate the files on "
            "the Hub and we cannot find the appropriate snapshot folder for the specified "
            "revision on the local disk. Please check your internet connection and try again.")
HUB_BEHIND_PROXY = ("ProxyError: (MaxRetryError(\"HTTPSConnectionPool(host='huggingface.co', "
                    "port=443): Max retries exceeded with url: /api/models/Systran/faster-"
                    "whisper-large-v3/revision/main (Caused by ProxyError('Unable to connect "
                    "to proxy'))\"), '(Request ID: a5dba9c8)')")


def test_a_model_the_hub_cannot_deliver_says_so_and_what_to_run() -> None:
    for reason in (HUB_DOWN, HUB_BEHIND_PROXY):
        plain = explain_failure(reason, "error", model="large-v3")
        assert plain == PlainFailure(
            "large-v3 is not on disk and the model hub is unreachable",
            "let this machine reach the model hub once and run `triage-tui models pull "
            "large-v3` (it shows the download), or set [whisperx] model to a local "
            "CTranslate2 folder")
        assert plain.sentence == (
            "large-v3 is not on disk and the model hub is unreachable: let this machine reach "
            "the model hub once and run `triage-tui models pull large-v3` (it shows the "
            "download), or set [whisperx] model to a local CTranslate2 folder")


@pytest.mark.parametrize(("reason", "kind", "cause", "fix_has"), [
    ("ValueError: Invalid model size 'large-v9', expected one of: tiny.en, tiny, large-v3",
     "error", "the model hub has no Whisper model called 'large-v9'", "large-v3, medium"),
    ("RepositoryNotFoundError: 401 Client Error. Repository Not Found for url: https://hf.co",
     "error", "the model hub has no Whisper model called 'large-v9'", "[whisperx] model"),
    ("GatedRepoError: 403 Client Error. Cannot access gated repo for url https://hf.co/x",
     "error", "the model hub refused to hand out large-v9 without a token", "HF_TOKEN"),
    ("RuntimeError: CUDA failed with error out of memory", "oom",
     "the GPU ran out of memory on this recording", "batch_size"),
    ("RuntimeError: CUDA error: CUBLAS_STATUS_ALLOC_FAILED when calling `cublasCreate(handle)`",
     "error", "the GPU ran out of memory on this recording", "int8_float16"),
    ("ValueError: Requested float16 compute type, but the target device or backend do not "
     "support efficient float16 computation.", "error",
     "this device cannot compute in float16 (there is no CUDA GPU here)", 'compute_type = "int8"'),
    ("RuntimeError: CUDA failed with error no CUDA-capable device is detected", "error",
     "WhisperX found no usable CUDA GPU", 'device = "cpu"'),
    ("OSError: Unable to load any of {libcudnn_ops.so.9.1.0, libcudnn_ops.so.9.1}", "error",
     "WhisperX found no usable CUDA GPU", "triage-tui doctor"),
    ("cannot decode audio: [Errno 2] No such file or directory: 'ffmpeg'", "decode",
     "ffmpeg is not installed (it decodes the recordings)", "apt-get install ffmpeg"),
    ("cannot decode audio: Invalid data found when processing input", "decode",
     "the file could not be decoded as audio (Invalid data found when processing input)",
     "drop the complete file again"),
    ("not a readable media file: /srv/drop/notes.wav: Invalid data found when processing input",
     "decode",
     "the file could not be decoded as audio (Invalid data found when processing input)",
     "check that it plays"),
    ("the WhisperX worker died (exit code -9) while on this file", "crash",
     "the WhisperX process died on this recording (killed: the machine probably ran out of "
     "memory)", "smaller [whisperx] model"),
    ("the WhisperX worker died (exit code -11) while on this file", "crash",
     "the WhisperX process died on this recording (exit code -11)", "the log"),
])
def test_known_failures_in_words(reason: str, kind: str, cause: str, fix_has: str) -> None:
    plain = explain_failure(reason, kind, model="large-v9")
    assert plain.cause == cause
    assert fix_has in plain.fix
    assert "Error" not in plain.sentence  # no class names


def test_the_model_check_reason_is_kept_and_split_at_its_fix() -> None:
    reason = ("Whisper model not found: /models/wx does not exist (a CTranslate2 model "
              "directory holds model.bin and config.json); fix: pass --model (or set "
              "[whisperx] model) to a CTranslate2 model directory")
    assert explain_failure(reason, "model") == PlainFailure(
        "Whisper model not found: /models/wx does not exist",
        "pass --model (or set [whisperx] model) to a CTranslate2 model directory")


def test_reasons_already_in_words_stay_whole() -> None:
    for reason, kind in (
            ("/srv/drop/a.wav disappeared before transcription", "io"),
            ("the ASR server refused the request: HTTP 400: unknown model: whisper-9", "error")):
        assert explain_failure(reason, kind) == PlainFailure(reason)


def test_an_unknown_exception_loses_its_class_name_and_points_to_the_log() -> None:
    plain = explain_failure("KeyError: 'segments'", "error")
    assert plain == PlainFailure("transcription failed unexpectedly: 'segments'",
                                 "the log has the details")
    long = explain_failure("ValueError: " + "word " * 100, "error")
    assert len(long.cause) < 160 and long.cause.endswith("…")
    assert explain_failure("RuntimeError: ", "error").cause == "transcription failed unexpectedly"
