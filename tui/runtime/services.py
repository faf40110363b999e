"""One runtime for the dashboard and every headless command.

`Services` opens the state database, builds the transcript pipeline (its WhisperX worker
process and the drop-folder watcher) and the mail pipeline, resumes what an earlier run left
unfinished, and stops everything in order. The dashboard (`tui.ui.app`), `triage-tui watch`,
`triage-tui triage` and `triage-tui transcribe` all go through it, so each resumes the same
work the same way and nothing builds a pipeline twice.

Nothing here imports Textual: events reach whoever listens (the dashboard posts them to its
widgets as messages; the headless commands print or log them).
"""

from __future__ import annotations

import logging
import ssl
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from tui.adapters.state_lock import StateLock
from tui.config import Config
from tui.gpu_sampler import GpuReader, GpuSampler
from tui.llm.slot import LlmSlot
from tui.paths import default_database, default_log_file
from tui.runtime.events import ChecksDone, PlanComputed, ServiceStarted, StoppedCleanly
from tui.subscribers import Listener

if TYPE_CHECKING:
    from tui.llm import TriageBackend
    from tui.mail.pipeline import MailPipeline
    from tui.search.index import SearchIndex
    from tui.search.records import SearchHit
    from tui.summaries.runner import Summariser
    from tui.transcripts.options import TranscribeOptions
    from tui.transcripts.pipeline import TranscriptPipeline
    from tui.transcripts.records import AudioFileRecord, StoredSegment
    from tui.transcripts.store import TranscriptStore
    from tui.transcripts.watcher import DropFolderWatcher

log = logging.getLogger(__name__)


class _Closable(Protocol):
    def close(self) -> None: ...


