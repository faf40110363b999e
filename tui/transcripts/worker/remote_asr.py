"""Speech to text on a remote OpenAI-compatible server (`/v1/audio/transcriptions`: vLLM
serving Whisper, Triton), and what its errors mean.

Runs in the worker process (the session calls `transcribe`); imports the `openai` client
only inside its functions. The classification (`remote_unavailable`, `remote_refusal`)
decides between "the server is not answering now" (`RemoteServerUnavailable`: the pipeline
pauses the queue and retries) and "the server answered no about this request"
(`RemoteRefused`: the file fails with the reason and the fix).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any

from tui.transcripts.options import TranscribeOptions

# Statuses that say "not now" rather than anything about the file: request timeout, rate
# limit, and a proxy in front of a server that is down, restarting or overloaded.
_RETRY_STATUSES = {408: "timed out", 429: "busy", 502: "unavailable", 503: "unavailable",
                   504: "unavailable"}
# A connection that hangs is noticed in seconds; a long recording may take minutes to answer.
REMOTE_CONNECT_TIMEOUT = 10.0
REMOTE_READ_TIMEOUT = 600.0


class RemoteRefused(Exception):
    """The server's answer about this request (400 bad file, 401 key, 404 model, …)."""


class RemoteServerUnavailable(Exception):
    def __init__(self, problem: str, reason: str, retry_after: float | None = None,
                 suspect_file: bool = False) -> None:
        super().__init__(reason)
        self.problem = problem
        self.reason = reason
        self.retry_after = retry_after
        self.suspect_file = suspect_file


def _unwrap_message(body: Any) -> str | None:
    """The human sentence in an error body, however the server wraps it: vLLM's
    `{"error": {"message"}}` (which the openai client has already opened), TensorRT-LLM's flat
    `{"message"}`, FastAPI's `{"detail": "..."}` and `{"detail": [{"msg"}]}` (validation),
    and FastAPI servers raising HTTPException(detail={"error": {...}}) — faster-whisper-server
    does — which arrives as `{"detail": {"error": {"message"}}}`."""
    for _ in range(4):  # envelopes nest a few levels at most
        if isinstance(body, str):
            return body.strip() or None
        if isinstance(body, list):
            texts = [text for item in body if (text := _unwrap_message(item))]
            return "; ".join(texts) or None
        if not isinstance(body, dict):
            return None
        for key in ("message", "msg"):
            if isinstance(body.get(key), str) and body[key].strip():
                return body[key].strip()
        inner = next((body[key] for key in ("error", "detail") if body.get(key)), None)
        if inner is None:
            return None
        body = inner
    return None


def _server_message(error: Any) -> str:
    body = getattr(error, "body", None)
    message = _unwrap_message(body)
    return str(message or getattr(error, "message", None) or error)[:300]


def remote_unavailable(error: BaseException) -> RemoteServerUnavailable | None:
    """The remote ASR server is down, unreachable, busy or overloaded — not an answer about
    this file — or None: connection errors, timeouts, 408/429/502/503/504, and a 500 (which
    may be either). 400 (bad file), 401 (key), 404 (model) and the rest are answers."""
    import openai

    from tui.transcripts.backoff import retry_after_seconds

    if isinstance(error, openai.APITimeoutError):
        if type(error.__cause__).__name__ == "ReadTimeout":  # uploaded; the answer is late
            return RemoteServerUnavailable(
                "timed out", f"no answer {REMOTE_READ_TIMEOUT:.0f} s after the upload",
                suspect_file=True)
        return RemoteServerUnavailable("timed out", "no connection within "
                                       f"{REMOTE_CONNECT_TIMEOUT:.0f} s")
    if isinstance(error, openai.APIConnectionError):
        cause = error.__cause__ or error.__context__
        detail = str(cause).strip() if cause is not None else ""
        return RemoteServerUnavailable("unreachable", detail or str(error))
    if not isinstance(error, openai.APIStatusError):
        return None
    status = error.status_code
    reason = f"HTTP {status}: {_server_message(error)}"
    retry_after = retry_after_seconds(dict(error.response.headers.items()), time.time())
    if status in _RETRY_STATUSES:
        return RemoteServerUnavailable(f"{_RETRY_STATUSES[status]}, HTTP {status}", reason,
                                       retry_after)
    if status == 500:
        return RemoteServerUnavailable("failing, HTTP 500", reason, retry_after,
                                       suspect_file=True)
    return None


def remote_refusal(error: Any, options: TranscribeOptions) -> str:
    """What the server said about this request (an APIStatusError), and the fix if any."""
    status = error.status_code
    reason = f"the ASR server refused the request: HTTP {status}: {_server_message(error)}"
    if status in (401, 403):
        return f"{reason} (fix: put the server's API key in ${options.remote_api_key_env})"
    if status == 404:
        return (f"{reason} (fix: serve {options.remote_model!r} there, e.g. `vllm serve "
                f"{options.remote_model}`, or set [whisperx] remote_model to one listed at "
                f"{options.remote_url.rstrip('/')}/models)")
    return reason


def transcribe(options: TranscribeOptions, path: str,
               on_segment: Callable[[int, dict[str, Any]], None]) -> dict[str, Any]:
    """One file through the server, with word timestamps where it returns them: a
    whisperx-shaped result ({"segments", "language"}), each segment passed to `on_segment`
    as it is read. Raises `RemoteServerUnavailable` or `RemoteRefused` (see above)."""
    import openai
    from whisperx.utils import TO_LANGUAGE_CODE

    # No retries in the client: an unreachable server pauses the whole queue instead
    # (RemoteServerUnavailable → the pipeline's backoff), so one file never spins.
    client = openai.OpenAI(base_url=options.remote_url, max_retries=0,
                           timeout=openai.Timeout(REMOTE_READ_TIMEOUT,
                                                  connect=REMOTE_CONNECT_TIMEOUT),
                           api_key=os.environ.get(options.remote_api_key_env) or "no-key")
    extra: dict[str, Any] = {}
    if options.effective_language:
        extra["language"] = options.effective_language
    if options.initial_prompt:
        extra["prompt"] = options.initial_prompt
    try:
        with open(path, "rb") as audio_file:
            reply = client.audio.transcriptions.create(
                model=options.remote_model, file=audio_file, response_format="verbose_json",
                timestamp_granularities=["segment", "word"], **extra)
    except openai.OpenAIError as error:
        unavailable = remote_unavailable(error)
        if unavailable is not None:
            raise unavailable from error
        if isinstance(error, openai.APIStatusError):
            raise RemoteRefused(remote_refusal(error, options)) from error
        raise
    finally:
        client.close()
    words = [{"word": w.word, "start": w.start, "end": w.end}
             for w in (getattr(reply, "words", None) or [])]
    segments = []
    for index, remote in enumerate(getattr(reply, "segments", None) or []):
        segment: dict[str, Any] = {"start": float(remote.start), "end": float(remote.end),
                                   "text": str(remote.text).strip()}
        # Only a segment with word timings gets a "words" list: whisperx's writers take the
        # word-level path whenever the key is there, and an empty list writes nothing (many
        # servers — faster-whisper-server, older vLLM — return segments without words).
        timed = [w for w in words if remote.start <= w["start"] < remote.end]
        if timed:
            segment["words"] = timed
        segments.append(segment)
        on_segment(index, segment)
    language = str(getattr(reply, "language", "") or "")
    code = TO_LANGUAGE_CODE.get(language.lower(), language or options.effective_language)
    return {"segments": segments, "language": code or "en"}
