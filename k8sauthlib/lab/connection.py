"""One client connection of the lab's :class:`~.transport.Transport` and the signals its steps raise.

Moved out of :mod:`.transport`: what a connection holds (its socket, TLS object, state, buffers,
deadlines), the exceptions with which a step says "closed", "wait for the socket" or "let others
have a turn", Go's answer to plain HTTP on the TLS port (``tlsRecordHeaderLooksLikeHTTP`` in
``net/http/server.go``), and reading the client's certificates after the handshake.
"""

import socket
import time

from OpenSSL import SSL

from .auth import UnreadableCertificate
from .http1 import RequestReader

#: Go's net/http answer to plain HTTP on a TLS port (``tlsRecordHeaderLooksLikeHTTP``).
PLAIN_HTTP_ANSWER = b"HTTP/1.0 400 Bad Request\r\n\r\nClient sent an HTTP request to an HTTPS server.\n"
HTTP_PREFIXES = (b"GET /", b"HEAD ", b"POST ", b"PUT /", b"OPTIO")


class Closed(Exception):
    """The peer closed the connection (or the lab is stopping)."""


class Conn:
    """One client connection and where it stands: sniffing, TLS handshake, or HTTP."""

    __slots__ = (
        "sock",
        "tls",
        "client",
        "state",
        "buf",
        "reader",
        "peer_chain",
        "out",
        "close_after",
        "deadline",
        "request_deadline",
        "prefix",
        "park_seq",
        "parked",
        "h2",
    )

    def __init__(self, sock, client, deadline):
        self.sock = sock
        self.tls = None
        self.client = client
        self.state = "sniff"  # sniff -> handshake -> http; "drain" after Go's plain-HTTP answer
        self.buf = bytearray()
        self.reader = RequestReader()
        self.peer_chain = []
        self.out = b""
        self.close_after = False
        self.deadline = deadline  # handshake deadline, later the current request's
        self.request_deadline = None
        self.prefix = b""
        self.park_seq = 0
        self.parked = False
        self.h2 = None  # an H2Session when ALPN chose h2


class Yield(Exception):
    """The connection has had its turn (a client pipelining without pause); serve others first."""


class Park(Exception):
    """The connection waits for the socket (``write`` true: writable) until ``deadline``."""

    def __init__(self, deadline, write=False):
        super().__init__()
        self.deadline = deadline
        self.write = write


def sniff(conn, ctx, log):
    """Go's ``tlsRecordHeaderLooksLikeHTTP``: plain HTTP on the TLS port gets Go's 400 answer.

    A TLS record moves ``conn`` on to its handshake (``ctx``, the server context); ``log`` is the
    lab's :class:`~.requestlog.RequestLog`."""
    if not conn.prefix:
        try:
            head = conn.sock.recv(1, socket.MSG_PEEK)
        except BlockingIOError:
            raise Park(conn.deadline) from None
        if not head:  # connected and closed without a byte (a TCP probe): Go logs EOF
            log.note(f"http: TLS handshake error from {conn.client}: EOF")
            raise Closed()
        if head in (b"\x16", b"\x15"):  # a TLS handshake or alert record: OpenSSL reads it
            conn.tls = SSL.Connection(ctx, conn.sock)
            conn.tls.set_accept_state()
            conn.state = "handshake"
            return
    try:
        data = conn.sock.recv(5 - len(conn.prefix))
    except BlockingIOError:
        raise Park(conn.deadline) from None
    conn.prefix += data
    if data and len(conn.prefix) < 5:
        raise Park(conn.deadline)
    if conn.prefix in HTTP_PREFIXES:
        log.note(f"http: TLS handshake error from {conn.client}: client sent an HTTP request to an HTTPS server")
        conn.sock.send(PLAIN_HTTP_ANSWER)
        # Read what the client sent before closing, so that the kernel closes with a FIN
        # rather than a reset and the client gets to read the answer.
        conn.sock.shutdown(socket.SHUT_WR)
        conn.state, conn.deadline = "drain", time.monotonic() + 2
        return
    log.note(
        f"http: TLS handshake error from {conn.client}: "
        + ("tls: first record does not look like a TLS handshake" if data else "EOF")
    )
    raise Closed()


def drain(conn):
    """Read (and drop) what a plain-HTTP client still sends, until it closes."""
    while True:
        try:
            if not conn.sock.recv(65536):
                raise Closed()
        except BlockingIOError:
            raise Park(conn.deadline) from None


def peer_chain(tls):
    """The certificates the client sent, leaf first, as ``cryptography`` objects.

    A certificate that ``cryptography`` cannot read becomes an
    :class:`~k8sauthlib.lab.auth.UnreadableCertificate`, which the authenticator turns into a 401.
    """
    try:
        leaf = tls.get_peer_certificate(as_cryptography=True)
    except Exception as exc:  # noqa: BLE001 - any parse failure of the client's bytes is bad input
        return [UnreadableCertificate(str(exc) or exc.__class__.__name__)]
    if leaf is None:
        return []
    try:
        sent = tls.get_peer_cert_chain(as_cryptography=True) or []
    except Exception:  # noqa: BLE001 - an unreadable intermediate only cannot help to verify
        sent = []
    # On the server side OpenSSL's chain usually omits the leaf; be robust either way.
    return [leaf] + [c for c in sent if c != leaf]


def ssl_text(exc):
    """A short text for a handshake failure (the OpenSSL reason strings)."""
    try:
        reasons = [entry[2] for entry in exc.args[0] if len(entry) >= 3]
        if reasons:
            return "; ".join(reasons)
    except (IndexError, TypeError):
        pass
    return str(exc) or exc.__class__.__name__
