"""The transcript pane: the file being worked on, its live lines, and the queue."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import TYPE_CHECKING

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.message import Message
from textual.timer import Timer
from textual.widgets import ProgressBar, Static

from tui.ui.messages import SearchRequested
from tui.ui.transcript_view import LogEntry, segment_entry
from tui.ui.widgets.focus_frame import FocusFrame
from tui.ui.widgets.wrapping_log import WrappingLog

if TYPE_CHECKING:
    from tui.transcripts.events import ModelDownload
    from tui.transcripts.records import StoredSegment

log = logging.getLogger(__name__)

MAX_LINES = 2000
# Lines arriving in a burst are written together at most this often: rendering each one as
# it comes would keep the event loop busy and delay key presses.
FLUSH_SECONDS = 0.05
# Lines are written in slices of about SLICE_SECONDS of work (sized by what the last lines
# cost), one slice every FLUSH_SECONDS while lines wait, so that a key never waits for a whole
# burst (a second of lines at 100 a second took ~45 ms to wrap and draw on the 2-core
# machine; bench/dashboard_latency.py). Keys first: while the user is pressing keys (one came
# in the last KEY_QUIET_SECONDS), one slice at most every HOLD_SECONDS, so that nearly every
# key's frame is drawn without the log's (~10 ms more); the lines held meanwhile follow in
# slices once the keys pause.
KEY_QUIET_SECONDS = 0.15
HOLD_SECONDS = 1.0
SLICE_SECONDS = 0.008


class TranscriptPane(FocusFrame, can_focus=True):
    BINDINGS = [
        Binding("j", "scroll(1)", "Down", show=False, id="transcript.down"),
        Binding("k", "scroll(-1)", "Up", show=False, id="transcript.up"),
        Binding("g", "edge(0)", "Top", show=False, id="transcript.top"),
        Binding("G", "edge(1)", "Bottom", show=False, id="transcript.bottom"),
        Binding("pageup", "page(-1)", "Page up", show=False, id="transcript.page_up"),
        Binding("pagedown", "page(1)", "Page down", show=False, id="transcript.page_down"),
        Binding("enter", "open", "Full transcript", id="transcript.open"),
        Binding("R", "rename", "Rename speaker", id="transcript.rename"),
        Binding("x", "retry_failed", "Retry failed", show=False, id="transcript.retry"),
        Binding("slash", "search", "Search", id="transcript.search"),
    ]

    class RetryFailed(Message):
        """The user asked for every failed recording to be transcribed again."""

    class RenameSpeaker(Message):
        """The user named a speaker of the current file (the app stores it)."""

        def __init__(self, content_hash: str, speaker: str, name: str) -> None:
            self.content_hash = content_hash
            self.speaker = speaker
            self.name = name
            super().__init__()

    def __init__(self, drop_folder: Path | None = None, *, whisper_model: str = "large-v3",
                 **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.drop_folder = drop_folder
        self.whisper_model = whisper_model  # named in the words for a model that is missing
        self.border_title = "Transcripts"
        self._names: dict[str, dict[str, str]] = {}  # digest → speaker → name
        self._files: dict[str, tuple[str, str]] = {}   # digest → (name, state)
        self._warnings: dict[str, str] = {}  # digest → its latest FileWarning
        self._summaries: dict[str, str] = {}  # digest → summary markdown, or where it stands
        # digest → index → segment: a re-sent index replaces its line in O(1).
        self._segments: dict[str, dict[int, StoredSegment]] = {}
        self._current: str | None = None
        self._pending: list[StoredSegment] = []
        self._flush_timer: Timer | None = None  # set while lines wait to be written
        self._seconds_per_line = 0.0005  # what writing one line cost lately (slices)
        self._written_at = 0.0  # time.monotonic() of the last slice written

    def compose(self) -> ComposeResult:
        with Horizontal(id="transcript-head"):
            # Paths, reasons and fixes ("[whisperx] model") are text, not markup.
            yield Static(self._waiting_text(), id="transcript-status", markup=False)
            yield ProgressBar(total=100, show_eta=False, id="transcript-progress")
        yield WrappingLog(id="transcript-lines", max_entries=MAX_LINES, focusable=False)
        yield Static("", id="transcript-queue", markup=False)

    def _waiting_text(self) -> str:
        if self.drop_folder is None:
            return "starting: reading the config"
        return f"waiting for recordings in {self.drop_folder}"

    def configure(self, drop_folder: Path, *, whisper_model: str) -> None:
        """What the config names (TriageApp._configured)."""
        waiting = self.query_one("#transcript-status", Static).content == self._waiting_text()
        self.drop_folder, self.whisper_model = drop_folder, whisper_model
        if waiting:  # nothing has been said about a recording yet
            self._status(self._waiting_text())

    @property
    def lines(self) -> WrappingLog:
        return self.query_one("#transcript-lines", WrappingLog)

    def _line(self, segment: StoredSegment) -> LogEntry:
        return segment_entry(segment, self._names.get(self._current or "", {}))

    def _write(self, segment: StoredSegment) -> None:
        self._pending.append(segment)
        if self._flush_timer is None:
            self._flush_timer = self.set_timer(FLUSH_SECONDS, self._flush)

    def _flush(self) -> None:
        self._flush_timer = None
        now = time.monotonic()
        # The dashboard notes when the last key came (TriageApp.last_key_at).
        since_key = now - getattr(self.app, "last_key_at", 0.0)
        since_written = now - self._written_at
        if since_key < KEY_QUIET_SECONDS and since_written < HOLD_SECONDS:
            self._flush_timer = self.set_timer(
                min(KEY_QUIET_SECONDS - since_key, HOLD_SECONDS - since_written), self._flush)
            return
        self._write_pending(self._slice_size())
        if self._pending:
            self._flush_timer = self.set_timer(FLUSH_SECONDS, self._flush)

    def _slice_size(self) -> int:
        return max(1, int(SLICE_SECONDS / self._seconds_per_line))

    def _write_pending(self, limit: int) -> None:
        """The oldest `limit` waiting lines."""
        # Lines beyond the log's cap would be dropped as soon as written: skip rendering them.
        waiting = self._pending[-MAX_LINES:]
        batch, self._pending = waiting[:limit], waiting[limit:]
        if not batch:
            return
        started = time.perf_counter()
        # Follow new lines only while the reader is at the bottom.
        self.lines.write([self._line(segment) for segment in batch],
                         follow=self.lines.is_vertical_scroll_end)
        self._seconds_per_line = (self._seconds_per_line
                                  + (time.perf_counter() - started) / len(batch)) / 2
        self._written_at = time.monotonic()

    def _rewrite(self, digest: str) -> None:
        self._pending.clear()
        segments = sorted(self._segments.get(digest, {}).values(), key=lambda s: s.index)
        self.lines.replace([self._line(segment) for segment in segments[-MAX_LINES:]],
                           follow=self.lines.is_vertical_scroll_end)

    def _drop_finished(self) -> None:
        """Forget the segments of finished files other than the one shown: their transcripts
        are in the store and the output files, and a day of recordings would otherwise stay
        in memory. Files still in the worker keep theirs (it may show them again)."""
        for digest in [digest for digest in self._segments if digest != self._current
                       and self._files.get(digest, ("", ""))[1] in ("done", "failed")]:
            del self._segments[digest]

    def _render_queue(self) -> None:
        rows = [f"{'▶' if digest == self._current else ' '} {state:<12} {name}"
                for digest, (name, state) in list(self._files.items())[-8:]]
        self.query_one("#transcript-queue", Static).update("\n".join(rows))

    def _status(self, text: str) -> None:
        self.query_one("#transcript-status", Static).update(text)

    def apply(self, event: object) -> None:
        """A transcript pipeline event; others are ignored. Segment lines are written in
        slices (see SLICE_SECONDS), so a burst of thousands never holds a key up."""
        # Imported with the first event: the first frame waits for none of the event types
        # (bench/dashboard_latency.py, first frame).
        from tui.transcripts.events import (
            BatchSizeReduced,
            DuplicateSkipped,
            FileDone,
            FileFailed,
            FileQueued,
            FileWarning,
            ModelDownload,
            Progress,
            SegmentsRefined,
            SegmentTranscribed,
            StageChanged,
            StepUnavailable,
        )

        digest = getattr(event, "content_hash", "")
        if isinstance(event, StepUnavailable):
            log.warning("%s (fix: %s)", event.reason, event.fix)
            self.app.notify(f"{event.reason}\nfix: {event.fix}", severity="warning", timeout=15,
                            markup=False)
            return
        if isinstance(event, BatchSizeReduced):
            weights = f", {event.compute_type} weights" if event.compute_type else ""
            self.app.notify(f"{event.reason}: batch size {event.batch_size}{weights}",
                            severity="warning", timeout=10, markup=False)
            return
        if isinstance(event, FileWarning):
            # Shown where the file's state is, and as a notification: the transcript of a
            # recording cut short looks complete otherwise.
            name = self._files.get(digest, (Path(event.path).name, ""))[0]
            self._warnings[digest] = event.message
            self._status(f"{name}: warning: {event.message}")
            self.app.notify(f"{name}: {event.message}", severity="warning", timeout=15,
                            markup=False)
            return
        if isinstance(event, ModelDownload):
            self._show_download(event)
            return
        if self._apply_summary(event):
            return
        if isinstance(event, FileQueued):
            self._files[digest] = (Path(event.path).name, "queued")
        elif isinstance(event, DuplicateSkipped):
            self._status(f"skipped {Path(event.path).name}: same audio as "
                         f"{Path(event.original_path).name}")
        elif isinstance(event, StageChanged):
            name = self._files.get(digest, (digest[:12], ""))[0]
            self._files[digest] = (name, event.state.value)
            if digest != self._current:
                self._current = digest
                self._segments.setdefault(digest, {})
                self._rewrite(digest)
                self._drop_finished()
            self._status(f"{name}: {event.state.value}")
        elif isinstance(event, Progress) and digest == self._current:
            self.query_one(ProgressBar).update(progress=event.percent)
        elif isinstance(event, SegmentTranscribed):
            self._segments.setdefault(digest, {})[event.segment.index] = event.segment
            if digest == self._current:
                self._write(event.segment)
        elif isinstance(event, SegmentsRefined):
            self._segments[digest] = {segment.index: segment for segment in event.segments}
            if digest == self._current:
                self._rewrite(digest)
        elif isinstance(event, FileDone):
            name = self._files.get(digest, (digest[:12], ""))[0]
            self._files[digest] = (name, "done")
            self._drop_finished()
            self.query_one(ProgressBar).update(progress=100)
            warning = "; ".join(event.warnings) or self._warnings.get(digest)
            self._status(f"{name}: done, {len(event.outputs)} files written"
                         + (f"; warning: {warning}" if warning else ""))
        elif isinstance(event, FileFailed):
            # In words, with what to do; the pipeline logged the reason as it came.
            name = self._files.get(digest, (digest[:12], ""))[0]
            self._files[digest] = (name, "failed")
            self._drop_finished()
            from tui.transcripts.plain_failures import explain_failure

            plain = explain_failure(event.reason, event.kind, model=self.whisper_model)
            self._status(f"{name}: failed: {plain.sentence} (then x retries it)")
            self.app.notify(f"{name}: {plain.sentence}", severity="error", timeout=15,
                            markup=False)
        else:
            return  # not a transcript event: nothing changed here
        if not isinstance(event, (SegmentTranscribed, SegmentsRefined, Progress)):
            self._render_queue()  # the queue list changes with files, not with lines

    def _apply_summary(self, event: object) -> bool:
        """Where a file's summary stands, in the status line when the file is the current
        one; the summary itself is kept for the full-transcript screen (Enter). False for
        an event that is not about a summary's progress."""
        from tui.summaries.events import (
            SummaryDeferred,
            SummaryFailed,
            SummaryPlanned,
            SummaryProgress,
            SummaryQueued,
            SummaryReady,
        )
        if not isinstance(event, (SummaryQueued, SummaryPlanned, SummaryProgress, SummaryReady,
                                  SummaryFailed, SummaryDeferred)):
            return False
        digest = getattr(event, "content_hash", "")
        name, state = self._files.get(digest, (digest[:12], ""))
        # The file's own state stays in the line ("done, 4 files written; summary …").
        name = f"{name}: {state};" if state else f"{name}:"
        if isinstance(event, SummaryReady):
            self._summaries[digest] = event.markdown
            text = f"{name} summary ready (Enter shows it)"
        elif isinstance(event, SummaryProgress):
            pass_words = f"pass {event.index + 1} of {event.total} ({event.kind})"
            self._summaries[digest] = f"Summary: {pass_words} running…"
            if digest == self._current:
                self.query_one(ProgressBar).update(progress=event.percent)
            text = f"{name} summary {pass_words} {event.percent:.0f}%"
        elif isinstance(event, SummaryPlanned):
            total = event.map_passes + event.reduce_passes
            self._summaries[digest] = f"Summary: {total} LLM passes planned"
            text = f"{name} summary in {total} pass(es)"
        elif isinstance(event, SummaryFailed):
            self._summaries[digest] = f"Summary failed: {event.reason}"
            text = f"{name} summary failed: {event.reason}"
        elif isinstance(event, SummaryDeferred):
            self._summaries[digest] = f"Summary waits: {event.reason}"
            text = f"{name} summary waits {event.retry_in:.0f} s ({event.reason})"
        else:
            self._summaries[digest] = "Summary: queued (the LLM serves mail first)"
            text = f"{name} summary queued"
        if digest == self._current:
            self._status(text)
        return True

    def _show_download(self, event: ModelDownload) -> None:
        """A model the worker fetches on demand: the download in the status line and the bar
        (the recording waits for it); when a file is in, the recording's state again."""
        from tui.transcripts.download_words import describe_download

        bar = self.query_one(ProgressBar)
        if not event.finished:
            self._status(describe_download(event))
            if event.percent is not None:
                bar.update(progress=int(event.percent))  # as the line says it: 38.9 is 38 %
            return
        bar.update(progress=0)
        if self._current is not None:
            name, state = self._files.get(self._current, (self._current[:12], ""))
            self._status(f"{name}: {state} ({describe_download(event)})")
        else:
            self._status(describe_download(event))

    # -- keys ----------------------------------------------------------------------------

    def action_scroll(self, lines: int) -> None:
        self.lines.scroll_relative(y=lines, animate=False)

    def action_page(self, pages: int) -> None:
        page = max(1, self.lines.scrollable_content_region.height - 1)
        self.lines.scroll_relative(y=pages * page, animate=False)

    def action_edge(self, bottom: int) -> None:
        if bottom:
            self.lines.scroll_end(animate=False)
        else:
            self.lines.scroll_home(animate=False)

    def current_transcript(self) -> tuple[str, list[LogEntry]]:
        if self._current is None:
            return "", []
        name = self._files.get(self._current, (self._current[:12], ""))[0]
        segments = sorted(self._segments.get(self._current, {}).values(), key=lambda s: s.index)
        return name, [self._line(segment) for segment in segments]

    def action_open(self) -> None:
        from tui.ui.screens.transcript_screen import TranscriptScreen

        name, lines = self.current_transcript()
        if lines:
            summary = self._summaries.get(self._current or "", "")
            self.app.push_screen(TranscriptScreen(name, lines, summary=summary))

    def speakers(self) -> list[str]:
        if self._current is None:
            return []
        found = {s.speaker for s in self._segments.get(self._current, {}).values() if s.speaker}
        return sorted(found)

    def set_speaker_name(self, speaker: str, name: str) -> None:
        if self._current is not None:
            self._names.setdefault(self._current, {})[speaker] = name
            self._rewrite(self._current)

    def action_search(self) -> None:
        """/: every transcript stored, not only this run's (the app opens the search)."""
        self.post_message(SearchRequested("transcripts"))

    def action_retry_failed(self) -> None:
        self.post_message(self.RetryFailed())

    def action_rename(self) -> None:
        from tui.ui.screens.pickers import TextPrompt

        speakers = self.speakers()
        digest = self._current
        if not speakers or digest is None:
            self.app.notify("no speaker labels in this transcript yet", severity="warning")
            return

        def renamed(answer: str | None) -> None:
            if not answer or "=" not in answer:
                return
            speaker, name = (part.strip() for part in answer.split("=", 1))
            if speaker in speakers and name:
                self.set_speaker_name(speaker, name)
                self.post_message(self.RenameSpeaker(digest, speaker, name))
            else:
                self.app.notify(f"unknown speaker {speaker!r}; one of {', '.join(speakers)}",
                                severity="warning")

        self.app.push_screen(TextPrompt(f"Rename ({', '.join(speakers)}), e.g. "
                                        f"{speakers[0]}=Ana:", f"{speakers[0]}="), renamed)
