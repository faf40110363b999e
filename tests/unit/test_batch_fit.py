"""One rule for a batch's fixed prompt: the plan's "emails per batch" is what the mail
pipeline's batching really fits, so the two can never drift apart again."""

from __future__ import annotations

import ast
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from tui.budget.batch_fit import PROMPT_FRAMING_TOKENS, fixed_prompt_tokens
from tui.budget.tokens import estimate_tokens
from tui.config import BudgetConfig, Config, LlmConfig
from tui.mail.batching import plan_batches
from tui.mail.pipeline import MailPipeline
from tui.mail.prompt import PromptEmail, build_messages, render_email
from tui.planning.service import PlanOptions, make_plan
from tui.prompts import TRIAGE_SYSTEM_PROMPT


def test_an_empty_system_prompt_counts_the_built_in_one() -> None:
    task = "Analyze my background email triage."
    assert fixed_prompt_tokens("", task) == fixed_prompt_tokens(TRIAGE_SYSTEM_PROMPT, task)
    assert fixed_prompt_tokens("", task) == (estimate_tokens(TRIAGE_SYSTEM_PROMPT)
                                             + estimate_tokens(task) + PROMPT_FRAMING_TOKENS)
    assert fixed_prompt_tokens("Short.", task) < fixed_prompt_tokens("", task)


@pytest.mark.parametrize(("num_ctx", "email_tokens", "reserve", "llm"), [
    (8192, 550, 2048, LlmConfig()),
    (4096, 550, 1024, LlmConfig()),
    (16384, 300, 2048, LlmConfig(task_prompt="Sort my inbox, most urgent first. " * 10)),
    (6144, 1000, 512, LlmConfig(system_prompt="You triage email. " * 80)),
    (2048, 550, 2048, LlmConfig()),  # no room at all: the plan says 0
])
def test_the_plans_emails_per_batch_is_what_the_pipeline_fits(
        num_ctx: int, email_tokens: int, reserve: int, llm: LlmConfig) -> None:
    config = Config(llm=llm, budget=BudgetConfig(num_ctx=num_ctx, email_tokens=email_tokens,
                                                 generation_reserve_tokens=reserve))
    plan = make_plan(config, PlanOptions(offline=True, gpu_gib=80, no_whisper=True)).plan
    # The pipeline's own count of the fixed prompt, without building its IMAP or model side.
    fixed = MailPipeline._fixed_prompt_tokens(SimpleNamespace(config=config))  # type: ignore[arg-type]
    assert plan.email_batch.system_prompt_tokens == fixed
    emails = [email_tokens] * 200  # a full inbox of emails of the planned size
    try:
        batches = plan_batches(emails, lambda tokens: tokens, num_ctx=num_ctx,
                               fixed_tokens=fixed, generation_reserve=reserve)
    except ValueError:  # no room for any email
        batches = [[]]
    assert plan.email_batch.emails == len(batches[0])


def test_the_framing_allowance_covers_the_words_around_the_emails() -> None:
    """What build_messages adds beside the system prompt, task line and emails (the
    untrusted-data sentence, the id list, blank lines) leaves room in the allowance for the
    chat template's role markers (16 a turn), for a default batch with six-digit ids."""
    config = Config()
    batch = make_plan(config, PlanOptions(offline=True, gpu_gib=80)).plan.email_batch.emails
    assert batch >= 10
    emails = [PromptEmail(id=f"m{100000 + i}", sender="a@example.org", subject="s",
                          date="d", body="x" * 1500) for i in range(batch)]
    task = config.llm.task_prompt
    user = build_messages(emails, task_prompt=task, system_prompt=None)[0]["content"]
    words = user.replace(task, "", 1)
    for email in emails:
        words = words.replace(render_email(email), "", 1)
    assert estimate_tokens(words) <= PROMPT_FRAMING_TOKENS - 32


def test_the_budget_package_stays_pure() -> None:
    """tui/budget imports only itself, tui.prompts and the standard library: no mail code,
    no client library, nothing that does I/O."""
    budget = Path(__file__).resolve().parents[2] / "tui" / "budget"
    for path in budget.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and not node.level:
                modules = [node.module]
            elif isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            else:
                continue
            for module in modules:
                top = module.split(".")[0]
                allowed = (module.startswith(("tui.budget", "tui.prompts"))
                           or (top != "tui" and top in sys.stdlib_module_names))
                assert allowed, f"{path.name} imports {module}"
