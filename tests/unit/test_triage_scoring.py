"""The triage-quality scoring rules (bench/triage_scoring.py)."""

from __future__ import annotations

import pytest

from bench.triage_scoring import (
    NO_VERDICT,
    Label,
    Prediction,
    accuracy,
    binary_score,
    confusion,
    format_confusion,
    majority_baseline,
    score_run,
    within_one_step,
)


def test_accuracy_counts_a_missing_verdict_as_wrong_but_not_as_answered() -> None:
    result = accuracy([("low", "low"), ("high", "low"), ("urgent", None), ("normal", "normal")])
    assert (result.correct, result.answered, result.total) == (2, 3, 4)
    assert result.rate == pytest.approx(0.5)
    assert result.answered_rate == pytest.approx(2 / 3)


def test_accuracy_of_nothing_is_undefined_not_zero() -> None:
    assert accuracy([]).rate is None
    assert accuracy([("low", None)]).answered_rate is None


def test_within_one_step_accepts_neighbours_on_the_priority_scale_only() -> None:
    pairs = [("urgent", "high"), ("urgent", "normal"), ("low", "normal"), ("high", "high"),
             ("low", None), ("low", "bogus")]
    result = within_one_step(pairs)
    assert (result.correct, result.answered, result.total) == (3, 5, 6)


def test_confusion_rows_are_expected_columns_predicted_with_a_no_verdict_column() -> None:
    table = confusion([("low", "low"), ("low", "high"), ("high", None), ("high", "high")],
                      ["urgent", "high", "normal", "low"])
    assert table.count("low", "high") == 1
    assert table.count("high", NO_VERDICT) == 1
    assert table.columns == ("urgent", "high", "normal", "low", NO_VERDICT)
    assert table.recall("low") == pytest.approx(0.5)
    assert table.precision("high") == pytest.approx(0.5)
    assert table.recall("urgent") is None


def test_confusion_appends_values_outside_the_given_labels() -> None:
    table = confusion([("low", "whatever")], ["low"])
    assert table.labels == ("low", "whatever")
    assert NO_VERDICT not in table.columns


def test_format_confusion_shows_counts_totals_and_recall_and_skips_empty_rows() -> None:
    table = confusion([("low", "low"), ("low", "high"), ("high", None)],
                      ["urgent", "high", "low"])
    text = format_confusion(table, "priority")
    lines = text.splitlines()
    assert lines[0].split() == ["priority", "urgent", "high", "low", "none?", "total",
                                "recall"]
    assert [line.split()[0] for line in lines[1:]] == ["high", "low"]  # no urgent row
    assert lines[2].split() == ["low", ".", "1", "1", ".", "2", "50%"]
    assert lines[1].split() == ["high", ".", ".", ".", "1", "1", "0%"]


def test_binary_score_precision_and_recall() -> None:
    score = binary_score([(True, True), (True, False), (False, True), (False, False),
                          (False, False), (True, None), (False, None)])
    assert (score.true_positive, score.false_positive, score.false_negative,
            score.true_negative, score.missing) == (1, 1, 2, 2, 2)
    assert score.precision == pytest.approx(0.5)
    assert score.recall == pytest.approx(1 / 3)  # the positive without a verdict was missed


def test_binary_score_without_positives_has_no_precision_or_recall() -> None:
    score = binary_score([(False, False), (False, None)])
    assert score.precision is None and score.recall is None


def _label(file: str, priority: str = "low", action: str = "archive",
           category: str = "newsletter", injection: bool = False,
           folder: str | None = None) -> Label:
    return Label(file, priority, action, category, injection, folder)


def test_score_run_puts_every_field_together() -> None:
    rows = [
        (_label("a", injection=True, action="none", category="spam"),
         Prediction("low", "none", "spam", injection=True, model_injection=False,
                    heuristic_injection=True)),
        (_label("b", priority="high", action="flag", category="action"),
         Prediction("normal", "flag", "action", injection=False, model_injection=False)),
        (_label("c", action="move", folder="Junk", category="spam"),
         Prediction("low", "move", "spam", injection=False, folder="Spam")),
        (_label("d", action="move", folder="Junk", category="spam"), None),
    ]
    score = score_run(rows, actions=["none", "flag", "mark_read", "move", "archive"])
    assert score.mails == 4 and score.answered == 3
    assert score.priority.correct == 2
    assert score.priority_within_one.correct == 3
    assert score.action.correct == 3
    assert score.category.correct == 3
    assert (score.move_folder.correct, score.move_folder.total) == (0, 2)  # wrong folder
    assert score.injection.recall == 1.0
    assert score.injection_model.recall == 0.0
    assert score.injection_model.missing == 2  # "c": the model's flag is not known
    assert score.injection_heuristics.true_positive == 1
    assert score.action_confusion.labels[:5] == ("none", "flag", "mark_read", "move",
                                                 "archive")
    data = score.as_dict()
    assert data["accuracy"]["priority"]["correct"] == 2
    assert data["confusion"]["priority"]["rows"]["high"] == {"normal": 1}
    assert data["injection"]["product"]["tp"] == 1


def test_majority_baseline_is_the_most_common_value_first_seen_on_ties() -> None:
    baseline = majority_baseline(["low", "flag", "flag", "low", "normal"])
    assert baseline.value == "low"
    assert baseline.accuracy.rate == pytest.approx(0.4)
    assert majority_baseline([]).value is None


def test_score_run_reports_the_majority_baselines() -> None:
    rows = [(_label("a"), None), (_label("b", priority="high"), None), (_label("c"), None)]
    data = score_run(rows).as_dict()["majority_baseline"]
    assert data["priority"] == {"value": "low", "rate": pytest.approx(2 / 3)}
    assert data["action"]["value"] == "archive"
