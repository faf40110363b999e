"""`triage-tui doctor`: one line per dependency, with the fix for each failure.

Each check is a plain function returning a `CheckResult`, so the dashboard's status lines
and the CLI share them. Checks never raise: a missing GPU, Ollama or mailbox is a result.
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import tempfile
from collections.abc import Callable

from tui.adapters.credentials import CredentialsMissing, resolve_imap_password
from tui.adapters.imap_connect import ImapConnectError, connect_imap
from tui.adapters.nvml import GpuMemorySample, GpuUnavailable, read_gpus
from tui.adapters.ollama_models import server_version, show_model
from tui.adapters.whisper_models import hub_repo_for, locate_whisper_model
from tui.budget.units import gib
from tui.check_result import CheckResult
from tui.config import Config
from tui.llm.protocol import BackendUnavailable, ModelMissing
from tui.paths import user_config_file
from tui.planning.service import locate_card, whisperx_on_gpu


def check_gpu(config: Config,
              gpus: list[GpuMemorySample] | GpuUnavailable | None = None) -> CheckResult:
    """NVML answers, and the cards `[llm] gpu` and `[whisperx] gpu` name exist."""
    if gpus is None:
        gpus = read_gpus()
    if isinstance(gpus, GpuUnavailable):
        return CheckResult("GPU", False, gpus.reason, gpus.fix)
    services = [("LLM", "[llm] gpu", config.llm.gpu)]
    if whisperx_on_gpu(config):
        services.append(("WhisperX", "[whisperx] gpu", config.whisperx.gpu))
    found = []
    for service, key, selector in services:
        placement, gpu = locate_card(selector, gpus)
        if gpu is None:
            listed = ", ".join(f"{card.index} {card.uuid}" for card in gpus)
            return CheckResult("GPU", False, f"{service}: {placement.problem}",
                               f"set {key} to an index or UUID of: {listed}")
        found.append(f"{service} on GPU {gpu.index} {gpu.name} ({gib(gpu.total_bytes):.1f} GiB, "
                     f"{gib(gpu.free_bytes):.1f} free)")
    return CheckResult("GPU", True, "; ".join(found))


def check_llm_server(config: Config) -> CheckResult:
    """The triage server: Ollama (version), the OpenAI-compatible server and its model, or
    llama-cpp-python for the embedded engine."""
    if config.llm.backend == "llamacpp":
        return check_embedded_engine(config)
    if config.llm.backend == "openai":
        from tui.llm import make_backend

        backend = make_backend(config)
        status = backend.check()
        return CheckResult(backend.label, status.ready, status.detail, status.fix)
    return check_ollama(config)


def check_embedded_engine(config: Config) -> CheckResult:
    """llama-cpp-python importable, its llama.cpp library loaded (no model is loaded)."""
    from tui.llm.llamacpp_backend import INSTALL, LABEL, engine_detail

    try:
        detail = engine_detail()
    except BackendUnavailable as error:
        return CheckResult(LABEL, False, str(error), INSTALL)
    return CheckResult(LABEL, True, detail)


def check_embedded_model(config: Config) -> CheckResult:
    """The GGUF file the embedded engine loads: a path, or an Ollama model's blob."""
    from tui.llm import make_backend
    from tui.llm.llamacpp_backend import EmbeddedTriageModel, describe_file

    backend = make_backend(config)
    assert isinstance(backend, EmbeddedTriageModel)
    try:
        path = backend.locate()
    except ModelMissing as error:
        return CheckResult("LLM model", False, str(error), backend.missing_fix())
    return CheckResult("LLM model", True, f"{describe_file(path)} at {path.parent}, "
                                          f"num_ctx {config.budget.num_ctx}")


def check_ollama(config: Config) -> CheckResult:
    try:
        info = server_version(config.ollama.host, timeout=3.0)
    except BackendUnavailable as error:
        return CheckResult("Ollama", False, f"not reachable: {error}",
                           "start it with `ollama serve`, or set [ollama] host")
    return CheckResult("Ollama", True, f"version {info.version} at {info.host}")


def check_ollama_model(config: Config) -> CheckResult:
    if config.llm.backend == "llamacpp":
        return check_embedded_model(config)
    if config.llm.backend == "openai":
        # The OpenAI-compatible server's model is checked with the server itself.
        return CheckResult("LLM model", True, f"{config.openai.model} (served remotely)")
    name = config.ollama.model
    fix = (f"ollama pull {config.ollama.base_model} && "
           f"ollama create {name} -f modelfiles/Modelfile.triage")
    try:
        shown = show_model(config.ollama.host, name, timeout=3.0)
    except BackendUnavailable as error:
        return CheckResult("LLM model", False, f"cannot ask Ollama: {error}",
                           "start Ollama first")
    except ModelMissing:
        return CheckResult("LLM model", False, f"Ollama has no model {name!r}", fix)
    num_ctx = _parameter(shown.parameters or "", "num_ctx")
    if num_ctx is None:
        return CheckResult("LLM model", False, f"{name!r} has no num_ctx: Ollama would pick its "
                           "own context size", fix)
    if num_ctx != config.budget.num_ctx:
        return CheckResult("LLM model", False,
                           f"{name!r} has num_ctx {num_ctx}, the budget says "
                           f"{config.budget.num_ctx}",
                           "triage-tui modelfile && ollama create "
                           f"{name} -f modelfiles/Modelfile.triage")
    return CheckResult("LLM model", True, f"{name!r} present, num_ctx {num_ctx}")


