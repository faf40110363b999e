"""`triage-tui transcribe`: transcribe files once, with the whisperx CLI's flags."""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tui.transcripts.backoff import display_url
from tui.transcripts.events import (
    AsrPaused,
    AsrResumed,
    BatchSizeReduced,
    DuplicateSkipped,
    FileDone,
    FileFailed,
    StageChanged,
    StepUnavailable,
    WorkerMemory,
)
from tui.transcripts.events import Progress as ProgressEvent
from tui.transcripts.formats import ALL_FORMATS
from tui.transcripts.plain_failures import PlainFailure, explain_failure

if TYPE_CHECKING:
    from tui.config import Config
    from tui.transcripts.options import TranscribeOptions

log = logging.getLogger(__name__)

# `transcribe` with an unreachable remote ASR server: how long to keep retrying by default,
# and the exit code then (sysexits' EX_TEMPFAIL: nothing wrong with the file, try later).
REMOTE_WAIT_SECONDS = 120.0
EXIT_RETRY_LATER = 75

# (flag, dest, type, help): whisperx's own spellings; dashed aliases are accepted too.
_VALUE_FLAGS: list[tuple[str, type, str]] = [
    ("model", str, "Whisper model name or CTranslate2 directory"),
    ("model_dir", str, "where models are looked up and downloaded"),
    ("device", str, "auto, cuda or cpu"),
    ("gpu", str, "the card: nvidia-smi index or UUID (default: [whisperx] gpu)"),
    ("batch_size", int, "chunks per batch"),
    ("compute_type", str, "float16, int8_float16, int8, float32"),
    ("language", str, "language code (default: detect)"),
    ("task", str, "transcribe or translate"),
    ("initial_prompt", str, "text to condition the first window"),
    ("hotwords", str, "hotwords for the decoder"),
    ("vad_method", str, "pyannote or silero"),
    ("vad_onset", float, "VAD onset threshold"),
    ("vad_offset", float, "VAD offset threshold"),
    ("chunk_size", int, "seconds per merged VAD chunk"),
    ("align_model", str, "wav2vec2 alignment model name or directory"),
    ("interpolate_method", str, "nearest, linear or ignore"),
    ("min_speakers", int, "lower bound on speakers"),
    ("max_speakers", int, "upper bound on speakers"),
    ("diarize_model", str, "pyannote diarization pipeline"),
    ("threads", int, "CPU threads"),
    ("beam_size", int, "beam size"),
    ("best_of", int, "candidates when sampling"),
    ("patience", float, "beam search patience"),
    ("length_penalty", float, "length penalty"),
    ("temperature", float, "sampling temperature"),
    ("temperature_increment_on_fallback", float, "fallback temperature step"),
    ("suppress_tokens", str, "comma-separated token ids to suppress"),
    ("compression_ratio_threshold", float, "gzip compression ratio threshold"),
    ("logprob_threshold", float, "average log probability threshold"),
    ("no_speech_threshold", float, "no-speech probability threshold"),
    ("max_line_width", int, "characters per subtitle line"),
    ("max_line_count", int, "lines per subtitle"),
]


def add_transcribe_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("files", nargs="+", type=Path, metavar="FILE")
    for name, kind, text in _VALUE_FLAGS:
        flags = [f"--{name}"] + ([f"--{name.replace('_', '-')}"] if "_" in name else [])
        parser.add_argument(*flags, dest=name, type=kind, help=text)
    parser.add_argument("--device_index", "--device-index", dest="device_index", type=int,
                        help="whisperx's spelling of --gpu with an index")
    parser.add_argument("--output_dir", "--output-dir", "-o", dest="output_dir", type=Path,
                        help="default: [paths] output_dir")
    parser.add_argument("--output_format", "--output-format", "-f", dest="output_format",
                        choices=[*ALL_FORMATS, "all"], help="default: all")
    parser.add_argument("--no_align", "--no-align", dest="no_align", action="store_true")
    parser.add_argument("--return_char_alignments", "--return-char-alignments",
                        dest="return_char_alignments", action="store_true", default=None)
    parser.add_argument("--diarize", dest="diarize", action=argparse.BooleanOptionalAction,
                        default=None)
    parser.add_argument("--highlight_words", "--highlight-words", dest="highlight_words",
                        action="store_true", default=None)
    parser.add_argument("--suppress_numerals", "--suppress-numerals", dest="suppress_numerals",
                        action="store_true", default=None)
    parser.add_argument("--hf_token", "--hf-token", dest="hf_token",
                        help="Hugging Face token (prefer the env var; never logged)")
    parser.add_argument("--remote_wait", "--remote-wait", dest="remote_wait", type=float,
                        default=REMOTE_WAIT_SECONDS, metavar="SECONDS",
                        help="asr_backend openai: how long to keep retrying a server that does "
                             "not answer before giving up with exit code 75 (default "
                             f"{REMOTE_WAIT_SECONDS:.0f}; 0: one try)")
    parser.add_argument("--json", action="store_true", help="print results as JSON")
    parser.add_argument("--profile", nargs="?", const="-", type=str, metavar="JSON",
                        help="print seconds per stage (decode, VAD, ASR, …) to stderr at the "
                             "end; with a path, also write them there as JSON")


