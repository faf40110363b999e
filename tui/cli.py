"""The `triage-tui` command: the dashboard by default, plus init, plan, modelfile, doctor,
models and the headless commands (transcribe, watch, triage, search).

Exit codes: 0 success; 1 the plan does not keep the headroom target, or a doctor check
failed, or the Modelfile was not written, or a model download failed, or a search found
nothing; 2 usage or configuration error.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path

from tui.adapters.private_files import PRIVATE_UMASK

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2


class _CommandParser(argparse.ArgumentParser):
    """A sub-command's parser that gets its arguments when first used (to parse, or for its
    help): `triage-tui` alone, the dashboard, imports no command module before its first
    frame."""

    def __init__(self, *args: object,
                 add_arguments: Callable[[argparse.ArgumentParser], None] | None = None,
                 **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self._add_arguments = add_arguments

    def _complete(self) -> None:
        add, self._add_arguments = self._add_arguments, None
        if add is not None:
            add(self)

    def parse_known_args(self, args=None, namespace=None):  # type: ignore[no-untyped-def]
        self._complete()
        return super().parse_known_args(args, namespace)

    def format_help(self) -> str:
        self._complete()
        return super().format_help()

    def format_usage(self) -> str:
        self._complete()
        return super().format_usage()


def _arguments_of(command: str) -> Callable[[argparse.ArgumentParser], None]:
    """tui.commands.<command>.add_<command>_arguments, imported when called."""
    def add(parser: argparse.ArgumentParser) -> None:
        module = importlib.import_module(f"tui.commands.{command}")
        getattr(module, f"add_{command}_arguments")(parser)
    return add


def _add_plan_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--llm", metavar="NAME|PATH.gguf",
                        help="Ollama model name, GGUF file, or a built-in table entry "
                             "(default: [ollama] base_model)")
    parser.add_argument("--gpu-gib", type=float,
                        help="size of each planned card in GiB (default: NVML)")
    parser.add_argument("--llm-gpu", metavar="INDEX|UUID",
                        help="the LLM server's card (default: [llm] gpu)")
    parser.add_argument("--whisper-gpu", metavar="INDEX|UUID",
                        help="WhisperX's card; another card than the LLM's gives each its own "
                             "budget (default: [whisperx] gpu)")
    ctx = parser.add_mutually_exclusive_group()
    ctx.add_argument("--num-ctx", type=int, help="context to plan for (default: [budget])")
    ctx.add_argument("--headroom-gib", type=float,
                     help="solve for the largest num_ctx that keeps this headroom")
    parser.add_argument("--kv-type", choices=["f16", "q8_0", "q4_0"])
    parser.add_argument("--parallel", type=int, help="OLLAMA_NUM_PARALLEL")
    parser.add_argument("--flash-attention", action=argparse.BooleanOptionalAction,
                        default=None, help="OLLAMA_FLASH_ATTENTION")
    parser.add_argument("--whisper", metavar="MODEL", help="tiny … large-v3, turbo")
    parser.add_argument("--compute-type", choices=["float16", "int8_float16", "int8", "float32"])
    parser.add_argument("--batch-size", type=int, help="WhisperX batch size")
    parser.add_argument("--no-whisper", action="store_true", help="plan the LLM alone")
    parser.add_argument("--offline", action="store_true",
                        help="do not ask Ollama for the model's shape")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="triage-tui",
        description="Transcripts, email triage and the GPU budget on one terminal screen.",
    )
    parser.add_argument("--config", type=Path, metavar="PATH",
                        help="config file (default: $TRIAGE_TUI_CONFIG, then the XDG config dir)")
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_CommandParser)

    sub.add_parser("run", help="the dashboard (the default)")
    sub.add_parser(
        "init", help="first-run set-up: the IMAP account, Ollama, the config file and the "
                     "Modelfile",
        description="Asks for the IMAP account (logging in to check it and to list its "
                    "folders) and Ollama, then writes the config file where the app reads it "
                    "(--config PATH before `init`, else $TRIAGE_TUI_CONFIG, else the XDG "
                    "config dir), 0600 and without the password, and the Modelfile.",
        add_arguments=_arguments_of("init"))

    def plan_arguments(plan: argparse.ArgumentParser) -> None:
        _add_plan_arguments(plan)
        plan.add_argument("--json", action="store_true", help="machine-readable output")
        plan.add_argument("--export", choices=["vllm", "trtllm"],
                          help="the same budget as serving-engine flags")

    sub.add_parser("plan", help="the GPU budget and the num_ctx cap",
                   add_arguments=plan_arguments)

    def modelfile_arguments(modelfile: argparse.ArgumentParser) -> None:
        _add_plan_arguments(modelfile)
        modelfile.add_argument("--output", type=Path,
                               help="default: modelfiles/Modelfile.triage in the current "
                                    "directory")
        modelfile.add_argument("--force", action="store_true",
                               help="write even when the plan misses the headroom target")

    sub.add_parser("modelfile", help="write modelfiles/Modelfile.triage from the plan",
                   add_arguments=modelfile_arguments)
    sub.add_parser("doctor", help="check GPU, Ollama, IMAP, folders, models, ffmpeg",
                   add_arguments=lambda doctor: doctor.add_argument("--json",
                                                                    action="store_true"))
    sub.add_parser("transcribe", help="transcribe files once (whisperx-like flags)",
                   add_arguments=_arguments_of("transcribe"))
    sub.add_parser("watch", help="watch the drop folder headless (systemd, tmux)")
    sub.add_parser("triage", help="fetch and triage mail once, or apply/undo one action",
                   add_arguments=_arguments_of("triage"))
    sub.add_parser("summarize", help="summarise one transcript with the LLM "
                                     "(FILE or content hash)",
                   add_arguments=_arguments_of("summarize"))
    sub.add_parser("models", help="download the transcript models (pull), or list "
                                  "what is on disk",
                   add_arguments=_arguments_of("models"))
    sub.add_parser("search", help="find words in stored transcripts and mail",
                   add_arguments=_arguments_of("search"))
    return parser


def _plan_options(args: argparse.Namespace):  # -> PlanOptions, imported lazily
    from tui.planning.service import PlanOptions

    return PlanOptions(
        llm=args.llm, gpu_gib=args.gpu_gib, llm_gpu=args.llm_gpu, whisper_gpu=args.whisper_gpu,
        num_ctx=args.num_ctx, headroom_gib=args.headroom_gib,
        kv_type=args.kv_type, parallel=args.parallel, flash_attention=args.flash_attention,
        whisper=args.whisper, compute_type=args.compute_type, batch_size=args.batch_size,
        no_whisper=args.no_whisper, offline=args.offline,
    )


def _validate_plan_arguments(args: argparse.Namespace) -> str | None:
    for name in ("num_ctx", "parallel", "batch_size"):
        value = getattr(args, name)
        if value is not None and value <= 0:
            return f"--{name.replace('_', '-')} must be positive"
    for name in ("gpu_gib", "headroom_gib"):
        value = getattr(args, name)
        if value is not None and value < 0:
            return f"--{name.replace('_', '-')} must not be negative"
    return None


def _cmd_plan(args: argparse.Namespace, config) -> int:
    from rich.console import Console

    from tui.budget.export import EXPORTERS
    from tui.planning.report import export_text, plan_table, plan_to_json
    from tui.planning.service import make_plan

    result = make_plan(config, _plan_options(args))
    export = EXPORTERS[args.export](result.plan) if args.export else None
    if args.json:
        print(json.dumps(plan_to_json(result, export), indent=2))
    else:
        console = Console()
        console.print(plan_table(result))
        if export is not None:
            # Plain print: commands must stay copy-pastable, unwrapped by Rich.
            print()
            print(export_text(export))
    return EXIT_OK if result.plan.fits else EXIT_FAILED


def _cmd_modelfile(args: argparse.Namespace, config) -> int:
    from tui.commands.modelfile import write_modelfile

    outcome = write_modelfile(config, _plan_options(args), args.output, force=args.force)
    print(outcome.message, file=sys.stdout if outcome.ok else sys.stderr)
    return EXIT_OK if outcome.ok else EXIT_FAILED


def _cmd_doctor(args: argparse.Namespace, config) -> int:
    from tui.doctor import format_result, run_checks

    results = run_checks(config)
    if args.json:
        print(json.dumps({"config": str(config.source) if config.source else None,
                          "checks": [r.as_dict() for r in results]}, indent=2))
    else:
        print(f"config: {config.source or 'built-in defaults'}")
        for result in results:
            print(format_result(result))
    return EXIT_OK if all(r.ok for r in results) else EXIT_FAILED


def _cmd_transcribe(args: argparse.Namespace, config) -> int:
    from tui.commands.transcribe import run_transcribe

    return run_transcribe(config, args)


def _cmd_watch(args: argparse.Namespace, config) -> int:
    from tui.commands.watch import run_watch

    return run_watch(config)


def _cmd_triage(args: argparse.Namespace, config) -> int:
    from tui.commands.triage import run_triage

    return run_triage(config, args)


def _cmd_summarize(args: argparse.Namespace, config) -> int:
    from tui.commands.summarize import run_summarize

    return run_summarize(config, args)


def _cmd_models(args: argparse.Namespace, config) -> int:
    from tui.commands.models import run_models

    return run_models(config, args)


def _cmd_search(args: argparse.Namespace, config) -> int:
    from tui.commands.search import run_search

    return run_search(config, args)


def _cmd_run(args: argparse.Namespace) -> int:
    """The dashboard paints first and reads the config on a thread after its first frame
    (a config it cannot use ends it as before: the problem on stderr, status 2)."""
    import gc

    # What start-up makes lives as long as the dashboard: collecting would only walk it
    # (~20 ms of the first frame). The collector comes back on, tuned, once the first frame
    # is up (tune_gc, tui.ui.app.tune_garbage_collector).
    gc.disable()
    from tui.ui.app import make_app

    app = make_app(load_config=lambda: _config_for_dashboard(args.config), tune_gc=True)
    app.run()
    return app.return_code or EXIT_OK


def _config_for_dashboard(path: Path | None):  # -> Config, imported lazily
    import logging

    from tui.config import load_config
    from tui.logs import setup_logging

    config = load_config(path)
    setup_logging(config.paths.log_file)
    for note in dict.fromkeys(config.deprecations):  # the dashboard shows them too
        logging.getLogger("tui.config").warning("%s", note)
    return config


def _report_deprecations(notes: list[str]) -> None:
    """Each deprecated key the config file used, once, on stderr and in the log."""
    import logging

    log = logging.getLogger("tui.config")
    for note in dict.fromkeys(notes):
        print(f"triage-tui: {note}", file=sys.stderr)
        log.warning("%s", note)


def main(argv: list[str] | None = None) -> int:
    # Everything this process and its workers write (state, logs, transcripts) is the user's
    # alone: mail and speech are private.
    os.umask(PRIVATE_UMASK)
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.version:
        from tui import __version__

        print(f"triage-tui {__version__}")
        return EXIT_OK
    command = args.command or "run"
    if command in ("plan", "modelfile"):
        problem = _validate_plan_arguments(args)
        if problem:
            parser.error(problem)

    if command == "run":
        return _cmd_run(args)

    from tui.config import ConfigError, load_config
    from tui.logs import setup_logging

    if command == "init":  # it writes the config: it must not need a loadable one
        from tui.commands.init import run_init

        setup_logging()
        return run_init(args)

    try:
        config = load_config(args.config)
    except ConfigError as error:
        print(f"triage-tui: {error}", file=sys.stderr)
        return EXIT_USAGE
    setup_logging(config.paths.log_file)
    _report_deprecations(config.deprecations)

    from tui.budget.plan import PlanError
    from tui.budget.whisper import UnknownWhisperModel
    from tui.planning.model_source import ModelShapeUnavailable
    from tui.planning.service import PlanUnsatisfiable

    handlers = {"plan": _cmd_plan, "modelfile": _cmd_modelfile,
                "doctor": _cmd_doctor, "transcribe": _cmd_transcribe, "watch": _cmd_watch,
                "triage": _cmd_triage, "models": _cmd_models, "search": _cmd_search,
                "summarize": _cmd_summarize}
    try:
        return handlers[command](args, config)
    except (ModelShapeUnavailable, PlanError, UnknownWhisperModel) as error:
        print(f"triage-tui {command}: {error}", file=sys.stderr)
        return EXIT_USAGE
    except PlanUnsatisfiable as error:
        print(f"triage-tui {command}: {error}", file=sys.stderr)
        return EXIT_FAILED


if __name__ == "__main__":
    raise SystemExit(main())
