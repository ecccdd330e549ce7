"""The lab's HTTPS server: TLS like kube-apiserver's, one thread per connection, a request log.

TLS. kube-apiserver only *requests* a client certificate (``tls.RequestClientCert``) and leaves
its verification to the authenticator, so a certificate from a foreign CA, an expired one or one
without ``clientAuth`` completes the handshake and then gets HTTP 401 (K8S-FACTS.md 1.1). Python's
``ssl`` module cannot do that (``CERT_OPTIONAL`` aborts the handshake on an unknown CA), so the
lab uses pyOpenSSL with ``VERIFY_PEER`` and a verify callback that accepts everything; the chain
is verified per request by :class:`~k8sauthlib.lab.auth.X509Authenticator` with
:func:`k8sauthlib.verify_chain`. Like Go's server, the lab sends the names of the
``--client-ca-file`` CAs in its CertificateRequest, offers only ``http/1.1`` by ALPN (kubectl
then speaks HTTP/1.1), and answers a plain-HTTP request on the TLS port with Go's
``Client sent an HTTP request to an HTTPS server.``

Robustness. The accept loop only accepts; the TLS handshake (with a timeout) and all requests of
a connection run in that connection's own thread. A client that sends garbage, a bare TLS hello
and then silence, or nothing at all, ties up one thread until its timeout and nothing else.

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
import email.utils
import logging
import os
import select
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
from .auth import Authorizer, RequestHeaderConfig, X509Authenticator
from .rbac import PolicyFiles

logger = logging.getLogger("k8sauthlib.lab")
# A library logs, the application decides where to: without this, Python's last-resort handler
# would print every refused certificate to a notebook's stderr. `k8sauthlib lab up` and
# notebooks that want the lines add a handler (or read LabServer.log_lines()).
logger.addHandler(logging.NullHandler())

HANDSHAKE_TIMEOUT = 10.0      # seconds for a TLS handshake (a silent client loses its slot)
REQUEST_TIMEOUT = 30.0        # seconds to receive one request once it has started
IDLE_TIMEOUT = 120.0          # keep-alive: seconds an idle connection stays open
MAX_HEADER_BYTES = 1 << 20    # Go's http.DefaultMaxHeaderBytes
MAX_BODY_BYTES = 3 << 20      # kube-apiserver's default --max-resource-write-bytes is larger; reviews are tiny
MAX_CONNECTIONS = 512

_REASONS = {200: "OK", 201: "Created", 400: "Bad Request", 401: "Unauthorized", 403: "Forbidden",
            404: "Not Found", 405: "Method Not Allowed", 408: "Request Timeout", 413: "Request Entity Too Large",
            415: "Unsupported Media Type", 422: "Unprocessable Entity", 500: "Internal Server Error",
            503: "Service Unavailable"}

#: Go's net/http answer to plain HTTP on a TLS port (``tlsRecordHeaderLooksLikeHTTP``).
_PLAIN_HTTP_ANSWER = b"HTTP/1.0 400 Bad Request\r\n\r\nClient sent an HTTP request to an HTTPS server.\n"
_HTTP_PREFIXES = (b"GET /", b"HEAD ", b"POST ", b"PUT /", b"OPTIO")


class LabError(K8sAuthError):
    """The lab cannot start (missing file, bad manifest, port in use)."""


class _Closed(Exception):
    """The peer closed the connection (or the lab is stopping)."""


class _BadRequest(Exception):
    def __init__(self, status=400, text="Bad Request"):
        super().__init__(text)
        self.status = status


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


# ------------------------------------------------------------------------- connection I/O
class _Conn:
    """Blocking-with-deadline reads and writes over a non-blocking pyOpenSSL connection."""

    def __init__(self, server, sock, tls):
        self.server = server
        self.sock = sock
        self.tls = tls
        self.buf = bytearray()

    def _wait(self, want_write, deadline):
        while True:
            if self.server._stopping.is_set():
                raise _Closed()
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError()
            try:
                if want_write:
                    ready = select.select([], [self.sock], [], min(remaining, 0.5))[1]
                else:
                    ready = select.select([self.sock], [], [], min(remaining, 0.5))[0]
            except (OSError, ValueError):
                raise _Closed() from None
            if ready:
                return

    def call(self, fn, *args, deadline):
        while True:
            try:
                return fn(*args)
            except SSL.WantReadError:
                self._wait(False, deadline)
            except SSL.WantWriteError:
                self._wait(True, deadline)
            except (SSL.ZeroReturnError, SSL.SysCallError):
                raise _Closed() from None

    def fill(self, deadline):
        data = self.call(self.tls.recv, 65536, deadline=deadline)
        if not data:
            raise _Closed()
        self.buf += data

    def read_until(self, marker, limit, deadline, first_deadline=None):
        start = 0
        while True:
            idx = self.buf.find(marker, max(0, start - len(marker)))
            if idx >= 0:
                out = bytes(self.buf[:idx])
                del self.buf[:idx + len(marker)]
                return out
            if len(self.buf) > limit:
                raise _BadRequest(431, "Request Header Fields Too Large")
            start = len(self.buf)
            self.fill(first_deadline if (first_deadline and not self.buf) else deadline)

    def read_exact(self, n, deadline):
        while len(self.buf) < n:
            self.fill(deadline)
        out = bytes(self.buf[:n])
        del self.buf[:n]
        return out

    def sendall(self, data, deadline):
        view = memoryview(data)
        while view:
            sent = self.call(self.tls.send, view[:16384].tobytes(), deadline=deadline)
            view = view[sent:]


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
        kubernetes_version: the Kubernetes version the lab presents, ``"1.28"`` to ``"1.35"``
            (default ``"1.32"``; see :mod:`k8sauthlib.lab.discovery`). Objects written through
            the API are stored under ``<directory>/lab/objects/``.

    Once it listens, the lab points the tree's ``admin.conf`` and ``super-admin.conf`` at its
    URL (:meth:`k8sauthlib.KubeadmTree.set_server`), so ``kubectl --kubeconfig admin.conf``
    works on whatever port the lab got, as it does on a node.

    Raises:
        LabError: a file named by the manifest is missing, or the port is taken.
    """

    def __init__(self, directory, port=None, *, host="127.0.0.1", node_name=None, rbac_dir=None, create=True,
                 kubernetes_version="1.32"):
        from ..kubeadm import KubeadmTree
        self.directory = Path(directory)
        self.tree = KubeadmTree(self.directory)
        self.host = host
        self.requested_port = port or 0
        self.node_name = node_name
        self.rbac_dir = Path(rbac_dir) if rbac_dir is not None else self.tree.rbac_dir
        self.create = create
        from .discovery import parse_version
        parse_version(kubernetes_version)          # ValueError naming the supported range, before any socket
        self.kubernetes_version = kubernetes_version
        self.port = None
        self.flags = {}
        self.started_at = None
        self.log = RequestLog()
        self._stopping = threading.Event()
        self._listener = None
        self._accept_thread = None
        self._connections = set()
        self._conn_lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(MAX_CONNECTIONS)
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
        if self._accept_thread is not None:
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
        listener.listen(128)
        listener.settimeout(0.5)
        self._listener = listener
        self.port = listener.getsockname()[1]
        self._ctx = ctx
        self.api = LabAPI(authenticator, Authorizer(policy, modes), pods, f"{self.host}:{self.port}",
                          self.started_at, log=self.log.request, kubernetes_version=self.kubernetes_version,
                          state_dir=self.tree.rbac_dir.parent, log_lines=self.log.lines, node_name=self.node_name)
        self._accept_thread = threading.Thread(target=self._accept_loop, name=f"lab-accept-{self.port}", daemon=True)
        self._accept_thread.start()
        self._wait_ready()
        try:
            self.tree.set_server(self.url)
        except (InputError, OSError) as exc:
            self.log.note(f"admin.conf not pointed at {self.url}: {exc}", logging.WARNING)
        self.log.note(f'"Serving securely" address="{self.host}:{self.port}" anonymous-auth={str(authenticator.anonymous).lower()} '
                      f'authorization-mode="{",".join(modes)}" rbac-files={len(policy.current().sources)} mirror-pods={len(pods)}')
        return self

    def stop(self):
        """Stop accepting and shut every open connection down; their threads end on their own."""
        if self._accept_thread is None:
            return
        self._stopping.set()
        try:
            self._listener.shutdown(socket.SHUT_RDWR)   # wakes the blocked accept() at once
        except OSError:
            pass
        self._accept_thread.join(timeout=5)
        self._accept_thread = None
        with self._conn_lock:
            conns = list(self._connections)
        for sock in conns:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
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
            return b"http/1.1" if b"http/1.1" in offered else SSL.NO_OVERLAPPING_PROTOCOLS

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
    def _accept_loop(self):
        while not self._stopping.is_set():
            try:
                sock, addr = self._listener.accept()
            except (socket.timeout, TimeoutError):
                continue
            except OSError:
                if self._stopping.is_set():
                    return
                time.sleep(0.05)
                continue
            if not self._slots.acquire(blocking=False):
                sock.close()  # over MAX_CONNECTIONS: refuse rather than queue without bound
                continue
            with self._conn_lock:
                self._connections.add(sock)
            threading.Thread(target=self._serve_connection, args=(sock, addr), daemon=True,
                             name=f"lab-conn-{addr[1]}").start()

    def _serve_connection(self, sock, addr):
        client = f"{addr[0]}:{addr[1]}"
        tls = None
        try:
            sock.setblocking(False)
            if self._plain_http(sock):
                self.log.note(f"http: TLS handshake error from {client}: client sent an HTTP request to an HTTPS server")
                return
            tls = SSL.Connection(self._ctx, sock)
            tls.set_accept_state()
            conn = _Conn(self, sock, tls)
            try:
                conn.call(tls.do_handshake, deadline=time.monotonic() + HANDSHAKE_TIMEOUT)
            except TimeoutError:
                self.log.note(f"http: TLS handshake error from {client}: timeout")
                return
            except _Closed:
                if not self._stopping.is_set():
                    self.log.note(f"http: TLS handshake error from {client}: EOF")
                return
            except SSL.Error as exc:
                self.log.note(f"http: TLS handshake error from {client}: {_ssl_text(exc)}")
                return
            peer_chain = self._peer_chain(tls)
            self._serve_requests(conn, peer_chain, client)
        except (_Closed, TimeoutError, SSL.Error, OSError):
            pass
        except Exception:  # a bug must not take the lab down; it is logged with its traceback
            logger.exception("lab: unexpected error on connection from %s", client)
        finally:
            if tls is not None:
                try:
                    tls.shutdown()
                except (SSL.Error, OSError):
                    pass
            try:
                sock.close()
            except OSError:
                pass
            with self._conn_lock:
                self._connections.discard(sock)
            self._slots.release()

    def _plain_http(self, sock):
        """Answer plain HTTP on the TLS port like Go's net/http does, and say whether we did."""
        deadline = time.monotonic() + HANDSHAKE_TIMEOUT
        head = b""
        while len(head) < 5:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or self._stopping.is_set():
                raise _Closed()
            if not select.select([sock], [], [], min(remaining, 0.5))[0]:
                continue
            try:
                head = sock.recv(5, socket.MSG_PEEK)
            except BlockingIOError:
                continue
            if not head:
                raise _Closed()
            if len(head) < 5 and head[0:1] == b"\x16":
                break  # a TLS record; let the handshake read the rest
            if len(head) < 5:
                time.sleep(0.01)
        if head[:5] in _HTTP_PREFIXES:
            try:
                sock.setblocking(True)
                sock.settimeout(2)
                sock.sendall(_PLAIN_HTTP_ANSWER)
                # Read what the client sent before closing, so that the kernel closes with a FIN
                # rather than a reset, and the client gets to read the answer.
                sock.shutdown(socket.SHUT_WR)
                sock.settimeout(0.2)
                while sock.recv(65536):
                    pass
            except OSError:
                pass
            return True
        return False

    @staticmethod
    def _peer_chain(tls):
        leaf = tls.get_peer_certificate(as_cryptography=True)
        if leaf is None:
            return []
        sent = tls.get_peer_cert_chain(as_cryptography=True) or []
        # On the server side OpenSSL's chain usually omits the leaf; be robust either way.
        return [leaf] + [c for c in sent if c != leaf]

    def _serve_requests(self, conn, peer_chain, client):
        while not self._stopping.is_set():
            try:
                request, keep_alive, head_only = self._read_request(conn, peer_chain, client)
            except _BadRequest as exc:
                body = f"{exc.status} {exc}".encode()
                conn.sendall(f"HTTP/1.1 {exc.status} {exc}\r\nContent-Type: text/plain; charset=utf-8\r\n"
                             f"Connection: close\r\n\r\n".encode() + body, deadline=time.monotonic() + 5)
                return
            response = self.api.handle(request)
            self._write_response(conn, response, keep_alive, head_only)
            if not keep_alive:
                return

    def _read_request(self, conn, peer_chain, client):
        now = time.monotonic()
        head = conn.read_until(b"\r\n\r\n", MAX_HEADER_BYTES, now + REQUEST_TIMEOUT, first_deadline=now + IDLE_TIMEOUT)
        try:
            text = head.decode("iso-8859-1")
        except UnicodeDecodeError:
            raise _BadRequest() from None
        lines = text.split("\r\n")
        while lines and not lines[0]:
            lines.pop(0)  # tolerate stray CRLF between requests (RFC 9112 2.2)
        if not lines:
            raise _BadRequest()
        parts = lines[0].split(" ")
        if len(parts) != 3 or not parts[2].startswith("HTTP/1.") or not parts[1].startswith("/"):
            raise _BadRequest()
        method, target, version = parts
        if not method.isalpha() or not method.isupper():
            raise _BadRequest()
        headers = {}
        header_pairs = []
        for line in lines[1:]:
            name, sep, value = line.partition(":")
            if not sep or not name or name != name.strip():
                raise _BadRequest()
            key = name.lower()
            header_pairs.append((name, value.strip()))
            headers[key] = f"{headers[key]}, {value.strip()}" if key in headers else value.strip()
        connection = headers.get("connection", "").lower()
        keep_alive = ("close" not in connection) if version == "HTTP/1.1" else ("keep-alive" in connection)
        deadline = time.monotonic() + REQUEST_TIMEOUT
        body = b""
        if "chunked" in headers.get("transfer-encoding", "").lower():
            self._continue(conn, headers, version, deadline)
            body = self._read_chunked(conn, deadline)
        elif headers.get("content-length"):
            try:
                length = int(headers["content-length"])
            except ValueError:
                raise _BadRequest() from None
            if length < 0:
                raise _BadRequest()
            if length > MAX_BODY_BYTES:
                raise _BadRequest(413, "Request Entity Too Large")
            if length:
                self._continue(conn, headers, version, deadline)
                body = conn.read_exact(length, deadline)
        path, _, query = target.partition("?")
        request = Request(method=method, path=unquote(path), query=query, headers=headers, body=body,
                          peer_chain=peer_chain, client=client, header_pairs=header_pairs)
        return request, keep_alive, method == "HEAD"

    @staticmethod
    def _continue(conn, headers, version, deadline):
        if version == "HTTP/1.1" and headers.get("expect", "").lower() == "100-continue":
            conn.sendall(b"HTTP/1.1 100 Continue\r\n\r\n", deadline)

    @staticmethod
    def _read_chunked(conn, deadline):
        body = bytearray()
        while True:
            size_line = conn.read_until(b"\r\n", 4096, deadline)
            try:
                size = int(size_line.split(b";")[0].strip(), 16)
            except ValueError:
                raise _BadRequest() from None
            if size == 0:
                conn.read_until(b"\r\n", MAX_HEADER_BYTES, deadline)  # (no trailers expected)
                return bytes(body)
            if len(body) + size > MAX_BODY_BYTES:
                raise _BadRequest(413, "Request Entity Too Large")
            body += conn.read_exact(size, deadline)
            conn.read_exact(2, deadline)

    @staticmethod
    def _write_response(conn, response, keep_alive, head_only):
        reason = _REASONS.get(response.status, "Status")
        lines = [f"HTTP/1.1 {response.status} {reason}"]
        lines += [f"{k}: {v}" for k, v in response.headers]
        lines.append(f"Content-Type: {response.content_type}")
        lines.append(f"Date: {email.utils.formatdate(usegmt=True)}")
        lines.append(f"Content-Length: {len(response.body)}")
        if not keep_alive:
            lines.append("Connection: close")
        data = ("\r\n".join(lines) + "\r\n\r\n").encode("iso-8859-1")
        if not head_only:
            data += response.body
        conn.sendall(data, deadline=time.monotonic() + REQUEST_TIMEOUT)


def _ssl_text(exc):
    """A short text for a handshake failure (the OpenSSL reason strings)."""
    try:
        reasons = [entry[2] for entry in exc.args[0] if len(entry) >= 3]
        if reasons:
            return "; ".join(reasons)
    except (IndexError, TypeError):
        pass
    return str(exc) or exc.__class__.__name__
