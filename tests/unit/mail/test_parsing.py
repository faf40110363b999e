"""tui.mail.parsing: raw IMAP bytes → ParsedEmail, never raising, within the token budget."""

from __future__ import annotations

import base64
import hashlib
import quopri
import random
import re
from datetime import datetime, timedelta, timezone

import pytest

from tests.services import mail_corpus as corpus
from tui.budget.tokens import estimate_tokens
from tui.mail.parsing import (
    Attachment,
    ParsedEmail,
    html_to_text,
    message_id_from_headers,
    parse_email,
    truncate_to_tokens,
)

BUDGET = 2000
MARKER_RE = re.compile(r"\n?\[… truncated: (\d+) more characters\]\Z")
SYNTHETIC_RE = re.compile(r"\A<[0-9a-f]{32}@triage-tui\.invalid>\Z")
SAMPLES = corpus.all_samples()


def parse(raw: bytes, budget: int = BUDGET) -> ParsedEmail:
    return parse_email(raw, max_body_tokens=budget)


def _no_lone_surrogates(*texts: str) -> None:
    for text in texts:
        text.encode("utf-8")  # raises on surrogates left over from surrogateescape


def _check_invariants(result: ParsedEmail, budget: int) -> None:
    assert isinstance(result, ParsedEmail)
    assert estimate_tokens(result.body) <= budget
    assert result.body_source in ("text/plain", "text/html", "none")
    assert result.message_id.startswith("<") or result.message_id
    assert result.date is None or result.date.tzinfo is not None
    _no_lone_surrogates(
        result.body,
        result.sender,
        result.to,
        result.subject,
        result.message_id,
        *result.problems,
        *(a.filename for a in result.attachments),
    )
    # Control characters (terminal escapes included) never reach the TUI.
    for text in (result.body, result.subject, result.sender, result.to):
        assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]", text)


# --------------------------------------------------------------------------------------------
# The corpus itself


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_every_sample_parses_within_budget(name: str) -> None:
    raw = SAMPLES[name]
    assert b"\r\n" in raw and b"\n" not in raw.replace(b"\r\n", b"")  # CRLF only
    result = parse(raw)
    _check_invariants(result, BUDGET)
    assert result.body, f"{name} produced no body"


def test_corpus_message_ids_are_distinct_and_overridable() -> None:
    ids = [parse(raw).message_id for raw in SAMPLES.values()]
    assert len(set(ids)) == len(ids)
    for name, build in corpus.BUILDERS.items():
        result = parse(build(message_id=f"<override-{name}@test>", subject="Overridden subject"))
        assert result.message_id == f"<override-{name}@test>", name
        assert result.subject == "Overridden subject", name
    # A non-ASCII override is RFC 2047-encoded the way a client would do it.
    assert parse(corpus.plain_text(subject="Grüße aus Köln")).subject == "Grüße aus Köln"


# --------------------------------------------------------------------------------------------
# Headers


def test_plain_text_headers_date_and_flowed_body() -> None:
    result = parse(corpus.plain_text())
    assert result.sender == "Ana Ruiz <ana.ruiz@example.org>"
    assert result.to == "Sam Lee <sam.lee@example.com>"
    assert result.subject == "Budget review moved to Thursday"
    assert result.date == datetime(2024, 3, 11, 9, 30, 12, tzinfo=timezone(timedelta(hours=1)))
    assert result.message_id == "<8f3c2a1e-4b7d-4c1a-9e2f-3a5b6c7d8e9f@example.org>"
    # format=flowed soft line breaks are joined; the signature separator is kept.
    assert "at 14:00 because the finance team is travelling." in result.body
    assert "\n--\nAna Ruiz" in result.body
    assert result.problems == ()
    assert result.body_source == "text/plain" and not result.truncated


