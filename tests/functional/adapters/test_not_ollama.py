"""Something else answering at the Ollama host: a status line, never a crash.

Proxies that claim Ollama's API over llama.cpp (ollambda, ollama-openai-proxy; see README,
"Tests") answer `/api/show` without the `model_info` that Ollama always sends; the official
client's models refuse such a reply with a pydantic error, which once escaped the backend's
check and the planner's model lookup.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tui.adapters.ollama_models import OllamaUnavailable, model_shape_from_ollama
from tui.llm.ollama_backend import TriageModel


class _ShowWithoutModelInfo(BaseHTTPRequestHandler):
    def _reply(self, body: object) -> None:
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        # ollambda 0.3.4's /api/show, as it answered over llama-server: tag fields only.
        self._reply({"digest": "sha256:" + "0" * 64, "model": "triage", "name": "triage",
                     "modified_at": "2026-12-02T11:03:51+00:00", "size": 96576768})

    def do_GET(self) -> None:
        self._reply({"models": [{"name": "triage:latest", "model": "triage:latest",
                                 "size": 1, "digest": "0" * 64, "details": {}}]})

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def not_ollama() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _ShowWithoutModelInfo)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_the_planner_reports_a_reply_that_is_not_ollamas(not_ollama: str) -> None:
    with pytest.raises(OllamaUnavailable, match="not Ollama's"):
        model_shape_from_ollama(not_ollama, "triage")


def test_the_backend_check_is_a_status_not_a_crash(not_ollama: str) -> None:
    status = TriageModel(not_ollama, "triage", num_ctx=8192, keep_alive="30m",
                         temperature=0.1, timeout=5).check()
    assert not status.ready
    assert "not Ollama's" in status.detail
