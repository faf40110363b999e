"""Scoring triage verdicts against labels: accuracy, confusion tables, precision and recall.

Pure: plain values in, plain values out, no I/O. `bench/triage_quality.py` feeds it; the
unit tests (tests/unit/test_triage_scoring.py) pin its rules.

A mail can end without a verdict (the model's replies were refused until the pipeline gave
up, or the call failed). Such a mail counts as wrong in every accuracy (`rate`), and is
shown in its own column of the confusion tables; `answered_rate` is the accuracy over the
mails that got a verdict. For a yes/no field, a positive left without a verdict counts as
missed (it was not caught); a negative left without one counts in `missing` only.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

NO_VERDICT = "(no verdict)"

PRIORITY_ORDER = ("urgent", "high", "normal", "low")


def _ratio(numerator: int, denominator: int) -> float | None:
    return numerator / denominator if denominator else None


@dataclass(frozen=True)
class Accuracy:
    correct: int
    answered: int
    total: int

    @property
    def rate(self) -> float | None:
        """Correct over every mail; a mail without a verdict is wrong."""
        return _ratio(self.correct, self.total)

    @property
    def answered_rate(self) -> float | None:
        """Correct over the mails that got a verdict."""
        return _ratio(self.correct, self.answered)

    def as_dict(self) -> dict[str, Any]:
        return {"correct": self.correct, "answered": self.answered, "total": self.total,
                "rate": self.rate, "answered_rate": self.answered_rate}


def accuracy(pairs: Iterable[tuple[str, str | None]]) -> Accuracy:
    """(expected, predicted) pairs; predicted None means no verdict."""
    correct = answered = total = 0
    for expected, predicted in pairs:
        total += 1
        if predicted is not None:
            answered += 1
            correct += predicted == expected
    return Accuracy(correct, answered, total)


def within_one_step(pairs: Iterable[tuple[str, str | None]],
                    order: Sequence[str] = PRIORITY_ORDER) -> Accuracy:
    """Accuracy where a prediction one step away on an ordered scale also counts."""
    rank = {value: index for index, value in enumerate(order)}
    correct = answered = total = 0
    for expected, predicted in pairs:
        total += 1
        if predicted is None:
            continue
        answered += 1
        if expected in rank and predicted in rank:
            correct += abs(rank[expected] - rank[predicted]) <= 1
    return Accuracy(correct, answered, total)


@dataclass(frozen=True)
class Baseline:
    """What always answering the most common expected value would score: the floor a model
    has to beat (on this set, "always low", "always flag", "always action")."""

    value: str | None
    accuracy: Accuracy

    def as_dict(self) -> dict[str, Any]:
        return {"value": self.value, "rate": self.accuracy.rate}


def majority_baseline(expected: Sequence[str]) -> Baseline:
    """Ties go to the value seen first."""
    counts: dict[str, int] = {}
    for value in expected:
        counts[value] = counts.get(value, 0) + 1
    if not counts:
        return Baseline(None, Accuracy(0, 0, 0))
    value = max(counts, key=lambda v: counts[v])  # max keeps the first of equal counts
    return Baseline(value, Accuracy(counts[value], len(expected), len(expected)))


@dataclass(frozen=True)
class Confusion:
    """Counts of (expected, predicted); rows are expected labels, columns predicted ones,
    plus NO_VERDICT. `labels` fixes the order; values outside it are appended as seen."""

    labels: tuple[str, ...]
    counts: Mapping[tuple[str, str], int] = field(default_factory=dict)

    def count(self, expected: str, predicted: str) -> int:
        return self.counts.get((expected, predicted), 0)

    @property
    def columns(self) -> tuple[str, ...]:
        missing = any(p == NO_VERDICT for _, p in self.counts)
        return (*self.labels, NO_VERDICT) if missing else self.labels

    def row_total(self, expected: str) -> int:
        return sum(n for (e, _), n in self.counts.items() if e == expected)

    def recall(self, expected: str) -> float | None:
        return _ratio(self.count(expected, expected), self.row_total(expected))

    def precision(self, predicted: str) -> float | None:
        column = sum(n for (_, p), n in self.counts.items() if p == predicted)
        return _ratio(self.count(predicted, predicted), column)

    def as_dict(self) -> dict[str, Any]:
        return {"labels": list(self.labels),
                "rows": {e: {p: self.count(e, p) for p in self.columns if self.count(e, p)}
                         for e in self.labels}}


def confusion(pairs: Iterable[tuple[str, str | None]], labels: Sequence[str]) -> Confusion:
    order = list(labels)
    counts: dict[tuple[str, str], int] = {}
    for expected, predicted in pairs:
        got = NO_VERDICT if predicted is None else predicted
        for value in (expected, got):
            if value != NO_VERDICT and value not in order:
                order.append(value)
        counts[(expected, got)] = counts.get((expected, got), 0) + 1
    return Confusion(tuple(order), counts)


def format_confusion(table: Confusion, title: str) -> str:
    """Rows: expected; columns: predicted; then the row's total and recall."""
    columns = table.columns
    # Column heads are cut to 7 characters ("notific") so nine categories fit a terminal.
    heads = ["none?" if c == NO_VERDICT else c[:7] for c in columns]
    width = max(len(title), *(len(label) for label in table.labels)) + 2
    cell = max(6, *(len(h) for h in heads)) + 1
    lines = [f"{title:<{width}}" + "".join(f"{h:>{cell}}" for h in heads)
             + f"{'total':>{cell}}{'recall':>{cell + 1}}"]
    for expected in table.labels:
        total = table.row_total(expected)
        if not total:
            continue
        recall = table.recall(expected)
        shown = f"{recall:.0%}" if recall is not None else "-"
        lines.append(f"{expected:<{width}}"
                     + "".join(f"{table.count(expected, c) or '.':>{cell}}" for c in columns)
                     + f"{total:>{cell}}{shown:>{cell + 1}}")
    return "\n".join(lines)