def _parameter(parameters: str, key: str) -> int | None:
    for line in parameters.splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[0] == key:
            try:
                return int(parts[1])
            except ValueError:
                return None
    return None


def check_imap(config: Config) -> CheckResult:
    imap = config.imap
    if not imap.enabled:
        if config.source is None:
            return CheckResult("IMAP", False, "no IMAP account configured: no config file "
                               f"(looked for {user_config_file()})", "run `triage-tui init`")
        return CheckResult("IMAP", False, "no IMAP account configured",
                           "run `triage-tui init` (or set [imap] host and username in "
                           f"{config.source} and the password in ${imap.password_env}, "
                           "password_command or the keyring)")
    try:
        password = resolve_imap_password(imap)
    except CredentialsMissing as error:
        return CheckResult("IMAP", False, str(error),
                           f"export {imap.password_env}=..., or set [imap] password_command")
    try:
        client = connect_imap(imap, password)
    except ImapConnectError as error:
        return CheckResult("IMAP", False, str(error),
                           "check [imap] host, port, security and the password")
    try:
        capabilities = {c.decode() if isinstance(c, bytes) else str(c)
                        for c in client.capabilities()}
        folder = client.select_folder(imap.folder, readonly=True)
        messages = int(folder.get(b"EXISTS", 0))
    except Exception as error:  # imaplib raises its own error types for folder problems
        return CheckResult("IMAP", False, f"logged in, but {imap.folder!r}: {error}",
                           "set [imap] folder")
    finally:
        # The connection may already be gone; there is nothing to report about logout.
        with contextlib.suppress(Exception):
            client.logout()
    idle = "IDLE" if "IDLE" in capabilities else "no IDLE (polling)"
    return CheckResult("IMAP", True, f"{imap.username}@{imap.host}: {imap.folder} has "
                                     f"{messages} messages, {idle}")


def check_drop_folder(config: Config) -> CheckResult:
    from tui.transcripts.drop_folder import FIX, drop_folder_problem

    folder = config.paths.drop_folder
    # The watcher's own rule: a parent on the path that is a file (or not writable) means
    # the folder cannot be created, whatever os.access says about that file.
    problem = drop_folder_problem(folder)
    if problem is not None:
        return CheckResult("Drop folder", False, problem, FIX)
    if not folder.exists():
        return CheckResult("Drop folder", True, f"{folder} (will be created)")
    try:
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".triage-tui-doctor-"):
            pass
    except OSError as error:
        return CheckResult("Drop folder", False, f"{folder} is not writable: {error.strerror}",
                           f"chmod u+w {folder}")
    return CheckResult("Drop folder", True, f"{folder} is writable")


def check_whisper_model(config: Config) -> CheckResult:
    name = config.whisperx.model
    found = locate_whisper_model(name, config.whisperx.model_dir)
    if found is None:
        return CheckResult("WhisperX model", False, f"{name!r} is not on disk",
                           f"triage-tui models pull {name} (it downloads "
                           f"{hub_repo_for(name)} with progress), or set [whisperx] model_dir "
                           "to a CTranslate2 model")
    return CheckResult("WhisperX model", True, f"{name} at {found}")


def check_ffmpeg(config: Config) -> CheckResult:
    path = shutil.which("ffmpeg")
    if path is None:
        return CheckResult("ffmpeg", False, "not on PATH", "apt-get install ffmpeg")
    try:
        first = subprocess.run([path, "-version"], capture_output=True, text=True,
                               timeout=10).stdout.splitlines()[:1]
    except (OSError, subprocess.TimeoutExpired) as error:
        return CheckResult("ffmpeg", False, f"{path} does not run: {error}",
                           "reinstall ffmpeg")
    return CheckResult("ffmpeg", True, first[0] if first else path)


CHECKS: tuple[Callable[[Config], CheckResult], ...] = (
    check_gpu,
    check_llm_server,
    check_ollama_model,
    check_imap,
    check_drop_folder,
    check_whisper_model,
    check_ffmpeg,
)


def run_checks(config: Config) -> list[CheckResult]:
    results: list[CheckResult] = []
    for check in CHECKS:
        try:
            results.append(check(config))
        except Exception as error:  # a check must never take the others down
            results.append(CheckResult(check.__name__.removeprefix("check_"), False,
                                       f"check crashed: {error!r}", "see the log file"))
    return results


def format_result(result: CheckResult) -> str:
    mark = "ok  " if result.ok else "FAIL"
    line = f"[{mark}] {result.name:<15} {result.detail}"
    if not result.ok and result.fix:
        line += f"\n       {'':<15} fix: {result.fix}"
    return line

