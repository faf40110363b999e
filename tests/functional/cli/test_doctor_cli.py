"""`triage-tui doctor` against nothing, and against real Dovecot + the Ollama-protocol server."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import IMAP_PASSWORD, IMAP_USER, run_cli
from tests.services.dovecot import DovecotServer
from tests.services.ollama_server import FakeOllamaServer


def checks_by_name(stdout: str) -> dict[str, dict]:
    return {check["name"]: check for check in json.loads(stdout)["checks"]}


def test_doctor_with_nothing_available(tmp_path: Path, user_env: dict[str, str]) -> None:
    config = tmp_path / "c.toml"
    config.write_text('[ollama]\nhost = "http://127.0.0.1:9"\n', encoding="utf-8")
    result = run_cli(["--config", str(config), "doctor"], user_env)
    assert result.returncode == 1
    lines = result.stdout
    assert "[FAIL] GPU" in lines and "fix:" in lines
    assert "[FAIL] Ollama          not reachable" in lines
    assert "fix: start it with `ollama serve`" in lines
    assert "[FAIL] IMAP            no IMAP account configured" in lines
    assert "[ok  ] Drop folder" in lines
    assert "[FAIL] WhisperX model  'large-v3' is not on disk" in lines
    assert "fix: triage-tui models pull large-v3 (it downloads Systran/faster-whisper-large-v3" \
        in lines


def services_config(path: Path, *, dovecot: DovecotServer, ollama: FakeOllamaServer,
                    drop: Path, model_dir: Path, extra_imap: str = "") -> Path:
    path.write_text(
        f"""
[paths]
drop_folder = "{drop}"
[imap]
host = "127.0.0.1"
port = {dovecot.tls_port}
security = "tls"
ca_file = "{dovecot.cafile}"
username = "{IMAP_USER}"
{extra_imap}
[ollama]
host = "{ollama.host}"
[whisperx]
model = "tiny.en"
model_dir = "{model_dir}"
""",
        encoding="utf-8",
    )
    return path


def test_doctor_with_every_service_up(tmp_path: Path, user_env: dict[str, str],
                                      dovecot: DovecotServer, ollama_server: FakeOllamaServer,
                                      tiny_whisper_model_dir: Path) -> None:
    ollama_server.add_devstral_small("triage", parameters="num_ctx 8192\ntemperature 0.1")
    drop = tmp_path / "drop"
    drop.mkdir()
    config = services_config(tmp_path / "c.toml", dovecot=dovecot, ollama=ollama_server,
                             drop=drop, model_dir=tiny_whisper_model_dir)
    dovecot.append(IMAP_USER, "INBOX", b"Subject: hello\r\n\r\nbody\r\n")
    env = {**user_env, "TRIAGE_TUI_IMAP_PASSWORD": IMAP_PASSWORD}
    result = run_cli(["--config", str(config), "doctor", "--json"], env)
    checks = checks_by_name(result.stdout)
    assert checks["Ollama"]["ok"], checks["Ollama"]
    assert checks["Ollama"]["detail"].startswith("version 0.12.11")
    assert checks["LLM model"]["ok"] and "num_ctx 8192" in checks["LLM model"]["detail"]
    assert checks["IMAP"]["ok"], checks["IMAP"]
    assert "INBOX has 1 messages, IDLE" in checks["IMAP"]["detail"]
    assert checks["Drop folder"]["ok"]
    assert checks["WhisperX model"]["ok"]
    assert checks["ffmpeg"]["ok"]
    # This machine has no GPU: the only failure, so the exit code is 1.
    assert not checks["GPU"]["ok"]
    assert result.returncode == 1
    assert IMAP_PASSWORD not in result.stdout + result.stderr


def test_doctor_reports_wrong_password_and_num_ctx(tmp_path: Path, user_env: dict[str, str],
                                                   dovecot: DovecotServer,
                                                   ollama_server: FakeOllamaServer,
                                                   tiny_whisper_model_dir: Path) -> None:
    ollama_server.add_devstral_small("triage", parameters="num_ctx 2048")
    config = services_config(tmp_path / "c.toml", dovecot=dovecot, ollama=ollama_server,
                             drop=tmp_path, model_dir=tiny_whisper_model_dir)
    env = {**user_env, "TRIAGE_TUI_IMAP_PASSWORD": "wrong-password"}
    checks = checks_by_name(run_cli(["--config", str(config), "doctor", "--json"], env).stdout)
    assert not checks["IMAP"]["ok"] and "refused" in checks["IMAP"]["detail"]
    assert "wrong-password" not in json.dumps(checks)
    model = checks["LLM model"]
    assert not model["ok"] and "num_ctx 2048" in model["detail"]
    assert "triage-tui modelfile" in model["fix"]


def test_doctor_missing_model_gives_the_create_command(tmp_path: Path, user_env: dict[str, str],
                                                       ollama_server: FakeOllamaServer) -> None:
    config = tmp_path / "c.toml"
    config.write_text(f'[ollama]\nhost = "{ollama_server.host}"\n', encoding="utf-8")
    checks = checks_by_name(run_cli(["--config", str(config), "doctor", "--json"],
                                    user_env).stdout)
    assert checks["Ollama"]["ok"]
    assert not checks["LLM model"]["ok"]
    assert "ollama create triage -f modelfiles/Modelfile.triage" in checks["LLM model"]["fix"]


def test_doctor_password_from_command(tmp_path: Path, user_env: dict[str, str],
                                      dovecot: DovecotServer, ollama_server: FakeOllamaServer,
                                      tiny_whisper_model_dir: Path) -> None:
    secret = tmp_path / "secret"
    secret.write_text(IMAP_PASSWORD + "\n", encoding="utf-8")
    config = services_config(
        tmp_path / "c.toml", dovecot=dovecot, ollama=ollama_server, drop=tmp_path,
        model_dir=tiny_whisper_model_dir,
        extra_imap=f'password_env = ""\npassword_command = "cat {secret}"',
    )
    checks = checks_by_name(run_cli(["--config", str(config), "doctor", "--json"],
                                    user_env).stdout)
    assert checks["IMAP"]["ok"], checks["IMAP"]


def test_unwritable_drop_folder(tmp_path: Path, user_env: dict[str, str]) -> None:
    not_a_dir = tmp_path / "file"
    not_a_dir.write_text("x")
    config = tmp_path / "c.toml"
    config.write_text(f'[paths]\ndrop_folder = "{not_a_dir}"\n', encoding="utf-8")
    checks = checks_by_name(run_cli(["--config", str(config), "doctor", "--json"],
                                    user_env).stdout)
    assert not checks["Drop folder"]["ok"]
    assert "is a file, not a folder" in checks["Drop folder"]["detail"]