def test_encoded_words_decoded() -> None:
    result = parse(corpus.encoded_headers())
    assert result.sender == "José María García <jose.garcia@example.es>"
    assert result.to == "Sam Lée <sam.lee@example.com>"
    # Two folded UTF-8 base64 words join without the folding whitespace (RFC 2047 §6.2).
    assert result.subject == corpus.ENCODED_SUBJECT
    assert "José" in result.body and "próximos" in result.body
    assert result.problems == ()


def test_raw_8bit_headers_recovered_with_problems() -> None:
    result = parse(corpus.raw_8bit_headers())
    assert result.subject == corpus.RAW_8BIT_SUBJECT  # raw UTF-8 bytes
    assert result.sender == f"{corpus.RAW_8BIT_SENDER_NAME} <juergen@bank.example.de>"  # latin-1
    assert any("Subject header contains raw 8-bit" in p for p in result.problems)
    assert any("From header contains raw 8-bit" in p for p in result.problems)
    assert "Ihre Überweisung über 250,00 € wurde ausgeführt." in result.body


def test_raw_8bit_subject_of_unknown_bytes_does_not_crash() -> None:
    result = parse(corpus.raw_8bit_headers(subject=b"\x81\x8d\x8f\x90\x9d \xff\xfe"))
    _check_invariants(result, BUDGET)
    assert result.problems and result.body


def test_subject_whitespace_collapsed_and_controls_removed() -> None:
    raw = (
        b"From: a@example.org\r\nSubject:   Hello \x1b[31mred\x1b[0m\r\n\t  world\x00 \r\n"
        b"Message-ID: <ctl@example.org>\r\n\r\nbody \x1b[2J text\x07\r\n"
    )
    result = parse(raw)
    assert result.subject == "Hello [31mred [0m world"
    assert result.body == "body [2J text"
    _check_invariants(result, BUDGET)


def test_dates() -> None:
    unknown_zone = corpus.plain_text().replace(b"+0100", b"-0000")
    result = parse(unknown_zone)
    assert result.date == datetime(2024, 3, 11, 9, 30, 12, tzinfo=timezone.utc)
    assert any("time zone" in p for p in result.problems)

    invalid = corpus.plain_text().replace(b"Mon, 11 Mar 2024", b"Mon, 32 Foo 2024")
    result = parse(invalid)
    assert result.date is None
    assert any("Date header" in p for p in result.problems)

    no_date = re.sub(rb"Date: [^\r]*\r\n", b"", corpus.plain_text())
    assert parse(no_date).date is None


def test_missing_message_id_is_synthetic_and_stable() -> None:
    raw = corpus.missing_message_id()
    first, second = parse(raw), parse(bytes(raw))
    assert SYNTHETIC_RE.match(first.message_id)
    assert first.message_id == second.message_id
    assert first.message_id == f"<{hashlib.sha256(raw).hexdigest()[:32]}@triage-tui.invalid>"
    other = parse(corpus.missing_message_id(subject="Another note"))
    assert SYNTHETIC_RE.match(other.message_id) and other.message_id != first.message_id
    # An empty Message-ID header counts as missing.
    empty = corpus.plain_text(message_id="")
    assert SYNTHETIC_RE.match(parse(empty).message_id)
    assert parse(corpus.missing_message_id(message_id="<given@x>")).message_id == "<given@x>"


@pytest.mark.parametrize(
    "value",
    [
        b"<a@b.example>",
        b"\r\n <a@b.example>",
        b"<a@b.example> (comment)",
        b"<a@b.example>\r\n\t(folded  comment)",
        b"no-brackets@b.example",
        b"<with space@b.example>",  # email's own parser would cut this to "<with"
        b"<caf\xc3\xa9@b.example>",
        b"<caf\xe9@b.example>",
    ],
)
def test_message_id_from_headers_matches_parse_email(value: bytes) -> None:
    # The IMAP side compares ids fetched with HEADER.FIELDS against stored ones.
    raw = b"From: x@example.org\r\nMessage-ID: " + value + b"\r\n\r\nbody\r\n"
    from_headers = message_id_from_headers(b"Message-ID: " + value + b"\r\n\r\n")
    assert from_headers == parse_email(raw, max_body_tokens=100).message_id
    assert from_headers.startswith(("<", "no-brackets")) and "\r" not in from_headers


