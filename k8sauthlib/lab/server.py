"""The lab's HTTPS server: TLS like kube-apiserver's, an event loop for waiting connections, a request log.

TLS. kube-apiserver only *requests* a client certificate (``tls.RequestClientCert``) and leaves
its verification to the authenticator, so a certificate from a foreign CA, an expired one or one
without ``clientAuth`` completes the handshake and then gets HTTP 401 (K8S-FACTS.md 1.1). Python's
``ssl`` module cannot do that (``CERT_OPTIONAL`` aborts the handshake on an unknown CA), so the
lab uses pyOpenSSL with ``VERIFY_PEER`` and a verify callback that accepts everything; the chain
is verified per request by :class:`~k8sauthlib.lab.auth.X509Authenticator` with
:func:`k8sauthlib.verify_chain`. Like Go's server, the lab sends the names of the
``--client-ca-file`` CAs in its CertificateRequest, offers ``h2`` then ``http/1.1`` by ALPN
(kubectl and curl then speak HTTP/2, see :mod:`k8sauthlib.lab.http2`), and answers a plain-HTTP request on the TLS port with Go's
``Client sent an HTTP request to an HTTPS server.``

Connections. As in kube-apiserver (Go's ``net/http``), there is no limit on connections, and
time limits do the work: 32 s for the TLS handshake and for a request's header from its first
byte (``ReadHeaderTimeout``), 90 s for an idle keep-alive connection (``IdleTimeout``). One
event-loop thread waits on every connection that waits for bytes -- an idle keep-alive
connection, a half-sent request, a handshake in progress -- and a few worker threads serve the
connections whose bytes have arrived, so a thousand idle or stalled clients cost sockets and
buffers, not threads, and never keep a new client out. Nothing polls: the loop sleeps until a
socket is ready or the nearest deadline. Responses go out in one write with ``TCP_NODELAY``
(Nagle's algorithm would otherwise hold back the last segment until the client's delayed ACK,
about 40 ms per new connection). HTTP/1.x is read by :mod:`k8sauthlib.lab.http1`, as strictly
as Go reads it; HTTP/2 is :mod:`k8sauthlib.lab.http2` on python-hyper's ``h2``.

Flags. On start the lab reads the kube-apiserver static Pod manifest of its kubeadm tree
(``manifests/kube-apiserver.yaml``, through :class:`k8sauthlib.KubeadmTree`, which maps
``/etc/kubernetes/...`` paths into the lab's directory): ``--client-ca-file``,
``--tls-cert-file``, ``--tls-private-key-file``, ``--anonymous-auth``, ``--authorization-mode``,
the ``--requestheader-*`` flags of the front-proxy authenticator (used when the CA file exists)
and ``--secure-port`` (the default port of ``k8sauthlib lab up``). Edit the file and restart
the lab, and it behaves accordingly, as kubelet restarts kube-apiserver when its manifest
changes. Other flags are shown in the mirror pod but have no effect.

Logging. Every request is one line on the ``k8sauthlib.lab`` logger and in an in-memory ring
(:meth:`LabServer.log_lines`, :meth:`LabServer.log_records`): user, groups, verb, URI, status,
the authorization decision and its reason. A refused certificate first gets kube-apiserver's
own line, ``"Unable to authenticate the request" err="..."``. No key material is ever logged.
"""

import collections
import heapq
import itertools
import logging
import os
import queue
import selectors
import socket
import struct
import threading
import time
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import unquote

from OpenSSL import SSL

from ..errors import InputError, K8sAuthError
from .api import LabAPI, Request, load_mirror_pods
from .auth import Authorizer, RequestHeaderConfig, UnreadableCertificate, X509Authenticator
from .http1 import BadRequest, RequestReader, response_bytes
from .http2 import H2Closed, H2Session
from .rbac import PolicyFiles

logger = logging.getLogger("k8sauthlib.lab")
# A library logs, the application decides where to: without this, Python's last-resort handler
# would print every refused certificate to a notebook's stderr. `k8sauthlib lab up` and
# notebooks that want the lines add a handler (or read LabServer.log_lines()).
logger.addHandler(logging.NullHandler())

