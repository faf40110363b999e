"""bench/triage_quality.py's plumbing, with a stand-in model that answers every label
correctly: the set goes through the product's sync, batching, prompt and reply validation,
and every score comes out perfect, so a low score from a real model is the model's."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from bench.triage_quality import _score as score_of
from bench.triage_quality import as_json, report, run
from bench.triage_set import LabelledMail, load_set
from tui.budget.tokens import estimate_tokens
from tui.config import Config
from tui.llm import BackendStatus, BatchReply
from tui.mail.parsing import parse_email

MAILS = load_set()
_EMAIL_RE = re.compile(r'<email id="([^"]+)">\nFrom: [^\n]*\nSubject: ([^\n]*)\n')


class OracleModel:
    """Answers each mail with its label, found by subject; optionally garbles early calls."""

    label = "oracle"
    num_ctx = 8192

    def __init__(self, mails: list[LabelledMail], garbled_calls: int = 0) -> None:
        self.by_subject = {}
        for mail in mails:
            subject = " ".join(parse_email(mail.raw, max_body_tokens=490).subject.split())
            self.by_subject[subject] = mail.label
        self.garbled_calls = garbled_calls
        self.batches: list[int] = []

    def check(self) -> BackendStatus:
        return BackendStatus(True, "ready", "oracle")

    def run_batch(self, messages: list[dict[str, str]], schema: dict[str, Any],
                  on_text: Any) -> BatchReply:
        user = messages[-1]["content"]
        found = _EMAIL_RE.findall(user)
        self.batches.append(len(found))
        prompt = sum(estimate_tokens(m["content"]) for m in messages)
        if len(self.batches) <= self.garbled_calls:
            return BatchReply('{"verdicts": [', prompt, 5, "stop")
        verdicts = []
        for prompt_id, subject in found:
            label = self.by_subject[subject]
            verdict = {"id": prompt_id, "priority": label.priority,
                       "category": label.category, "action": label.action,
                       "summary": "s", "reason": "r", "injection_suspected": label.injection}
            if label.folder:
                verdict["folder"] = label.folder
            verdicts.append(verdict)
        text = json.dumps({"verdicts": verdicts})
        return BatchReply(text, prompt, len(text) // 4, "stop")


def test_subjects_identify_the_mails_for_the_oracle() -> None:
    assert len(OracleModel(MAILS).by_subject) == len(MAILS)


def test_a_perfect_model_scores_perfectly_through_the_products_path() -> None:
    oracle = OracleModel(MAILS)
    result = run(Config(), MAILS, batch_size=None, progress=lambda line: None, model=oracle)
    score = score_of(result)
    assert score.answered == score.mails == len(MAILS)
    for accuracy in (score.priority, score.action, score.category, score.move_folder):
        assert accuracy.rate == 1.0
    assert score.injection_model.precision == score.injection_model.recall == 1.0
    assert score.injection.recall == 1.0
    # The code-side heuristics flag the look-alikes labelled not-injection.
    hard_negatives = sum("injection-hard-negative" in m.tags for m in MAILS)
    assert score.injection_heuristics.false_positive >= hard_negatives - 1
    assert {c.outcome for c in result.calls} == {"accepted"}
    assert sum(oracle.batches) == len(MAILS)
    assert max(oracle.batches) > 1  # batches as the budget allows, not one by one
    data = as_json(result, score)
    assert data["calls"]["schema_invalid_replies"] == 0
    assert data["calls"]["per_mail"]["prompt_tokens"] > 0
    text = report(data, details=True)
    assert "schema-invalid replies: 0" in text
    # Every mail is listed; the only mismatches are the heuristics' false alarms.
    assert text.count("\n  x ") == score.injection.false_positive
    assert text.count("\n  = ") + text.count("\n  x ") == len(MAILS)


def test_batch_size_caps_every_batch_and_limit_is_respected() -> None:
    oracle = OracleModel(MAILS)
    result = run(Config(), MAILS[:30], batch_size=7, progress=lambda line: None, model=oracle)
    assert len(result.mails) == 30
    assert max(oracle.batches) <= 7
    assert score_of(result).action.rate == 1.0


def test_refused_replies_are_counted_and_the_pipeline_still_gets_every_verdict() -> None:
    oracle = OracleModel(MAILS)
    oracle.garbled_calls = 1
    lines: list[str] = []
    result = run(Config(), MAILS[:12], batch_size=None, progress=lines.append, model=oracle)
    outcomes = [c.outcome for c in result.calls]
    assert outcomes[0] == "invalid_json"
    assert outcomes[1:] == ["accepted", "accepted"]  # split in two halves, both accepted
    assert score_of(result).answered == 12
    assert as_json(result, score_of(result))["calls"]["schema_invalid_replies"] == 1
    assert "invalid_json" in lines[0]


def test_a_saved_run_renders_the_same_tables(tmp_path: Any,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    from bench.triage_quality import main

    result = run(Config(), MAILS[:8], batch_size=None, progress=lambda line: None,
                 model=OracleModel(MAILS))
    data = as_json(result, score_of(result))
    saved = tmp_path / "run.json"
    saved.write_text(json.dumps(data), encoding="utf-8")
    assert main(["--render", str(saved)]) == 0
    assert capsys.readouterr().out == report(data) + "\n"


@pytest.mark.parametrize("argv", [["--limit", "0"], ["--batch-size", "-1"]])
def test_bad_numbers_are_refused(argv: list[str], tmp_path: Any) -> None:
    from bench.triage_quality import main

    config = tmp_path / "c.toml"
    config.write_text("", encoding="utf-8")
    with pytest.raises(SystemExit):
        main(["--config", str(config), *argv])
