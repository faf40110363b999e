"""Meeting summaries: time and LLM calls per hour of audio at num_ctx 8K, against the plan.

A synthetic meeting of the given length (`tests/functional/summaries/meeting.py`: three
speakers, two named, one segment every 4.3 s, so an hour is 837 segments) is written straight
into a fresh SQLite transcript store, and the product's own `Summariser` summarises it with
the budget the app gives it (`tui/runtime/services.py`: `[budget] num_ctx` and
`generation_reserve_tokens`, 8,192 and 2,048 by default; the reserve is also each reply's
`max_tokens`). Before the run, `plan_summary` predicts the passes (map passes over runs of
segments, reduce passes over their notes) from the same lines and budget; the backend is
wrapped only to record each call: its time, the server's own prompt and completion counts,
its finish reason and what became of the reply (accepted; rejected and asked again;
rejected and the transcript planned again; refused as too long).

Per meeting it prints: audio minutes, segments, words, the planned passes, the calls the
server saw (and per hour of audio), wall seconds (and per hour of audio), the server's prompt
tokens (total, and the largest against the room num_ctx − reserve: every prompt must fit),
generated tokens, the calls whose reply was not used, replans and the result.

Here (starts llama.cpp's `llama-server`, as `scripts/llama-server` builds it, with
SmolLM2-135M-Instruct Q4_1 on the CPU; a pass at 8K took 1–11 minutes on one shared core,
mostly generation, so an hour of audio takes over an hour: see bench/README.md):
    .venv/bin/python bench/summary_speed.py [--minutes 10,30,60] [--threads 2] \\
        [--json-out bench/results/summary_speed-cpu-DATE.json]

On a GPU box, against the server that already serves the model (the product's own path to
it). An OpenAI-compatible server (llama-server, vLLM), e.g. Devstral under llama-server:
    llama-server -m Devstral-Small-2507-Q4_K_M.gguf --alias devstral -c 8192 -np 1 -ngl 99 \\
        --port 8080 &
    .venv/bin/python bench/summary_speed.py --base-url http://127.0.0.1:8080/v1 \\
        --model devstral --minutes 10,30,60 --json-out devstral.json
Ollama (as the app talks to it: `/api/chat` with `num_ctx`), through the app's config:
    .venv/bin/python bench/summary_speed.py --config ~/.config/triage-tui/config.toml \\
        --minutes 10,30,60 --json-out devstral.json
With `--config` the budget is the config's unless `--num-ctx`/`--reserve` say otherwise.
`--calls` lists every call (with llama-server's own prompt and generation timings when it
runs here); `--render FILE` prints a saved `--json-out` run again.

The pass count depends only on the budget and the token estimates (and the calibration a
first over-long prompt would teach): it is the same for any model whose tokenizer counts
like the estimates. The time is the engine's and the model's: measure it where it runs.
`--max-tokens` caps each reply below the reserve (the app caps it at the reserve): a reply
that reaches the cap is rejected as cut off, as in the app, so use it only to bound the time
a rambling model takes, and say so with the figures. (The Ollama backend sends no reply
limit, so there is none to lower there.)
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, fields
from datetime import date
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.functional.summaries.meeting import write_meeting
from tui.config import (
    BudgetConfig,
    Config,
    ConfigError,
    LlmConfig,
    OpenAIConfig,
    PathsConfig,
    load_config_file,
)
from tui.llm import BackendError, BatchReply, PromptTooLong, TriageBackend, make_backend
from tui.summaries.events import SummaryPlanned, SummaryProgress, SummaryRetried
from tui.summaries.planner import PlanError, plan_summary
from tui.summaries.prompt import segment_lines
from tui.summaries.runner import Summariser
from tui.summaries.store import SummaryStore
from tui.transcripts.store import TranscriptStore

#: One segment every 4.3 s (`write_meeting`'s spacing).
SEGMENT_SECONDS = 4.3
LOCAL_ALIAS = "smollm2-summaries"


@dataclass
class Call:
    """One call the backend made, as the server answered it."""

    index: int                         # the pass (0-based) in the plan of the moment
    kind: str                          # map or reduce
    seconds: float
    prompt_tokens: int | None = None
    generated_tokens: int | None = None
    finish: str | None = None
    outcome: str = "?"                 # accepted, rejected: <why>, replanned: <why>,
                                       # refused: <why> (too long), error: <why>
    # llama-server's own timings (its log; only when it runs here): prompt tokens it
    # evaluated (cached ones left out) and the milliseconds, generated tokens and theirs.
    prompt_eval: tuple[int, float] | None = None
    generation: tuple[int, float] | None = None


@dataclass
class Meeting:
    minutes: float
    segments: int
    words: int
    planned_map: int
    planned_reduce: int
    num_ctx: int
    reserve: int
    calls: list[Call] = field(default_factory=list)
    wall_s: float = 0.0
    final_passes: int = 0              # passes in the plan the run ended with
    replans: int = 0
    result: str = ""

    @property
    def planned(self) -> int:
        return self.planned_map + self.planned_reduce

    @property
    def room(self) -> int:
        return self.num_ctx - self.reserve

    @property
    def per_hour(self) -> float:
        return 60.0 / self.minutes

    def rate(self, part: str) -> str:
        """Tokens a second over every call, by llama-server's timings ("-" without)."""
        timed = [getattr(c, part) for c in self.calls if getattr(c, part) is not None]
        milliseconds = sum(ms for _, ms in timed)
        return f"{1000 * sum(n for n, _ in timed) / milliseconds:.1f}" if milliseconds \
            else "-"

    def prompt_counts(self) -> list[int]:
        return [c.prompt_tokens for c in self.calls if c.prompt_tokens is not None]

    def fit(self) -> str:
        """"fits" when the server counted every prompt within the room (num_ctx − reserve).
        A prompt over the room that the runner caught (it rejects the reply and plans again
        with the calibration it taught: a `replanned` call) is the app working, and is
        counted as such; a failure is a reply accepted from a prompt over the room, a prompt
        over num_ctx itself (the server cut or refused it), or a prompt it did not count."""
        if not self.prompt_counts() and not any(c.outcome.startswith("refused")
                                                for c in self.calls):
            return "unknown: no call answered"
        accepted_over = sum(1 for c in self.calls if c.outcome == "accepted"
                            and (c.prompt_tokens or 0) > self.room)
        over_ctx = sum(1 for c in self.calls if (c.prompt_tokens or 0) > self.num_ctx)
        refused = sum(1 for c in self.calls if c.outcome.startswith("refused"))
        uncounted = sum(1 for c in self.calls if c.prompt_tokens is None
                        and not c.outcome.startswith(("refused", "error")))
        problems = [f"{accepted_over} accepted over the room"] * bool(accepted_over) + \
            [f"{over_ctx} over num_ctx"] * bool(over_ctx) + \
            [f"{refused} refused as too long"] * bool(refused) + \
            [f"{uncounted} not counted by the server"] * bool(uncounted)
        if problems:
            return "FAILS: " + ", ".join(problems)
        caught = sum(1 for n in self.prompt_counts() if n > self.room)
        return f"fits ({caught} over the room: replanned)" if caught else "fits"

    @property
    def ok(self) -> bool:
        return self.result == "done" and self.fit().startswith("fits")

    def wasted(self) -> tuple[int, float]:
        """Calls whose reply was not used (rejected, replanned, refused, failed), their
        seconds."""
        lost = [c for c in self.calls if c.outcome != "accepted"]
        return len(lost), sum(c.seconds for c in lost)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Meeting:
        names = {f.name for f in fields(cls)}
        calls = [Call(**{**c, "prompt_eval": tuple(c["prompt_eval"]) if c.get("prompt_eval")
                         else None,
                         "generation": tuple(c["generation"]) if c.get("generation") else None})
                 for c in data["calls"]]
        return cls(**{k: v for k, v in data.items() if k in names and k != "calls"},
                   calls=calls)

    def summary(self) -> dict[str, Any]:
        prompts = self.prompt_counts()
        return {
            "planned_passes": self.planned, "calls": len(self.calls),
            "calls_per_hour": len(self.calls) * self.per_hour,
            "seconds_per_hour": self.wall_s * self.per_hour,
            "prompt_tokens": sum(prompts), "max_prompt_tokens": max(prompts, default=0),
            "room": self.room, "fit": self.fit(),
            "generated_tokens": sum(c.generated_tokens or 0 for c in self.calls),
            "rejected_replies": sum(1 for c in self.calls if c.outcome.startswith("rejected")),
            "wasted_calls": self.wasted()[0], "wasted_seconds": self.wasted()[1],
        }


