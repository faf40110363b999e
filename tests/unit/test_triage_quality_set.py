"""The labelled triage set (bench/triage_quality/): complete, parseable, validly labelled."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from bench.triage_set import SET_DIR, LabelError, load_set
from tui.mail.parsing import parse_email
from tui.mail.verdicts import Category, Priority, SuggestedAction

MAILS = load_set()


def test_the_set_has_at_least_150_mails_and_every_category_priority_and_action() -> None:
    assert len(MAILS) >= 150
    assert {m.label.category for m in MAILS} == {c.value for c in Category}
    assert {m.label.priority for m in MAILS} == {p.value for p in Priority}
    assert {m.label.action for m in MAILS} == {a.value for a in SuggestedAction}


def test_the_set_holds_what_the_bench_promises() -> None:
    tags = Counter(tag for m in MAILS for tag in m.tags)
    injections = [m for m in MAILS if m.label.injection]
    assert len(injections) >= 10
    assert tags["batch-relabel"] == 1
    assert tags["injection-hard-negative"] >= 3
    for kind in ("german", "french", "spanish", "japanese", "html-only", "thread", "forward",
                 "attachment", "charset", "phishing"):
        assert tags[kind] >= 2, kind
    # A suspected injection is never automated: its label is always "none".
    assert {m.label.action for m in injections} == {"none"}


def test_every_mail_parses_with_the_products_parser_into_a_distinct_message() -> None:
    identities = set()
    for mail in MAILS:
        parsed = parse_email(mail.raw, max_body_tokens=490)
        assert parsed.subject, mail.label.file
        assert parsed.sender, mail.label.file
        assert parsed.date is not None, mail.label.file
        assert parsed.body.strip() or parsed.attachments, mail.label.file
        # Parsing problems are expected only where a mail exists to test them.
        if parsed.problems:
            assert "charset" in mail.tags, (mail.label.file, parsed.problems)
        identities.add(parsed.message_id)
    # The store keys mail by Message-ID: two alike would silently become one.
    assert len(identities) == len(MAILS)


def test_every_mail_is_crlf_rfc5322_bytes() -> None:
    for mail in MAILS:
        head, separator, _ = mail.raw.partition(b"\r\n\r\n")
        assert separator, mail.label.file
        assert b"\n" not in head.replace(b"\r\n", b""), mail.label.file
        assert head.startswith(b"From: "), mail.label.file


def test_every_mail_file_is_labelled_once() -> None:
    files = {p.name for p in (SET_DIR / "mails").glob("*.eml")}
    assert files == {m.label.file for m in MAILS}


def _write_set(folder: Path, row: dict[str, object]) -> None:
    (folder / "mails").mkdir()
    (folder / "mails" / "001-x.eml").write_bytes(b"From: a@b.example\r\n\r\nhi\r\n")
    (folder / "labels.jsonl").write_text(json.dumps(row) + "\n", encoding="utf-8")


GOOD = {"file": "001-x.eml", "priority": "low", "action": "archive", "category": "receipt",
        "injection": False, "why": "a receipt"}


@pytest.mark.parametrize(("change", "message"), [
    ({"priority": "critical"}, "priority"),
    ({"action": "delete"}, "action"),
    ({"category": "invoice"}, "category"),
    ({"action": "move"}, "move"),
    ({"folder": "Junk"}, "only goes with move"),
    ({"injection": "no"}, "injection"),
    ({"why": ""}, "why"),
    ({"file": "002-missing.eml"}, "no mail file"),
    ({"colour": "red"}, "unknown keys"),
])
def test_a_bad_label_is_refused_naming_the_line(tmp_path: Path, change: dict[str, object],
                                                  message: str) -> None:
    _write_set(tmp_path, {**GOOD, **change})
    with pytest.raises(LabelError, match=message) as error:
        load_set(tmp_path)
    assert "labels.jsonl:1" in str(error.value)


def test_a_good_label_loads(tmp_path: Path) -> None:
    _write_set(tmp_path, GOOD)
    (mail,) = load_set(tmp_path)
    assert mail.label.category == "receipt"
    assert mail.raw.startswith(b"From: ")