# kube-apiserver's http.Server (k8s.io/apiserver/pkg/server/secure_serving.go, Serve):
# ReadHeaderTimeout 32 s, IdleTimeout 90 s, no connection limit. Go's TLS handshake deadline is
# the smallest of ReadTimeout, ReadHeaderTimeout and WriteTimeout that is set (net/http
# server.go, (*conn).serve and (*Server).tlsHandshakeTimeout): 32 s here.
READ_HEADER_TIMEOUT = 32.0
IDLE_TIMEOUT = 90.0
HANDSHAKE_TIMEOUT = READ_HEADER_TIMEOUT
BODY_TIMEOUT = 60.0           # kube-apiserver's default --request-timeout bounds a request's handler
WRITE_TIMEOUT = 60.0          # a client that does not read its answer loses the connection
WORKERS = 8                   # threads that serve connections with bytes ready (waiting ones need none)
TURN = 16                     # requests a worker answers on one connection before serving others

#: Go's net/http answer to plain HTTP on a TLS port (``tlsRecordHeaderLooksLikeHTTP``).
_PLAIN_HTTP_ANSWER = b"HTTP/1.0 400 Bad Request\r\n\r\nClient sent an HTTP request to an HTTPS server.\n"
_HTTP_PREFIXES = (b"GET /", b"HEAD ", b"POST ", b"PUT /", b"OPTIO")


class LabError(K8sAuthError):
    """The lab cannot start (missing file, bad manifest, port in use)."""


class _Closed(Exception):
    """The peer closed the connection (or the lab is stopping)."""


def read_manifest_flags(manifest_path):
    """The ``--flag=value`` arguments of a static Pod manifest's first container, as a dict.

    The same reading as :meth:`k8sauthlib.KubeadmTree.component_flags` (which the lab uses),
    for any manifest file: ``command`` then ``args``; a bare ``--flag`` is ``"true"`` (Go's
    pflag for booleans); a repeated flag keeps its last value.

    Raises:
        LabError: the file is missing, not YAML, or not a Pod with a container.
    """
    import yaml

    path = Path(manifest_path)
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise LabError(f"{path}: no such file; the lab reads the API server's flags from it") from None
    except yaml.YAMLError as exc:
        raise LabError(f"{path}: not valid YAML: {exc}") from None
    containers = ((doc or {}).get("spec") or {}).get("containers") if isinstance(doc, dict) else None
    if not containers or not isinstance(containers[0], dict):
        raise LabError(f"{path}: not a Pod manifest with a container")
    flags = {}
    for arg in [str(a) for a in (containers[0].get("command") or []) + (containers[0].get("args") or [])]:
        if arg.startswith("--"):
            name, sep, value = arg[2:].partition("=")
            flags.pop(name, None)
            flags[name] = value if sep else "true"
    return flags


def _parse_bool(value, flag):
    text = str(value).strip().lower()
    if text in ("1", "t", "true"):
        return True
    if text in ("0", "f", "false"):
        return False
    raise LabError(f"--{flag}={value}: invalid boolean (Go's strconv.ParseBool accepts 1, t, true, 0, f, false)")


