"""Present a plan: a JSON document (keys documented in the README) or a Rich table."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.console import Group
from rich.table import Table
from rich.text import Text

from tui.budget.export import EngineExport
from tui.budget.plan import CardBudget
from tui.budget.units import gib

if TYPE_CHECKING:
    from tui.planning.service import PlanResult

JSON_SCHEMA_VERSION = 1


def plan_to_json(result: PlanResult, export: EngineExport | None = None) -> dict[str, Any]:
    plan = result.plan
    request = plan.request
    shape = request.shape
    document: dict[str, Any] = {
        "schema_version": JSON_SCHEMA_VERSION,
        "model": {
            "name": shape.name,
            "architecture": shape.architecture,
            "source": shape.source,
            "attempts": result.lookup.attempts,
            "block_count": shape.block_count,
            "head_count_kv": shape.head_count_kv_max,
            "key_length": shape.key_length,
            "value_length": shape.value_length,
            "sliding_window": shape.sliding_window,
            "sliding_layers": sum(shape.sliding_layers),
            "context_length": shape.context_length,
            "weights_bytes": shape.weights_bytes,
            "token_embedding_bytes": shape.token_embedding_bytes,
            "feed_forward_length": shape.feed_forward_length,
            "quantization": shape.quantization,
            "notes": list(shape.notes),
        },
        "gpu": {"total_bytes": request.gpu_total_bytes, "source": request.gpu_total_source},
        "num_ctx": request.num_ctx,
        "num_ctx_solved_for_headroom": result.solved_for_headroom,
        "kv_cache_type": request.cache_type.value,
        "parallel": request.parallel,
        "flash_attention": request.uses_flash_attention,
        "kv_cache_bytes": plan.kv_cache_bytes,
        "total_bytes": plan.total_bytes,
        "headroom_bytes": plan.headroom_bytes,
        "headroom_target_bytes": request.headroom_target_bytes,
        "fits": plan.fits,
        "max_num_ctx_for_headroom": result.max_num_ctx,
        "components": [
            {"key": c.key, "owner": c.owner, "label": c.label, "bytes": c.bytes,
             "detail": c.detail}
            for c in plan.components
        ],
        "cards": [
            {"index": card.gpu.index, "total_bytes": card.gpu.total_bytes,
             "source": card.gpu.source, "services": list(card.owners),
             "planned_bytes": card.planned_bytes, "headroom_bytes": card.headroom_bytes,
             "fits": card.fits, "components": [c.key for c in card.components]}
            for card in plan.cards
        ],
        "email_batch": {
            "emails": plan.email_batch.emails,
            "email_tokens": plan.email_batch.email_tokens,
            "system_prompt_tokens": plan.email_batch.system_prompt_tokens,
            "generation_reserve_tokens": plan.email_batch.generation_reserve_tokens,
        },
        "server_env": plan.server_env,
        "notes": list(plan.notes),
    }
    if export is not None:
        document["export"] = {
            "engine": export.engine,
            "flags": export.flags,
            "command": export.command,
            "config_yaml": export.config_yaml,
            "triton_parameters": export.triton_parameters,
            "notes": list(export.notes),
        }
    return document


def _gib_cell(value: int) -> str:
    return f"{gib(value):.2f}"


_SERVICE_NAMES = {"llm": "LLM", "whisperx": "WhisperX"}


def card_table(card: CardBudget, shape_name: str) -> Table:
    services = " + ".join(
        shape_name if owner == "llm" else _SERVICE_NAMES.get(owner, owner) for owner in card.owners)
    where = f"{card.gpu.name}, " if card.gpu.index is not None else ""
    table = Table(title=f"GPU budget: {services} on {where}{gib(card.gpu.total_bytes):.1f} GiB",
                  title_justify="left")
    table.add_column("component")
    table.add_column("GiB", justify="right")
    table.add_column("how it is counted", overflow="fold")
    for component in card.components:
        table.add_row(component.label, _gib_cell(component.bytes), component.detail)
    table.add_section()
    table.add_row("total", _gib_cell(card.planned_bytes), "")
    table.add_row("GPU", _gib_cell(card.gpu.total_bytes), card.gpu.source)
    style = "green" if card.fits else "bold red"
    table.add_row(Text("headroom", style=style), Text(_gib_cell(card.headroom_bytes), style=style),
                  f"target {gib(card.headroom_target_bytes):.2f} GiB")
    return table


def plan_table(result: PlanResult) -> Group:
    plan = result.plan
    request = plan.request
    shape = request.shape
    lines = [
        *[card_table(card, shape.name) for card in plan.cards],
        Text(f"model shape from: {shape.source}"),
        *[Text(f"  (tried first: {attempt})", style="dim") for attempt in result.lookup.attempts],
        Text(f"num_ctx {request.num_ctx}"
             + (" (largest that keeps the headroom)" if result.solved_for_headroom else "")
             + f"; KV cache {plan.kv_cache_bytes:,} B"),
        Text("largest num_ctx keeping the headroom: "
             + (str(result.max_num_ctx) if result.max_num_ctx else "none")),
        Text(f"emails per batch: {plan.email_batch.emails} of {plan.email_batch.email_tokens} "
             f"tokens beside a {plan.email_batch.generation_reserve_tokens}-token reserve and "
             f"a {plan.email_batch.system_prompt_tokens}-token fixed prompt"),
        Text("Ollama server env: " + " ".join(f"{k}={v}" for k, v in plan.server_env.items())),
        *[Text(f"note: {note}", style="yellow") for note in (*shape.notes, *plan.notes)],
    ]
    if not plan.fits:
        lines.append(Text("does not keep the headroom target: lower num_ctx, the Whisper batch "
                          "size or model, or use a q8_0 KV cache", style="bold red"))
    return Group(*lines)


def export_text(export: EngineExport) -> str:
    parts = [export.command]
    if export.config_yaml:
        parts.append("# kv_cache.yaml\n" + export.config_yaml.rstrip())
    parts += [f"# {note}" for note in export.notes]
    return "\n".join(parts)
