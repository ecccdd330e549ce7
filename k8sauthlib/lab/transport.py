"""The lab server's connections: one event loop for waiting sockets, a few workers for ready ones.

:class:`Transport` takes a listening socket, a pyOpenSSL context and a handler
(``LabAPI.handle``: :class:`~k8sauthlib.lab.wire.Request` -> :class:`~k8sauthlib.lab.wire.Response`)
and serves TLS connections the way Go's ``net/http`` server treats them in kube-apiserver:

* no limit on connections; time limits instead (below), so idle or slow clients cannot keep
  others out;
* one event-loop thread (epoll/kqueue through :mod:`selectors`) holds every connection that
  waits for bytes: an idle keep-alive connection, a half-sent request, a handshake in
  progress. A worker thread takes a connection when its bytes arrive and serves it until it
  must wait again, then gives it back (re-registering it itself where the selector allows).
  Before giving it back, a worker with no other connection to serve waits up to
  :data:`LINGER` (5 ms) for the client's next bytes itself, which saves the trip through the
  loop for a client that answers at once (its next handshake flight, its request, its next
  request). A waiting connection costs a socket and a few buffers, no thread, and no wake-up
  until its socket is ready or its deadline passes: nothing spins;
* before TLS, the first bytes are looked at as Go does (``tlsRecordHeaderLooksLikeHTTP`` in
  ``net/http/server.go``): plain HTTP gets Go's ``400 ... Client sent an HTTP request to an
  HTTPS server.``, other non-TLS bytes ``tls: first record does not look like a TLS handshake``;
* HTTP/1.x is read by :mod:`.http1` and written in one ``send`` with ``TCP_NODELAY`` (Nagle's
  algorithm would otherwise hold back a response's last segment until the client's delayed
  ACK, about 40 ms per new connection); HTTP/2, when ALPN chose ``h2``, by :mod:`.http2`;
* a client that pipelines without pause gets :data:`TURN` requests, then waits its turn.
"""

import collections
import heapq
import itertools
import logging
import queue
import select
import selectors
import socket
import threading
import time
from urllib.parse import unquote

from OpenSSL import SSL

from .connection import (
    Closed,
    Conn,
    Park,
    Yield,
    drain,
    peer_chain,
    sniff,
    ssl_text,
)
from .http1 import BadRequest, response_bytes
from .wire import Request

logger = logging.getLogger("k8sauthlib.lab")

# kube-apiserver's http.Server (k8s.io/apiserver/pkg/server/secure_serving.go, Serve):
# ReadHeaderTimeout 32 s, IdleTimeout 90 s, no connection limit. Go's TLS handshake deadline is
# the smallest of ReadTimeout, ReadHeaderTimeout and WriteTimeout that is set (net/http
# server.go, (*conn).serve and (*Server).tlsHandshakeTimeout): 32 s here.
READ_HEADER_TIMEOUT = 32.0
IDLE_TIMEOUT = 90.0
HANDSHAKE_TIMEOUT = READ_HEADER_TIMEOUT
BODY_TIMEOUT = 60.0  # kube-apiserver's default --request-timeout bounds a request's handler
WRITE_TIMEOUT = 60.0  # a client that does not read its answer loses the connection
WORKERS = 8  # threads that serve connections with bytes ready (waiting ones need none)
TURN = 16  # requests a worker answers on one connection before serving others
LINGER = 0.005  # how long a worker waits on its connection before handing it to the loop


