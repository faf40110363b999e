"""A real, private Dovecot IMAP server on loopback, for tests.

`DovecotServer` writes its own ``dovecot.conf`` into a directory the caller
owns (usually pytest's ``tmp_path``) and runs ``dovecot -F -c <conf>`` as a
child process. Nothing under /etc/dovecot, /run/dovecot or /var/lib/dovecot is
read or written, and no system service is started: base_dir, state_dir, the
log, the passwd-file, the TLS material and every Maildir live below ``root``.

Layout below ``root``::

    dovecot.conf      generated configuration
    dovecot.log       Dovecot's own log (log_path); quoted in start-up errors
    dovecot.stderr    stdout/stderr of the master (fatal config errors land here)
    passwd            passwd-file used as passdb and userdb
    run/              base_dir (sockets, master.pid, login chroot)
    state/            state_dir
    mail/<user>/      home of each user; mail in mail/<user>/Maildir
    mail/<user>/rawlog/  Dovecot's transcript of each IMAP session after login
                      (``*.in``: what the client sent; read with `commands`)
    tls/              CA + server certificate/key when ``tls=True``

Capabilities: by default the server advertises what Dovecot itself implements. With
``capabilities=`` it advertises exactly that list instead (Dovecot's ``imap_capability``
setting, used before and after login), which is how tests meet a server without IDLE or MOVE
(`capabilities_without`). Dovecot still *accepts* commands it no longer advertises, so a test
that wants to know which path a client chose reads the session transcript (`commands`).

Privileges, when run as root (the CI case):

* Dovecot refuses to access mail as uid 0, so mail processes run as the
  unprivileged system user ``dovetest`` (created here with ``useradd --system``
  if missing).
* pytest's ``tmp_path`` sits below ``/tmp/pytest-of-root`` (mode 0700), which
  neither ``dovetest`` nor Dovecot's own ``dovecot`` user can traverse.
  Rather than loosening those permissions, the mail processes are chrooted into
  ``root/mail`` (the chroot happens while still root, so the 0700 parents do not
  matter) and the auth process, which reads the passwd-file, runs as root.

When not run as root, every Dovecot service runs as the current user instead
(Dovecot's "rootless" mode), without chroots.
"""

from __future__ import annotations

import contextlib
import ctypes
import grp
import os
import pwd
import re
import shutil
import signal
import socket
import ssl
import subprocess
import threading
import time
import weakref
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import NamedTuple

import imapclient

#: Unprivileged system user the mail processes run as when we are root.
MAIL_USER = "dovetest"
#: Loopback only: the server must never be reachable from outside the machine.
HOST = "127.0.0.1"
#: Folders created (and subscribed) for every user besides INBOX, with the
#: RFC 6154 special-use flag Dovecot should advertise for them.
DEFAULT_FOLDERS: Mapping[str, str | None] = {"Archive": r"\Archive", "Junk": r"\Junk"}

_INSTALL_HINT = "dovecot not installed: apt-get install dovecot-imapd"
# Characters we allow in paths/users/passwords written into dovecot.conf and the
# passwd-file. Dovecot expands '%' in many settings, ':' separates passwd-file
# fields and whitespace/quotes would need escaping; refusing them is simpler and
# pytest's tmp_path names never contain them.
_SAFE_PATH = re.compile(r"^[A-Za-z0-9_./+@=,-]+$")
_SAFE_FIELD = re.compile(r"^[^:\s%\\\"']+$")
_APPENDUID = re.compile(rb"\[APPENDUID \d+ (\d+)\]")
# A capability is an IMAP atom (RFC 3501); we also refuse anything Dovecot would expand.
_CAPABILITY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9=+._-]*$")
# Rawlog prefixes every line with "<unix time>.<microseconds> ".
_RAWLOG_STAMP = re.compile(rb"^\d+\.\d+ ")
# A command line that announces a literal ends in {N} or {N+} (LITERAL+).
_LITERAL = re.compile(rb"\{(\d+)\+?\}$")

