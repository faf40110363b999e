"""How many emails of a given token size fit a context beside the generation reserve."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class EmailBatchFit:
    num_ctx: int
    system_prompt_tokens: int
    email_tokens: int
    generation_reserve_tokens: int
    emails: int

    @property
    def prompt_tokens_available(self) -> int:
        return max(0, self.num_ctx - self.system_prompt_tokens - self.generation_reserve_tokens)


def fit_email_batch(
    num_ctx: int,
    *,
    system_prompt_tokens: int,
    email_tokens: int,
    generation_reserve_tokens: int,
) -> EmailBatchFit:
    if email_tokens <= 0:
        raise ValueError(f"email_tokens must be positive, got {email_tokens}")
    room = num_ctx - system_prompt_tokens - generation_reserve_tokens
    return EmailBatchFit(
        num_ctx=num_ctx,
        system_prompt_tokens=system_prompt_tokens,
        email_tokens=email_tokens,
        generation_reserve_tokens=generation_reserve_tokens,
        emails=max(0, room // email_tokens),
    )
