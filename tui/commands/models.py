"""`triage-tui models pull [NAME …]` and `triage-tui models list`.

pull fetches the models a transcript needs before the first recording does (without a word on
screen): progress bars on a terminal, a line per step of a few percent otherwise (logs,
pipes), and with `--json` a summary on stdout (progress then goes to stderr). Exit status 0
when everything asked for is on disk, 1 when a download failed, each failure said in words
with its fix.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from tui.transcripts.events import ModelDownload

if TYPE_CHECKING:
    from tui.config import Config

EXIT_OK = 0
EXIT_FAILED = 1
# A plain progress line every this many percent of a file (and at 100 %).
PLAIN_STEP_PERCENT = 10


def add_models_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="models_command", metavar="ACTION", required=True)
    pull = actions.add_parser(
        "pull", help="download the Whisper, alignment and diarization models, with progress",
        description="Without names: what the config needs ([whisperx] model; the alignment "
                    "model of [whisperx] language when align is on; the diarization "
                    "pipeline when diarize is on and the token variable is set). With "
                    "names: those Whisper models.")
    pull.add_argument("names", nargs="*", metavar="NAME",
                      help="Whisper model names (tiny … large-v3, turbo) or hub repo ids")
    pull.add_argument("--language", action="append", default=[], metavar="CODE",
                      help="also the alignment model of this language (repeatable)")
    pull.add_argument("--json", action="store_true", help="a summary as JSON on stdout")
    listing = actions.add_parser("list", help="the models on disk in the model folder")
    listing.add_argument("--json", action="store_true")


class PlainProgress:
    """A line per PLAIN_STEP_PERCENT of each file: for logs and pipes, where bars would be
    a mess of carriage returns."""

    def __init__(self, stream: IO[str]) -> None:
        self._stream = stream
        self._lock = threading.Lock()
        self._printed: dict[tuple[str, str], int] = {}

    def __call__(self, event: object) -> None:
        if not isinstance(event, ModelDownload):
            return
        from tui.transcripts.download_words import describe_download

        percent = event.percent
        step = (int(percent) // PLAIN_STEP_PERCENT if percent is not None
                else event.done_bytes // 100 // 2**20)
        key = (event.model, event.file)
        with self._lock:
            if self._printed.get(key) == step:
                return
            self._printed[key] = step
            print(describe_download(event), file=self._stream, flush=True)


class BarProgress:
    """A Rich bar per file, as huggingface_hub draws them, on a terminal."""

    def __init__(self, stream: IO[str]) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
            TransferSpeedColumn,
        )

        self._progress = Progress(TextColumn("{task.description}"), BarColumn(),
                                  DownloadColumn(), TransferSpeedColumn(), TimeRemainingColumn(),
                                  console=Console(file=stream))
        self._tasks: dict[tuple[str, str], Any] = {}
        self._lock = threading.Lock()

    def __enter__(self) -> BarProgress:
        self._progress.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._progress.stop()

    def __call__(self, event: object) -> None:
        if not isinstance(event, ModelDownload):
            return
        key = (event.model, event.file)
        with self._lock:
            task = self._tasks.get(key)
            if task is None:
                task = self._progress.add_task(f"{event.model}: {event.file}",
                                               total=event.total_bytes or None)
                self._tasks[key] = task
        self._progress.update(task, completed=event.done_bytes,
                              total=event.total_bytes or None)


def _say(stream: IO[str], result: Any) -> None:
    target = result.target
    if result.status == "skipped":
        print(f"{target.label}: skipped: {target.skip_reason}", file=stream)
    elif result.status == "failed":
        print(f"{result.problem.cause}\n  fix: {result.problem.fix}", file=stream)
    elif result.status == "present":
        print(f"{target.label}: already on disk ({result.path})", file=stream)
    else:
        from tui.transcripts.download_words import human_bytes

        print(f"{target.label}: downloaded {human_bytes(result.downloaded_bytes)} "
              f"({result.path})", file=stream)


def run_pull(config: Config, args: argparse.Namespace) -> int:
    from tui.adapters.hub_downloads import hub_cache_dir, hub_endpoint
    from tui.transcripts.model_pull import pull, targets_for

    whisperx = config.whisperx
    model_dir = whisperx.model_dir
    messages = sys.stderr if args.json else sys.stdout
    try:
        targets = targets_for(whisperx, args.names, args.language)
    except ImportError as error:  # whisperx or torchaudio broken: alignment needs them
        print(f"triage-tui models pull: cannot look up the alignment model: {error}; fix: "
              "reinstall (scripts/install)", file=sys.stderr)
        return EXIT_FAILED
    if not args.json:
        print(f"model hub: {hub_endpoint()}; model folder: {hub_cache_dir(model_dir)}",
              file=messages)
    results = []
    bars = BarProgress(messages) if messages.isatty() else None
    show = bars or PlainProgress(messages)
    for target in targets:
        if bars is not None and not target.skip_reason:
            with bars:
                result = pull(target, model_dir, show)
        else:
            result = pull(target, model_dir, show)
        results.append(result)
        _say(messages if result.status != "failed" else sys.stderr, result)
    if args.json:
        print(json.dumps({"endpoint": hub_endpoint(),
                          "model_dir": str(hub_cache_dir(model_dir)),
                          "models": [result.as_dict() for result in results]}, indent=2))
    return EXIT_FAILED if any(result.status == "failed" for result in results) else EXIT_OK


def run_list(config: Config, args: argparse.Namespace) -> int:
    from huggingface_hub import scan_cache_dir

    from tui.adapters.hub_downloads import hub_cache_dir
    from tui.transcripts.download_words import human_bytes

    folder = hub_cache_dir(config.whisperx.model_dir)
    repos: list[dict[str, Any]] = []
    if folder.is_dir():
        try:
            info = scan_cache_dir(folder)
        except Exception as error:  # not a hub cache (a CTranslate2 folder, say)
            print(f"triage-tui models list: {folder} is not a model hub cache ({error})",
                  file=sys.stderr)
            return EXIT_FAILED
        repos = [{"repo": repo.repo_id, "bytes": repo.size_on_disk,
                  "path": str(Path(repo.repo_path))}
                 for repo in sorted(info.repos, key=lambda r: r.repo_id)
                 if repo.repo_type == "model"]
    if args.json:
        print(json.dumps({"model_dir": str(folder), "models": repos}, indent=2))
        return EXIT_OK
    if not repos:
        print(f"no models in {folder} (triage-tui models pull fetches them)")
    for repo in repos:
        print(f"{repo['repo']:<50} {human_bytes(repo['bytes']):>9}  {repo['path']}")
    return EXIT_OK


def run_models(config: Config, args: argparse.Namespace) -> int:
    if args.models_command == "list":
        return run_list(config, args)
    return run_pull(config, args)