# --------------------------------------------------------------------------------- logging
class RequestLog:
    """The lab's request log: lines for the ``k8sauthlib.lab`` logger and an in-memory ring.

    Lines have klog's header, as in ``kubectl logs`` of a kube-apiserver pod
    (``E1129 10:15:35.123456   12345 lab] "Unable to authenticate the request" err="..."``),
    with ``lab`` where kube-apiserver names its source file, so that a reader can tell the two
    apart.
    """

    _LETTERS = {logging.DEBUG: "I", logging.INFO: "I", logging.WARNING: "W", logging.ERROR: "E", logging.CRITICAL: "F"}

    def __init__(self, size=2000):
        self._lines = collections.deque(maxlen=size)
        self._records = collections.deque(maxlen=size)
        self._lock = threading.Lock()

    def _emit(self, level, message, record=None):
        now = datetime.now()
        header = f"{self._LETTERS.get(level, 'I')}{now:%m%d %H:%M:%S.%f} {os.getpid():>7} lab] "
        with self._lock:
            self._lines.append((header, message))
            if record is not None:
                self._records.append(record)
        logger.log(level, "%s%s", header, message)

    def request(self, record):
        """Log one request record from :class:`~k8sauthlib.lab.api.LabAPI` (never key material)."""
        if record.get("auth_error"):
            # kube-apiserver: klog.ErrorS(err, "Unable to authenticate the request")
            self._emit(logging.ERROR, f'"Unable to authenticate the request" err="{_escape(record["auth_error"])}"')
        groups = ",".join(f'"{_escape(g)}"' for g in record.get("groups") or [])
        user = "<none>" if record.get("user") is None else f'"{_escape(record["user"])}"'
        line = (f'"HTTP" verb="{record["verb"]}" URI="{_escape(record["uri"])}" user={user} groups=[{groups}] '
                f'decision="{record["decision"]}" authorizer="{record.get("authorizer") or ""}" '
                f'reason="{_escape(record.get("reason") or "")}" '
                f'resp={record["status"]} audit-ID="{record["audit_id"]}" srcIP="{record["client"]}" '
                f'userAgent="{_escape(record.get("user_agent") or "")}"')
        record = dict(record, time=datetime.now(timezone.utc))
        self._emit(logging.INFO, line, record)

    def note(self, line, level=logging.INFO):
        self._emit(level, line)

    def lines(self):
        with self._lock:
            return [header + message for header, message in self._lines]

    def messages(self):
        with self._lock:
            return [message for _header, message in self._lines]

    def records(self):
        with self._lock:
            return list(self._records)

    def clear(self):
        with self._lock:
            self._lines.clear()
            self._records.clear()


def _escape(text):
    return str(text).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


# ------------------------------------------------------------------------- connections
class _Conn:
    """One client connection and where it stands: sniffing, TLS handshake, or HTTP."""

    __slots__ = ("sock", "tls", "client", "state", "buf", "reader", "peer_chain", "out", "close_after",
                 "deadline", "request_deadline", "prefix", "park_seq", "parked", "h2")

    def __init__(self, sock, client, deadline):
        self.sock = sock
        self.tls = None
        self.client = client
        self.state = "sniff"        # sniff -> handshake -> http; "drain" after Go's plain-HTTP answer
        self.buf = bytearray()
        self.reader = RequestReader()
        self.peer_chain = []
        self.out = b""
        self.close_after = False
        self.deadline = deadline    # handshake deadline, later the current request's
        self.request_deadline = None
        self.prefix = b""
        self.park_seq = 0
        self.parked = False
        self.h2 = None              # an H2Session when ALPN chose h2


class _Yield(Exception):
    """The connection has had its turn (a client pipelining without pause); serve others first."""


class _Park(Exception):
    """The connection waits for the socket (``write`` true: writable) until ``deadline``."""

    def __init__(self, deadline, write=False):
        super().__init__()
        self.deadline = deadline
        self.write = write