def options_from_args(config: Config, args: argparse.Namespace) -> TranscribeOptions:
    from tui.transcripts.options import TranscribeOptions

    options = TranscribeOptions.from_config(config.whisperx)
    overrides: dict[str, Any] = {name: getattr(args, name) for name, _, _ in _VALUE_FLAGS}
    if args.gpu is None and args.device_index is not None:
        overrides["gpu"] = str(args.device_index)
    for flag in ("return_char_alignments", "diarize", "highlight_words", "suppress_numerals"):
        overrides[flag] = getattr(args, flag)
    if args.output_format:
        overrides["output_formats"] = (args.output_format,)
    options = options.with_overrides(**overrides)
    if args.no_align or options.task == "translate":
        options = options.with_overrides(align=False)
    return options


def _export_token(options: TranscribeOptions, token: str | None) -> None:
    if token:
        # The worker reads it from its environment; it never goes into options or logs.
        os.environ[options.hf_token_env] = token


def _report_profile(pipeline: Any, wall_seconds: float, target: str, console: Any,
                    memory: WorkerMemory | None = None) -> None:
    from tui.transcripts.profile import StageClock, profile_table

    clock = StageClock()
    clock.merge(pipeline.clock.snapshot())
    clock.merge(pipeline.worker_profile)
    totals = clock.snapshot()
    console.print(profile_table(totals, wall_seconds), markup=False, highlight=False)
    if target != "-":
        Path(target).write_text(json.dumps({
            "wall_seconds": wall_seconds,
            "stages": {stage: {"seconds": seconds, "calls": calls}
                       for stage, (seconds, calls) in totals.items()},
            # The worker's last memory report: its GPU memory by allocator (bench reads it).
            "worker_memory": dataclasses.asdict(memory) if memory is not None else None,
        }, indent=2))


