"""Tests for the private Dovecot test server in tests/services/dovecot.py."""

from __future__ import annotations

import imaplib
import socket
import ssl
from collections.abc import Iterator
from pathlib import Path

import imapclient
import pytest
from imapclient.exceptions import LoginError

from .dovecot import (
    DOVECOT_CAPABILITIES,
    DovecotServer,
    capabilities_without,
    live_group_members,
)

RAW_MESSAGE = (
    b"From: Bob <bob@example.test>\r\n"
    b"To: Alice <alice@example.test>\r\n"
    b"Subject: fixture test\r\n"
    b"Message-ID: <fixture-1@example.test>\r\n"
    b"\r\n"
    b"Hello from the Dovecot fixture.\r\n"
)


@pytest.fixture
def dovecot(tmp_path: Path) -> Iterator[DovecotServer]:
    # Function scope: each test gets empty mailboxes; a start takes well under
    # a second, so isolation is cheap.
    with DovecotServer(tmp_path / "dovecot", {"alice": "secret", "bob": "hunter2"}, tls=True) as s:
        yield s


def test_login_right_and_wrong_password(dovecot: DovecotServer) -> None:
    client = dovecot.client("alice")
    try:
        assert client.select_folder("INBOX")[b"EXISTS"] == 0
    finally:
        client.logout()

    anon = dovecot.connect()
    try:
        with pytest.raises(LoginError):
            anon.login("alice", "wrong-password")
        with pytest.raises(LoginError):
            anon.login("nobody-here", "secret")
    finally:
        anon.shutdown()


def test_append_then_peek_does_not_set_seen(dovecot: DovecotServer) -> None:
    uid = dovecot.append("alice", "INBOX", RAW_MESSAGE)
    assert uid is not None

    client = dovecot.client("alice")
    try:
        client.select_folder("INBOX")
        assert client.search() == [uid]
        data = client.fetch([uid], ["BODY.PEEK[]", "FLAGS"])
        assert data[uid][b"BODY[]"] == RAW_MESSAGE
        assert b"\\Seen" not in data[uid][b"FLAGS"]
        # Ask again: PEEK must not have set \Seen as a side effect either.
        assert b"\\Seen" not in client.get_flags([uid])[uid]
    finally:
        client.logout()


def test_append_with_flags_and_to_other_folder(dovecot: DovecotServer) -> None:
    uid = dovecot.append("bob", "Junk", RAW_MESSAGE, flags=[r"\Seen", r"\Flagged"])
    client = dovecot.client("bob")
    try:
        client.select_folder("Junk", readonly=True)
        flags = client.get_flags([uid])[uid]
        assert set(flags) >= {b"\\Seen", b"\\Flagged"}
    finally:
        client.logout()


def test_idle_sees_mail_appended_by_another_client(dovecot: DovecotServer) -> None:
    client = dovecot.client("alice")
    try:
        client.select_folder("INBOX")
        client.idle()
        try:
            dovecot.append("alice", "INBOX", RAW_MESSAGE)
            responses = client.idle_check(timeout=5)
        finally:
            client.idle_done()
    finally:
        client.logout()
    assert (1, b"EXISTS") in responses


def test_capabilities(dovecot: DovecotServer) -> None:
    client = dovecot.client("alice")
    try:
        capabilities = set(client.capabilities())
    finally:
        client.logout()
    assert {b"IDLE", b"MOVE", b"UIDPLUS"} <= capabilities
    # The list `capabilities_without` starts from is what this Dovecot really implements.
    assert {c.upper().encode() for c in DOVECOT_CAPABILITIES} <= capabilities


def test_a_server_without_idle_and_move(tmp_path: Path) -> None:
    wanted = capabilities_without("IDLE", "MOVE")
    assert "UIDPLUS" in wanted  # the MOVE fallback needs it
    with DovecotServer(tmp_path / "no-idle-move", capabilities=wanted) as server:
        # Before login: the greeting's list.
        anon = server.connect()
        before = set(anon.capabilities())
        anon.shutdown()
        # After login: the LOGIN response's list, which is what clients then go by.
        client = server.client("alice")
        after = set(client.capabilities())
        has_idle, has_move = client.has_capability("IDLE"), client.has_capability("MOVE")
        client.logout()
        # And an explicit CAPABILITY command.
        imap = imaplib.IMAP4(server.host, server.port)
        imap.login("alice", "secret")
        _, lines = imap.capability()  # LOGIN's response code too, then the command's answer
        imap.logout()
    expected = {c.upper().encode() for c in wanted}
    assert after == expected
    assert before - {b"AUTH=PLAIN", b"AUTH=LOGIN"} == expected
    answered = [set(line.upper().split()) for line in lines]
    assert answered and all(advertised == expected for advertised in answered)
    for advertised in (before, after, *answered):
        assert b"IDLE" not in advertised and b"MOVE" not in advertised
    assert not has_idle and not has_move


def test_capabilities_must_be_atoms_and_include_imap4rev1(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="atoms"):
        DovecotServer(tmp_path / "d", capabilities=["IMAP4rev1", "IDLE %u"])
    with pytest.raises(ValueError, match="IMAP4rev1"):
        DovecotServer(tmp_path / "d", capabilities=["UIDPLUS"])