#: What Dovecot 2.3 advertises after login with no ``imap_capability`` set, in its order.
#: Lists built from it advertise nothing this Dovecot does not implement (the fixture tests
#: check that against the running server).
DOVECOT_CAPABILITIES: tuple[str, ...] = (
    "IMAP4rev1", "SASL-IR", "LOGIN-REFERRALS", "ID", "ENABLE", "IDLE", "SORT", "SORT=DISPLAY",
    "THREAD=REFERENCES", "THREAD=REFS", "THREAD=ORDEREDSUBJECT", "MULTIAPPEND", "URL-PARTIAL",
    "CATENATE", "UNSELECT", "CHILDREN", "NAMESPACE", "UIDPLUS", "LIST-EXTENDED", "I18NLEVEL=1",
    "CONDSTORE", "QRESYNC", "ESEARCH", "ESORT", "SEARCHRES", "WITHIN", "CONTEXT=SEARCH",
    "LIST-STATUS", "BINARY", "MOVE", "SNIPPET=FUZZY", "PREVIEW=FUZZY", "PREVIEW", "STATUS=SIZE",
    "SAVEDATE", "LITERAL+", "NOTIFY", "SPECIAL-USE",
)  # fmt: skip


def capabilities_without(*names: str) -> tuple[str, ...]:
    """Dovecot's own capability list minus ``names`` (e.g. "IDLE", "MOVE"), for
    ``DovecotServer(capabilities=...)``: a server that lacks just those extensions."""
    unwanted = {name.upper() for name in names}
    return tuple(c for c in DOVECOT_CAPABILITIES if c.upper() not in unwanted)


class ClientCommand(NamedTuple):
    """One command a client sent, from Dovecot's session transcript."""

    session: str  # the rawlog file's name without suffix: one per IMAP session
    name: str  # upper case, with the UID prefix when used: "SELECT", "UID MOVE", "IDLE"
    arguments: str  # as sent, literals left out


def _find_binary(name: str) -> str | None:
    # /usr/sbin is often missing from a non-root PATH, but that is where
    # Debian installs the dovecot master binary.
    found = shutil.which(name)
    if found:
        return found
    for directory in ("/usr/sbin", "/usr/bin", "/sbin", "/usr/local/sbin"):
        candidate = Path(directory) / name
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    return None


