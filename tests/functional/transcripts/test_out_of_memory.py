"""CUDA out of memory during transcription: the file is retried in a fresh worker with half
the batch, then with int8 weights, and only fails when nothing smaller is left.

A real CUDA OOM cannot happen on this CPU machine, so the worker below is the real WhisperX
worker behind a card that only "fits" int8 weights at batch ≤ 2: larger settings get the
failure a real out-of-memory produces (bench/oom_backoff.py shows the same sequence on an H100
with real OOMs), the fitting one transcribes for real.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from tests.services.speech import Dialogue
from tui.transcripts.events import BatchSizeReduced, FileDone, FileFailed
from tui.transcripts.options import TranscribeOptions, after_out_of_memory
from tui.transcripts.pipeline import TranscriptPipeline
from tui.transcripts.store import TranscriptStore
from tui.transcripts.worker.handle import WorkerProcess

CT2_OOM = "RuntimeError: CUDA failed with error out of memory"


class TightCardWorker(WorkerProcess):
    def __init__(self, options: TranscribeOptions,
                 fits: Callable[[TranscribeOptions], bool]) -> None:
        super().__init__(options)
        self.fits = fits
        self.tries: list[tuple[str, int]] = []
        self.stops = 0
        self.answers: list[object] = []

    def stop(self) -> None:
        self.stops += 1
        super().stop()

    def submit(self, content_hash: str, path: str) -> None:
        self.tries.append((self.options.compute_type, self.options.batch_size))
        if self.fits(self.options):
            super().submit(content_hash, path)
        else:
            self.answers.append(FileFailed(content_hash, CT2_OOM, kind="oom"))

    def next_event(self, timeout: float = 0.2) -> object | None:
        if self.answers:
            return self.answers.pop(0)
        return super().next_event(timeout)


def gpu_like(cpu_options: TranscribeOptions) -> TranscribeOptions:
    # "auto" resolves to the CPU here, where the worker runs float16 as int8.
    return replace(cpu_options, device="auto", compute_type="float16", batch_size=8)


def test_the_batch_is_halved_then_int8_and_the_smaller_setting_is_kept(
        tmp_path: Path, dialogue: Dialogue, cpu_options: TranscribeOptions) -> None:
    options = gpu_like(cpu_options)
    worker = TightCardWorker(
        options, lambda o: o.compute_type.startswith("int8") and o.batch_size <= 2)
    store = TranscriptStore(tmp_path / "state.db")
    pipeline = TranscriptPipeline(store, options, tmp_path / "out", worker)
    events: list[object] = []
    pipeline.subscribe(events.append)
    first = pipeline.add_file(Path(shutil.copy(dialogue.path, tmp_path / "a.wav")))
    try:
        outcomes = pipeline.drain()
        assert isinstance(outcomes[-1], FileDone)
        assert worker.tries == [("float16", 8), ("float16", 4), ("float16", 2), ("float16", 1),
                                ("int8_float16", 8), ("int8_float16", 4), ("int8_float16", 2)]
        assert worker.stops >= 6  # every retry in a fresh process
        reduced = [(e.batch_size, e.compute_type) for e in events
                   if isinstance(e, BatchSizeReduced)]
        assert reduced == [(4, None), (2, None), (1, None), (8, "int8_float16"), (4, None),
                           (2, None)]
        record = store.get(first.content_hash)
        assert record is not None and record.attempts == 1  # the OOMs spent no attempt
        assert store.segments(first.content_hash)
        # The next file starts where the card fits.
        worker.tries.clear()
        with (tmp_path / "b.wav").open("wb") as copy:
            copy.write(dialogue.path.read_bytes() + b"\0\0")
        pipeline.add_file(tmp_path / "b.wav")
        assert isinstance(pipeline.drain()[-1], FileDone)
        assert worker.tries == [("int8_float16", 2)]
    finally:
        pipeline.stop()


def test_nothing_smaller_left_fails_the_file_and_the_queue_goes_on(
        tmp_path: Path, dialogue: Dialogue, cpu_options: TranscribeOptions) -> None:
    options = replace(gpu_like(cpu_options), batch_size=2)
    worker = TightCardWorker(options, lambda o: False)
    store = TranscriptStore(tmp_path / "state.db")
    pipeline = TranscriptPipeline(store, options, tmp_path / "out", worker)
    added = pipeline.add_file(Path(shutil.copy(dialogue.path, tmp_path / "a.wav")))
    try:
        outcomes = pipeline.drain()
    finally:
        pipeline.stop()
    assert worker.tries == [("float16", 2), ("float16", 1), ("int8_float16", 2),
                            ("int8_float16", 1)]
    last = outcomes[-1]
    assert isinstance(last, FileFailed) and last.kind == "oom" and last.reason == CT2_OOM
    record = store.get(added.content_hash)
    assert record is not None and record.error == CT2_OOM


def test_the_fallback_order() -> None:
    options = TranscribeOptions(device="cuda", compute_type="float16", batch_size=3)
    steps = []
    current: TranscribeOptions | None = options
    while current is not None:
        steps.append((current.compute_type, current.batch_size))
        current = after_out_of_memory(current, configured_batch_size=3)
    assert steps == [("float16", 3), ("float16", 1), ("int8_float16", 3), ("int8_float16", 1)]
    assert after_out_of_memory(replace(options, device="cpu", batch_size=1), 3) is None