def test_message_id_from_headers_missing_or_garbage() -> None:
    assert message_id_from_headers(b"") == ""
    assert message_id_from_headers(b"Subject: x\r\n\r\n") == ""
    assert message_id_from_headers(b"Message-ID:   \r\n\r\n") == ""
    assert message_id_from_headers(b"\x00\xff garbage") == ""


def test_folded_message_id_unfolded() -> None:
    raw = corpus.plain_text().replace(b"Message-ID: <8f3c", b"Message-ID:\r\n <8f3c", 1)
    assert parse(raw).message_id == "<8f3c2a1e-4b7d-4c1a-9e2f-3a5b6c7d8e9f@example.org>"


# --------------------------------------------------------------------------------------------
# Charsets


def test_latin1_body() -> None:
    result = parse(corpus.latin1_body())
    assert corpus.LATIN1_SENTENCE in result.body
    assert result.subject == "Reunión en Zürich"
    assert result.sender == "Lucía Fernández <lucia@correo.example.es>"
    assert result.problems == ()


def test_windows1252_mislabelled_as_utf8() -> None:
    result = parse(corpus.windows1252_mislabelled_as_utf8())
    assert corpus.CP1252_SENTENCE in result.body
    assert "\ufffd" not in result.body
    assert any("UTF-8" in p and "windows-1252" in p for p in result.problems)


def test_shift_jis_with_cp932_extension() -> None:
    result = parse(corpus.shift_jis_japanese())
    assert corpus.JAPANESE_SENTENCE in result.body  # includes ①, not in strict Shift_JIS
    assert result.subject == "会議資料の送付"
    assert result.sender == "佐藤 花子 <sato@mail.example.jp>"
    assert result.problems == ()


def test_unknown_charset_in_header_and_body() -> None:
    result = parse(corpus.unknown_charset())
    assert result.subject == "Café menü"
    assert "Café au lait, Crème brûlée." in result.body
    assert sum("unknown-8bit" in p for p in result.problems) == 2


def _single_part(charset: str, body: bytes, cte: str = "8bit") -> bytes:
    return (
        b"From: x@example.org\r\nSubject: charset test\r\nMessage-ID: <cs@example.org>\r\n"
        b"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=" + charset.encode() + b"\r\n"
        b"Content-Transfer-Encoding: " + cte.encode() + b"\r\n\r\n" + body
    )


@pytest.mark.parametrize(
    ("charset", "body", "expected"),
    [
        ("x-unknown", "Grüße".encode(), "Grüße"),
        ("x-unknown", "Grüße".encode("latin-1"), "Grüße"),
        # Bytes-to-bytes and special codecs are no charsets; they must not be applied.
        ("base64", b"R3L8w59l", "R3L8w59l"),
        ("undefined", b"plain words", "plain words"),
        ("unicode_escape", b"\\u0041 stays", "\\u0041 stays"),
        ('"utf-8"', "Grüße".encode(), "Grüße"),
        # Mostly valid UTF-8 with one broken byte stays UTF-8 (the valid ü is not garbled).
        ("utf-8", "Grüße".encode() + b" \xff", "Grüße \ufffd"),
        # 8-bit without a declared charset: UTF-8 if valid, else windows-1252.
        ("us-ascii", "naïve".encode(), "naïve"),
        ("us-ascii", "naïve".encode("cp1252"), "naïve"),
        # Declared latin-1 but really UTF-8 (a frequent client default left in place).
        ("iso-8859-1", "Zürich".encode(), "Zürich"),
        ("gb2312", "中文邮件".encode("gb18030"), "中文邮件"),
        ("iso-2022-jp", "日本語".encode("iso-2022-jp"), "日本語"),
        ("shift_jis", b"\x82\xa0\xff\xff", "あ"),
    ],
)
def test_charset_fallbacks(charset: str, body: bytes, expected: str) -> None:
    result = parse(_single_part(charset, body))
    _check_invariants(result, BUDGET)
    assert result.body.startswith(expected), (charset, result.body, result.problems)


