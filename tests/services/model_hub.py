"""A Hugging Face model hub on loopback, serving real files: what `snapshot_download` and
`hf_hub_download` (huggingface_hub 0.36) ask of huggingface.co, and nothing more.

* `GET /api/models/{org}/{name}[/revision/{rev}]` — the model's info: `sha` (the commit the
  client then downloads at) and `siblings` (file names, sizes with `?blobs=true`).
* `HEAD /{org}/{name}/resolve/{rev}/{file}` — the file's metadata in the headers the client
  checks: `X-Repo-Commit`, `ETag` (its blob name in the cache), `Content-Length`.
* `GET` of the same path — the bytes, with `Range: bytes=N-` (a resumed download) answered
  206 and `Content-Range`; streamed in pieces, optionally slowly (`chunk_delay`), so a
  client sees the download progress.

`fail(repo, status)` makes every request for a repo answer like the hub does for a missing
(404 `X-Error-Code: RepoNotFound`), unauthenticated (401) or gated (403 `GatedRepo`) model.
Point a client at it with `HF_ENDPOINT=hub.host` in its environment (read at import).
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from urllib.parse import unquote, urlsplit

from tests.services.loopback_http import LoopbackHandler, LoopbackService

_CHUNK = 1 << 20
_INFO = re.compile(r"^/api/models/(?P<repo>[^/]+/[^/]+)(?:/revision/(?P<rev>[^/]+))?$")
_RESOLVE = re.compile(r"^/(?P<repo>[^/]+/[^/]+)/resolve/(?P<rev>[^/]+)/(?P<file>.+)$")
_RANGE = re.compile(r"^bytes=(\d+)-(\d*)$")


@dataclass
class HubRepo:
    files: dict[str, Path]  # name in the repo → the real file served
    sha: str
    etags: dict[str, str] = field(default_factory=dict)


class ModelHub(LoopbackService):
    thread_name = "fake-model-hub"

    def __init__(self, *, chunk_delay: float = 0.0) -> None:
        self.repos: dict[str, HubRepo] = {}
        self.failures: dict[str, int] = {}
        self.chunk_delay = chunk_delay
        self.requests: list[tuple[str, str]] = []  # (method, path)
        self._lock = threading.Lock()

    def add_repo(self, repo: str, folder: Path, names: list[str] | None = None) -> HubRepo:
        """Serve `folder`'s files (or those of `names`) as `repo` at a fixed commit."""
        paths = {name: folder / name for name in names} if names else {
            path.relative_to(folder).as_posix(): path
            for path in sorted(folder.rglob("*")) if path.is_file()}
        sha = hashlib.sha1(repo.encode()).hexdigest()
        entry = HubRepo(paths, sha)
        for name, path in paths.items():
            digest = hashlib.sha256()
            with path.open("rb") as handle:
                for block in iter(lambda handle=handle: handle.read(_CHUNK), b""):
                    digest.update(block)
            entry.etags[name] = digest.hexdigest()
        self.repos[repo] = entry
        return entry

    def fail(self, repo: str, status: int) -> None:
        self.failures[repo] = status

    def handler_class(self) -> type[BaseHTTPRequestHandler]:
        return _HubHandler

    def record(self, method: str, path: str) -> None:
        with self._lock:
            self.requests.append((method, path))


class _HubHandler(LoopbackHandler):
    @property
    def hub(self) -> ModelHub:
        return self.server.fake

    def _json(self, status: int, payload: object, headers: dict[str, str] | None = None
              ) -> None:
        self._send_bytes(status, "application/json", json.dumps(payload).encode(), headers)

    def _refuse(self, repo: str) -> bool:
        status = self.hub.failures.get(repo) if repo in self.hub.failures else (
            None if repo in self.hub.repos else 404)
        if status is None:
            return False
        headers = {404: {"X-Error-Code": "RepoNotFound", "X-Error-Message": "Repository not found"},
                   401: {"X-Error-Message": "Invalid username or password."},
                   403: {"X-Error-Code": "GatedRepo",
                         "X-Error-Message": "Access to model is restricted."}}.get(status, {})
        self._json(status, {"error": headers.get("X-Error-Message", "error")}, headers)
        return True

    def do_HEAD(self) -> None:
        self._serve()

    def do_GET(self) -> None:
        self._serve()

    def _serve(self) -> None:
        url = urlsplit(self.path)
        path = unquote(url.path)
        self.hub.record(self.command, path)
        info = _INFO.match(path)
        if info:
            repo = info["repo"]
            if self._refuse(repo):
                return
            entry = self.hub.repos[repo]
            self._json(200, {"id": repo, "modelId": repo, "sha": entry.sha, "private": False,
                             "siblings": [{"rfilename": name, "size": file.stat().st_size}
                                          for name, file in entry.files.items()]})
            return
        resolve = _RESOLVE.match(path)
        if not resolve:
            self._json(404, {"error": "not found"})
            return
        repo, name = resolve["repo"], resolve["file"]
        if self._refuse(repo):
            return
        entry = self.hub.repos[repo]
        if resolve["rev"] not in ("main", entry.sha) or name not in entry.files:
            code = "RevisionNotFound" if name in entry.files else "EntryNotFound"
            self._json(404, {"error": code}, {"X-Error-Code": code})
            return
        self._send_file(entry, name)

    def _send_file(self, entry: HubRepo, name: str) -> None:
        file = entry.files[name]
        size = file.stat().st_size
        headers = {"X-Repo-Commit": entry.sha, "ETag": f'"{entry.etags[name]}"',
                   "Accept-Ranges": "bytes"}
        start = 0
        wanted = _RANGE.match(self.headers.get("Range", ""))
        status = 200
        if wanted and self.command == "GET":
            start = int(wanted[1])
            if start >= size:
                self._json(416, {"error": "range"}, {"Content-Range": f"bytes */{size}"})
                return
            status = 206
            headers["Content-Range"] = f"bytes {start}-{size - 1}/{size}"
        self._start(status, "application/octet-stream", size - start, headers)
        if self.command == "HEAD":
            self.wfile.flush()
            return
        with file.open("rb") as handle:
            handle.seek(start)
            for block in iter(lambda: handle.read(_CHUNK), b""):
                self.wfile.write(block)
                if self.hub.chunk_delay:
                    self.wfile.flush()
                    time.sleep(self.hub.chunk_delay)
        self.wfile.flush()
