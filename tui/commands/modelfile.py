"""Write the Ollama Modelfile from the plan: `triage-tui modelfile`, and `triage-tui init`'s
last step. One code path, so both write the same bytes and say the same things."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from tui.planning.modelfile import ModelfileSettings, render_modelfile
from tui.planning.service import PlanOptions, make_plan
from tui.prompts import TRIAGE_SYSTEM_PROMPT

if TYPE_CHECKING:
    from tui.config import Config

DEFAULT_MODELFILE = Path("modelfiles/Modelfile.triage")


@dataclass(frozen=True)
class ModelfileOutcome:
    """`ok`: written or already up to date; `message`: the one line to print (on stderr
    when not ok); `create_command`: the `ollama create` line that builds the model."""

    ok: bool
    message: str
    path: Path
    create_command: str = ""


def create_command(config: Config, path: Path) -> str:
    return f"ollama create {config.ollama.model} -f {path}"


def write_modelfile(config: Config, options: PlanOptions, path: Path | None = None, *,
                    force: bool = False) -> ModelfileOutcome:
    """Plan, then write (or leave up to date) the Modelfile at `path`. Raises what
    `make_plan` raises (ModelShapeUnavailable, PlanError, …)."""
    result = make_plan(config, options)
    plan = result.plan
    path = path or DEFAULT_MODELFILE
    if not plan.fits and not force:
        return ModelfileOutcome(
            False,
            f"not written: num_ctx {plan.request.num_ctx} leaves "
            f"{plan.headroom_bytes / 2**30:.2f} GiB, under the "
            f"{plan.request.headroom_target_bytes / 2**30:.2f} GiB target "
            "(see `triage-tui plan`; --force writes anyway)", path)
    existing = path.read_text(encoding="utf-8") if path.exists() else None
    settings = ModelfileSettings(
        base_model=config.ollama.base_model,
        num_ctx=plan.request.num_ctx,
        system_prompt=config.llm.system_prompt or TRIAGE_SYSTEM_PROMPT,
        temperature=config.llm.temperature,
    )
    command = create_command(config, path)
    rendered = render_modelfile(settings, existing)
    if rendered == existing:
        return ModelfileOutcome(True, f"{path}: up to date (num_ctx {settings.num_ctx})", path,
                                command)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(rendered, encoding="utf-8")
    temporary.replace(path)
    return ModelfileOutcome(True, f"{path}: written (num_ctx {settings.num_ctx}); "
                                  f"build it with: {command}", path, command)