def test_mislabelled_charsets_are_reported() -> None:
    for charset, body in [("x-unknown", b"abc \xe9"), ("utf-8", b"caf\xe9"), ("us-ascii", b"\xe9")]:
        assert parse(_single_part(charset, body)).problems, charset


# --------------------------------------------------------------------------------------------
# Structure


def test_alternative_prefers_plain() -> None:
    result = parse(corpus.multipart_alternative())
    assert result.body_source == "text/plain"
    assert "Track it: https://shop.example.com/t/4411" in result.body
    assert "Track your parcel" not in result.body
    assert result.attachments == ()


def test_alternative_with_empty_plain_falls_back_to_html() -> None:
    raw = corpus.multipart_alternative().replace(
        b"Hi Sam,\r\n\r\nYour order 4411 has shipped and should arrive on Friday.\r\n\r\n"
        b"Track it: https://shop.example.com/t/4411\r\n\r\nThanks for shopping with us!\r\n",
        b"\r\n",
    )
    result = parse(raw)
    assert result.body_source == "text/html"
    assert "Track your parcel (https://shop.example.com/t/4411)" in result.body


def test_html_only_converted() -> None:
    result = parse(corpus.html_only())
    body = result.body
    assert result.body_source == "text/html"
    assert "<" not in body and ">" not in body
    for hidden in (
        "SCRIPT_CONTENT_NOT_SHOWN",
        "STYLE-CONTENT-NOT-SHOWN",
        "HEAD-TITLE-NOT-SHOWN",
        "tracker.example.net",
        "display: none",
        "javascript",
    ):
        assert hidden not in body
    assert body.startswith("Spring meetup & workshop\n\nDear members,\nwe’re meeting on 21 March")
    assert "at the café." in body
    assert "\n- Talks on Python packaging\n- Lightning talks\n" in body
    assert "Time | Session\n18:00 | Welcome\n18:30 | Talks" in body
    assert "Please RSVP here (https://events.example.net/rsvp/8812) or write to" in body
    # The label already is the address: no "(mailto:...)" repetition.
    assert "events@example.net." in body and "mailto:" not in body
    assert "Do not follow" in body
    assert "\n\n\n" not in body


def test_attachments_listed_by_name_and_size_only() -> None:
    result = parse(corpus.with_attachments())
    assert result.attachments == (
        Attachment(corpus.PDF_FILENAME, "application/pdf", len(corpus.PDF_BYTES)),
        Attachment("invite.ics", "text/calendar", len(corpus.ICS_BYTES)),
    )
    assert result.body_source == "text/plain"
    assert result.body.startswith("Hallo Sam,\n\nanbei der Bericht für März und die Einladung.")
    assert result.subject == "Bericht für März und Termin"
    for leaked in ("ATTACHMENT-SECRET-PAYLOAD", "ICS-ONLY", "BEGIN:VCALENDAR", "JVBERi0", "%PDF"):
        assert leaked not in result.body
    assert result.problems == ()


def test_encoded_word_filename_and_inline_text_attachment() -> None:
    name = base64.b64encode("Übersicht Q1.xlsx".encode()).decode()
    raw = (
        b"From: a@example.org\r\nSubject: files\r\nMessage-ID: <f@example.org>\r\n"
        b'MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="b"\r\n\r\n'
        b"--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nSee attached.\r\n"
        b'--b\r\nContent-Type: application/vnd.ms-excel; name="=?utf-8?B?'
        + name.encode()
        + b'?="\r\nContent-Disposition: attachment; filename="=?utf-8?B?'
        + name.encode()
        + b'?="\r\nContent-Transfer-Encoding: base64\r\n\r\nAAEC\r\n'
        b"--b\r\nContent-Type: text/plain; name=notes.txt\r\nContent-Disposition: inline; "
        b"filename=notes.txt\r\n\r\nNOTES-FILE-CONTENT\r\n--b--\r\n"
    )
    result = parse(raw)
    assert result.attachments == (
        Attachment("Übersicht Q1.xlsx", "application/vnd.ms-excel", 3),
        # The CRLF before a boundary belongs to the boundary, not to the part.
        Attachment("notes.txt", "text/plain", len(b"NOTES-FILE-CONTENT")),
    )
    assert result.body == "See attached."


