"""`triage-tui search` as a subprocess on a database filled through the real stores: a phrase
said in one of many transcripts and written in one of many mails is found, with its time and
its mail id; `--json`, `--in`, `--limit`, `--rebuild`, and what users type by mistake."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import run_cli
from tests.functional.search.stored_data import PHRASE, digest, fill_mail, fill_transcripts
from tui.mail.store import MailStore
from tui.transcripts.store import TranscriptStore


@pytest.fixture
def filled(tmp_path: Path, user_env: dict[str, str]) -> tuple[Path, int]:
    """A config naming a state database with 12 transcripts × 30 segments and 15 mails."""
    database = tmp_path / "state" / "state.db"
    transcripts, mail = TranscriptStore(database), MailStore(database)
    try:
        fill_transcripts(transcripts, files=12, segments=30, phrase_in=(7, 21))
        transcripts.rename_speaker(digest(7), "SPEAKER_01", "Ana")
        key = fill_mail(mail, mails=15, phrase_in=9)
    finally:
        transcripts.close()
        mail.close()
    config = tmp_path / "config.toml"
    config.write_text(f'[paths]\ndatabase = "{database}"\n', encoding="utf-8")
    return config, key


def search(config: Path, env: dict[str, str], *args: str):  # -> CompletedProcess
    return run_cli(["--config", str(config), "search", *args], env)


def test_a_phrase_in_one_transcript_and_one_mail_is_found_with_time_and_id(
        filled: tuple[Path, int], user_env: dict[str, str]) -> None:
    config, key = filled
    result = search(config, user_env, f'"{PHRASE}"')
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 2, result.stdout
    transcript_line = next(line for line in lines if line.startswith("meeting-"))
    # Segment 21 starts at 210 s; SPEAKER_01 was renamed Ana.
    assert transcript_line.startswith("meeting-07.m4a  00:03:30  Ana: ")
    assert PHRASE in transcript_line
    mail_line = next(line for line in lines if line.startswith(f"m{key} "))
    assert mail_line.startswith(f"m{key}  Person 9 <p9@example.org>  Update 9  ")
    assert PHRASE in mail_line


def test_json_output(filled: tuple[Path, int], user_env: dict[str, str]) -> None:
    config, key = filled
    result = search(config, user_env, "warehouse", "lease", "--json")
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["query"] == "warehouse lease"
    by_kind = {hit["kind"]: hit for hit in document["hits"]}
    assert set(by_kind) == {"transcript", "mail"}
    segment = by_kind["transcript"]
    assert segment["file"] == "/drop/meeting-07.m4a"
    assert (segment["content_hash"], segment["segment"], segment["start"], segment["time"],
            segment["speaker"]) == (digest(7), 21, 210.0, "00:03:30", "Ana")
    text = segment["snippet"]["text"]
    assert [text[a:b] for a, b in segment["snippet"]["matches"]] == ["warehouse", "lease"]
    message = by_kind["mail"]
    assert (message["mail_id"], message["key"], message["sender"], message["subject"],
            message["message_id"]) == (f"m{key}", key, "Person 9 <p9@example.org>",
                                       "Update 9", "<m9@example.org>")


def test_scope_limit_and_rebuild(filled: tuple[Path, int], user_env: dict[str, str]) -> None:
    config, key = filled
    only_mail = json.loads(search(config, user_env, "warehouse", "--in", "mail",
                                  "--json").stdout)
    assert [hit["mail_id"] for hit in only_mail["hits"]] == [f"m{key}"]
    limited = json.loads(search(config, user_env, "item", "--limit", "5", "--json").stdout)
    assert len(limited["hits"]) == 5
    before = json.loads(search(config, user_env, "warehouse", "--json").stdout)
    rebuilt = search(config, user_env, "--rebuild")
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert "search index rebuilt: 15 mail rows, 360 segment rows" in rebuilt.stdout
    assert json.loads(search(config, user_env, "warehouse", "--json").stdout) == before


@pytest.mark.parametrize("typed", ['"', "AND -", 'NEAR("a" col: *'])
def test_odd_input_is_no_error(filled: tuple[Path, int], user_env: dict[str, str],
                               typed: str) -> None:
    config, _ = filled
    result = search(config, user_env, typed)
    assert result.returncode in (0, 1), result.stderr
    assert "syntax error" not in result.stderr and "Traceback" not in result.stderr


def test_nothing_found_and_no_database(tmp_path: Path, filled: tuple[Path, int],
                                       user_env: dict[str, str]) -> None:
    config, _ = filled
    result = search(config, user_env, "zanzibar")
    assert (result.returncode, result.stdout.strip()) == (1, "no hits")
    missing = tmp_path / "none.toml"
    missing.write_text(f'[paths]\ndatabase = "{tmp_path / "nowhere.db"}"\n', encoding="utf-8")
    result = search(missing, user_env, "anything")
    assert result.returncode == 1 and "no state database" in result.stderr
    assert not (tmp_path / "nowhere.db").exists()
    assert search(config, user_env).returncode == 2