# ----------------------------------------------------------------------------- the server
class LabServer:
    """A local API server that answers like kube-apiserver where the book looks.

    Usage::

        with k8s.LabServer("work/lab") as lab:     # creates the kubeadm-like tree if missing
            print(lab.url)                          # https://127.0.0.1:<port>
            ...                                     # kubectl / curl / the Python client
            lab.log_lines()                         # what the API server logged

    Args:
        directory: the lab's kubeadm tree (``pki/``, ``admin.conf``, ``manifests/``; the
            equivalent of ``/etc/kubernetes``). Created with kubeadm's defaults when it has no
            ``manifests/kube-apiserver.yaml`` and ``create`` is true.
        port: TCP port on ``host``; ``None`` or ``0`` picks a free one. (The manifest's
            ``--secure-port`` is reported in :attr:`flags` but the lab listens where told, so
            that several labs and tests can run side by side.)
        host: listen address (default ``127.0.0.1``).
        node_name: the node name in mirror pod names (``kube-apiserver-<node_name>``); default
            the tree's node name (the first DNS SAN of ``apiserver.crt``, as kubeadm writes it).
        rbac_dir: directory of extra RBAC YAML files (default ``<directory>/lab/rbac``). They
            are re-read whenever a file there changes, so writing a RoleBinding file has the
            effect ``kubectl apply`` has on a cluster.
        create: create a missing tree (default true) with
            :meth:`k8sauthlib.KubeadmTree.create_lab`.

    Once it listens, the lab points the tree's ``admin.conf`` and ``super-admin.conf`` at its
    URL (:meth:`k8sauthlib.KubeadmTree.set_server`), so ``kubectl --kubeconfig admin.conf``
    works on whatever port the lab got, as it does on a node.

    Raises:
        LabError: a file named by the manifest is missing, or the port is taken.
    """

    def __init__(self, directory, port=None, *, host="127.0.0.1", node_name=None, rbac_dir=None, create=True):
        from ..kubeadm import KubeadmTree
        self.directory = Path(directory)
        self.tree = KubeadmTree(self.directory)
        self.host = host
        self.requested_port = port or 0
        self.node_name = node_name
        self.rbac_dir = Path(rbac_dir) if rbac_dir is not None else self.tree.rbac_dir
        self.create = create
        self.port = None
        self.flags = {}
        self.started_at = None
        self.log = RequestLog()
        self._stopping = threading.Event()
        self._listener = None
        self._loop_thread = None
        self._workers = []
        self._conns = set()
        #: how often the event loop woke up (a test checks that a stalled client does not spin it)
        self.loop_wakeups = 0
        self.api = None

    # ------------------------------------------------------------------ public
    @property
    def manifest_path(self):
        return self.tree.apiserver_manifest

    @property
    def url(self):
        """``https://127.0.0.1:<port>`` (the name the lab's API server certificate is valid for)."""
        if self.port is None:
            raise LabError("the lab is not running; call start() or use it as a context manager")
        return f"https://{self.host}:{self.port}"

    @property
    def ca_file(self):
        """The ``--client-ca-file`` (kubeadm: ``pki/ca.crt``), which also signed the server certificate."""
        return self._path_flag("client-ca-file")

    def log_lines(self):
        """The lines the lab logged so far (newest last; at most the last 2000)."""
        return self.log.lines()

    def log_messages(self):
        """The same lines without klog's header: ``"Unable to authenticate the request" err="..."``."""
        return self.log.messages()

    def log_records(self):
        """One dict per request: user, groups, verb, uri, status, decision, reason, auth_error, ..."""
        return self.log.records()

    def start(self):
        """Read the manifest, load certificates and RBAC, listen, and wait until TLS answers."""
        if self._loop_thread is not None:
            raise LabError("the lab is already running")
        self._ensure_tree()
        try:
            self.flags = self.tree.apiserver_flags()
        except InputError as exc:
            raise LabError(str(exc)) from None
        if self.node_name is None:
            try:
                self.node_name = self.tree.node_name
            except (InputError, OSError, ValueError):
                self.node_name = "lab"
        self._stopping.clear()
        ctx, authenticator = self._tls_and_authn()
        modes = [m.strip() for m in self.flags.get("authorization-mode", "Node,RBAC").split(",") if m.strip()]
        unknown = set(modes) - {"Node", "RBAC", "AlwaysAllow", "AlwaysDeny"}
        if unknown:
            raise LabError(f"--authorization-mode: the lab does not implement {', '.join(sorted(unknown))}")
        if "AlwaysAllow" in modes and authenticator.anonymous:
            # kube-apiserver: "AnonymousAuth is not allowed with the AlwaysAllow authorizer. Resetting AnonymousAuth to false."
            authenticator.anonymous = False
        try:
            policy = PolicyFiles(self.rbac_dir, on_error=lambda message: self.log.note(message, logging.ERROR))
        except InputError as exc:
            raise LabError(str(exc)) from None
        self.started_at = datetime.now(timezone.utc).replace(microsecond=0)
        pods = load_mirror_pods(self.manifest_path.parent, self.node_name, self.started_at)
        listener = socket.socket(socket.AF_INET6 if ":" in self.host else socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            listener.bind((self.host, self.requested_port))
        except OSError as exc:
            listener.close()
            raise LabError(f"cannot listen on {self.host}:{self.requested_port}: {exc.strerror}") from None
        listener.listen(1024)
        listener.setblocking(False)
        self._listener = listener
        self.port = listener.getsockname()[1]
        self._ctx = ctx
        self.api = LabAPI(authenticator, Authorizer(policy, modes), pods, f"{self.host}:{self.port}",
                          self.started_at, log=self.log.request)
        self._start_loop()
        self._wait_ready()
        try:
            self.tree.set_server(self.url)
        except (InputError, OSError) as exc:
            self.log.note(f"admin.conf not pointed at {self.url}: {exc}", logging.WARNING)
        self.log.note(f'"Serving securely" address="{self.host}:{self.port}" anonymous-auth={str(authenticator.anonymous).lower()} '
                      f'authorization-mode="{",".join(modes)}" rbac-files={len(policy.current().sources)} mirror-pods={len(pods)}')
        return self

    def stop(self):
        """Stop accepting, close every connection and end the lab's threads."""
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
        if self._listener is not None:
            self._listener.close()
            self._listener = None
        self.port = None

    def restart(self):
        """Stop and start again on the same port, re-reading the manifest (kubelet's restart)."""
        port = self.port
        self.stop()
        if port:
            self.requested_port = port
        return self.start()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def __repr__(self):
        state = self.url if self.port else "stopped"
        return f"<LabServer {self.directory} {state}>"

    # ----------------------------------------------------------------- startup
    def _ensure_tree(self):
        if self.tree.exists():
            return
        if not self.create:
            raise LabError(f"{self.directory} is not a kubeadm tree (no pki/ca.crt or "
                           f"manifests/kube-apiserver.yaml) and create=False")
        from ..kubeadm import KubeadmTree
        try:
            KubeadmTree.create_lab(self.directory)
        except InputError as exc:
            raise LabError(str(exc)) from None

    def _path_flag(self, name, required=True):
        if not self.flags and self.tree.exists():
            try:
                self.flags = self.tree.apiserver_flags()   # e.g. ca_file asked before start()
            except InputError as exc:
                raise LabError(str(exc)) from None
        value = self.flags.get(name)
        if not value:
            if required:
                raise LabError(f"{self.manifest_path}: kube-apiserver flag --{name} is not set")
            return None
        # The manifest names /etc/kubernetes/...; in the lab that is the lab's directory.
        return self.tree.map_path(value)

    def _read_certs(self, flag):
        from cryptography import x509
        path = self._path_flag(flag)
        try:
            certs = x509.load_pem_x509_certificates(path.read_bytes())
        except (OSError, ValueError) as exc:
            raise LabError(f"--{flag}={path}: {exc}") from None
        if not certs:
            raise LabError(f"--{flag}={path}: no certificate in the file")
        return certs

    def _tls_and_authn(self):
        client_ca = self._read_certs("client-ca-file")
        requestheader = None
        if self.flags.get("requestheader-client-ca-file"):
            if not self.flags.get("requestheader-username-headers"):
                pass  # kube-apiserver builds no request header authenticator without username headers
            elif self._path_flag("requestheader-client-ca-file").exists():
                def names(flag, default):
                    value = self.flags.get(flag)
                    return tuple(v for v in value.split(",") if v) if value is not None else default
                requestheader = RequestHeaderConfig(
                    ca=self._read_certs("requestheader-client-ca-file"),
                    allowed_names=names("requestheader-allowed-names", ()),
                    username_headers=names("requestheader-username-headers", ()),
                    group_headers=names("requestheader-group-headers", ()),
                    extra_prefixes=names("requestheader-extra-headers-prefix", ()))
            else:
                # kube-apiserver would not start; the lab runs without the front-proxy
                # authenticator and says so.
                self.log.note(f'--requestheader-client-ca-file={self.flags["requestheader-client-ca-file"]}: '
                              f"no such file in the lab; the front-proxy (request header) authenticator is off",
                              logging.WARNING)
        cert_file, key_file = self._path_flag("tls-cert-file"), self._path_flag("tls-private-key-file")
        ctx = SSL.Context(SSL.TLS_SERVER_METHOD)
        ctx.set_min_proto_version(SSL.TLS1_2_VERSION)
        try:
            ctx.use_certificate_chain_file(str(cert_file))
            ctx.use_privatekey_file(str(key_file))
            ctx.check_privatekey()
        except SSL.Error as exc:
            raise LabError(f"--tls-cert-file={cert_file} / --tls-private-key-file={key_file}: {exc}") from None
        # Request, never require, a client certificate; verification happens per request.
        ctx.set_verify(SSL.VERIFY_PEER, lambda conn, cert, errno, depth, ok: True)
        for ca_cert in client_ca:
            ctx.add_client_ca(ca_cert)
        ctx.set_session_id(b"k8sauthlib-lab")
        # No resumption: every connection presents (and we verify) its certificate afresh.
        ctx.set_options(SSL.OP_NO_TICKET | SSL.OP_NO_COMPRESSION | SSL.OP_NO_RENEGOTIATION)
        ctx.set_session_cache_mode(SSL.SESS_CACHE_OFF)

        def alpn(conn, offered):
            # Go's server picks by its own order, h2 then http/1.1 (crypto/tls negotiateALPN).
            for proto in (b"h2", b"http/1.1"):
                if proto in offered:
                    return proto
            return SSL.NO_OVERLAPPING_PROTOCOLS

        ctx.set_alpn_select_callback(alpn)
        anonymous = _parse_bool(self.flags.get("anonymous-auth", "true"), "anonymous-auth")
        return ctx, X509Authenticator(client_ca, anonymous=anonymous, requestheader=requestheader)

    def _wait_ready(self):
        """Wait until a TLS handshake with the lab succeeds (it normally does at once)."""
        deadline = time.monotonic() + 10
        while True:
            try:
                with socket.create_connection((self.host, self.port), timeout=2) as sock:
                    # pyOpenSSL needs a blocking socket here; SO_RCVTIMEO still bounds the wait.
                    sock.settimeout(None)
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, struct.pack("ll", 2, 0))
                    tls = SSL.Connection(SSL.Context(SSL.TLS_CLIENT_METHOD), sock)
                    tls.set_connect_state()
                    tls.do_handshake()
                    tls.shutdown()
                return
            except (OSError, SSL.Error):
                if time.monotonic() > deadline:
                    self.stop()
                    raise LabError(f"the lab on {self.host}:{self.port} did not answer TLS within 10 s") from None
                time.sleep(0.05)

    # ------------------------------------------------------------ connections
    # One event-loop thread waits on the listener and on every connection that waits for bytes
    # (idle keep-alive, half-sent requests, handshakes); a connection with bytes to read or
    # write goes to a small pool of worker threads, which serve it until it must wait again
    # and then hand it back. A waiting connection costs a socket and a few buffers, no thread,
    # and no wake-up until its socket is ready or its deadline passes.
    def _start_loop(self):
        self._selector = selectors.DefaultSelector()
        # epoll and kqueue take registrations from any thread while another waits; then a worker
        # hands a connection back itself, without waking the loop (one hop less per request).
        self._direct = isinstance(self._selector, tuple(getattr(selectors, name) for name in
                                                         ("EpollSelector", "KqueueSelector")
                                                         if hasattr(selectors, name)))
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
        self._loop_thread = threading.Thread(target=self._loop, name=f"lab-loop-{self.port}", daemon=True)
        self._workers = [threading.Thread(target=self._worker, name=f"lab-worker-{self.port}-{i}", daemon=True)
                         for i in range(WORKERS)]
        for thread in [self._loop_thread] + self._workers:
            thread.start()

    def _loop(self):
        while not self._stopping.is_set():
            try:
                self._loop_once()
            except Exception:  # a bug must not stop the lab from accepting; it is logged
                logger.exception("lab: unexpected error in the event loop")
                time.sleep(0.05)
        for conn in list(self._conns):
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
            except OSError as exc:   # EMFILE and the like: say so, and let the backlog wait a moment
                self.log.note(f"http: Accept error: {exc.strerror or exc}; retrying in 50ms", logging.ERROR)
                time.sleep(0.05)
                return
            sock.setblocking(False)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            conn = _Conn(sock, f"{addr[0]}:{addr[1]}", time.monotonic() + HANDSHAKE_TIMEOUT)
            self._conns.add(conn)
            self._park_now(conn, _Park(conn.deadline))

    def _park_now(self, conn, park):
        """Wait for ``conn``'s socket; expire it at ``park.deadline``. Returns True when the loop
        must wake up to see it (its deadline comes before the loop's next wake-up)."""
        if conn.sock.fileno() < 0:
            return False
        with self._heap_lock:
            conn.park_seq += 1
            conn.parked = True
            heapq.heappush(self._heap, (park.deadline, next(self._seq), conn, conn.park_seq))
            if len(self._heap) > 4 * len(self._conns) + 64:    # drop entries of connections served since
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
                self.log.note(f"http: TLS handshake error from {conn.client}: read tcp: i/o timeout")
            self._close(conn)   # Go closes a connection whose header or idle time ran out, silently

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
            pass    # a wake-up byte is already pending, or the lab is stopping

    def _close(self, conn):
        if conn.tls is not None and conn.state == "http":
            try:
                conn.tls.shutdown()     # close_notify, as Go's conn.Close does
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
            try:
                if self._stopping.is_set():
                    raise _Closed()
                if conn.state == "sniff":
                    self._sniff(conn)
                if conn.state == "handshake":
                    self._handshake(conn)
                if conn.state == "drain":
                    self._drain(conn)
                self._serve(conn)
            except _Park as park:
                self._hand_back(conn, park)
            except _Yield:
                self._work.put(conn)
            except (_Closed, SSL.Error, OSError):
                self._close(conn)
            except Exception:  # a bug must not take the lab down; it is logged with its traceback
                logger.exception("lab: unexpected error on connection from %s", conn.client)
                self._close(conn)

    def _sniff(self, conn):
        """Go's ``tlsRecordHeaderLooksLikeHTTP``: plain HTTP on the TLS port gets Go's 400 answer."""
        if not conn.prefix:
            try:
                head = conn.sock.recv(1, socket.MSG_PEEK)
            except BlockingIOError:
                raise _Park(conn.deadline) from None
            if not head:
                raise _Closed()
            if head in (b"\x16", b"\x15"):          # a TLS handshake or alert record: OpenSSL reads it
                conn.tls = SSL.Connection(self._ctx, conn.sock)
                conn.tls.set_accept_state()
                conn.state = "handshake"
                return
        try:
            data = conn.sock.recv(5 - len(conn.prefix))
        except BlockingIOError:
            raise _Park(conn.deadline) from None
        conn.prefix += data
        if data and len(conn.prefix) < 5:
            raise _Park(conn.deadline)
        if conn.prefix in _HTTP_PREFIXES:
            self.log.note(f"http: TLS handshake error from {conn.client}: client sent an HTTP request to an HTTPS server")
            conn.sock.send(_PLAIN_HTTP_ANSWER)
            # Read what the client sent before closing, so that the kernel closes with a FIN
            # rather than a reset and the client gets to read the answer.
            conn.sock.shutdown(socket.SHUT_WR)
            conn.state, conn.deadline = "drain", time.monotonic() + 2
            return
        self.log.note(f"http: TLS handshake error from {conn.client}: "
                      + ("tls: first record does not look like a TLS handshake" if data else "EOF"))
        raise _Closed()

    def _drain(self, conn):
        while True:
            try:
                if not conn.sock.recv(65536):
                    raise _Closed()
            except BlockingIOError:
                raise _Park(conn.deadline) from None

    def _handshake(self, conn):
        try:
            conn.tls.do_handshake()
        except SSL.WantReadError:
            raise _Park(conn.deadline) from None
        except SSL.WantWriteError:
            raise _Park(conn.deadline, write=True) from None
        except (SSL.ZeroReturnError, SSL.SysCallError):
            self.log.note(f"http: TLS handshake error from {conn.client}: EOF")
            raise _Closed() from None
        except SSL.Error as exc:
            self.log.note(f"http: TLS handshake error from {conn.client}: {_ssl_text(exc)}")
            raise _Closed() from None
        conn.peer_chain = _peer_chain(conn.tls)
        conn.state = "http"
        if conn.tls.get_alpn_proto_negotiated() == b"h2":
            conn.h2 = H2Session()
            conn.out = conn.h2.start()

    def _serve(self, conn):
        """Answer every complete request; raise _Park when more bytes (or room to write) are needed."""
        if conn.h2 is not None:
            return self._serve_h2(conn)
        served = 0
        while True:
            if conn.out:
                self._flush(conn)
                if conn.close_after:
                    raise _Closed()
            if self._stopping.is_set():
                raise _Closed()
            if served >= TURN:
                raise _Yield()      # its next requests wait in conn.buf (and the socket)
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
                raise _Park(time.monotonic() + IDLE_TIMEOUT) from None
            raise _Park(conn.request_deadline) from None
        except SSL.WantWriteError:
            raise _Park(conn.request_deadline or time.monotonic() + IDLE_TIMEOUT, write=True) from None
        except (SSL.ZeroReturnError, SSL.SysCallError):
            raise _Closed() from None
        if not data:
            raise _Closed()
        if conn.request_deadline is None:
            # Go's ReadHeaderTimeout runs from the first byte of a request.
            conn.request_deadline = time.monotonic() + READ_HEADER_TIMEOUT
        conn.buf += data

    def _flush(self, conn):
        while conn.out:
            try:
                sent = conn.tls.send(conn.out)
            except SSL.WantWriteError:
                raise _Park(time.monotonic() + WRITE_TIMEOUT, write=True) from None
            except SSL.WantReadError:
                raise _Park(time.monotonic() + WRITE_TIMEOUT) from None
            except (SSL.ZeroReturnError, SSL.SysCallError):
                raise _Closed() from None
            conn.out = conn.out[sent:]

    def _serve_h2(self, conn):
        session, served = conn.h2, 0
        while True:
            if conn.out:
                self._flush(conn)
            if conn.close_after or self._stopping.is_set():
                raise _Closed()
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
                    raise _Yield()
                continue
            self._receive(conn)

    def _handle(self, conn, parsed):
        path, _, query = parsed.target.partition("?")
        request = Request(method=parsed.method, path=unquote(path), query=query, headers=parsed.headers,
                          body=parsed.body, peer_chain=conn.peer_chain, client=conn.client)
        return self.api.handle(request)

    def _respond(self, conn, parsed):
        response = self._handle(conn, parsed)
        return response_bytes(response.status, response.content_type, response.headers, response.body,
                              parsed.keep_alive, parsed.method == "HEAD")


def _peer_chain(tls):
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
def _ssl_text(exc):
    """A short text for a handshake failure (the OpenSSL reason strings)."""
    try:
        reasons = [entry[2] for entry in exc.args[0] if len(entry) >= 3]
        if reasons:
            return "; ".join(reasons)
    except (IndexError, TypeError):
        pass
    return str(exc) or exc.__class__.__name__
