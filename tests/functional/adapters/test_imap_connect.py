"""Connection policy: TLS by default, plaintext only to loopback, real Dovecot."""

from __future__ import annotations

import ssl

import pytest

from tests.conftest import IMAP_PASSWORD, IMAP_USER
from tests.services.dovecot import DovecotServer
from tui.adapters.imap_connect import ImapConnectError, connect_imap, is_loopback_host
from tui.config import ImapConfig


def test_plaintext_to_a_remote_host_is_refused_before_connecting() -> None:
    config = ImapConfig(host="mail.example.org", port=143, security="plain", username="u")
    with pytest.raises(ImapConnectError, match="plain is allowed only to a loopback"):
        connect_imap(config, "pw")


@pytest.mark.parametrize(("host", "loopback"), [("127.0.0.1", True), ("::1", True),
                                                ("localhost", True), ("127.8.9.10", True),
                                                ("10.0.0.1", False), ("mail.example.org", False)])
def test_loopback_detection(host: str, loopback: bool) -> None:
    assert is_loopback_host(host) is loopback


def test_plaintext_to_loopback_dovecot(dovecot: DovecotServer) -> None:
    config = ImapConfig(host="127.0.0.1", port=dovecot.port, security="plain",
                        username=IMAP_USER)
    client = connect_imap(config, IMAP_PASSWORD)
    assert client.select_folder("INBOX", readonly=True)[b"EXISTS"] == 0
    client.logout()


def test_tls_verifies_the_certificate(dovecot: DovecotServer) -> None:
    trusting = ImapConfig(host="127.0.0.1", port=dovecot.tls_port, security="tls",
                          username=IMAP_USER, ca_file=dovecot.cafile)
    connect_imap(trusting, IMAP_PASSWORD).logout()
    untrusting = ImapConfig(host="127.0.0.1", port=dovecot.tls_port, security="tls",
                            username=IMAP_USER)
    with pytest.raises(ImapConnectError, match="cannot connect"):
        connect_imap(untrusting, IMAP_PASSWORD)


def test_wrong_password(dovecot: DovecotServer) -> None:
    config = ImapConfig(host="127.0.0.1", port=dovecot.port, security="plain",
                        username=IMAP_USER)
    with pytest.raises(ImapConnectError, match="refused") as error:
        connect_imap(config, "nope")
    assert "nope" not in str(error.value)


def test_starttls_upgrades_the_plain_port(dovecot: DovecotServer) -> None:
    config = ImapConfig(host="127.0.0.1", port=dovecot.port, security="starttls",
                        username=IMAP_USER, ca_file=dovecot.cafile)
    client = connect_imap(config, IMAP_PASSWORD)
    try:
        # After STARTTLS the socket is TLS-wrapped and the session is authenticated.
        assert isinstance(client.socket(), ssl.SSLSocket)
        assert client.select_folder("INBOX", readonly=True)[b"EXISTS"] == 0
    finally:
        client.logout()
