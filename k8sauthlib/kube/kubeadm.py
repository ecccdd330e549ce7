"""The kubeadm layout: ``/etc/kubernetes`` on a cluster node, any directory in the lab.

:class:`KubeadmTree` knows where kubeadm keeps things (``pki/ca.crt``, ``pki/ca.key``,
``pki/apiserver.crt``, ``admin.conf``, ``manifests/kube-apiserver.yaml``, ...), reads them, and
for the lab creates a tree with kubeadm's defaults (:meth:`KubeadmTree.create_lab`, whose files
:mod:`k8sauthlib.kube.labtree` writes).

Root-only files. On a kubeadm node ``ca.key``, ``admin.conf`` and the manifests are mode 0600,
owned by root. When this process may not read such a file, :meth:`KubeadmTree.read_bytes` runs
``sudo -n cat FILE``: ``-n`` because a notebook cannot answer a password prompt. If that is not
allowed either, the error says what to do (``sudo -v`` in a terminal first, or run as root).

Paths inside the manifests. The lab writes manifests identical to a real node's, so
``--client-ca-file=/etc/kubernetes/pki/ca.crt`` stays as kubeadm writes it. When the tree's
root is not ``/etc/kubernetes``, :meth:`KubeadmTree.map_path` (used by
:meth:`KubeadmTree.apiserver_file`) maps ``/etc/kubernetes/...`` to the same file under the
root. That keeps the manifest a faithful copy of a real one, which is what the book shows.
"""

from __future__ import annotations

import contextlib
import re
from pathlib import Path

import yaml

from ..errors import InputError, K8sAuthError, KeyMismatchError
from ..go.yaml import yaml_error_text
from ..pki.certs import CA
from ..pki.fields import load_cert_bundle
from ..pki.keys import load_private_key
from ..pki.results import Cert
from .kubeconfig import Kubeconfig
from .labtree import creation_lock, fill_lab_tree
from .node import (
    DNS_DOMAIN,
    KUBEADM_ROOT,
    LAB_ADDRESS,
    LAB_NODE_NAME,
    LAB_PORT,
    Reader,
    exists_with_sudo,
    read_with_sudo,
)


# ================================================================================== the tree
def load_cluster_ca(ca_crt, ca_key, read) -> CA:
    """The cluster CA from ``ca_crt`` and ``ca_key``, each read with ``read(path) -> bytes`` (through
    sudo where needed); an error names the file at fault and never echoes the key.

    Raises:
        InputError: a file is missing, unreadable, or not a certificate / private key.
        KeyMismatchError: the key does not belong to the certificate.
    """
    cert_pem, key_pem = read(ca_crt), read(ca_key)
    try:
        return CA.from_pem(cert_pem, key_pem)
    except KeyMismatchError:
        raise KeyMismatchError(
            f"{ca_key} does not belong to {ca_crt}; pair the CA certificate with its own key"
        ) from None
    except InputError as exc:
        # Which file is at fault: each is parsed on its own here, on the error path only (an RSA
        # key's load checks its primes, ~50 ms, so the good path parses each file once).
        for path, data, check in ((ca_crt, cert_pem, load_cert_bundle), (ca_key, key_pem, load_private_key)):
            try:
                check(data)
            except InputError as own:
                raise InputError(f"{path}: {own}") from None
        raise InputError(f"{ca_crt}: {exc}") from None