def free_port() -> int:
    """Return a TCP port on the loopback that is free right now.

    The kernel picks it (bind to port 0); there is a tiny window before Dovecot
    binds it, which is acceptable for tests.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def _ensure_mail_user() -> tuple[int, int]:
    """Return (uid, gid) of the unprivileged mail user, creating it if needed."""
    try:
        entry = pwd.getpwnam(MAIL_USER)
    except KeyError:
        useradd = _find_binary("useradd")
        if useradd is None:
            raise RuntimeError(
                f"system user {MAIL_USER!r} is missing and useradd is not available; "
                f"create it with: useradd --system --user-group --no-create-home "
                f"--home-dir /nonexistent --shell /usr/sbin/nologin {MAIL_USER}"
            ) from None
        result = subprocess.run(
            [
                useradd,
                "--system",
                "--user-group",
                "--no-create-home",
                "--home-dir",
                "/nonexistent",
                "--shell",
                "/usr/sbin/nologin",
                MAIL_USER,
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        # Exit code 9 means "already exists": another process (e.g. a parallel
        # pytest-xdist worker) won the race, which is fine.
        if result.returncode not in (0, 9):
            raise RuntimeError(
                f"useradd {MAIL_USER} failed ({result.returncode}): {result.stderr.strip()}"
            ) from None
        entry = pwd.getpwnam(MAIL_USER)
    return entry.pw_uid, entry.pw_gid


try:
    # Resolved in the parent: doing dlopen/dlsym between fork and exec is unsafe.
    _PRCTL = ctypes.CDLL(None, use_errno=True).prctl
except (OSError, AttributeError):  # pragma: no cover - non-glibc platforms
    _PRCTL = None


def _pdeathsig_preexec() -> None:
    """Ask the kernel to SIGTERM the dovecot master if the test process dies.

    This covers the case no Python code can: pytest being SIGKILLed (e.g. a CI
    timeout), which would otherwise orphan the server and its port. Dovecot's
    master treats SIGTERM as a clean shutdown and takes its children with it.
    PR_SET_PDEATHSIG (1) fires when the *thread* that forked exits, so it is
    only used when starting from the main thread (see `DovecotServer.start`).
    """
    if _PRCTL is not None:
        _PRCTL(1, signal.SIGTERM)


def live_group_members(pgid: int) -> list[int]:
    """PIDs of the non-zombie processes in process group ``pgid`` (Linux /proc)."""
    members: list[int] = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:  # exited meanwhile
            continue
        # Fields after "(comm)": state ppid pgrp ...; comm may contain spaces.
        fields = stat[stat.rfind(")") + 2 :].split()
        if len(fields) > 2 and fields[0] != "Z" and int(fields[2]) == pgid:
            members.append(int(entry.name))
    return members


class DovecotServer:
    """A private Dovecot IMAP server listening on 127.0.0.1.

    Usage::

        with DovecotServer(tmp_path, {"alice": "secret"}, tls=True) as server:
            server.append("alice", "INBOX", b"Subject: hi\\r\\n\\r\\nbody\\r\\n")
            client = server.client("alice")

    ``port`` is the plaintext IMAP port (LOGIN allowed, no STARTTLS required);
    ``tls_port`` the implicit-TLS (IMAPS) port, and ``cafile`` the CA that
    signed its certificate, when ``tls=True``. Ports are fixed at construction
    so `restart()` comes back on the same ones.
    """

    host: str = HOST

    def __init__(
        self,
        root: Path,
        users: Mapping[str, str] | None = None,
        *,
        tls: bool = False,
        folders: Mapping[str, str | None] = DEFAULT_FOLDERS,
        capabilities: Sequence[str] | None = None,
        start_timeout: float = 10.0,
    ) -> None:
        # A None default instead of a dict literal: a mutable default would be
        # shared between instances.
        self.users: dict[str, str] = dict(users) if users is not None else {"alice": "secret"}
        self.root: Path = Path(root).resolve()
        self.tls: bool = tls
        self.folders: dict[str, str | None] = dict(folders)
        #: What the server advertises before and after login; None: Dovecot's own list.
        self.capabilities: tuple[str, ...] | None = (
            None if capabilities is None else tuple(capabilities)
        )
        self.start_timeout: float = start_timeout

        if not _SAFE_PATH.match(str(self.root)):
            raise ValueError(f"unsupported characters in server root path: {self.root}")
        for user, password in self.users.items():
            if not _SAFE_FIELD.match(user) or not _SAFE_FIELD.match(password):
                raise ValueError(
                    f"user names/passwords must not contain ':', '%', quotes or whitespace: "
                    f"{user!r}"
                )
        for folder in self.folders:
            if not _SAFE_FIELD.match(folder) or "/" in folder:
                raise ValueError(f"unsupported folder name: {folder!r}")
        if self.capabilities is not None:
            bad = [c for c in self.capabilities if not _CAPABILITY.match(c)]
            if bad:
                raise ValueError(f"not IMAP capability atoms: {bad!r}")
            # imaplib refuses a server whose greeting lacks IMAP4rev1 ("not IMAP4 compliant").
            if "IMAP4REV1" not in {c.upper() for c in self.capabilities}:
                raise ValueError("capabilities must include IMAP4rev1")

        self.conf_path: Path = self.root / "dovecot.conf"
        self.log_path: Path = self.root / "dovecot.log"
        self.stderr_path: Path = self.root / "dovecot.stderr"
        self.passwd_path: Path = self.root / "passwd"
        self.base_dir: Path = self.root / "run"
        self.state_dir: Path = self.root / "state"
        self.mail_root: Path = self.root / "mail"
        self.tls_dir: Path = self.root / "tls"

        self.port: int = free_port()
        self.tls_port: int | None = free_port() if tls else None
        self.cafile: Path | None = self.tls_dir / "ca.pem" if tls else None

        self._proc: subprocess.Popen[bytes] | None = None
        self._prepared = False
        # Safety net for a server that is never stopped (test forgot the
        # context manager, or the interpreter exits): finalize runs at garbage
        # collection and at interpreter exit.
        self._finalizer = weakref.finalize(self, DovecotServer._terminate_group, None)

    # ------------------------------------------------------------------ lifecycle

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    @property
    def pid(self) -> int | None:
        """PID of the dovecot master process while running."""
        return self._proc.pid if self.running and self._proc is not None else None

    def start(self) -> None:
        """Start the server and wait until it answers the IMAP greeting."""
        if self._proc is not None:
            raise RuntimeError("DovecotServer is already running")
        dovecot = _find_binary("dovecot")
        if dovecot is None:
            raise RuntimeError(_INSTALL_HINT)
        if not self._prepared:
            self._prepare()

        # Start from a fresh log so an error message only shows this start.
        with contextlib.suppress(FileNotFoundError):
            self.log_path.unlink()
        use_pdeathsig = _PRCTL is not None and threading.current_thread() is threading.main_thread()
        with open(self.stderr_path, "wb") as stderr:
            self._proc = subprocess.Popen(
                [dovecot, "-F", "-c", str(self.conf_path)],
                stdin=subprocess.DEVNULL,
                stdout=stderr,
                stderr=subprocess.STDOUT,
                cwd=self.root,
                # Own session/process group: stop() can then kill the master
                # and every child it forked with one killpg, and Ctrl-C in the
                # terminal does not hit dovecot before our teardown runs.
                start_new_session=True,
                preexec_fn=_pdeathsig_preexec if use_pdeathsig else None,
            )
        self._finalizer.detach()
        self._finalizer = weakref.finalize(self, DovecotServer._terminate_group, self._proc)
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """Stop the server and every process it forked. Safe to call twice."""
        proc, self._proc = self._proc, None
        self._finalizer.detach()
        DovecotServer._terminate_group(proc)

    def restart(self) -> None:
        """Stop and start again on the same ports; mail in the Maildirs persists."""
        self.stop()
        self.start()

    def __enter__(self) -> DovecotServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @staticmethod
    def _terminate_group(proc: subprocess.Popen[bytes] | None, grace: float = 0.5) -> None:
        # Static and given only the Popen so weakref.finalize does not keep the
        # server object alive.
        if proc is None:
            return
        pid = proc.pid
        if proc.returncode is None:
            # SIGTERM to the whole group: every process shuts down cleanly (imap
            # processes say BYE). Signalling only the master works too, but it
            # then waits ~1 s for its children, which adds up over a test run.
            # The master is not reaped yet, so its pid is still our group id.
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, signal.SIGTERM)
            # Wait for the master to exit WITHOUT reaping it: as long as it is a
            # zombie its pid (= our process group id) cannot be reused, so the
            # killpg below can only reach processes dovecot itself started.
            # Everything exits within milliseconds, except that the master now
            # and then lingers ~1 s waiting for children; `grace` caps that (a
            # SIGKILL cannot hurt: Maildir and Dovecot's indexes are crash-safe).
            deadline = time.monotonic() + grace
            while True:
                try:
                    # None while the master is still running.
                    exited = (
                        os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None
                    )
                except ChildProcessError:  # already reaped elsewhere
                    exited = True
                if exited or time.monotonic() >= deadline:
                    break
                time.sleep(0.01)
            # Anything left in the group (a hung master, stray children) is
            # killed outright.
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, signal.SIGKILL)
        with contextlib.suppress(ChildProcessError):
            proc.wait()
        # Dovecot's master does not wait for all of its children (log, stats,
        # imap...), so some outlive it and are reparented to init. They were
        # SIGKILLed above; wait (bounded) until they are really dead so that
        # "stopped" means no process holds the ports or the Maildirs. Zombies
        # count as dead: reaping them is init's job, and some container inits
        # take seconds to do it (or never do).
        deadline = time.monotonic() + 5.0
        while live_group_members(pid) and time.monotonic() < deadline:
            time.sleep(0.01)

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.start_timeout
        last_error: Exception | None = None
        checks: list[tuple[int, ssl.SSLContext | None]] = [(self.port, None)]
        if self.tls_port is not None:
            # Also complete a verified TLS handshake so a broken certificate is
            # reported here rather than in some later test.
            checks.append((self.tls_port, self.ssl_context()))
        for port, context in checks:
            while True:
                if self._proc is None or self._proc.poll() is not None:
                    code = None if self._proc is None else self._proc.returncode
                    raise RuntimeError(
                        f"dovecot exited during start-up (exit code {code})\n{self._diagnostics()}"
                    )
                try:
                    greeting = _read_greeting(port, context)
                except (OSError, ssl.SSLError) as exc:
                    last_error = exc
                else:
                    if greeting.startswith(b"* OK"):
                        break
                    last_error = RuntimeError(f"unexpected greeting {greeting!r}")
                if time.monotonic() >= deadline:
                    raise RuntimeError(
                        f"dovecot did not answer on {self.host}:{port} within "
                        f"{self.start_timeout:.0f}s (last error: {last_error})\n"
                        f"{self._diagnostics()}"
                    )
                time.sleep(0.05)

    def _diagnostics(self) -> str:
        parts = [f"config: {self.conf_path}"]
        for label, path in (("stderr", self.stderr_path), ("log", self.log_path)):
            try:
                text = path.read_text(errors="replace").strip()
            except FileNotFoundError:
                text = "(missing)"
            lines = text.splitlines()[-60:]
            parts.append(f"--- dovecot {label} ({path}) ---\n" + "\n".join(lines))
        return "\n".join(parts)

    def read_log(self) -> str:
        """Dovecot's log since the last start (handy in assertion messages)."""
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    # ------------------------------------------------------------------ set-up

    def _prepare(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        as_root = os.geteuid() == 0
        if as_root:
            uid, gid = _ensure_mail_user()
            service_user = service_group = None
        else:
            uid, gid = os.geteuid(), os.getegid()
            service_user = pwd.getpwuid(uid).pw_name
            service_group = grp.getgrgid(gid).gr_name

        self.state_dir.mkdir(exist_ok=True)
        self.mail_root.mkdir(exist_ok=True)
        os.chown(self.mail_root, uid, gid)
        passwd_lines = []
        for user, password in self.users.items():
            home = self.mail_root / user
            home.mkdir(exist_ok=True)
            # Dovecot creates the Maildir itself, but the home must exist and
            # belong to the mail uid or the imap process cannot chdir into it.
            os.chown(home, uid, gid)
            # Rawlog writes nothing unless its directory already exists.
            rawlog = home / "rawlog"
            rawlog.mkdir(exist_ok=True)
            os.chown(rawlog, uid, gid)
            # As root: "<chroot>/./<home>" tells Dovecot to chroot into
            # mail_root and use /<user> as home inside it.
            home_field = f"{self.mail_root}/./{user}" if as_root else str(home)
            # {PLAIN}: plaintext passwords are fine for a throwaway test server.
            passwd_lines.append(f"{user}:{{PLAIN}}{password}:{uid}:{gid}::{home_field}::\n")
        self.passwd_path.write_text("".join(passwd_lines))
        self.passwd_path.chmod(0o600)

        if self.tls:
            self._make_certificates()
        self.conf_path.write_text(self._render_config(uid, service_user, service_group))
        self._prepared = True

    def _make_certificates(self) -> None:
        """Create a throwaway CA and a server certificate for 127.0.0.1/localhost.

        A separate CA (rather than one self-signed leaf) keeps strict
        verifiers happy: Python >= 3.13 sets VERIFY_X509_STRICT by default,
        which wants a proper CA with key identifiers as the trust anchor and a
        leaf with serverAuth + subjectAltName.
        """
        openssl = _find_binary("openssl")
        if openssl is None:
            raise RuntimeError("openssl not installed: apt-get install openssl")
        d = self.tls_dir
        d.mkdir(exist_ok=True)
        (d / "ca.cnf").write_text(
            "[req]\ndistinguished_name = dn\nprompt = no\nx509_extensions = v3_ca\n"
            "[dn]\nCN = Dovecot test CA\n"
            "[v3_ca]\nbasicConstraints = critical,CA:TRUE\n"
            "keyUsage = critical,keyCertSign,cRLSign\n"
            "subjectKeyIdentifier = hash\nauthorityKeyIdentifier = keyid:always\n"
        )
        (d / "server.cnf").write_text(
            "[req]\ndistinguished_name = dn\nprompt = no\n"
            "[dn]\nCN = localhost\n"
            "[v3_server]\nbasicConstraints = critical,CA:FALSE\n"
            "keyUsage = critical,digitalSignature\nextendedKeyUsage = serverAuth\n"
            "subjectAltName = IP:127.0.0.1,DNS:localhost\n"
            "subjectKeyIdentifier = hash\nauthorityKeyIdentifier = keyid:always\n"
        )
        # EC keys: generated in milliseconds, unlike RSA.
        ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        commands = [
            [openssl, "req", "-x509", *ec, "-config", "ca.cnf", "-days", "30",
             "-keyout", "ca.key", "-out", "ca.pem"],
            [openssl, "req", "-new", *ec, "-config", "server.cnf",
             "-keyout", "server.key", "-out", "server.csr"],
            [openssl, "x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
             "-CAcreateserial", "-days", "30", "-extfile", "server.cnf",
             "-extensions", "v3_server", "-out", "server.pem"],
        ]  # fmt: skip
        for command in commands:
            result = subprocess.run(command, cwd=d, capture_output=True, text=True, check=False)
            if result.returncode != 0:
                raise RuntimeError(f"{' '.join(command)} failed:\n{result.stderr}")
        (d / "server.key").chmod(0o600)

    def _render_config(
        self, mail_uid: int, service_user: str | None, service_group: str | None
    ) -> str:
        # Standalone config: nothing is included from /etc/dovecot, so the
        # system's settings (and its protocols.d) cannot leak in.
        mailboxes = "".join(
            f"  mailbox {name} {{\n    auto = subscribe\n"
            + (f"    special_use = {flag}\n" if flag else "")
            + "  }\n"
            for name, flag in self.folders.items()
        )
        if self.tls:
            ssl_settings = (
                "ssl = yes\n"
                f"ssl_cert = <{self.tls_dir / 'server.pem'}\n"
                f"ssl_key = <{self.tls_dir / 'server.key'}\n"
            )
        else:
            ssl_settings = "ssl = no\n"
        if service_user is None:
            # Root mode. Mail processes chroot into mail_root (see module
            # docstring); the auth process must read the passwd-file that sits
            # below directories only root can traverse.
            privileges = (
                f"valid_chroot_dirs = {self.mail_root}\nservice auth {{\n  user = root\n}}\n"
            )
        else:
            # Rootless mode: every service runs as us, and chroot is impossible.
            privileges = (
                f"default_internal_user = {service_user}\n"
                f"default_internal_group = {service_group}\n"
                f"default_login_user = {service_user}\n"
                "service auth {\n  user = $default_internal_user\n}\n"
                "service auth-worker {\n  user = $default_internal_user\n}\n"
                "service anvil {\n  chroot =\n}\n"
                "service imap-login {\n  chroot =\n}\n"
            )
        if self.capabilities is None:
            capability_setting = "# imap_capability unset: Dovecot advertises all it implements.\n"
        else:
            # Replaces the CAPABILITY list, in the greeting and after login alike.
            capability_setting = f"imap_capability = {' '.join(self.capabilities)}\n"
        return f"""\
# Generated by tests/services/dovecot.py for a throwaway test server.
base_dir = {self.base_dir}
state_dir = {self.state_dir}
# A distinct instance name keeps these processes recognisable in ps output.
instance_name = dovetest-{self.port}
log_path = {self.log_path}
protocols = imap
listen = {self.host}

# Plaintext LOGIN over the plain loopback listener, which is what the tests use.
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_verbose = yes
# No 2 s penalty after a wrong password: tests exercise failed logins.
auth_failure_delay = 0
{ssl_settings}
# Only the dedicated mail uid may own mailboxes (Dovecot refuses uid 0 anyway).
first_valid_uid = {mail_uid}
last_valid_uid = {mail_uid}
{privileges}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN {self.passwd_path}
}}
userdb {{
  driver = passwd-file
  args = {self.passwd_path}
}}

mail_location = maildir:~/Maildir
# Tests open many connections per user from one IP (default limit is 10).
mail_max_userip_connections = 100
# IDLE relies on inotify; poll every second too in case the filesystem
# (overlayfs in some containers) does not deliver inotify events.
mailbox_idle_check_interval = 1 secs
{capability_setting}
# A transcript of every session after login (%h is the home, inside the chroot when there
# is one): tests read which commands a client really sent.
rawlog_dir = %h/rawlog

namespace inbox {{
  inbox = yes
  separator = /
{mailboxes}}}

# The auth process delays every login from an IP after a failed one (2 s,
# doubling up to 15 s) using anvil's "auth penalty". Tests fail logins on
# purpose, so hide the socket under another name: auth then finds no penalty
# service and skips it.
service anvil {{
  unix_listener anvil-auth-penalty {{
    path = anvil-auth-penalty-disabled
  }}
}}

service imap-login {{
  inet_listener imap {{
    address = {self.host}
    port = {self.port}
  }}
  inet_listener imaps {{
    address = {self.host}
    port = {self.tls_port or 0}
    ssl = yes
  }}
}}
"""

    # ------------------------------------------------------------------ helpers

    def ssl_context(self) -> ssl.SSLContext:
        """An SSLContext that trusts only this server's CA (requires ``tls=True``)."""
        if self.cafile is None:
            raise RuntimeError("DovecotServer was created without tls=True")
        return ssl.create_default_context(cafile=str(self.cafile))

    def client(
        self,
        user: str,
        password: str | None = None,
        *,
        tls: bool = False,
        timeout: float = 10.0,
    ) -> imapclient.IMAPClient:
        """Return a new IMAPClient logged in as ``user`` (caller logs out).

        ``tls=True`` connects to the implicit-TLS port and verifies the
        certificate against `cafile`.
        """
        client = self.connect(tls=tls, timeout=timeout)
        try:
            client.login(user, self.users[user] if password is None else password)
        except BaseException:
            with contextlib.suppress(Exception):
                client.shutdown()
            raise
        return client

    def flags_by_header(self, user: str, header: str,
                        folder: str = "INBOX") -> dict[str, set[str]]:
        """`header`'s value → the message's flags, read over a second, independent connection
        (what another mail client sees). \\Recent belongs to whichever session saw the mail
        first, not to the user, so it is left out."""
        client = self.client(user)
        try:
            client.select_folder(folder, readonly=True)
            uids = client.search(["ALL"])
            if not uids:
                return {}
            field = f"BODY[HEADER.FIELDS ({header.upper()})]"
            data = client.fetch(uids, ["FLAGS", field.replace("BODY[", "BODY.PEEK[")])
            view: dict[str, set[str]] = {}
            for item in data.values():
                line = item[field.encode()].decode(errors="replace").strip()
                value = line.split(":", 1)[1].strip() if ":" in line else ""
                view[value] = {f.decode() if isinstance(f, bytes) else str(f)
                               for f in item[b"FLAGS"]} - {"\\Recent"}
            return view
        finally:
            client.logout()

    def connect(self, *, tls: bool = False, timeout: float = 10.0) -> imapclient.IMAPClient:
        """Return a connected but not logged-in IMAPClient."""
        if tls:
            if self.tls_port is None:
                raise RuntimeError("DovecotServer was created without tls=True")
            return imapclient.IMAPClient(
                self.host, self.tls_port, ssl=True, ssl_context=self.ssl_context(),
                timeout=timeout,
            )  # fmt: skip
        return imapclient.IMAPClient(self.host, self.port, ssl=False, timeout=timeout)

    def append(
        self,
        user: str,
        folder: str,
        raw_message: bytes,
        flags: Iterable[str | bytes] = (),
    ) -> int | None:
        """Deliver a message over a separate IMAP connection, as another client would.

        Returns the new message's UID (from the UIDPLUS APPENDUID response code).
        """
        client = self.client(user)
        try:
            response = client.append(folder, raw_message, flags=tuple(flags))
        finally:
            with contextlib.suppress(Exception):
                client.logout()
        match = _APPENDUID.search(response if isinstance(response, bytes) else b"")
        return int(match.group(1)) if match else None

    def commands(self, user: str) -> list[ClientCommand]:
        """Every command ``user``'s IMAP sessions sent after login, session by session.

        Read from Dovecot's rawlog, so it shows what the server received whatever the client
        claims: e.g. that a client moved mail with COPY + STORE + EXPUNGE rather than MOVE,
        or never issued IDLE. Sessions still open are included up to their last line.
        """
        found: list[ClientCommand] = []
        for path in sorted((self.mail_root / user / "rawlog").glob("*.in")):
            found.extend(_parse_rawlog(path.stem, path.read_bytes()))
        return found

    def maildir(self, user: str) -> Path:
        """Path of ``user``'s Maildir on disk (INBOX is its top level)."""
        return self.mail_root / user / "Maildir"

    def kill_connections(self, user: str = "*", timeout: float = 5.0) -> None:
        """Drop the IMAP connections of ``user`` (``"*"``: everyone), server-side.

        Uses ``doveadm kick`` against this server's private config; the imap
        processes are signalled and the clients see the connection close.
        Waits until Dovecot no longer lists a matching session.
        """
        doveadm = _find_binary("doveadm")
        if doveadm is None:
            raise RuntimeError(_INSTALL_HINT)
        base = [doveadm, "-c", str(self.conf_path)]
        result = subprocess.run([*base, "kick", user], capture_output=True, text=True, check=False)
        # doveadm exits 68 (EX_NOUSER) when nobody matched: nothing to drop.
        if result.returncode not in (0, 68):
            raise RuntimeError(f"doveadm kick failed ({result.returncode}): {result.stderr}")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            who = subprocess.run(
                [*base, "who", "-1", user], capture_output=True, text=True, check=False
            )
            # `who -1` prints a header line, then one line per session.
            if len(who.stdout.strip().splitlines()) <= 1:
                return
            time.sleep(0.05)
        raise RuntimeError(f"connections of {user!r} still open after doveadm kick")


def _parse_rawlog(session: str, data: bytes) -> list[ClientCommand]:
    """Commands in one rawlog ``.in`` file; literal contents (APPEND bodies) are skipped."""
    # Undo rawlog's framing: it stamps the start of every line, literal lines included.
    stream = b"\n".join(_RAWLOG_STAMP.sub(b"", line, count=1) for line in data.split(b"\n"))
    commands: list[ClientCommand] = []
    pos = 0
    while pos < len(stream):
        # One command: its line, plus for each literal the literal and the line after it.
        parts: list[bytes] = []
        while True:
            end = stream.find(b"\r\n", pos)
            line = stream[pos:] if end < 0 else stream[pos:end]
            pos = len(stream) if end < 0 else end + 2
            literal = _LITERAL.search(line)
            parts.append(line[: literal.start()] if literal else line)
            if literal is None:
                break
            pos += int(literal.group(1))
        words = b"".join(parts).decode("utf-8", "replace").split(" ", 2)
        if len(words) < 2:  # "DONE", which ends an IDLE, has no tag
            continue
        name, arguments = words[1].upper(), words[2] if len(words) > 2 else ""
        if name == "UID" and arguments:
            sub, _, arguments = arguments.partition(" ")
            name = f"UID {sub.upper()}"
        commands.append(ClientCommand(session, name, arguments))
    return commands


def _read_greeting(port: int, context: ssl.SSLContext | None) -> bytes:
    with contextlib.ExitStack() as stack:
        sock: socket.socket = stack.enter_context(
            socket.create_connection((HOST, port), timeout=2.0)
        )
        if context is not None:
            # wrap_socket takes over the descriptor; close the TLS socket too.
            sock = stack.enter_context(context.wrap_socket(sock, server_hostname=HOST))
        data = b""
        while not data.endswith(b"\r\n") and len(data) < 4096:
            chunk = sock.recv(4096)
            if not chunk:
                break
            data += chunk
        return data
