"""Open an authenticated IMAP connection as the config says: TLS unless on loopback."""

from __future__ import annotations

import ipaddress
import re
import ssl

import imapclient

from tui.config import ImapConfig


class ImapConnectError(Exception):
    pass


def _reason(error: Exception) -> str:
    """The server's words: imaplib wraps them as a bytes repr (`b'[AUTHENTICATIONFAILED] …'`)."""
    text = str(error)
    quoted = re.fullmatch(r"b(['\"])(.*)\1", text, re.DOTALL)
    return quoted.group(2) if quoted else text


def is_loopback_host(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def connect_imap(
    config: ImapConfig, password: str, ssl_context: ssl.SSLContext | None = None
) -> imapclient.IMAPClient:
    if config.security == "plain" and not is_loopback_host(config.host):
        raise ImapConnectError(
            f"refusing plaintext IMAP to {config.host}: plain is allowed only to a loopback "
            "address; set [imap] security = \"tls\" or \"starttls\""
        )
    if ssl_context is not None:
        context = ssl_context
    elif config.ca_file is not None:
        context = ssl.create_default_context(cafile=str(config.ca_file))
    else:
        context = ssl.create_default_context()
    try:
        client = imapclient.IMAPClient(
            config.host,
            port=config.port,
            ssl=config.security == "tls",
            ssl_context=context if config.security == "tls" else None,
            timeout=config.timeout_seconds,
        )
        if config.security == "starttls":
            client.starttls(context)
        client.login(config.username, password)
    except imapclient.exceptions.LoginError as error:
        raise ImapConnectError(
            f"login as {config.username!r} refused: {_reason(error)}") from None
    except (TimeoutError, OSError, ssl.SSLError, imapclient.exceptions.IMAPClientError) as error:
        raise ImapConnectError(f"cannot connect to {config.host}:{config.port}: {error}") from None
    return client
