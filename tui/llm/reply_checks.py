"""Was anything cut? The checks every caller of a backend makes on a reply before reading it,
one rule for the mail triage and the meeting summaries (FAILURE-MODES.md: Ollama cuts an
over-long prompt silently, HTTP 200; a reply that stops at `length` is cut-off JSON).

Pure: a reply and the budget in, the reason to reject it (or None) out.
"""

from __future__ import annotations

from tui.llm.protocol import BatchReply


def prompt_cut_reason(reply: BatchReply, *, num_ctx: int, reserve: int) -> str | None:
    """Why the server may have cut the prompt: it counted more tokens than the planned room
    (num_ctx − reserve), so the start (system prompt included) may be gone. None when the
    count fits or the server gave none (the backends that can refuse, refuse instead)."""
    room = num_ctx - reserve
    if (reply.prompt_eval_count or 0) > room:
        return (f"prompt of {reply.prompt_eval_count} tokens exceeded the planned {room} "
                f"(done_reason {reply.done_reason})")
    return None


def reply_cut_off(reply: BatchReply, reserve: int, num_ctx: int) -> str:
    """Why a reply that stopped at `length` is rejected, with the server's own numbers."""
    generated = (f"after {reply.eval_count} tokens" if reply.eval_count is not None
                 else "at an unknown length")
    prompt = (f"; the prompt was {reply.prompt_eval_count} tokens"
              if reply.prompt_eval_count is not None else "")
    return (f"reply cut off {generated} (finish_reason length; {reserve} reserved for the "
            f"reply, context {num_ctx}{prompt})")


def reply_cut_reason(reply: BatchReply, *, num_ctx: int, reserve: int) -> str | None:
    """Why the *reply* is incomplete: it hit its token limit (`done_reason`/`finish_reason`
    "length"), so its JSON is cut off although the prompt fit. None otherwise."""
    if reply.done_reason == "length":
        return reply_cut_off(reply, reserve, num_ctx)
    return None
