"""`triage-tui search`: full-text search over stored transcripts and mail, or `--rebuild` of
the index.

One hit a line: for a transcript the recording, the segment's time (hh:mm:ss), the speaker
and the passage; for a mail its id (m12), sender, subject and passage. `--json` prints the
same as one JSON document.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tui.search.query import clock
from tui.search.records import SCOPES, SEGMENT, Marked, SearchHit

if TYPE_CHECKING:
    from tui.config import Config

PROG = "triage-tui search"
EXIT_OK, EXIT_NO_HITS, EXIT_USAGE = 0, 1, 2


def add_search_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("query", nargs="*", metavar="QUERY",
                        help='words to find (all of them); "a phrase"; OR between '
                             "alternatives; -word to leave out")
    parser.add_argument("--in", dest="scope", choices=list(SCOPES), default="all",
                        help="search transcripts, mail or both (default: all)")
    parser.add_argument("--limit", type=int, default=20, help="at most N hits (default 20)")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.add_argument("--rebuild", action="store_true",
                        help="build the index anew from the stored transcripts and mail")


def _database(config: Config) -> Path:
    from tui.paths import default_database

    return config.paths.database or default_database()


def _open_stores(path: Path) -> list[Any]:
    """Opening each store installs its part of the index (a database from an older version
    is indexed now)."""
    from tui.mail.store import MailStore
    from tui.transcripts.store import TranscriptStore

    return [TranscriptStore(path), MailStore(path)]


def run_search(config: Config, args: argparse.Namespace) -> int:
    from tui.search.index import SearchIndex

    text = " ".join(args.query)
    if args.limit <= 0:
        print(f"{PROG}: --limit must be positive", file=sys.stderr)
        return EXIT_USAGE
    if not text and not args.rebuild:
        print(f"{PROG}: what to search for? (or --rebuild)", file=sys.stderr)
        return EXIT_USAGE
    path = _database(config)
    if not path.exists():
        print(f"{PROG}: no state database at {path} yet: nothing transcribed or triaged",
              file=sys.stderr)
        return EXIT_NO_HITS
    stores = _open_stores(path)
    index = SearchIndex(path)
    try:
        if args.rebuild:
            counts = index.rebuild()
            summary = ", ".join(f"{n} {kind} rows" for kind, n in counts.items()) or "empty"
            print(f"search index rebuilt: {summary}", file=sys.stderr if args.json else sys.stdout)
            if not text:
                return EXIT_OK
        hits = index.search(text, kinds=SCOPES[args.scope], limit=args.limit)
    finally:
        index.close()
        for store in stores:
            store.close()
    if args.json:
        print(json.dumps({"query": text, "hits": [hit_to_json(hit) for hit in hits]}, indent=2,
                         ensure_ascii=False))
    else:
        _print_hits(hits)
    return EXIT_OK if hits else EXIT_NO_HITS


def _marked_json(marked: Marked) -> dict[str, Any]:
    return {"text": marked.plain, "matches": [list(span) for span in marked.spans]}


def hit_to_json(hit: SearchHit) -> dict[str, Any]:
    common = {"snippet": _marked_json(hit.snippet),
              "snippet_from": "summary" if hit.in_note else "text",
              "score": round(hit.score, 6)}
    if hit.kind == SEGMENT:
        return {"kind": "transcript", "file": hit.label, "content_hash": hit.ref,
                "segment": hit.position, "start": hit.at, "time": clock(hit.at),
                "speaker": hit.who.plain or None, **common}
    return {"kind": hit.kind, "mail_id": hit.mail_id, "key": int(hit.ref),
            "message_id": hit.label, "sender": hit.who.plain, "subject": hit.title.plain,
            **common}


def _print_hits(hits: list[SearchHit]) -> None:
    from rich.console import Console
    from rich.text import Text

    # Matches in bold on a terminal; plain text (one hit a line, never wrapped) in a pipe.
    console = Console(highlight=False, soft_wrap=True)

    def marked(value: Marked) -> Text:
        text = Text()
        for part, matched in value.parts:
            text.append(part.replace("\n", " "), style="bold reverse" if matched else "")
        return text

    if not hits:
        console.print("no hits")
    for hit in hits:
        if hit.kind == SEGMENT:
            line = Text(f"{Path(hit.label).name or hit.ref[:12]}  {clock(hit.at)}  ")
            if hit.who.plain:
                line.append_text(marked(hit.who))
                line.append(": ")
        else:
            line = Text(f"{hit.mail_id}  ")
            line.append_text(marked(hit.who))
            line.append("  ")
            line.append_text(marked(hit.title))
            line.append("  " + ("summary: " if hit.in_note else ""))
        line.append_text(marked(hit.snippet))
        console.print(line)
