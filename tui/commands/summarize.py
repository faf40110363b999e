"""`triage-tui summarize FILE|ID [--json]`: one transcript's summary, headless.

FILE is the recording (or one of its transcript outputs); ID is the transcript's content
hash or a prefix of it (at least 6 characters). The summary runs through the configured LLM
backend exactly as in the dashboard (the same passes, checks and SQLite state), resuming a
part-done summary; progress goes to stderr, the markdown (or, with --json, the JSON) to stdout.
Exit codes: 0 written, 1 failed or the LLM unreachable, 2 no such transcript.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tui.config import Config
    from tui.transcripts.records import AudioFileRecord

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
MIN_ID_CHARS = 6


def add_summarize_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("target", metavar="FILE|ID",
                        help="a transcribed recording (or its output file), or its content hash")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")


def find_transcript(target: str, records: Sequence[AudioFileRecord]) -> tuple[str | None, str]:
    """The content hash `target` names among `records` (AudioFileRecord), or (None, why)."""
    path = Path(target).expanduser()
    if path.exists():
        resolved = path.resolve()
        for record in reversed(records):
            if record.path.resolve() == resolved or any(
                    output.resolve() == resolved for output in record.outputs):
                return record.content_hash, ""
        return None, f"{target}: no transcript of this file in the state database"
    if len(target) < MIN_ID_CHARS:
        return None, f"{target}: no such file, and too short for a transcript id"
    matches = [r.content_hash for r in records if r.content_hash.startswith(target.lower())]
    if len(matches) == 1:
        return matches[0], ""
    if matches:
        return None, f"{target}: matches {len(matches)} transcripts; give more of the id"
    return None, f"{target}: no such file or transcript id"


def run_summarize(config: Config, args: argparse.Namespace) -> int:
    from tui.llm import BackendError
    from tui.runtime.services import Services
    from tui.summaries.events import (
        SummaryFailed,
        SummaryPlanned,
        SummaryProgress,
        SummaryRetried,
    )
    from tui.summaries.store import SummaryState

    def report(event: object) -> None:
        if isinstance(event, SummaryPlanned):
            print(f"summary: {event.map_passes} map and {event.reduce_passes} reduce "
                  f"pass(es), {event.done} done already", file=sys.stderr)
        elif isinstance(event, SummaryProgress) and event.finished:
            print(f"summary: pass {event.index + 1} of {event.total} ({event.kind}) done",
                  file=sys.stderr)
        elif isinstance(event, SummaryRetried):
            print(f"summary: pass {event.index + 1} again: {event.reason}", file=sys.stderr)
        elif isinstance(event, SummaryFailed):
            print(f"summary failed: {event.reason}", file=sys.stderr)

    with Services(config, role="summarize") as services:
        summariser = services.open_summaries()
        digest, why = find_transcript(args.target, summariser.transcripts.files())
        if digest is None:
            print(f"triage-tui summarize: {why}", file=sys.stderr)
            return EXIT_USAGE
        job = summariser.store.job(digest)
        if job is not None and job.state is SummaryState.FAILED:
            summariser.enqueue(digest, again=True, reason="asked again")
        summariser.subscribe(report)
        try:
            if not summariser.check_model():
                status = summariser.model.check()
                print(f"triage-tui summarize: {status.detail} (fix: {status.fix})",
                      file=sys.stderr)
                return EXIT_FAILED
            outcome = summariser.summarise(digest)
        except BackendError as error:
            print(f"triage-tui summarize: {summariser.model.label}: {error} (the summary "
                  "resumes from its last finished pass next time)", file=sys.stderr)
            return EXIT_FAILED
        if outcome.state is not SummaryState.DONE:
            return EXIT_FAILED
        done = summariser.store.job(digest)
        assert done is not None
        if args.json:
            document = json.loads(done.summary or "{}")
            print(json.dumps({"content_hash": digest, "passes": outcome.passes,
                              "outputs": [str(p) for p in done.outputs], **document},
                             ensure_ascii=False, indent=2))
        else:
            print(done.markdown or "", end="")
            print(f"written: {', '.join(str(p) for p in done.outputs)}", file=sys.stderr)
    return EXIT_OK