class CallRecorder:
    """Wraps the backend's `run_batch` to time each call and keep the server's counts; the
    runner's events (on the same thread) say which pass it was and what became of it."""

    def __init__(self, model: TriageBackend, progress: Callable[[Call], None]) -> None:
        self.calls: list[Call] = []
        self.replans = -1              # the first SummaryPlanned is the plan itself
        self._current: tuple[int, str] = (0, "map")
        self._progress = progress
        run = model.run_batch

        def recording(messages: list[dict[str, str]], *args: Any) -> BatchReply:
            index, kind = self._current
            started = time.monotonic()
            try:
                reply = run(messages, *args)
            except PromptTooLong as error:
                self._add(Call(index, kind, time.monotonic() - started, error.prompt_tokens,
                               outcome=f"refused: {error}"))
                raise
            except BackendError as error:
                self._add(Call(index, kind, time.monotonic() - started,
                               outcome=f"error: {error}"))
                raise
            self.calls.append(Call(index, kind, time.monotonic() - started,
                                   reply.prompt_eval_count, reply.eval_count,
                                   reply.done_reason))
            return reply

        model.run_batch = recording  # type: ignore[method-assign]

    def _add(self, call: Call) -> None:
        self.calls.append(call)
        self._progress(call)

    def on_event(self, event: object) -> None:
        if isinstance(event, SummaryPlanned):
            self.replans += 1
            if self.replans > 0 and self.calls and self.calls[-1].outcome.startswith(
                    "rejected: "):
                self.calls[-1].outcome = self.calls[-1].outcome.replace(
                    "rejected", "replanned", 1)
        elif isinstance(event, SummaryProgress) and not event.finished and event.percent == 0:
            self._current = (event.index, event.kind)
        elif isinstance(event, SummaryProgress) and event.finished and self.calls:
            self.calls[-1].outcome = "accepted"
            self._progress(self.calls[-1])
        elif isinstance(event, SummaryRetried) and self.calls:
            last = self.calls[-1]
            if last.outcome == "?":
                last.outcome = f"rejected: {event.reason}"
                self._progress(last)


