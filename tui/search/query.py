"""From what a user typed to an FTS5 MATCH expression, and from FTS5's marked snippets back
to text: pure, no SQLite.

Every word becomes a quoted FTS5 string, so nothing a user types (quotes, hyphens, `*`,
`:`, parentheses, `NEAR`, a lone `AND`) can make FTS5 raise `fts5: syntax error`. What is
understood:

- words are all required (`warehouse lease`);
- `"..."` is a phrase (an unclosed quote runs to the end: the user is still typing it);
- `OR` in capitals between two words or phrases allows either; `AND` in capitals is the
  default and is dropped;
- `-word` or `NOT word` leaves out rows containing it (only beside something to find);
- the last word, while it is being typed (no space or closing quote after it), is a prefix:
  `wareh` finds `warehouse`.
"""

from __future__ import annotations

from dataclasses import dataclass

from tui.search.records import Marked

# Markers FTS5's snippet() and highlight() put around matched tokens (control characters a
# transcript or a parsed mail body does not hold).
MATCH_OPEN = "\x02"
MATCH_CLOSE = "\x03"


@dataclass(frozen=True)
class _Term:
    text: str
    phrase: bool
    negated: bool = False
    either_with_previous: bool = False  # joined to the term before by OR
    prefix: bool = False


def _quoted(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


def _searchable(text: str) -> bool:
    """Whether FTS5's unicode61 tokenizer finds a token in `text` (letters and digits are
    token characters; punctuation, spaces and symbols separate tokens)."""
    return any(ch.isalnum() for ch in text)


def _scan(text: str) -> list[tuple[str, bool, bool]]:
    """(token, is_phrase, is_open) in order: an open token is still being typed."""
    tokens: list[tuple[str, bool, bool]] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch.isspace():
            i += 1
        elif ch == '"':
            end = text.find('"', i + 1)
            if end < 0:
                tokens.append((text[i + 1:], True, True))
                break
            tokens.append((text[i + 1:end], True, False))
            i = end + 1
        else:
            j = i
            while j < n and not text[j].isspace() and text[j] != '"':
                j += 1
            tokens.append((text[i:j], False, j == n))
            i = j
    return tokens


def _terms(text: str, prefix_last: bool) -> list[_Term]:
    terms: list[_Term] = []
    negate_next = either_next = False
    tokens = _scan(text)
    for number, (token, phrase, is_open) in enumerate(tokens):
        if not phrase and token == "AND":
            continue
        if not phrase and token == "OR":
            either_next = bool(terms)
            continue
        if not phrase and token == "NOT":
            negate_next = True
            continue
        negated = negate_next
        if not phrase and token.startswith("-") and len(token) > 1:
            token, negated = token[1:], True
        negate_next = False
        if not _searchable(token):
            continue
        last = number == len(tokens) - 1
        terms.append(_Term(token, phrase, negated, either_next and not negated,
                           prefix=prefix_last and last and is_open and not negated))
        either_next = False
    return terms


def match_expression(text: str, *, prefix_last: bool = True) -> str | None:
    """The FTS5 MATCH expression for `text`, or None when there is nothing to search for.
    `prefix_last` makes the word being typed a prefix (as-you-type search)."""
    terms = _terms(text, prefix_last)
    wanted = [term for term in terms if not term.negated]
    unwanted = [term for term in terms if term.negated]
    if not wanted:
        # Only exclusions ("-draft"): FTS5 cannot list everything but; take the words as
        # what to find.
        wanted, unwanted = [_Term(term.text, term.phrase) for term in unwanted], []
    groups: list[list[str]] = []
    for term in wanted:
        quoted = _quoted(term.text) + ("*" if term.prefix else "")
        if term.either_with_previous and groups:
            groups[-1].append(quoted)
        else:
            groups.append([quoted])
    if not groups:
        return None
    parts = [group[0] if len(group) == 1 else "(" + " OR ".join(group) + ")"
             for group in groups]
    expression = " AND ".join(parts)
    if unwanted:
        expression = f"({expression})" + "".join(
            f" NOT {_quoted(term.text)}" for term in unwanted)
    return expression


def parse_marked(text: str | None) -> Marked:
    """FTS5 snippet()/highlight() output (matches between MATCH_OPEN and MATCH_CLOSE) as
    `Marked` parts."""
    if not text:
        return Marked()
    parts: list[tuple[str, bool]] = []
    matched = False
    current: list[str] = []
    for ch in text:
        if ch in (MATCH_OPEN, MATCH_CLOSE):
            if current:
                parts.append(("".join(current), matched))
                current = []
            matched = ch == MATCH_OPEN
        else:
            current.append(ch)
    if current:
        parts.append(("".join(current), matched))
    return Marked(tuple(parts))


def clock(seconds: float | None) -> str:
    """hh:mm:ss, as transcripts show times."""
    total = max(0, int(seconds or 0))
    return f"{total // 3600:02d}:{total % 3600 // 60:02d}:{total % 60:02d}"
