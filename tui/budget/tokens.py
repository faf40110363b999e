"""Conservative token estimates for budgeting before a tokenizer is at hand."""

from __future__ import annotations

import math

# Mistral's Tekken and Llama 3's tokenizers average ~4 bytes of English per token; 3 bytes
# per token over-counts on purpose, so a batch is never cut by Ollama's silent truncation.
# The mail pipeline calibrates this from Ollama's own prompt_eval_count.
BYTES_PER_TOKEN = 3.0


def estimate_tokens(text: str, bytes_per_token: float = BYTES_PER_TOKEN) -> int:
    return math.ceil(len(text.encode("utf-8")) / bytes_per_token)