def run_transcribe(config: Config, args: argparse.Namespace) -> int:
    """Transcribe the files once; 0 when all are done, 1 when any failed, 2 for usage.

    With `asr_backend = "openai"` and a server that does not answer (refused, timed out,
    429, 502/503/504), files are not failed: the queue waits with the dashboard's backoff
    (5 s, 10 s, 20 s, 40 s …, with jitter, or the server's Retry-After) while the next try
    falls within `--remote_wait` seconds (default 120, about five tries). Then it gives up:
    the files left are reported as `retry-later` (with the server's problem), nothing is
    written for them, and the exit code is 75 (EX_TEMPFAIL) unless a file failed (1). This
    one-shot command keeps no queue of its own (like the whisperx CLI): run it again later,
    or drop the files into the drop folder, where `triage-tui watch` retries until the
    server is back.
    """
    from rich.console import Console
    from rich.progress import BarColumn, TextColumn, TimeElapsedColumn
    from rich.progress import Progress as ProgressDisplay

    from tui.runtime.services import Services
    from tui.transcripts.model_check import missing_model_reason
    from tui.transcripts.records import FileState

    started = time.monotonic()
    options = options_from_args(config, args)
    _export_token(options, args.hf_token)
    output_dir = (args.output_dir or config.paths.output_dir).expanduser()
    missing = [str(path) for path in args.files if not path.is_file()]
    if missing:
        print(f"triage-tui transcribe: not a file: {', '.join(missing)}", file=sys.stderr)
        return 2
    if options.asr_backend == "whisperx":
        # Before a worker spends its start-up on it (and faster-whisper mistakes a missing
        # directory for a hub repo id).
        reason = missing_model_reason(options.model, options.model_dir)
        if reason is not None:
            print(f"triage-tui transcribe: {reason}", file=sys.stderr)
            return 2
    console = Console(stderr=True)
    results: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="triage-tui-transcribe-") as scratch:
        # Like the whisperx CLI, a one-shot run keeps no queue: its state lives in a scratch
        # database. The worker's own chatter (whisperx, pyannote, ffmpeg) goes to the log.
        services = Services(config, database=Path(scratch) / "state.db",
                            transcribe_options=options, output_dir=output_dir,
                            role="transcribe")
        pipeline = services.open_transcripts()
        if options.asr_backend == "whisperx":
            # Its imports and model load overlap the hashing and probing of the files.
            pipeline.worker.start()
        store = pipeline.store
        paths_by_hash: dict[str, str] = {}
        waiting: list[AsrPaused] = []
        with ProgressDisplay(TextColumn("{task.description}"), BarColumn(),
                             TextColumn("{task.fields[stage]}"), TimeElapsedColumn(),
                             console=console, disable=args.json) as progress:
            tasks: dict[str, Any] = {}
            memory_reports: list[WorkerMemory] = []

            def on_event(event: object) -> None:
                if isinstance(event, WorkerMemory):
                    memory_reports.append(event)
                digest = getattr(event, "content_hash", "")
                task = tasks.get(digest)
                if isinstance(event, StageChanged) and task is not None:
                    progress.update(task, stage=event.state.value)
                elif isinstance(event, ProgressEvent) and task is not None:
                    progress.update(task, completed=event.percent)
                elif isinstance(event, StepUnavailable):
                    console.print(f"[yellow]{event.reason}[/]\n  fix: {event.fix}")
                elif isinstance(event, BatchSizeReduced):
                    weights = f", {event.compute_type}" if event.compute_type else ""
                    console.print(f"[yellow]{event.reason}: batch size {event.batch_size}"
                                  f"{weights}[/]")
                elif isinstance(event, DuplicateSkipped):
                    console.print(f"skipped {event.path}: same audio as {event.original_path}")
                elif isinstance(event, AsrPaused):
                    # Said once per kind of trouble; the tries themselves are not news.
                    if not waiting or waiting[-1].reason != event.reason:
                        retrying = (f"; retrying for up to {args.remote_wait:.0f} s"
                                    if args.remote_wait > 0 else "")
                        console.print(f"[yellow]remote ASR {event.problem} ({event.url}): "
                                      f"{event.reason}{retrying}[/]")
                    waiting.append(event)
                elif isinstance(event, AsrResumed):
                    console.print(f"remote ASR {event.url} answers again")
                elif isinstance(event, (FileDone, FileFailed)) and task is not None:
                    progress.update(task, completed=100,
                                    stage="done" if isinstance(event, FileDone) else "failed")

            pipeline.subscribe(on_event)
            for path in args.files:
                queued = pipeline.add_file(path.resolve())
                digest = getattr(queued, "content_hash", "")
                if digest and digest not in tasks:
                    tasks[digest] = progress.add_task(path.name, total=100, stage="queued")
                    paths_by_hash[digest] = str(path)
            try:
                outcomes = pipeline.drain(wait_for_server=max(0.0, args.remote_wait))
            finally:
                pipeline.stop()  # the worker goes; the store stays open for the report
        if args.profile:
            _report_profile(pipeline, time.monotonic() - started, args.profile, console,
                            memory_reports[-1] if memory_reports else None)
        for outcome in outcomes:
            record = store.get(outcome.content_hash)
            entry: dict[str, Any] = {"file": paths_by_hash.get(outcome.content_hash),
                                     "content_hash": outcome.content_hash}
            if isinstance(outcome, FileDone):
                entry.update(state="done", language=outcome.language,
                             outputs=list(outcome.outputs),
                             segments=len(store.segments(outcome.content_hash)),
                             warnings=list(outcome.warnings))
            else:
                plain = explain_failure(outcome.reason, outcome.kind, model=options.model)
                entry.update(state="failed", error=outcome.reason, cause=plain.cause,
                             fix=plain.fix, attempts=record.attempts if record else None)
            results[outcome.content_hash] = entry
        for record in store.files():
            if record.state is FileState.SUPERSEDED and record.content_hash not in results:
                # Changed on disk while it was being transcribed: nothing was written.
                results[record.content_hash] = {
                    "file": paths_by_hash.get(record.content_hash, str(record.path)),
                    "content_hash": record.content_hash, "state": "failed",
                    "error": f"{record.detail}; run the command again once the file is "
                             "complete"}
            if record.state is FileState.QUEUED:  # the server never answered for these
                last = waiting[-1] if waiting else None
                results[record.content_hash] = {
                    "file": paths_by_hash.get(record.content_hash),
                    "content_hash": record.content_hash, "state": "retry-later",
                    "error": (f"remote ASR {last.problem} ({last.url}): {last.reason}"
                              if last else record.detail)}
        services.stop()
    final = [entry for entry in results.values()]
    if args.json:
        print(json.dumps(final, indent=2))
    else:
        for entry in final:
            if entry["state"] == "done":
                print(f"{entry['file']}: {entry['segments']} segments, language "
                      f"{entry['language']}")
                for warning in entry["warnings"]:
                    print(f"  WARNING: {warning}")
                for output in entry["outputs"]:
                    print(f"  {output}")
            elif entry["state"] == "retry-later":
                print(f"{entry['file']}: NOT TRANSCRIBED, try again later: {entry['error']}")
            else:  # in words; the reason as it came is in the log and under --json
                words = (PlainFailure(entry["cause"], entry["fix"]).sentence
                         if "cause" in entry else entry["error"])
                print(f"{entry['file']}: FAILED: {words}")
    states = {entry["state"] for entry in final}
    if "retry-later" in states:
        server = display_url(options.remote_url)
        print(f"triage-tui transcribe: the remote ASR server ({server}) did not answer, and "
              f"the next try would fall after --remote_wait {max(0.0, args.remote_wait):.0f} "
              "s: nothing was written for those files. Run the command again once it answers "
              "(`triage-tui watch` on the drop folder retries until it is back)",
              file=sys.stderr)
    if not final or "failed" in states:
        return 1
    return EXIT_RETRY_LATER if "retry-later" in states else 0