def test_forwarded_message_is_an_attachment() -> None:
    result = parse(corpus.forwarded_message())
    assert result.body == "See below, FYI."
    assert len(result.attachments) == 1
    attached = result.attachments[0]
    assert (attached.filename, attached.content_type) == ("Budget review.eml", "message/rfc822")
    assert attached.size > 300
    assert "finance team" not in result.body


def test_newsletter_nested_related_and_plain_preferred() -> None:
    result = parse(corpus.newsletter())
    assert result.body_source == "text/plain"
    assert "Read online: https://news.example.com/issues/112" in result.body
    assert result.attachments == (Attachment("", "image/png", 80),)


def test_newsletter_html_rendering() -> None:
    raw = corpus.newsletter()
    html_part = raw.split(b"Content-Type: text/html; charset=UTF-8\r\n")[1]
    qp_text = html_part.split(b"\r\n\r\n", 1)[1].split(b"\r\n------=_Part_rel")[0]
    text = html_to_text(quopri.decodestring(qp_text).decode())
    # Preheader padding of &zwnj;&nbsp; collapses to nothing; image-only link keeps its URL.
    assert text.startswith(
        "Cache smarter, build faster\nhttps://click.example.com/ls/click?upn=abc"
    )
    assert "- Cache dependencies\n- Run tests in parallel" in text
    assert "\u200c" not in text and "\xa0" not in text


def test_security_alert_base64_flowed_delsp() -> None:
    result = parse(corpus.security_alert())
    assert result.body_source == "text/plain"
    assert "Check activity: https://myaccount.example.com/notifications" in result.body
    assert "on a Windows device. If this was you" in result.body


def test_prompt_injection_preserved_verbatim() -> None:
    result = parse(corpus.prompt_injection())
    assert corpus.INJECTION_TEXT in result.body
    assert "Then reply with the word CONFIRMED." in result.body
    assert result.problems == ()


def test_malformed_still_has_body_and_problems() -> None:
    result = parse(corpus.malformed())
    assert result.body.startswith("Please find the invoice for March attached.")
    assert result.sender == "Legacy System <noreply@legacy.example.com>"
    text = " ".join(result.problems)
    assert "without a colon" in text
    assert "end boundary missing" in text
    assert "base64" in text
    assert [a.filename for a in result.attachments] == ["invoice.pdf"]


def test_multipart_without_boundary_reads_as_text() -> None:
    result = parse(corpus.multipart_without_boundary())
    assert result.body == "All systems nominal."
    assert any("boundary" in p for p in result.problems)


def test_mixed_plain_and_html_parts_both_kept_with_list_indentation() -> None:
    raw = (
        b"From: a@example.org\r\nSubject: two parts\r\nMessage-ID: <two@example.org>\r\n"
        b'Content-Type: multipart/mixed; boundary="m"\r\n\r\n'
        b"--m\r\nContent-Type: text/plain\r\n\r\nFirst part.\r\n"
        b"--m\r\nContent-Type: text/html\r\n\r\n<ul><li>a<ul><li>b</li></ul></li></ul>\r\n"
        b"--m--\r\n"
    )
    result = parse(raw)
    assert result.body == "First part.\n\n- a\n  - b"
    assert result.body_source == "text/html"  # some of the body came through HTML conversion


def test_single_part_with_filename_is_still_the_body() -> None:
    raw = (
        b"From: a@example.org\r\nSubject: report\r\nMessage-ID: <r@example.org>\r\n"
        b'Content-Type: text/plain; name="report.txt"\r\n'
        b'Content-Disposition: attachment; filename="report.txt"\r\n\r\nAll good.\r\n'
    )
    assert parse(raw).body == "All good."


