"""Cutting a body to a token budget, with a visible marker saying how much was left out.

Separate because the guarantee (the result, marker included, never exceeds the budget by our
estimate) is what batching relies on, and it is tested on its own.
"""

from __future__ import annotations

from tui.budget.tokens import BYTES_PER_TOKEN, estimate_tokens


def _marker(remaining: int) -> str:
    return f"\n[… truncated: {remaining} more characters]"


def truncate_to_tokens(text: str, max_tokens: int) -> tuple[str, bool]:
    """Cut ``text`` so that, with the truncation marker, ``estimate_tokens`` <= ``max_tokens``.

    Guaranteed for ``max_tokens >= 16`` (the marker alone fits). With a budget too small even
    for the marker, the result is "" (still within the budget), truncated=True.
    """
    if estimate_tokens(text) <= max_tokens:
        return text, False
    total = len(text)

    def fits(kept: str) -> bool:
        return estimate_tokens(kept + _marker(total - len(kept))) <= max_tokens

    if not fits(""):
        return "", True
    # Every character is at least one UTF-8 byte, so no prefix longer than the byte budget can
    # fit; bounding the search keeps it cheap for multi-megabyte bodies. Binary search is
    # valid because fits(text[:k]) is monotone in k: one more character adds at least one
    # byte, while the marker's count loses at most one digit.
    lo, hi = 0, min(total, int(max(max_tokens, 0) * BYTES_PER_TOKEN) + 1)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if fits(text[:mid]):
            lo = mid
        else:
            hi = mid - 1
    cut = lo
    # Prefer a word boundary shortly before the limit over cutting a word in half.
    window = min(200, cut // 4)
    for j in range(cut, cut - window - 1, -1):
        if 0 < j < total and (text[j].isspace() or text[j - 1].isspace()):
            cut = j
            break
    kept = text[:cut].rstrip()
    while kept and not fits(kept):  # defensive; the search above already guarantees this
        kept = kept[:-1]
    result = kept + _marker(total - len(kept)) if kept else _marker(total).lstrip("\n")
    return result, True