class Services:
    """The stores, pipelines and watcher of one process, built once and stopped together.

    Construction does no I/O; `open_*` takes the state database's lock (one owning process
    at a time: `StateInUse` names the other), builds a pipeline and resumes its unfinished
    work; `start_*` also starts its threads (and the watcher) for long-running use.
    """

    def __init__(self, config: Config, *, database: Path | None = None,
                 transcribe_options: TranscribeOptions | None = None,
                 output_dir: Path | None = None,
                 triage_backend: TriageBackend | None = None,
                 ssl_context: ssl.SSLContext | None = None, role: str = "") -> None:
        self.config = config
        self.database = database or config.paths.database or default_database()
        self.log_path = str(config.paths.log_file or default_log_file())
        self._transcribe_options = transcribe_options
        self.output_dir = (output_dir or config.paths.output_dir).expanduser()
        self._triage_backend = triage_backend
        self._ssl_context = ssl_context
        self.transcripts: TranscriptPipeline | None = None
        self.watcher: DropFolderWatcher | None = None
        self.mail: MailPipeline | None = None
        self.summaries: Summariser | None = None
        # Mail triage and summaries share the one LLM slot (and one backend: the embedded
        # engine is one model in this process), mail first.
        self.llm_slot = LlmSlot()
        self._llm: TriageBackend | None = None
        self.gpu_sampler: GpuSampler | None = None
        self._stores: list[_Closable] = []
        self._search_index: SearchIndex | None = None
        self._transcript_reader: TranscriptStore | None = None
        # `role` names this process to another that finds the database taken.
        self.state_lock = StateLock(self.database, f"triage-tui {role}".strip())

    # -- transcripts ----------------------------------------------------------------------

    @property
    def transcribe_options(self) -> TranscribeOptions:
        if self._transcribe_options is None:
            from tui.transcripts.options import TranscribeOptions

            self._transcribe_options = TranscribeOptions.from_config(self.config.whisperx)
        return self._transcribe_options

    def open_transcripts(self) -> TranscriptPipeline:
        """The transcript pipeline on the state database; files left in flight by an
        earlier run are queued again."""
        if self.transcripts is not None:
            return self.transcripts
        from tui.transcripts.pipeline import TranscriptPipeline
        from tui.transcripts.store import TranscriptStore
        from tui.transcripts.worker.handle import WorkerProcess

        self.state_lock.acquire()
        store = TranscriptStore(self.database)
        self._stores.append(store)
        options = self.transcribe_options
        worker = WorkerProcess(options, self.config.whisperx.idle_unload_seconds,
                               log_path=self.log_path)
        self.transcripts = TranscriptPipeline(store, options, self.output_dir, worker)
        return self.transcripts

    def start_transcripts(self, listener: Listener, *, watch: bool = True) -> ServiceStarted:
        """Open, resume and run the transcript pipeline; with `watch`, the drop folder too.
        A folder or database that cannot be used is reported, never raised."""
        try:
            pipeline = self.open_transcripts()
            pipeline.subscribe(listener)
            pipeline.start()
            if not watch:
                return self._started(listener, ServiceStarted("watcher", True, "queue only"))
            from tui.transcripts.watcher import DropFolderWatcher

            whisperx = self.config.whisperx
            watcher = DropFolderWatcher(self.config.paths.drop_folder, whisperx.file_patterns,
                                        pipeline.add_file, recursive=whisperx.recursive,
                                        stable_seconds=whisperx.stable_seconds,
                                        on_changed=pipeline.file_changed)
            watcher.start()
            self.watcher = watcher
        except Exception as error:  # a broken drop folder or database: say so, keep going
            log.exception("transcript pipeline failed to start: %s", error)
            return self._started(listener, ServiceStarted("watcher", False, str(error)))
        return self._started(listener, ServiceStarted("watcher", True, self.watcher_detail))

    @property
    def watcher_detail(self) -> str:
        """How recordings are found and transcribed, for the status line."""
        mode = "polling" if self.watcher is not None and self.watcher.using_polling \
            else "watching"
        options = self.transcribe_options
        asr = ("WhisperX" if options.asr_backend == "whisperx"
               else f"remote {options.remote_model}")
        return f"{mode}, ASR {asr}"

    # -- mail -----------------------------------------------------------------------------

    def open_mail(self) -> MailPipeline:
        """The mail pipeline on the state database; batches left `triaging` by an earlier
        run go back to the triage queue."""
        if self.mail is not None:
            return self.mail
        from tui.mail.pipeline import MailPipeline
        from tui.mail.store import MailStore

        self.state_lock.acquire()
        store = MailStore(self.database)
        self._stores.append(store)
        pipeline = MailPipeline(self.config, store, ssl_context=self._ssl_context,
                                model=self.llm_backend(), llm_slot=self.llm_slot)
        resumed = pipeline.resume()
        if resumed:
            log.info("%d mail(s) in flight at the last stop go back to triage", len(resumed))
        self.mail = pipeline
        return pipeline

    def llm_backend(self) -> TriageBackend:
        """The one backend mail and summaries share, built once (no I/O until it is used).
        The embedded llama.cpp engine gets the plan's word on the GPU offload (asked when its
        process starts) and the log file for that process's output."""
        if self._llm is None:
            from tui.llm import make_backend

            if self._triage_backend is not None:
                self._llm = self._triage_backend
            elif self.config.llm.backend == "llamacpp":
                from tui.planning.service import llm_fits_its_card

                config = self.config
                self._llm = make_backend(config, plan_fits=lambda: llm_fits_its_card(config),
                                         log_path=self.log_path)
            else:
                self._llm = make_backend(self.config)
        return self._llm

    def start_mail(self, listener: Listener) -> ServiceStarted:
        """Open the mail pipeline, replay what the store already holds to `listener` (so a
        view starts from the stored state), then run its IMAP and triage threads."""
        try:
            pipeline = self.open_mail()
        except Exception as error:
            log.exception("mail pipeline failed to start")
            return self._started(listener, ServiceStarted("IMAP", False, str(error)))
        for event in pipeline.stored_events():
            listener(event)
        pipeline.subscribe(listener)
        pipeline.start()
        return ServiceStarted("IMAP", True, "started")

    # -- search -------------------------------------------------------------------------

    def search(self, text: str, kinds: tuple[str, ...] | None = None,
               limit: int = 50) -> list[SearchHit]:
        """Hits for what the user typed (blocking: call off the UI thread). The index has
        its own connection: reads go beside the pipelines' writes."""
        if self._search_index is None:
            from tui.search.index import SearchIndex

            self._search_index = SearchIndex(self.database)
            self._stores.append(self._search_index)
        return self._search_index.search(text, kinds=kinds, limit=limit)

    def stored_transcript(self, content_hash: str
                          ) -> tuple[AudioFileRecord | None, list[StoredSegment], dict[str, str]]:
        """A recording's record, segments and speaker names from the state database (a
        search hit in a file this run never showed). Blocking: call off the UI thread."""
        if self.transcripts is not None:
            store = self.transcripts.store
        else:
            if self._transcript_reader is None:
                from tui.transcripts.store import TranscriptStore

                self._transcript_reader = TranscriptStore(self.database)
                self._stores.append(self._transcript_reader)
            store = self._transcript_reader
        return (store.get(content_hash), store.segments(content_hash),
                store.speaker_names(content_hash))

    # -- summaries ------------------------------------------------------------------------

    def open_summaries(self) -> Summariser:
        """The summaries on the state database, over the transcripts (the pipeline's store
        when it is open) and the shared backend and slot; summaries a stopped run left
        running go back to the queue, their finished passes kept."""
        if self.summaries is not None:
            return self.summaries
        from tui.summaries.runner import Summariser
        from tui.summaries.store import SummaryStore
        from tui.transcripts.store import TranscriptStore

        self.state_lock.acquire()
        if self.transcripts is not None:
            transcripts = self.transcripts.store
        else:
            transcripts = TranscriptStore(self.database)
            self._stores.append(transcripts)
        store = SummaryStore(self.database)
        self._stores.append(store)
        budget = self.config.budget
        summariser = Summariser(store, transcripts, self.llm_backend(),
                                num_ctx=budget.num_ctx,
                                reserve=budget.generation_reserve_tokens,
                                output_dir=self.output_dir, llm_slot=self.llm_slot)
        resumed = summariser.resume()
        if resumed:
            log.info("%d summary(ies) in flight at the last stop resume", len(resumed))
        self.summaries = summariser
        return summariser

    def start_summaries(self, listener: Listener) -> Summariser | None:
        """When `[summaries] enabled`: replay the stored summaries to `listener`, summarise
        each transcript the transcript pipeline finishes (its FileDone events), and run the
        queue in the background. None when off or when it cannot start (logged)."""
        if not self.config.summaries_enabled:
            return None
        try:
            summariser = self.open_summaries()
        except Exception:
            log.exception("summaries failed to start")
            return None
        for event in summariser.stored_events():
            listener(event)
        summariser.subscribe(listener)
        if self.transcripts is not None:
            self.transcripts.subscribe(summariser.on_transcript_event)
        summariser.start()
        return summariser

    # -- checks, plan and GPU readings ---------------------------------------------------

    def check(self, listener: Listener) -> ChecksDone:
        """Run the doctor's checks (they may wait on network timeouts: call off the UI
        thread) and hand the results to `listener`."""
        from tui.doctor import run_checks

        done = ChecksDone(tuple(run_checks(self.config)))
        for result in done.results:
            if not result.ok:
                log.info("%s: %s (fix: %s)", result.name, result.detail, result.fix)
        listener(done)
        return done

    def plan(self, listener: Listener, gpu_reader: GpuReader) -> PlanComputed:
        """Plan the budget for the cards `gpu_reader` sees; a failure is a value, not a
        crash (shown where the plan would be)."""
        from tui.planning.service import PlanOptions, make_plan

        try:
            computed = PlanComputed(make_plan(self.config, PlanOptions(), gpus=gpu_reader()))
        except Exception as error:
            log.exception("planning failed")
            computed = PlanComputed(None, str(error))
        listener(computed)
        return computed

    def start_gpu_sampler(self, listener: Listener, reader: GpuReader,
                          process_namer: Callable[[int], str]) -> None:
        """NVML readings every few seconds, to `listener` (one only, if there is no GPU)."""
        self.gpu_sampler = GpuSampler(reader, process_namer, listener)
        self.gpu_sampler.start()

    # -- lifecycle ------------------------------------------------------------------------

    @staticmethod
    def _started(listener: Listener, event: ServiceStarted) -> ServiceStarted:
        listener(event)
        return event

    def stop(self) -> StoppedCleanly:
        """Watcher first (no new files), then the pipelines (the WhisperX worker exits or is
        killed; its file resumes at the next start), then the databases."""
        threads: list[str] = []
        worker_alive = False
        for service in (self.gpu_sampler, self.watcher, self.transcripts, self.summaries,
                        self.mail):
            if service is None:
                continue
            try:
                service.stop()
            except Exception:  # shutting down: log and carry on with the rest
                log.exception("stopping %s failed", type(service).__name__)
            threads.extend(service.live_threads())
        if self.transcripts is not None:
            worker_alive = self.transcripts.worker.is_running
        self.gpu_sampler = self.watcher = self.transcripts = self.mail = None
        self.summaries = None
        for store in self._stores:
            store.close()
        self._stores.clear()
        self._search_index = self._transcript_reader = None
        self.state_lock.release()
        result = StoppedCleanly(tuple(threads), worker_alive)
        if not result.ok:
            log.warning("stopped with threads still running: %s; worker alive: %s",
                        ", ".join(threads) or "none", worker_alive)
        return result

    def __enter__(self) -> Services:
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()
