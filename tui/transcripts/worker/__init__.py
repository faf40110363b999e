"""The WhisperX worker: a spawned process that keeps the models resident, and the parent's
handle on it.

Which module runs where:

- `handle` — **parent** (the dashboard, `triage-tui transcribe`/`watch`): `WorkerProcess`
  spawns the worker (multiprocessing, spawn start method), sends it files, passes its
  events on, and notices when it dies (`WorkerCrashed`). Never imports torch or whisperx;
  it imports `process_main` only when it starts a worker, to name the spawn target.
- `process_main` — **worker** entry point: `worker_main` (die with the parent, output to the
  log file, pin the card, serve requests).
- `session` — **worker**: `WhisperxSession`, the resident models (ASR, alignment,
  diarization) and one file's run through them, streaming events back. torch and whisperx
  are imported here, inside its methods.
- `remote_asr` — **worker**: the client for a remote OpenAI-compatible ASR server and the
  classification of its errors (`RemoteServerUnavailable` = retry later, `RemoteRefused` =
  the answer about this file).
- `out_of_memory` — **worker**: recognising a CUDA out-of-memory error, and halving
  diarization batches after one.
- `segments` — **worker**: whisperx segments into `StoredSegment`s, results made picklable.

What crosses between the two processes: `TranscribeOptions.as_dict()` going in, (content
hash, path) requests, and the dataclasses of `tui.transcripts.events` coming back.
"""