class Transport:
    """Serve TLS connections on ``listener`` with ``handler``; see the module docstring.

    Args:
        listener: a bound, listening, non-blocking socket.
        ctx: the pyOpenSSL server context (certificate, client-certificate request, ALPN).
        handler: ``handler(Request) -> Response``.
        log: the lab's :class:`~k8sauthlib.lab.requestlog.RequestLog` (handshake errors go to its
            ``note``).
        name: a suffix for thread names.
    """

    def __init__(self, listener, ctx, handler, log, name=""):
        self._listener = listener
        self._ctx = ctx
        self._handler = handler
        self.log = log
        self.name = name
        self._stopping = threading.Event()
        self._loop_thread = None
        self._workers = []
        self._conns = set()
        #: how often the event loop woke up (a test checks that a stalled client does not spin it)
        self.loop_wakeups = 0

    def stop(self):
        """Close every connection and end the threads (the caller closes the listener)."""
        if self._loop_thread is None:
            return
        self._stopping.set()
        try:
            self._wake_w.send(b"\0")
        except OSError:
            pass
        self._loop_thread.join(timeout=5)
        for worker in self._workers:
            worker.join(timeout=5)
        self._loop_thread, self._workers = None, []

    def start(self):
        self._selector = selectors.DefaultSelector()
        # epoll and kqueue take registrations from any thread while another waits; then a worker
        # hands a connection back itself, without waking the loop (one hop less per request).
        self._direct = isinstance(
            self._selector,
            tuple(getattr(selectors, name) for name in ("EpollSelector", "KqueueSelector") if hasattr(selectors, name)),
        )
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self._selector.register(self._listener, selectors.EVENT_READ, None)
        self._selector.register(self._wake_r, selectors.EVENT_READ, "wake")
        self._heap, self._seq, self._returned = [], itertools.count(), collections.deque()
        self._heap_lock = threading.Lock()
        self._loop_wakes_at = 0.0
        self._conns = set()
        self._work = queue.SimpleQueue()
        self._loop_thread = threading.Thread(target=self._loop, name=f"lab-loop-{self.name}", daemon=True)
        self._workers = [
            threading.Thread(target=self._worker, name=f"lab-worker-{self.name}-{i}", daemon=True)
            for i in range(WORKERS)
        ]
        for thread in [self._loop_thread] + self._workers:
            thread.start()

    def _loop(self):
        while not self._stopping.is_set():
            try:
                self._loop_once()
            except Exception:  # a bug must not stop the lab from accepting; it is logged
                logger.exception("lab: unexpected error in the event loop")
                time.sleep(0.05)
        # Close only what the loop holds (parked): closing a worker's connection under its OpenSSL
        # call can abort the process. Workers see _stopping, close theirs, then take the sentinels.
        with self._heap_lock:
            parked = [conn for conn in list(self._conns) if conn.parked]
            for conn in parked:
                conn.parked = False
                try:
                    self._selector.unregister(conn.sock)
                except (KeyError, ValueError, OSError):
                    pass
        for conn in parked:
            self._close(conn)
        for _ in self._workers:
            self._work.put(None)
        self._selector.close()
        self._wake_r.close()
        self._wake_w.close()

    def _loop_once(self):
        """Wait for sockets or the nearest deadline; dispatch, re-register, expire."""
        selector = self._selector
        with self._heap_lock:
            timeout = max(0.0, self._heap[0][0] - time.monotonic()) if self._heap else None
            self._loop_wakes_at = time.monotonic() + timeout if timeout is not None else float("inf")
        events = selector.select(timeout)
        self.loop_wakeups += 1
        for key, _mask in events:
            if key.data is None:
                self._accept()
            elif key.data == "wake":
                try:
                    while self._wake_r.recv(4096):
                        pass
                except BlockingIOError:
                    pass
            else:
                conn = key.data
                with self._heap_lock:
                    if not conn.parked:
                        continue
                    conn.parked = False
                    selector.unregister(conn.sock)
                self._work.put(conn)
        while self._returned:
            conn, park = self._returned.popleft()
            self._park_now(conn, park)
        self._expire()

    def _accept(self):
        for _ in range(64):
            try:
                sock, addr = self._listener.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:  # EMFILE and the like: say so, and let the backlog wait a moment
                self.log.note(f"http: Accept error: {exc.strerror or exc}; retrying in 50ms", logging.ERROR)
                time.sleep(0.05)
                return
            sock.setblocking(False)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            conn = Conn(sock, f"{addr[0]}:{addr[1]}", time.monotonic() + HANDSHAKE_TIMEOUT)
            self._conns.add(conn)
            self._park_now(conn, Park(conn.deadline))

    def _park_now(self, conn, park):
        """Wait for ``conn``'s socket; expire it at ``park.deadline``. Returns True when the loop
        must wake up to see it (its deadline comes before the loop's next wake-up)."""
        if conn.sock.fileno() < 0:
            return False
        with self._heap_lock:
            # Under the lock the loop also takes to close its parked connections at stop: a worker
            # either parks before that (and the loop closes it) or sees _stopping and closes it.
            stopping = self._stopping.is_set() and threading.current_thread() is not self._loop_thread
            if not stopping:
                return self._register(conn, park)
        self._close(conn)
        return False

    def _register(self, conn, park):
        """(Under the heap lock) wait on ``conn``'s socket until ``park.deadline``."""
        conn.park_seq += 1
        conn.parked = True
        heapq.heappush(self._heap, (park.deadline, next(self._seq), conn, conn.park_seq))
        if len(self._heap) > 4 * len(self._conns) + 64:  # drop entries of connections served since
            self._heap = [e for e in self._heap if e[2].parked and e[2].park_seq == e[3]]
            heapq.heapify(self._heap)
        self._selector.register(conn.sock, selectors.EVENT_WRITE if park.write else selectors.EVENT_READ, conn)
        return park.deadline < self._loop_wakes_at

    def _expire(self):
        now = time.monotonic()
        expired = []
        with self._heap_lock:
            while self._heap and self._heap[0][0] <= now:
                _deadline, _seq, conn, park_seq = heapq.heappop(self._heap)
                if conn.parked and conn.park_seq == park_seq:
                    self._selector.unregister(conn.sock)
                    conn.parked = False
                    expired.append(conn)
        for conn in expired:
            if conn.state in ("sniff", "handshake"):
                try:
                    local = "{}:{}".format(*conn.sock.getsockname()[:2])
                except OSError:
                    local = "?"
                self.log.note(
                    f"http: TLS handshake error from {conn.client}: read tcp {local}->{conn.client}: i/o timeout"
                )
            self._close(conn)  # Go closes a connection whose header or idle time ran out, silently

    def _hand_back(self, conn, park):
        """(Worker) give ``conn`` back to the loop to wait on its socket."""
        if self._stopping.is_set():
            self._close(conn)
            return
        if self._direct:
            if not self._park_now(conn, park):
                return
        else:
            self._returned.append((conn, park))
        try:
            self._wake_w.send(b"\0")
        except (BlockingIOError, OSError):
            pass  # a wake-up byte is already pending, or the lab is stopping

    def _close(self, conn):
        if conn.tls is not None and conn.state == "http":
            try:
                conn.tls.shutdown()  # close_notify, as Go's conn.Close does
            except (SSL.Error, OSError):
                pass
        try:
            conn.sock.close()
        except OSError:
            pass
        self._conns.discard(conn)

    def _worker(self):
        while True:
            conn = self._work.get()
            if conn is None:
                return
            self._run(conn)

    def _run(self, conn):
        """Serve ``conn`` until it must wait longer than :data:`LINGER`, then hand it back."""
        while True:
            try:
                if self._stopping.is_set():
                    raise Closed()
                if conn.state == "sniff":
                    sniff(conn, self._ctx, self.log)
                if conn.state == "handshake":
                    self._handshake(conn)
                if conn.state == "drain":
                    drain(conn)
                self._serve(conn)
            except Park as park:
                if self._linger(conn, park):
                    continue
                self._hand_back(conn, park)
            except Yield:
                self._work.put(conn)
            except (Closed, SSL.Error, OSError):
                self._close(conn)
            except Exception:  # a bug must not take the lab down; it is logged with its traceback
                logger.exception("lab: unexpected error on connection from %s", conn.client)
                self._close(conn)
            return

    def _linger(self, conn, park):
        """Wait up to :data:`LINGER` on ``conn``'s socket in this worker; True when it is ready.

        A client's next flight (its certificate after the server's, its request after the
        handshake, its next request on a kept-alive connection) mostly comes within a
        millisecond or two; waiting for it here saves the trip through the event loop (two
        thread wake-ups and a selector registration). Only when no other connection waits for
        a worker: a queue of ready connections is served first.
        """
        wait = min(LINGER, park.deadline - time.monotonic())
        if wait <= 0 or not self._work.empty() or self._stopping.is_set():
            return False
        poller = select.poll()
        poller.register(conn.sock, select.POLLOUT if park.write else select.POLLIN)
        try:
            return bool(poller.poll(wait * 1000))
        except (OSError, ValueError):
            return False

    def _handshake(self, conn):
        try:
            conn.tls.do_handshake()
        except SSL.WantReadError:
            raise Park(conn.deadline) from None
        except SSL.WantWriteError:
            raise Park(conn.deadline, write=True) from None
        except (SSL.ZeroReturnError, SSL.SysCallError):
            self.log.note(f"http: TLS handshake error from {conn.client}: EOF")
            raise Closed() from None
        except SSL.Error as exc:
            self.log.note(f"http: TLS handshake error from {conn.client}: {ssl_text(exc)}")
            raise Closed() from None
        conn.peer_chain = peer_chain(conn.tls)
        conn.state = "http"
        if conn.tls.get_alpn_proto_negotiated() == b"h2":
            from .http2 import H2Session  # h2 and hpack load on the first HTTP/2 client (~45 ms)

            conn.h2 = H2Session()
            conn.out = conn.h2.start()

    def _serve(self, conn):
        """Answer every complete request; raise Park when more bytes (or room to write) are needed."""
        if conn.h2 is not None:
            return self._serve_h2(conn)
        served = 0
        while True:
            if conn.out:
                self._flush(conn)
                if conn.close_after:
                    raise Closed()
            if self._stopping.is_set():
                raise Closed()
            if served >= TURN:
                raise Yield()  # its next requests wait in conn.buf (and the socket)
            try:
                parsed = conn.reader.feed(conn.buf)
            except BadRequest as exc:
                conn.out, conn.close_after = exc.answer(), True
                continue
            if parsed is not None:
                served += 1
                conn.request_deadline = None
                conn.out, conn.close_after = self._respond(conn, parsed), not parsed.keep_alive
                continue
            if conn.reader.continue_due:
                conn.reader.continue_due = False
                conn.request_deadline = time.monotonic() + BODY_TIMEOUT
                conn.out = b"HTTP/1.1 100 Continue\r\n\r\n"
                continue
            self._receive(conn)

    def _receive(self, conn):
        try:
            data = conn.tls.recv(65536)
        except SSL.WantReadError:
            if conn.request_deadline is None:
                raise Park(time.monotonic() + IDLE_TIMEOUT) from None
            raise Park(conn.request_deadline) from None
        except SSL.WantWriteError:
            raise Park(conn.request_deadline or time.monotonic() + IDLE_TIMEOUT, write=True) from None
        except (SSL.ZeroReturnError, SSL.SysCallError):
            raise Closed() from None
        if not data:
            raise Closed()
        if conn.request_deadline is None:
            # Go's ReadHeaderTimeout runs from the first byte of a request.
            conn.request_deadline = time.monotonic() + READ_HEADER_TIMEOUT
        conn.buf += data

    def _flush(self, conn):
        while conn.out:
            try:
                sent = conn.tls.send(conn.out)
            except SSL.WantWriteError:
                raise Park(time.monotonic() + WRITE_TIMEOUT, write=True) from None
            except SSL.WantReadError:
                raise Park(time.monotonic() + WRITE_TIMEOUT) from None
            except (SSL.ZeroReturnError, SSL.SysCallError):
                raise Closed() from None
            conn.out = conn.out[sent:]

    def _serve_h2(self, conn):
        from .http2 import H2Closed

        session, served = conn.h2, 0
        while True:
            if conn.out:
                self._flush(conn)
            if conn.close_after or self._stopping.is_set():
                raise Closed()
            if conn.buf:
                data, conn.buf = bytes(conn.buf), bytearray()
                try:
                    done = session.feed(data)
                except H2Closed:
                    conn.out, conn.close_after = session.data_to_send(), True
                    continue
                for stream_id, parsed in done:
                    session.respond(stream_id, self._handle(conn, parsed), parsed.method == "HEAD")
                conn.out += session.data_to_send()
                if not session.waiting:
                    conn.request_deadline = None
                served += len(done)
                if served >= TURN:
                    self._flush(conn)
                    raise Yield()
                continue
            self._receive(conn)

    def _handle(self, conn, parsed):
        path, _, query = parsed.target.partition("?")
        request = Request(
            method=parsed.method,
            path=unquote(path),
            query=query,
            headers=parsed.headers,
            body=parsed.body,
            peer_chain=conn.peer_chain,
            client=conn.client,
        )
        return self._handler(request)

    def _respond(self, conn, parsed):
        response = self._handle(conn, parsed)
        return response_bytes(
            response.status,
            response.content_type,
            response.headers,
            response.body,
            parsed.keep_alive,
            parsed.method == "HEAD",
            parsed.version == "HTTP/1.0",
        )