# -- engines --------------------------------------------------------------------------------

_TIMING_RE = re.compile(r"task (?P<task>\d+) \|\s+(?P<what>prompt eval|eval) time =\s*"
                        r"(?P<ms>[\d.]+) ms /\s*(?P<tokens>\d+) tokens")


def server_timings(log: str) -> list[tuple[tuple[int, float] | None, tuple[int, float] | None]]:
    """(prompt eval, generation) as (tokens, ms) per completed task, in order, from
    llama-server's `print_timing` lines."""
    tasks: dict[int, dict[str, tuple[int, float]]] = {}
    for match in _TIMING_RE.finditer(log):
        tasks.setdefault(int(match["task"]), {})[match["what"]] = (int(match["tokens"]),
                                                                   float(match["ms"]))
    return [(parts.get("prompt eval"), parts.get("eval")) for _, parts in sorted(tasks.items())]


def llama_cpp_python_version() -> str:
    """The llama-cpp-python sdist whose llama.cpp sources scripts/llama-server builds."""
    script = Path(__file__).resolve().parent.parent / "scripts" / "llama-server"
    match = re.search(r"^llama_cpp_python_version=(\S+)", script.read_text(), re.MULTILINE)
    return match.group(1) if match else "?"


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def server_props(base_url: str) -> dict[str, Any]:
    """llama-server's `GET /props` (beside `/v1`); {} from any other server."""
    root = base_url.rstrip("/").removesuffix("/v1")
    try:
        with urllib.request.urlopen(f"{root}/props", timeout=10) as response:
            data = json.load(response)
    except (OSError, urllib.error.URLError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def describe_server(base_url: str, model: str) -> dict[str, Any]:
    props = server_props(base_url)
    engine: dict[str, Any] = {"base_url": base_url, "model": model}
    if props:
        settings = props.get("default_generation_settings") or {}
        build = props.get("build_info")
        engine.update({"server": "llama.cpp llama-server",
                       "build": None if build in (None, "b0-unknown") else build,
                       "model_path": props.get("model_path"),
                       "server_n_ctx": settings.get("n_ctx") if isinstance(settings, dict)
                       else None})
    return engine


def openai_config(base_url: str, model: str, root: Path, *, num_ctx: int, reserve: int,
                  temperature: float, timeout: float) -> Config:
    return Config(
        paths=PathsConfig(database=root / "state.db", output_dir=root / "out"),
        llm=LlmConfig(backend="openai", temperature=temperature),
        openai=OpenAIConfig(base_url=base_url, model=model, timeout_seconds=timeout),
        budget=BudgetConfig(num_ctx=num_ctx, generation_reserve_tokens=reserve))


# -- one meeting ----------------------------------------------------------------------------


def progress_line(minutes: float) -> Callable[[Call], None]:
    def show(call: Call) -> None:
        def count(value: int | None) -> str:
            return "?" if value is None else f"{value:,}"

        tokens = f"prompt {count(call.prompt_tokens)}, generated {count(call.generated_tokens)}"
        print(f"  {minutes:g} min: pass {call.index + 1} ({call.kind}) {call.seconds:6.1f} s, "
              f"{tokens}, finish {call.finish}: {call.outcome[:160]}", file=sys.stderr,
              flush=True)
    return show


def summarise_meeting(config: Config, minutes: float, *, max_tokens: int | None,
                      quiet: bool, server_log: Callable[[], str] | None = None) -> Meeting:
    assert config.paths.database is not None and config.paths.output_dir is not None
    root = config.paths.database.parent
    segments = max(1, round(minutes * 60 / SEGMENT_SECONDS))
    transcripts = TranscriptStore(config.paths.database)
    store = SummaryStore(config.paths.database)
    digest = write_meeting(transcripts, root, segments=segments,
                           name=f"meeting-{minutes:g}min.m4a")
    model = make_backend(config)
    if max_tokens is not None:
        if not hasattr(model, "max_tokens"):
            raise SystemExit(f"--max-tokens: {model.label} sets no reply limit to lower")
        model.max_tokens = max_tokens  # type: ignore[attr-defined]
    recorder = CallRecorder(model, progress_line(minutes) if not quiet else lambda _: None)
    runner = Summariser(store, transcripts, model, num_ctx=config.budget.num_ctx,
                        reserve=config.budget.generation_reserve_tokens,
                        output_dir=config.paths.output_dir)
    runner.subscribe(recorder.on_event)
    # What the app's queue does first; a server that caps the context lower wins.
    if not runner.check_model():
        status = model.check()
        raise SystemExit(f"{model.label}: {status.detail}" + (f"; {status.fix}"
                                                                 if status.fix else ""))
    stored = transcripts.segments(digest)
    lines = segment_lines(stored, transcripts.speaker_names(digest))
    plan = plan_summary(lines, num_ctx=runner.num_ctx, reserve=runner.reserve)
    meeting = Meeting(minutes, len(stored), sum(len(s.text.split()) for s in stored),
                      plan.map_passes, plan.reduce_passes, runner.num_ctx, runner.reserve,
                      recorder.calls)
    if not quiet:
        print(f"{minutes:g} min: {len(stored)} segments, planned {plan.map_passes} map + "
              f"{plan.reduce_passes} reduce passes", file=sys.stderr, flush=True)
    started = time.monotonic()
    try:
        outcome = runner.summarise(digest)
        meeting.result = outcome.state.value + (f": {outcome.reason}" if outcome.reason else "")
        meeting.final_passes = outcome.passes or len(store.passes(digest))
    except (BackendError, PlanError) as error:
        meeting.result = f"error: {error}"
        meeting.final_passes = len(store.passes(digest))
    meeting.wall_s = time.monotonic() - started
    meeting.replans = max(0, recorder.replans)
    if server_log is not None:
        # The server runs for this benchmark alone: its last tasks are this meeting's calls.
        timings = server_timings(server_log())
        answered = [c for c in meeting.calls if not c.outcome.startswith(("refused", "error"))]
        for call, (prompt, generation) in zip(answered, timings[-len(answered):] if answered
                                              else [], strict=False):
            call.prompt_eval, call.generation = prompt, generation
    store.close()
    transcripts.close()
    return meeting


# -- the report -----------------------------------------------------------------------------


def report_table(meetings: Sequence[Meeting]) -> str:
    def number(value: float, digits: int = 0) -> str:
        return f"{value:,.{digits}f}"

    rows: list[tuple[str, list[str]]] = []

    def row(label: str, value: Callable[[Meeting], str]) -> None:
        rows.append((label, [value(m) for m in meetings]))

    row("audio (min)", lambda m: number(m.minutes, 1))
    row("segments", lambda m: number(m.segments))
    row("words", lambda m: number(m.words))
    row("planned passes (map + reduce)",
        lambda m: f"{m.planned} ({m.planned_map} + {m.planned_reduce})")
    row("calls the server saw", lambda m: number(len(m.calls)))
    row("  per hour of audio", lambda m: number(len(m.calls) * m.per_hour, 1))
    row("wall seconds", lambda m: number(m.wall_s, 1))
    row("  per hour of audio", lambda m: number(m.wall_s * m.per_hour))
    row("  per call (mean)", lambda m: number(m.wall_s / max(1, len(m.calls)), 1))
    row("calls whose reply was not used",
        lambda m: f"{m.wasted()[0]} ({number(m.wasted()[1])} s, "
                  f"{100 * m.wasted()[1] / max(m.wall_s, 1e-9):.0f} %)")
    if any(c.prompt_eval for m in meetings for c in m.calls):
        row("prompt eval tokens/s (server)", lambda m: m.rate("prompt_eval"))
        row("generation tokens/s (server)", lambda m: m.rate("generation"))
    row("prompt tokens (server), total", lambda m: number(sum(m.prompt_counts())))
    row("largest prompt / room", lambda m: f"{max(m.prompt_counts(), default=0):,} / "
                                            f"{m.room:,}" if m.prompt_counts() else "-")
    row("every prompt fits", Meeting.fit)
    row("generated tokens", lambda m: number(sum(c.generated_tokens or 0 for c in m.calls)))
    row("  largest reply / reserve",
        lambda m: f"{max((c.generated_tokens or 0 for c in m.calls), default=0):,} / "
                  f"{m.reserve:,}")
    row("replies rejected, asked again", lambda m: number(
        sum(1 for c in m.calls if c.outcome.startswith("rejected"))))
    row("replans", lambda m: number(m.replans))
    row("passes in the final plan", lambda m: number(m.final_passes))
    row("result", lambda m: m.result.split(":", 1)[0])
    label_width = max(len(label) for label, _ in rows)
    widths = [max(len(f"{m.minutes:g} min"), *(len(values[i]) for _, values in rows))
              for i, m in enumerate(meetings)]
    head = " " * label_width + "".join(f"  {f'{m.minutes:g} min':>{w}}"
                                       for m, w in zip(meetings, widths, strict=True))
    body = [f"{label:<{label_width}}" + "".join(f"  {v:>{w}}"
                                                for v, w in zip(values, widths, strict=True))
            for label, values in rows]
    notes = [f"{m.minutes:g} min: {m.result}" for m in meetings if ":" in m.result]
    return "\n".join([head, *body, *notes])


def engine_line(engine: dict[str, Any]) -> str:
    parts = [str(engine.get("server") or engine.get("backend") or "server")]
    if engine.get("build"):
        parts.append(f"build {engine['build']}")
    if engine.get("built_by"):
        parts.append(str(engine["built_by"]))
    parts.append(f"model {engine.get('model_file') or engine.get('model')}")
    if engine.get("threads"):
        parts.append(f"{engine['threads']} thread(s) on {engine.get('cpu')}")
    elif engine.get("base_url"):
        parts.append(f"at {engine['base_url']} (its own threads and devices)")
    return ", ".join(parts)


def meeting_json(meeting: Meeting) -> dict[str, Any]:
    return {**{k: v for k, v in asdict(meeting).items() if k != "calls"}, **meeting.summary(),
            "calls": [asdict(c) for c in meeting.calls]}


def call_lines(meeting: Meeting) -> list[str]:
    lines = [f"{meeting.minutes:g} min, call by call:"]
    for number, call in enumerate(meeting.calls, 1):
        timing = ""
        if call.prompt_eval and call.generation:
            timing = (f"  (server: {call.prompt_eval[0]:,} evaluated in "
                      f"{call.prompt_eval[1] / 1000:.1f} s, {call.generation[0]:,} "
                      f"generated in {call.generation[1] / 1000:.1f} s)")
        lines.append(f"  {number:>3}  pass {call.index + 1:>2} {call.kind:<6} "
                     f"{call.seconds:7.1f} s  prompt {call.prompt_tokens or 0:>6,}  "
                     f"generated {call.generated_tokens or 0:>5,}  {call.finish or '-':<6}  "
                     f"{call.outcome[:100]}{timing}")
    return lines


def finish(data: dict[str, Any], meetings: Sequence[Meeting], *, calls: bool,
           json_out: Path | None) -> int:
    """Print the title and the table (and every call), write the JSON; the exit status."""
    settings, load = data["settings"], data["platform"]
    print(f"meeting summaries, {data['date']}: {engine_line(data['engine'])}; "
          f"num_ctx {settings['num_ctx']:,}, reply reserve {settings['reserve']:,} (room "
          f"{settings['room']:,} for a prompt), max_tokens {settings['max_tokens']:,}, "
          f"temperature {settings['temperature']}; load average "
          f"{load['load_average_before'][0]:.1f} before, "
          f"{load['load_average_after'][0]:.1f} after")
    print(report_table(meetings))
    if calls:
        for meeting in meetings:
            print("\n" + "\n".join(call_lines(meeting)))
    if json_out:
        json_out.parent.mkdir(parents=True, exist_ok=True)
        json_out.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    return 0 if all(m.ok for m in meetings) else 1


def render(path: Path, *, calls: bool, json_out: Path | None) -> int:
    """A saved run printed again (its derived figures recomputed from the calls)."""
    data = json.loads(path.read_text(encoding="utf-8"))
    meetings = [Meeting.from_json(m) for m in data["meetings"]]
    data["meetings"] = [meeting_json(m) for m in meetings]
    return finish(data, meetings, calls=calls, json_out=json_out)


def parse_minutes(text: str) -> list[float]:
    try:
        values = [float(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: minutes as numbers, e.g. 10,30,60"
                                         ) from None
    if not values or any(v <= 0 for v in values):
        raise argparse.ArgumentTypeError(f"{text!r}: minutes must be positive")
    return values


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=parse_minutes, default=[60.0],
                        help="meeting length(s) in minutes, comma-separated (default 60)")
    parser.add_argument("--num-ctx", type=int,
                        help="context tokens (default 8192, or the --config's)")
    parser.add_argument("--reserve", type=int,
                        help="reply reserve tokens (default the app's [budget] "
                             "generation_reserve_tokens: 2048, or the --config's)")
    parser.add_argument("--max-tokens", type=int,
                        help="cap each reply below the reserve (default: the reserve, as "
                             "the app); a capped reply is rejected as cut off")
    parser.add_argument("--temperature", type=float,
                        help="default 0.0 (the tests'); with --config, the config's")
    parser.add_argument("--timeout", type=float, default=1800.0,
                        help="seconds a whole reply may take (default 1800: a pass at 8K on "
                             "a shared CPU core takes many minutes); with --config, the "
                             "config's")
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--base-url", help="an OpenAI-compatible server already running "
                        "(e.g. http://127.0.0.1:8080/v1) instead of SmolLM2 here")
    source.add_argument("--config", type=Path,
                        help="the app's config: its backend (Ollama included) and budget")
    source.add_argument("--render", type=Path, metavar="JSON",
                        help="print a saved run (--json-out) again; runs nothing")
    parser.add_argument("--model", help="the model the --base-url server serves")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 2,
                        help="llama-server threads when it runs here (default: all cores)")
    parser.add_argument("--json-out", type=Path, metavar="FILE", help="also write JSON here")
    parser.add_argument("--calls", action="store_true", help="list every call under the table")
    parser.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    args = parser.parse_args(argv)
    if args.render:
        return render(args.render, calls=args.calls, json_out=args.json_out)
    if args.base_url and not args.model:
        parser.error("--base-url needs --model (the name the server serves)")
    if args.max_tokens is not None and args.max_tokens < 1:
        parser.error("--max-tokens must be at least 1")

    base: Config | None = None
    if args.config:
        try:
            base = load_config_file(args.config.expanduser())
        except ConfigError as error:
            parser.error(str(error))
    budget = base.budget if base else BudgetConfig()
    num_ctx = args.num_ctx or budget.num_ctx
    reserve = args.reserve if args.reserve is not None else budget.generation_reserve_tokens
    temperature = args.temperature if args.temperature is not None else \
        (base.llm.temperature if base else 0.0)

    server = None
    with tempfile.TemporaryDirectory(prefix="summary-speed-") as scratch:
        if base is not None:
            engine: dict[str, Any] = {"backend": base.llm.backend, "config": str(args.config)}
            if base.llm.backend == "openai":
                engine.update(describe_server(base.openai.base_url, base.openai.model))
            elif base.llm.backend == "ollama":
                engine.update({"server": "Ollama", "base_url": base.ollama.host,
                               "model": base.ollama.model})
            else:
                engine.update({"server": "llama.cpp in process", "model": base.llamacpp.model})
        elif args.base_url:
            engine = describe_server(args.base_url, args.model)
        else:
            from tests.services.llama_server import SMOLLM2, LlamaServer, engine_dir

            engine_dir()  # builds once, then returns at once (cached)
            # --no-repack: some virtual machines advertise AMX without enabling it, and
            # llama.cpp's AMX repacking then dies on its first tile instruction (SIGILL).
            server = LlamaServer(ctx_size=num_ctx, alias=LOCAL_ALIAS, threads=args.threads,
                                 log_path=Path(scratch) / "llama-server.log",
                                 extra_args=("--no-repack",)).start()
            engine = describe_server(server.base_url, LOCAL_ALIAS)
            engine.update({"model_file": SMOLLM2, "threads": args.threads, "cpu": cpu_name(),
                           "cores": os.cpu_count(),
                           "built_by": "built by scripts/llama-server from the "
                                       f"llama-cpp-python {llama_cpp_python_version()} "
                                       "sdist's sources"})
        meetings: list[Meeting] = []
        load_before = os.getloadavg()
        try:
            for minutes in args.minutes:
                root = Path(scratch) / f"meeting-{minutes:g}"
                root.mkdir()
                if base is not None:
                    config = base.model_copy(update={
                        "paths": PathsConfig(database=root / "state.db",
                                             output_dir=root / "out"),
                        "budget": budget.model_copy(update={
                            "num_ctx": num_ctx, "generation_reserve_tokens": reserve}),
                        "llm": base.llm.model_copy(update={"temperature": temperature})})
                else:
                    url = server.base_url if server else args.base_url
                    config = openai_config(url, LOCAL_ALIAS if server else args.model, root,
                                           num_ctx=num_ctx, reserve=reserve,
                                           temperature=temperature, timeout=args.timeout)
                meetings.append(summarise_meeting(
                    config, minutes, max_tokens=args.max_tokens, quiet=args.quiet,
                    server_log=server.log if server is not None else None))
        finally:
            if server is not None:
                server.stop()
    load_after = os.getloadavg()

    data = {"date": date.today().isoformat(), "engine": engine,
            "settings": {"num_ctx": num_ctx, "reserve": reserve, "room": num_ctx - reserve,
                         "max_tokens": args.max_tokens or reserve,
                         "temperature": temperature, "timeout_s": args.timeout},
            "platform": {"machine": platform.machine(), "cpu": cpu_name(),
                         "cores": os.cpu_count(), "python": platform.python_version(),
                         "load_average_before": load_before,
                         "load_average_after": load_after},
            "meetings": [meeting_json(m) for m in meetings]}
    return finish(data, meetings, calls=args.calls, json_out=args.json_out)

if __name__ == "__main__":
    sys.exit(main())
