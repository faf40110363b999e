"""The embedded engine's own process: `engine_main` is what `EmbeddedTriageModel` spawns (by
module path, so it must stay a module-level function here), and the messages that cross.

The child ties itself to the parent's life, sends its output (llama.cpp's too) to the log
file, turns on faulthandler (a native crash leaves the Python stack in the log), builds the
engine and serves batches until told to stop. A crash in llama.cpp ends this process only.

Parent → child: `("batch", id, messages, schema, options)` (options: max_tokens, temperature,
timeout), or None to stop. Child → parent, tagged with the batch id: `("loading", id)` before
a load, `("started", id, placement)` once the model is in, `("text", id, piece)` as the reply
streams, then `("reply", id, (text, prompt_eval_count, eval_count, done_reason))` or
`("error", id, kind, message, attributes)`.
"""

from __future__ import annotations

import faulthandler
import importlib
import logging
from collections.abc import Callable
from typing import Any

from tui.adapters.child_process import die_with_parent, redirect_output
from tui.llm.llamacpp_engine import LABEL
from tui.llm.protocol import BackendError, BackendUnavailable, ModelMissing, PromptTooLong

log = logging.getLogger(__name__)

ENGINE = "tui.llm.llamacpp_engine:LlamaCppEngine"


def encode_error(error: BackendError) -> tuple[str, str, dict[str, Any]]:
    """A backend error as plain data that pickles across the process boundary."""
    if isinstance(error, PromptTooLong):
        return ("PromptTooLong", str(error), {"prompt_tokens": error.prompt_tokens,
                                              "context_limit": error.context_limit})
    if isinstance(error, ModelMissing):
        return "ModelMissing", str(error), {"model": error.model}
    return "BackendUnavailable", str(error), {}


def decode_error(kind: str, message: str, attributes: dict[str, Any]) -> BackendError:
    if kind == "PromptTooLong":
        return PromptTooLong(message, **attributes)
    if kind == "ModelMissing":
        return ModelMissing(message, **attributes)
    return BackendUnavailable(message)


def _plan_answer(answer: bool | str | None) -> Callable[[], bool] | None:
    """The parent's plan verdict (asked there: it reads NVML and the GGUF header) as the
    engine's `plan_fits`: True/False, or the planning error's text, raised here again."""
    if answer is None:
        return None

    def plan_fits() -> bool:
        if isinstance(answer, str):
            raise RuntimeError(answer)
        return answer

    return plan_fits


def make_engine(settings: dict[str, Any]) -> Any:
    module_name, _, class_name = settings.get("engine", ENGINE).partition(":")
    factory = getattr(importlib.import_module(module_name), class_name)
    return factory(**settings["kwargs"], plan_fits=_plan_answer(settings.get("plan_fits")))


def _serve(engine: Any, request: tuple[Any, ...], put: Callable[[tuple[Any, ...]], None]
           ) -> None:
    _, batch_id, messages, schema, options = request
    try:
        if engine.loaded is None:
            put(("loading", batch_id))
        placement = engine.load().placement
        put(("started", batch_id, placement))
        reply = engine.run_batch(messages, schema, lambda text: put(("text", batch_id, text)),
                                 **options)
        put(("reply", batch_id, (reply.text, reply.prompt_eval_count, reply.eval_count,
                                 reply.done_reason)))
    except BackendError as error:
        put(("error", batch_id, *encode_error(error)))
    except Exception as error:  # a bug or an unexpected library error: say it, keep serving
        log.exception("the embedded engine failed on batch %s", batch_id)
        put(("error", batch_id, "BackendUnavailable",
             f"{LABEL}: {type(error).__name__}: {error} (details in the log file)", {}))


def engine_main(settings: dict[str, Any], requests: Any, events: Any,
                log_path: str | None = None) -> None:
    """Entry point of the spawned process: serve batches until None (or the parent is gone)."""
    die_with_parent()
    if log_path:
        redirect_output(log_path)
    faulthandler.enable()
    logging.basicConfig(level=logging.INFO,
                        format="%(asctime)s %(levelname)s llm-engine %(name)s: %(message)s")
    engine = make_engine(settings)
    try:
        while True:
            try:
                request = requests.get()
            except (EOFError, OSError):  # the parent is gone
                break
            if request is None:
                break
            _serve(engine, request, events.put)
    finally:
        engine.close()
