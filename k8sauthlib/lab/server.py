"""The lab's HTTPS server: TLS like kube-apiserver's, an event loop for waiting connections, a request log.

TLS. kube-apiserver only *requests* a client certificate (``tls.RequestClientCert``) and leaves
its verification to the authenticator, so a certificate from a foreign CA, an expired one or one
without ``clientAuth`` completes the handshake and then gets HTTP 401 (``SecureServingInfo.tlsConfig``
in ``staging/src/k8s.io/apiserver/pkg/server/secure_serving.go`` sets ``tls.RequestClientCert``;
the chain is verified later by ``AuthenticateRequest`` in
``staging/src/k8s.io/apiserver/pkg/authentication/request/x509/x509.go``, kubernetes v1.32). Python's
``ssl`` module cannot do that (``CERT_OPTIONAL`` aborts the handshake on an unknown CA), so the
lab uses pyOpenSSL with ``VERIFY_PEER`` and a verify callback that accepts everything; the chain
is verified per request by :class:`~k8sauthlib.lab.auth.X509Authenticator` with
:func:`k8sauthlib.verify_chain`. Like Go's server, the lab sends the names of the
``--client-ca-file`` CAs in its CertificateRequest, offers ``h2`` then ``http/1.1`` by ALPN
(kubectl and curl then speak HTTP/2), and answers a plain-HTTP request on the TLS port with
Go's ``Client sent an HTTP request to an HTTPS server.``

Connections. As in kube-apiserver (Go's ``net/http``), there is no limit on connections, and
time limits do the work: 32 s for the TLS handshake and for a request's header from its first
byte (``ReadHeaderTimeout``), 90 s for an idle keep-alive connection (``IdleTimeout``). Idle and
stalled clients wait in one event loop and cost no thread (:mod:`k8sauthlib.lab.transport`);
HTTP/1.x is read as strictly as Go reads it (:mod:`k8sauthlib.lab.http1`), HTTP/2 is
:mod:`k8sauthlib.lab.http2`.

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

import logging
import socket
import struct
import time
from datetime import datetime, timezone
from pathlib import Path

from OpenSSL import SSL

from ..errors import InputError, LabError
from ..go.yaml import yaml_error_text
from .api import LabAPI
from .auth import Authorizer, RequestHeaderConfig, X509Authenticator
from .bootstrap import policy_objects
from .pods import load_mirror_pods
from .rbac import PolicyFiles
from .requestlog import RequestLog
from .transport import Transport

logger = logging.getLogger("k8sauthlib.lab")
# A library logs, the application decides where to: without this, Python's last-resort handler
# would print every refused certificate to a notebook's stderr. `k8sauthlib lab up` and
# notebooks that want the lines add a handler (or read LabServer.log_lines()).
logger.addHandler(logging.NullHandler())


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
        raise LabError(f"{path}: not valid YAML{yaml_error_text(exc)}") from None
    except RecursionError:
        raise LabError(f"{path}: YAML nested too deeply to be a Pod manifest") from None
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


# ----------------------------------------------------------------------------- the server


def raise_open_file_limit() -> None:
    """Raise this process's soft limit on open files to its hard limit, as every Go program does
    at start-up, kube-apiserver included (Go 1.19+: ``os/rlimit.go``, later ``syscall/rlimit.go``,
    go.dev/issue/46279). Debian gives a normal user a soft limit of 1024: without this, a few
    hundred idle connections (and the client's own sockets, where the client shares the process)
    leave the lab unable to accept ("Too many open files"). The lab waits with epoll and poll,
    never select(), so descriptors above 1024 are safe. A limit that cannot be raised is kept."""
    try:
        import resource
    except ImportError:  # not a Unix
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != hard:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        except (ValueError, OSError):
            pass


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

    def __init__(
        self,
        directory,
        port=None,
        *,
        host="127.0.0.1",
        node_name=None,
        rbac_dir=None,
        create=True,
        kubernetes_version="1.32",
    ):
        from ..kube.kubeadm import KubeadmTree

        self.directory = Path(directory)
        self.tree = KubeadmTree(self.directory)
        self.host = host
        self.requested_port = port or 0
        self.node_name = node_name
        self.rbac_dir = Path(rbac_dir) if rbac_dir is not None else self.tree.rbac_dir
        self.create = create
        from .discovery import parse_version

        parse_version(kubernetes_version)  # ValueError naming the supported range, before any socket
        self.kubernetes_version = kubernetes_version
        self.port = None
        self.flags = {}
        self.started_at = None
        self.log = RequestLog()
        self._listener = None
        self._transport = None
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
        if self._transport is not None:
            raise LabError("the lab is already running")
        raise_open_file_limit()
        self.ensure_tree()
        try:
            self.flags = self.tree.apiserver_flags()
        except InputError as exc:
            raise LabError(str(exc)) from None
        if self.node_name is None:
            try:
                self.node_name = self.tree.node_name
            except (InputError, OSError, ValueError):
                self.node_name = "lab"
        ctx, authenticator = self._tls_and_authn()
        modes = [m.strip() for m in self.flags.get("authorization-mode", "Node,RBAC").split(",") if m.strip()]
        unknown = set(modes) - {"Node", "RBAC", "AlwaysAllow", "AlwaysDeny"}
        if unknown:
            raise LabError(f"--authorization-mode: the lab does not implement {', '.join(sorted(unknown))}")
        if "AlwaysAllow" in modes and authenticator.anonymous:
            # kube-apiserver: "AnonymousAuth is not allowed with the AlwaysAllow authorizer. Resetting AnonymousAuth to false."
            authenticator.anonymous = False
        try:
            policy = PolicyFiles(
                self.rbac_dir, on_error=lambda message: self.log.note(message, logging.ERROR), base=policy_objects
            )
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
        self.api = LabAPI(
            authenticator,
            Authorizer(policy, modes),
            pods,
            f"{self.host}:{self.port}",
            self.started_at,
            log=self.log.request,
            kubernetes_version=self.kubernetes_version,
            state_dir=self.tree.rbac_dir.parent,
            log_lines=self.log.lines,
            node_name=self.node_name,
        )
        self._transport = Transport(listener, ctx, self.api.handle, self.log, name=str(self.port))
        self._transport.start()
        self._wait_ready()
        try:
            self.tree.set_server(self.url)
        except (InputError, OSError) as exc:
            self.log.note(f"admin.conf not pointed at {self.url}: {exc}", logging.WARNING)
        self.log.note(
            f'"Serving securely" address="{self.host}:{self.port}" anonymous-auth={str(authenticator.anonymous).lower()} '
            f'authorization-mode="{",".join(modes)}" rbac-files={len(policy.current().sources)} mirror-pods={len(pods)}'
        )
        return self

    def stop(self):
        """Stop accepting, close every connection and end the lab's threads."""
        if self._transport is None:
            return
        self._transport.stop()
        self._transport = None
        if self._listener is not None:
            self._listener.close()
            self._listener = None
        self.port = None

    @property
    def loop_wakeups(self):
        """How often the connection event loop has woken up (0 when stopped)."""
        return self._transport.loop_wakeups if self._transport is not None else 0

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
    def ensure_tree(self):
        """Create the kubeadm-like tree when it is missing (``create=True``), else :class:`LabError`."""
        if self.tree.exists():
            return
        if not self.create:
            raise LabError(
                f"{self.directory} is not a kubeadm tree (no pki/ca.crt or "
                f"manifests/kube-apiserver.yaml) and create=False"
            )
        from ..kube.kubeadm import KubeadmTree

        try:
            KubeadmTree.create_lab(self.directory)
        except InputError as exc:
            raise LabError(str(exc)) from None

    def _path_flag(self, name, required=True):
        if not self.flags and self.tree.exists():
            try:
                self.flags = self.tree.apiserver_flags()  # e.g. ca_file asked before start()
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
                    extra_prefixes=names("requestheader-extra-headers-prefix", ()),
                )
            else:
                # kube-apiserver would not start; the lab runs without the front-proxy
                # authenticator and says so.
                self.log.note(
                    f"--requestheader-client-ca-file={self.flags['requestheader-client-ca-file']}: "
                    f"no such file in the lab; the front-proxy (request header) authenticator is off",
                    logging.WARNING,
                )
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
        # An idle connection keeps no read/write buffers (~34 KiB each): hundreds of idle
        # keep-alive clients stay cheap.
        ctx.set_mode(SSL.MODE_RELEASE_BUFFERS)

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