class KubeadmTree:
    """A kubeadm directory tree: ``/etc/kubernetes`` on a node, any directory in the lab.

    Example::

        tree = k8s.KubeadmTree()                       # /etc/kubernetes (root-only files via sudo)
        tree.apiserver_flags()["client-ca-file"]       # '/etc/kubernetes/pki/ca.crt'
        tree.extract_admin_client("work")              # work/k8s-client.pem, work/k8s-client-key.pem
        ca = tree.ca()                                 # the cluster CA, ready to sign

    Args:
        root: the tree's directory (default ``/etc/kubernetes``).
        reader: plain file read (default ``Path.read_bytes``); see :func:`read_with_sudo`.
        privileged_reader: read after a permission error (default ``sudo -n cat``).
    """

    def __init__(self, root=KUBEADM_ROOT, *, reader: Reader | None = None, privileged_reader: Reader | None = None):
        # absolute, so that paths built from it stay right when the process changes directory
        self.root = Path(root).absolute()
        self._reader = reader
        self._privileged_reader = privileged_reader

    # ------------------------------------------------------------------------------ paths
    @property
    def pki_dir(self) -> Path:
        """``pki/`` (kubeadm's ``--cert-dir``)."""
        return self.root / "pki"

    @property
    def ca_crt(self) -> Path:
        return self.pki_dir / "ca.crt"

    @property
    def ca_key(self) -> Path:
        """``pki/ca.key``: root-only on a node; whoever holds it can make any user."""
        return self.pki_dir / "ca.key"

    @property
    def apiserver_crt(self) -> Path:
        return self.pki_dir / "apiserver.crt"

    @property
    def apiserver_key(self) -> Path:
        return self.pki_dir / "apiserver.key"

    @property
    def admin_conf(self) -> Path:
        """``admin.conf``: ``kubernetes-admin`` in ``kubeadm:cluster-admins`` (1.29+)."""
        return self.root / "admin.conf"

    @property
    def super_admin_conf(self) -> Path:
        """``super-admin.conf``: ``kubernetes-super-admin`` in ``system:masters`` (1.29+)."""
        return self.root / "super-admin.conf"

    @property
    def manifests_dir(self) -> Path:
        """``manifests/``: kubelet's static Pod directory."""
        return self.root / "manifests"

    @property
    def apiserver_manifest(self) -> Path:
        return self.manifests_dir / "kube-apiserver.yaml"

    def manifest(self, component: str) -> Path:
        """Path of a static Pod manifest: ``kube-apiserver``, ``etcd``, ``kube-controller-manager``, ``kube-scheduler``."""
        return self.manifests_dir / f"{component}.yaml"

    @property
    def rbac_dir(self) -> Path:
        """``lab/rbac/``: extra RBAC YAML files the lab loads (not part of a real node's tree)."""
        return self.root / "lab" / "rbac"

    def map_path(self, value) -> Path:
        """Where a path written in a manifest or kubeconfig is in this tree.

        ``/etc/kubernetes/pki/ca.crt`` maps to ``<root>/pki/ca.crt`` when the root is elsewhere
        (the lab); other absolute paths stay; relative paths are taken relative to the root.
        """
        path = Path(value)
        if not path.is_absolute():
            return self.root / path
        if self.root.absolute() != KUBEADM_ROOT:
            with contextlib.suppress(ValueError):
                return self.root / path.relative_to(KUBEADM_ROOT)
        return path

    def exists(self) -> bool:
        """True when the tree has a CA certificate and an API server manifest."""
        return self.ca_crt.exists() and exists_with_sudo(self.apiserver_manifest)

    # ---------------------------------------------------------------------------- reading
    def read_bytes(self, path) -> bytes:
        """Read a file of the tree (absolute, or relative to the root), through sudo if needed.

        Raises:
            InputError: the file is missing.
            PrivilegedReadError: it is root-only and ``sudo -n`` is not possible; the message
                says what to do.
        """
        path = Path(path)
        if not path.is_absolute():
            path = self.root / path
        return read_with_sudo(path, reader=self._reader, privileged_reader=self._privileged_reader)

    def manifest_doc(self, component: str = "kube-apiserver") -> dict:
        """The static Pod manifest of ``component`` as a dict."""
        path = self.manifest(component)
        try:
            doc = yaml.safe_load(self.read_bytes(path))
        except yaml.YAMLError as exc:
            raise InputError(f"{path}: not valid YAML{yaml_error_text(exc)}") from None
        except RecursionError:
            raise InputError(f"{path}: YAML nested too deeply to be a Pod manifest") from None
        if not isinstance(doc, dict) or doc.get("kind") != "Pod":
            raise InputError(
                f"{path}: not a Pod manifest (kind: {doc.get('kind') if isinstance(doc, dict) else doc!r})"
            )
        return doc

    def component_flags(self, component: str) -> dict[str, str]:
        """The ``--flag=value`` arguments of a static Pod's first container, in order.

        A bare ``--flag`` maps to ``"true"`` (how Go's pflag reads a boolean flag). When a flag
        is repeated, the last one wins, as with pflag.

        Raises:
            InputError: missing manifest, not YAML, or no container command.
        """
        doc = self.manifest_doc(component)
        containers = (doc.get("spec") or {}).get("containers") or []
        if not containers or not isinstance(containers[0], dict):
            raise InputError(f"{self.manifest(component)}: the Pod has no container")
        argv = [str(a) for a in (containers[0].get("command") or []) + (containers[0].get("args") or [])]
        if not argv:
            raise InputError(f"{self.manifest(component)}: the container has no command or args")
        flags: dict[str, str] = {}
        for arg in argv:
            if arg.startswith("--"):
                name, sep, value = arg[2:].partition("=")
                flags.pop(name, None)
                flags[name] = value if sep else "true"
        return flags

    def apiserver_flags(self) -> dict[str, str]:
        """kube-apiserver's flags from ``manifests/kube-apiserver.yaml``, e.g.
        ``{"client-ca-file": "/etc/kubernetes/pki/ca.crt", "secure-port": "6443", ...}``.

        Values are as written; use :meth:`apiserver_file` for a path inside this tree.
        """
        return self.component_flags("kube-apiserver")

    def apiserver_file(self, flag: str) -> Path:
        """The file a kube-apiserver flag names, mapped into this tree (e.g. ``client-ca-file``)."""
        flags = self.apiserver_flags()
        value = flags.get(flag.lstrip("-"))
        if not value:
            raise InputError(f"{self.apiserver_manifest}: kube-apiserver has no --{flag.lstrip('-')} flag")
        return self.map_path(value)

    @property
    def secure_port(self) -> int:
        """kube-apiserver's ``--secure-port`` (6443 unless changed).

        Raises:
            InputError: the value is not a port of 1-65535; the text is kube-apiserver's own
                (pflag's ParseInt error, or ``SecureServingOptions.Validate`` in
                k8s.io/apiserver/pkg/server/options/serving.go, v0.28).
        """
        text = str(self.apiserver_flags().get("secure-port", LAB_PORT))
        where = self.apiserver_manifest
        shown = text if len(text) <= 40 else text[:40] + "..."
        problem = None
        if not re.fullmatch(r"[+-]?[0-9]+", text):
            problem = "invalid syntax"
        elif len(text.lstrip("+-")) > 19 or not -(2**63) <= int(text) < 2**63:
            problem = "value out of range"
        if problem:
            raise InputError(
                f'{where}: invalid argument "{shown}" for "--secure-port" flag: strconv.ParseInt: '
                f'parsing "{shown}": {problem}'
            )
        port = int(text)
        if not 1 <= port <= 65535:
            raise InputError(
                f"{where}: --secure-port {port} must be between 1 and 65535, inclusive. It cannot be turned off with 0"
            )
        return port

    def ca(self):
        """The cluster CA (``pki/ca.crt`` + ``pki/ca.key``) as a :class:`k8sauthlib.CA` that can sign.

        Raises:
            KeyMismatchError: ``ca.key`` does not belong to ``ca.crt``.
            PrivilegedReadError: ``ca.key`` is root-only and sudo is not possible.
        """
        return load_cluster_ca(self.ca_crt, self.ca_key, self.read_bytes)

    def ca_cert(self):
        """The cluster CA certificate only (``pki/ca.crt`` is world-readable on a node)."""
        return Cert.load(self.read_bytes(self.ca_crt))

    def apiserver_cert(self):
        """The API server's serving certificate (``pki/apiserver.crt``) as a :class:`k8sauthlib.Cert`."""
        return Cert.load(self.read_bytes(self.apiserver_crt))

    @property
    def node_name(self) -> str:
        """The node's name: ``kubelet.conf``'s user ``system:node:<name>`` (``kubeadm init``, v1.28 phases/kubeconfig),
        else the first non-``kubernetes`` DNS SAN of ``apiserver.crt`` (kubeadm sorts them: RemoveDuplicateAltNames)."""
        from cryptography import x509

        conf = self.root / "kubelet.conf"  # a joined node's kubelet writes user default-auth; the lab has none
        with contextlib.suppress(K8sAuthError, ValueError):
            user = Kubeconfig.from_yaml(self.read_bytes(conf), path=conf).current_user() if conf.exists() else ""
            if user.startswith("system:node:") and user != "system:node:":
                return user.removeprefix("system:node:")
        try:
            san = self.apiserver_cert().cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        except x509.ExtensionNotFound:
            raise InputError(f"{self.apiserver_crt} has no subject alternative names") from None
        kubernetes_names = {
            "kubernetes",
            "kubernetes.default",
            "kubernetes.default.svc",
            f"kubernetes.default.svc.{DNS_DOMAIN}",
            "localhost",
        }
        for name in san.get_values_for_type(x509.DNSName):
            if name not in kubernetes_names:
                return name
        raise InputError(f"{self.apiserver_crt}: no node name among its DNS names")

    def admin_kubeconfig(self, *, super_admin: bool = False, server: str | None = None):
        """``admin.conf`` (or ``super-admin.conf``) as a :class:`k8sauthlib.Kubeconfig`.

        Args:
            super_admin: read ``super-admin.conf`` (``system:masters``) instead.
            server: replace the server URL in the returned object (the file is not changed).
        """
        path = self.super_admin_conf if super_admin else self.admin_conf
        kc = Kubeconfig.from_yaml(self.read_bytes(path), path=path)
        if server is not None:
            kc.set_server(server)
        return kc

    # --------------------------------------------------------------------------- extracting
    def extract_admin_client(
        self, dest_dir, prefix: str = "k8s-client", *, super_admin: bool = False, overwrite: bool = False
    ):
        """Decode ``admin.conf``'s ``client-certificate-data``/``client-key-data`` into PEM files.

        The article's ``grep client-certificate-data /etc/kubernetes/admin.conf | awk '{print $2}'
        | base64 -d > k8s-client.pem`` (and the same for ``client-key-data``).

        Args:
            dest_dir: directory for ``PREFIX.pem`` and ``PREFIX-key.pem`` (0600).
            prefix: base name (default ``k8s-client``).
            super_admin: take ``super-admin.conf`` instead.
            overwrite: replace existing files.

        Returns:
            ``BareFiles(cert, key, csr=None)``.
        """
        return self.admin_kubeconfig(super_admin=super_admin).client_files(dest_dir, prefix, overwrite=overwrite)

    def copy_ca(self, dest_dir, prefix: str = "k8s-rootCA", *, with_key: bool = False, overwrite: bool = False):
        """Copy ``pki/ca.crt`` (and with ``with_key``, ``pki/ca.key``) as ``PREFIX.pem``/``PREFIX-key.pem``.

        The article's section 5 copies ``ca.crt`` to ``k8s-rootCA.pem``; its section 6 then signs
        with ``k8s-rootCA-key.pem``, which only works if that is a copy of ``pki/ca.key``.
        """
        from ..files import write_bare

        ca_pem = self.read_bytes(self.ca_crt)
        key_pem = self.read_bytes(self.ca_key) if with_key else None
        if key_pem is not None:
            CA.from_pem(ca_pem, key_pem)  # refuses a key that does not match
        return write_bare(prefix, dest_dir, cert_pem=ca_pem, key_pem=key_pem, overwrite=overwrite)

    def copy_apiserver(self, dest_dir, prefix: str = "k8s-server", *, overwrite: bool = False):
        """Copy ``pki/apiserver.crt``/``.key`` as ``PREFIX.pem``/``PREFIX-key.pem`` (the article's k8s-server files)."""
        from ..files import write_bare

        cert_pem, key_pem = self.read_bytes(self.apiserver_crt), self.read_bytes(self.apiserver_key)
        Cert.from_pem(cert_pem, key_pem)  # KeyMismatchError if they do not belong together
        return write_bare(prefix, dest_dir, cert_pem=cert_pem, key_pem=key_pem, overwrite=overwrite)

    # ----------------------------------------------------------------------------- changing
    def set_server(self, url: str) -> list[Path]:
        """Point ``admin.conf`` and ``super-admin.conf`` at ``url`` (each file rewritten atomically, 0600).

        The lab uses this when it serves on another port than the manifest's 6443.

        Returns:
            The files changed.
        """
        changed = []
        for path, super_admin in ((self.admin_conf, False), (self.super_admin_conf, True)):
            if not path.exists():
                continue
            kc = self.admin_kubeconfig(super_admin=super_admin)
            if kc.server != url:
                kc.set_server(url)
                kc.write(path)
                changed.append(path)
        return changed

    def __repr__(self):
        return f"<KubeadmTree {self.root}{'' if self.exists() else ' (incomplete)'}>"

    # ---------------------------------------------------------------------------- the lab
    @classmethod
    def create_lab(
        cls, root, *, key="rsa-2048", node_name: str = LAB_NODE_NAME, server: str | None = None, full_pki: bool = False
    ) -> KubeadmTree:
        """Create a kubeadm-equivalent tree in ``root``, or complete and reuse the one there.

        Files that exist are kept (so the CA survives restarts, as on a real cluster); missing
        ones are made with kubeadm's defaults:

        - ``pki/ca.crt``/``ca.key``: ``CN=kubernetes``, 10 years, key usage digitalSignature,
          keyEncipherment and keyCertSign (critical), SAN ``DNS:kubernetes``;
        - ``pki/apiserver.crt``/``.key``: ``CN=kube-apiserver``, 1 year, serverAuth, SANs the node
          name, ``kubernetes``, ``kubernetes.default``, ``kubernetes.default.svc``,
          ``kubernetes.default.svc.cluster.local``, ``10.96.0.1``, ``127.0.0.1`` (the lab's advertise address; like kubeadm, no ``localhost``);
        - ``admin.conf``: ``kubernetes-admin`` in ``kubeadm:cluster-admins``; ``super-admin.conf``:
          ``kubernetes-super-admin`` in ``system:masters``; cluster ``kubernetes``, context
          ``USER@kubernetes``, everything embedded, server ``https://127.0.0.1:6443``;
        - ``manifests/``: kube-apiserver, etcd, kube-controller-manager and kube-scheduler static
          Pods as kubeadm writes them (paths under ``/etc/kubernetes``; see :meth:`map_path`);
        - ``pki/front-proxy-ca.crt``/``.key`` and ``front-proxy-client.crt``/``.key``: kubeadm always
          makes them, and the API server's front-proxy authenticator changes how it treats client
          certificates (an empty CN gets 401 rather than anonymous access);
        - ``lab/rbac/``: empty, for the lab's extra RBAC YAML files.

        Keys are PKCS#1/SEC 1 PEM with mode 0600, like kubeadm's; kubeconfigs and manifests 0600.
        With ``full_pki`` the rest of a real node's files are made too (the lab does not use
        them, but ``ls pki/`` then shows what a node shows): ``apiserver-kubelet-client``,
        ``apiserver-etcd-client``, ``etcd/ca``,
        ``etcd/server``, ``etcd/peer``, ``etcd/healthcheck-client``, ``sa.key``/``sa.pub``, and
        ``controller-manager.conf``/``scheduler.conf``.

        Args:
            root: the directory (created if missing).
            key: kubeadm's ``encryptionAlgorithm``: ``RSA-2048`` (default), ``RSA-3072``,
                ``RSA-4096``, ``ECDSA-P256``, ``ECDSA-P384`` (any :class:`k8sauthlib.KeySpec` form).
            node_name: the control-plane node's name.
            server: URL in new kubeconfigs (default ``https://127.0.0.1:6443``).
            full_pki: also create the certificates and keys the lab does not need (see above).

        Raises:
            InputError: an existing certificate was not signed by the existing CA, or ``ca.crt``
                exists without ``ca.key`` (delete the stale files or use a new directory).
        """
        tree = cls(root)
        ca = None
        if tree.ca_crt.is_file() and tree.ca_key.is_file():
            ca = CA.load(tree.ca_crt, tree.ca_key)  # an unreadable CA is refused before anything is made
        tree.rbac_dir.mkdir(parents=True, exist_ok=True)
        # The lock lives in the lab's own lab/ directory, so that the kubeadm part of the tree
        # lists exactly what a node's /etc/kubernetes does.
        with creation_lock(tree.root / "lab" / ".create.lock"):
            fill_lab_tree(
                tree,
                key=key,
                node_name=node_name,
                server=server or f"https://{LAB_ADDRESS}:{LAB_PORT}",
                full_pki=full_pki,
                ca=ca,
            )
        return tree


__all__ = ["KubeadmTree"]