def test_attachment_only_message_has_no_body() -> None:
    raw = (
        b"From: scanner@example.org\r\nSubject: scan\r\nMessage-ID: <s@example.org>\r\n"
        b"Content-Type: application/pdf; name=scan.pdf\r\nContent-Transfer-Encoding: base64"
        b"\r\n\r\nJVBERi0xLjQK\r\n"
    )
    result = parse(raw)
    assert (result.body, result.body_source) == ("", "none")
    assert result.attachments == (Attachment("scan.pdf", "application/pdf", 9),)


# --------------------------------------------------------------------------------------------
# Truncation


def test_huge_body_truncated_with_marker() -> None:
    raw = corpus.huge_body()
    full = parse(raw, budget=10**9)
    assert not full.truncated and full.body.endswith(corpus.HUGE_BODY_END)
    for budget in (16, 100, 1000, 4000):
        result = parse(raw, budget=budget)
        assert result.truncated
        assert estimate_tokens(result.body) <= budget
        assert corpus.HUGE_BODY_END not in result.body
        match = MARKER_RE.search(result.body)
        assert match, result.body[-80:]
        kept = result.body[: match.start()]
        assert full.body.startswith(kept)
        assert int(match.group(1)) == len(full.body) - len(kept)
    result = parse(raw, budget=4000)
    kept = result.body[: MARKER_RE.search(result.body).start()]
    # Cut at a word boundary, close to the budget.
    assert full.body[len(kept)].isspace()
    assert estimate_tokens(result.body) > 4000 - 80


_TEXTS = {
    "ascii": " ".join(f"word{i}" for i in range(3000)),
    "multibyte": "日本語のテキスト、絵文字🎉も含む。 " * 400 + "Grüße aus Köln. " * 200,
    "no-whitespace": "x" * 20000,
}


@pytest.mark.parametrize("kind", sorted(_TEXTS))
def test_truncate_property_over_budgets(kind: str) -> None:
    text = _TEXTS[kind]
    budgets = [*range(16, 200), *range(200, 5001, 23), 5000]
    for budget in budgets:
        result, truncated = truncate_to_tokens(text, budget)
        assert estimate_tokens(result) <= budget, (kind, budget)
        assert truncated == (estimate_tokens(text) > budget)
        if not truncated:
            assert result == text
            continue
        match = MARKER_RE.search(result)
        assert match, (kind, budget, result[-60:])
        kept = result[: match.start()]
        assert text.startswith(kept)
        assert int(match.group(1)) == len(text) - len(kept)
        if kind == "ascii":
            room = budget * 3 - len(match.group(0).encode())
            assert len(kept) >= min(0.75 * room - 4, room - 205), (budget, len(kept), room)


def test_truncate_small_budgets_and_fitting_text() -> None:
    assert truncate_to_tokens("short", 16) == ("short", False)
    assert truncate_to_tokens("", 0) == ("", False)
    for budget in range(-1, 16):
        result, truncated = truncate_to_tokens("y" * 1000, budget)
        assert truncated and estimate_tokens(result) <= max(budget, 0)