def test_commands_is_what_the_server_received(dovecot: DovecotServer) -> None:
    # A message line that looks like a command: inside APPEND's literal, it is none.
    uid = dovecot.append("alice", "INBOX", RAW_MESSAGE + b"A1 MOVE 1 Junk\r\n")
    client = dovecot.client("alice")
    try:
        client.select_folder("INBOX")
        client.idle()
        client.idle_done()
        client.move([uid], "Archive")
    finally:
        client.logout()
    commands = dovecot.commands("alice")
    assert [c.name for c in commands if c.name != "CAPABILITY"] == [
        "APPEND", "LOGOUT", "SELECT", "IDLE", "UID MOVE", "LOGOUT"]
    sessions = list(dict.fromkeys(c.session for c in commands))
    assert len(sessions) == 2  # append's own connection, then the client's
    move = next(c for c in commands if c.name == "UID MOVE")
    assert move.arguments == f'{uid} "Archive"' and move.session == sessions[1]
    assert dovecot.commands("bob") == []


def test_default_folders_exist_and_are_subscribed(dovecot: DovecotServer) -> None:
    client = dovecot.client("alice")
    try:
        names = {name for _flags, _sep, name in client.list_folders()}
        subscribed = {name for _flags, _sep, name in client.list_sub_folders()}
        archive = client.find_special_folder(imapclient.imapclient.ARCHIVE)
        junk = client.find_special_folder(imapclient.imapclient.JUNK)
    finally:
        client.logout()
    assert {"INBOX", "Archive", "Junk"} <= names
    assert {"Archive", "Junk"} <= subscribed
    assert (archive, junk) == ("Archive", "Junk")


def test_move_to_archive(dovecot: DovecotServer) -> None:
    uid = dovecot.append("alice", "INBOX", RAW_MESSAGE)
    client = dovecot.client("alice")
    try:
        client.select_folder("INBOX")
        client.move([uid], "Archive")
        assert client.search() == []
        client.select_folder("Archive")
        assert len(client.search()) == 1
    finally:
        client.logout()


def test_restart_keeps_mail_and_port(dovecot: DovecotServer) -> None:
    dovecot.append("alice", "Archive", RAW_MESSAGE)
    port, old_pid = dovecot.port, dovecot.pid
    dovecot.restart()
    assert dovecot.port == port
    assert dovecot.pid != old_pid
    client = dovecot.client("alice")
    try:
        client.select_folder("Archive")
        uids = client.search()
        assert len(uids) == 1
        assert client.fetch(uids, ["BODY.PEEK[]"])[uids[0]][b"BODY[]"] == RAW_MESSAGE
    finally:
        client.logout()


def test_restart_drops_open_connections(dovecot: DovecotServer) -> None:
    client = dovecot.client("alice")
    client.select_folder("INBOX")
    dovecot.restart()
    with pytest.raises((imapclient.exceptions.IMAPClientError, OSError)):
        client.noop()
    client.shutdown()


def test_kill_connections(dovecot: DovecotServer) -> None:
    victim = dovecot.client("alice")
    bystander = dovecot.client("bob")
    try:
        victim.select_folder("INBOX")
        dovecot.kill_connections("alice")
        with pytest.raises((imapclient.exceptions.IMAPClientError, OSError)):
            # Dovecot says "* BYE" and closes; the next command fails.
            victim.noop()
            victim.noop()
        # Other users' sessions and new logins are unaffected.
        bystander.noop()
        again = dovecot.client("alice")
        again.logout()
    finally:
        victim.shutdown()
        bystander.logout()


def test_tls_listener_verifies_with_cafile(dovecot: DovecotServer) -> None:
    assert dovecot.cafile is not None and dovecot.tls_port is not None
    context = ssl.create_default_context(cafile=str(dovecot.cafile))
    client = imapclient.IMAPClient(
        dovecot.host, dovecot.tls_port, ssl=True, ssl_context=context, timeout=10
    )
    try:
        client.login("alice", "secret")
        assert client.select_folder("INBOX")[b"EXISTS"] == 0
    finally:
        client.logout()

    # Without the CA the certificate must be rejected: proves it is really TLS
    # with our own certificate, not something the system trusts.
    untrusted = ssl.create_default_context()
    with pytest.raises(ssl.SSLCertVerificationError):
        imapclient.IMAPClient(
            dovecot.host, dovecot.tls_port, ssl=True, ssl_context=untrusted, timeout=10
        )


def test_stop_leaves_no_processes(tmp_path: Path) -> None:
    server = DovecotServer(tmp_path / "d2")
    server.start()
    pgid = server.pid
    assert pgid is not None
    server.stop()
    server.stop()  # idempotent
    # The master used its own pid as process group; nothing of it may be left.
    assert live_group_members(pgid) == []
    with pytest.raises(OSError), socket.create_connection((server.host, server.port), timeout=1):
        pass


def test_start_failure_reports_log(tmp_path: Path) -> None:
    # Occupy the port so dovecot cannot bind it.
    blocker = socket.socket()
    blocker.bind((DovecotServer.host, 0))
    blocker.listen()
    try:
        server = DovecotServer(tmp_path / "d3", start_timeout=5)
        server.port = blocker.getsockname()[1]
        with pytest.raises(RuntimeError, match="dovecot"):
            server.start()
        assert not server.running
    finally:
        blocker.close()