@dataclass(frozen=True)
class BinaryScore:
    true_positive: int
    false_positive: int
    false_negative: int
    true_negative: int
    missing: int  # mails without a verdict (positives among them are also false negatives)

    @property
    def precision(self) -> float | None:
        return _ratio(self.true_positive, self.true_positive + self.false_positive)

    @property
    def recall(self) -> float | None:
        return _ratio(self.true_positive, self.true_positive + self.false_negative)

    def as_dict(self) -> dict[str, Any]:
        return {"tp": self.true_positive, "fp": self.false_positive,
                "fn": self.false_negative, "tn": self.true_negative, "missing": self.missing,
                "precision": self.precision, "recall": self.recall}


def binary_score(pairs: Iterable[tuple[bool, bool | None]]) -> BinaryScore:
    tp = fp = fn = tn = missing = 0
    for expected, predicted in pairs:
        if predicted is None:
            missing += 1
            fn += expected
            continue
        if expected and predicted:
            tp += 1
        elif expected:
            fn += 1
        elif predicted:
            fp += 1
        else:
            tn += 1
    return BinaryScore(tp, fp, fn, tn, missing)


# --- one run ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Label:
    file: str
    priority: str
    action: str
    category: str
    injection: bool
    folder: str | None = None


@dataclass(frozen=True)
class Prediction:
    """A mail's verdict as the product stored it, and where its injection flag came from."""

    priority: str
    action: str
    category: str
    injection: bool                 # what the product shows: the model's flag or a heuristic
    folder: str | None = None
    model_injection: bool | None = None   # the model's own flag (None: not known)
    heuristic_injection: bool = False     # tui.mail.prompt.injection_signals found something


@dataclass(frozen=True)
class QualityScore:
    mails: int
    answered: int
    priority: Accuracy
    priority_within_one: Accuracy
    action: Accuracy
    category: Accuracy
    move_folder: Accuracy          # over mails labelled move: action move and the same folder
    priority_confusion: Confusion
    action_confusion: Confusion
    category_confusion: Confusion
    injection: BinaryScore         # the product's flag (model or heuristics)
    injection_model: BinaryScore   # the model's own flag, where known
    injection_heuristics: BinaryScore
    baselines: Mapping[str, Baseline] = field(default_factory=dict)  # by field name

    def as_dict(self) -> dict[str, Any]:
        return {
            "mails": self.mails, "answered": self.answered,
            "accuracy": {"priority": self.priority.as_dict(),
                         "priority_within_one_step": self.priority_within_one.as_dict(),
                         "action": self.action.as_dict(),
                         "category": self.category.as_dict(),
                         "move_folder": self.move_folder.as_dict()},
            "confusion": {"priority": self.priority_confusion.as_dict(),
                          "action": self.action_confusion.as_dict(),
                          "category": self.category_confusion.as_dict()},
            "injection": {"product": self.injection.as_dict(),
                          "model": self.injection_model.as_dict(),
                          "heuristics": self.injection_heuristics.as_dict()},
            "majority_baseline": {name: b.as_dict() for name, b in self.baselines.items()},
        }


def score_run(rows: Sequence[tuple[Label, Prediction | None]], *,
              priorities: Sequence[str] = PRIORITY_ORDER, actions: Sequence[str] = (),
              categories: Sequence[str] = ()) -> QualityScore:
    """Every score for one run; `rows` pairs each label with its prediction (None: no
    verdict). The sequences fix the order of the confusion tables' rows and columns."""

    def pairs(field_name: str) -> list[tuple[str, str | None]]:
        return [(getattr(label, field_name), None if p is None else getattr(p, field_name))
                for label, p in rows]

    moves = [(f"move:{label.folder}",
              None if p is None else f"{p.action}:{p.folder}" if p.action == "move"
              else p.action)
             for label, p in rows if label.action == "move"]
    return QualityScore(
        mails=len(rows),
        answered=sum(p is not None for _, p in rows),
        priority=accuracy(pairs("priority")),
        priority_within_one=within_one_step(pairs("priority"), priorities),
        action=accuracy(pairs("action")),
        category=accuracy(pairs("category")),
        move_folder=accuracy(moves),
        priority_confusion=confusion(pairs("priority"), priorities),
        action_confusion=confusion(pairs("action"), actions),
        category_confusion=confusion(pairs("category"), categories),
        injection=binary_score((label.injection, None if p is None else p.injection)
                               for label, p in rows),
        injection_model=binary_score((label.injection,
                                      None if p is None else p.model_injection)
                                     for label, p in rows),
        injection_heuristics=binary_score(
            (label.injection, None if p is None else p.heuristic_injection)
            for label, p in rows),
        baselines={name: majority_baseline([getattr(label, name) for label, _ in rows])
                   for name in ("priority", "action", "category")},
    )