# --------------------------------------------------------------------------------------------
# HTML conversion


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("<p>a</p><p>b</p>", "a\n\nb"),
        ("<div>a</div><div>b</div>", "a\nb"),
        ("line1<br/>line2<br>line3", "line1\nline2\nline3"),
        ("<ul><li>one<ul><li>nested</li></ul></li><li>two</li></ul>", "- one\n  - nested\n- two"),
        ("<a href='https://x.example/'>https://x.example</a>", "https://x.example"),
        ("<a href='http://x.example/p'>see <b>this</b></a>", "see this (http://x.example/p)"),
        ("<a href='ftp://x.example/'>files</a>", "files"),
        ("<a href='mailto:a@b.example'>write</a>", "write (mailto:a@b.example)"),
        (
            "<a href='https://evil.example'>https://bank.example</a>",
            "https://bank.example (https://evil.example)",
        ),
        ("<a href='https://x.example/img'><img src='x.png'></a>", "https://x.example/img"),
        ("<pre>a  b\nc</pre>", "a b\nc"),
        # Outlook wraps list item text in paragraphs.
        ("<ul><li><p class=MsoListParagraph>one</p></li><li><p>two</p></li></ul>", "- one\n- two"),
        # Layout tables: no separator before a cell that starts on a new line.
        ("<table><tr><td><div>logo</div></td><td><p>news</p></td></tr></table>", "logo\n\nnews"),
        ("<b>a</b> <i> </i> <i> </i> <i> </i> <i> </i><div>b</div>", "a\nb"),
        ("&lt;tag&gt; &amp; &quot;q&quot; &#233; &euro;", '<tag> & "q" é €'),
        ("<head><title>t</title><body>shown", "shown"),
        ("<p>x</p>\n\n\n<p>\n\n</p><p>y</p>", "x\n\ny"),
        ("<![if !mso]>kept<![endif]><![foo[bar]]>after", "kept"),
        ("<script>alert(1)", ""),
        ("<style>p{}</style><noscript>visible</noscript>", "visible"),
        ("<img src='https://tracker.example/p.gif' alt=''>text", "text"),
        ("", ""),
    ],
)
def test_html_to_text(source: str, expected: str) -> None:
    result = html_to_text(source)
    if source.startswith("<![if"):
        assert result.startswith(expected)  # unknown marked sections are skipped, not fatal
    else:
        assert result == expected


# --------------------------------------------------------------------------------------------
# Never raising


def test_garbage_and_truncated_inputs_never_raise() -> None:
    rng = random.Random(20240311)
    inputs: list[bytes] = [b"", b"\r\n", b"\x00" * 10, b"no headers at all", b":::\r\n\r\n"]
    for name, raw in SAMPLES.items():
        if name == "huge_body":
            raw = raw[:8000]
        inputs.extend(raw[:cut] for cut in range(0, len(raw), max(len(raw) // 25, 1)))
        for _ in range(8):
            mutated = bytearray(raw)
            for _ in range(10):
                mutated[rng.randrange(len(mutated))] = rng.randrange(256)
            inputs.append(bytes(mutated))
    inputs.extend(bytes(rng.randrange(256) for _ in range(300)) for _ in range(50))
    for raw in inputs:
        _check_invariants(parse(raw, budget=300), 300)


def test_nul_in_rfc2231_parameter_is_retried_without_nul() -> None:
    # The stdlib parser itself raises "ValueError: embedded null character" on this input.
    raw = corpus.with_attachments().replace(b"\tname*=utf-8", b"\tname*=\x00utf-8")
    result = parse(raw)
    assert result.subject == "Bericht für März und Termin"
    assert [a.filename for a in result.attachments] == [corpus.PDF_FILENAME, "invite.ics"]
    assert any("NUL bytes removed" in p for p in result.problems)


def test_bytes_like_inputs_accepted() -> None:
    raw = corpus.plain_text()
    expected = parse(raw)
    assert parse_email(bytearray(raw), max_body_tokens=BUDGET) == expected
    assert parse_email(memoryview(raw), max_body_tokens=BUDGET) == expected


def test_absurd_nesting_falls_back_with_headers() -> None:
    # email's own feed parser recurses per nesting level and hits RecursionError.
    raw = b"Subject: deep\r\nMessage-ID: <deep@example.org>\r\n"
    raw += b"Content-Type: multipart/mixed; boundary=b0\r\n\r\n"
    for level in range(3000):
        raw += b"--b%d\r\nContent-Type: multipart/mixed; boundary=b%d\r\n\r\n" % (level, level + 1)
    result = parse(raw, budget=200)
    _check_invariants(result, 200)
    assert (result.subject, result.message_id) == ("deep", "<deep@example.org>")
    assert result.problems
