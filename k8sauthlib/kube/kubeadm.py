"""The kubeadm layout: ``/etc/kubernetes`` on a cluster node, any directory in the lab.

:class:`KubeadmTree` knows where kubeadm keeps things (``pki/ca.crt``, ``pki/ca.key``,
``pki/apiserver.crt``, ``admin.conf``, ``manifests/kube-apiserver.yaml``, ...), reads them, and
for the lab creates a tree with kubeadm's defaults (:meth:`KubeadmTree.create_lab`).

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
import shutil
import subprocess
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import yaml

from ..errors import InputError, PrivilegedReadError
from ..files import KEY_MODE, atomic_write
from ..pki.certs import CA, Cert
from ..pki.fields import load_cert
from ..pki.keys import KeySpec, verify_signature
from ..pki.names import subject_name

#: kubeadm's directory on a node.
KUBEADM_ROOT = Path("/etc/kubernetes")
#: The Kubernetes version the lab's manifests name (the lab's ``/version`` says v1.32.3 too).
KUBERNETES_VERSION = "v1.32.3"
ETCD_IMAGE_TAG = "3.5.16-0"
#: kubeadm defaults (cmd/kubeadm/app/constants/constants.go and the v1beta4 defaults).
CA_VALIDITY = timedelta(days=3650)
CERT_VALIDITY = timedelta(days=365)
SERVICE_SUBNET = "10.96.0.0/12"
SERVICE_IP = "10.96.0.1"          # first address of the service subnet: the `kubernetes` Service
DNS_DOMAIN = "cluster.local"
CLUSTER_NAME = "kubernetes"
ADMIN_USER, ADMIN_GROUP = "kubernetes-admin", "kubeadm:cluster-admins"        # 1.29 and later
SUPER_ADMIN_USER, SUPER_ADMIN_GROUP = "kubernetes-super-admin", "system:masters"
#: The lab's node name (the API server certificate's first DNS SAN, as kubeadm puts the hostname).
LAB_NODE_NAME = "lab-control-plane"
LAB_ADDRESS = "127.0.0.1"
LAB_PORT = 6443

Reader = Callable[[Path], bytes]


# ================================================================================ reading files
def sudo_cat(path: Path, sudo=("sudo", "-n")) -> bytes:
    """Read ``path`` with ``sudo -n cat``; raise PrivilegedReadError with advice when that fails."""
    exe = shutil.which(sudo[0])
    advice = (f"run this as root, or copy the file where you can read it "
              f"(as root: cp {path} ~/ && chown $USER ~/{path.name})")
    if exe is None:
        raise PrivilegedReadError(
            f"cannot read {path}: permission denied (on a kubeadm node it is root-only, mode 0600), and "
            f"sudo is not installed here. Install and configure sudo (apt-get install sudo; add yourself "
            f"to the sudo group), or {advice}")
    try:
        proc = subprocess.run([exe, *sudo[1:], "cat", "--", str(path)], capture_output=True, timeout=30,
                              stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise PrivilegedReadError(f"cannot read {path}: 'sudo -n cat' did not finish within 30 s") from None
    if proc.returncode == 0:
        return proc.stdout
    err = proc.stderr.decode(errors="replace").strip()
    if "password" in err.lower():
        raise PrivilegedReadError(
            f"cannot read {path}: permission denied, and sudo needs a password, which it cannot ask for "
            f"here (sudo said: {err}). Run 'sudo -v' in a terminal first and retry within a few minutes, "
            f"or {advice}")
    if "not in the sudoers" in err or "not allowed" in err:
        raise PrivilegedReadError(f"cannot read {path}: permission denied, and this user may not use sudo "
                                  f"(sudo said: {err}); {advice}")
    raise PrivilegedReadError(f"cannot read {path} through sudo (sudo said: {err or 'exit ' + str(proc.returncode)})")


def read_with_sudo(path, *, reader: Reader | None = None, privileged_reader: Reader | None = None) -> bytes:
    """Read a file; when permission is denied, read it through ``sudo -n cat``.

    Args:
        path: the file.
        reader: plain read (default ``Path.read_bytes``); tests inject one that raises
            ``PermissionError`` to take the root-only branch while running as root.
        privileged_reader: read used after a ``PermissionError`` (default: ``sudo -n cat``).

    Raises:
        InputError: the file does not exist or is a directory.
        PrivilegedReadError: permission denied and sudo could not help; the message says why
            and what to do.
    """
    path = Path(path)
    try:
        return (reader or Path.read_bytes)(path)
    except FileNotFoundError:
        raise InputError(f"{path} does not exist" + (
            " (is this a kubeadm control-plane node? kubeadm init creates it)"
            if str(path).startswith(str(KUBEADM_ROOT)) else "")) from None
    except IsADirectoryError:
        raise InputError(f"{path} is a directory, not a file") from None
    except PermissionError:
        return (privileged_reader or sudo_cat)(path)


# ================================================================================== the tree
#: Made in every lab tree (kubeadm always has them); the rest of pki/ only with full_pki.
FRONT_PROXY_FILES = frozenset({"front-proxy-ca", "front-proxy-client"})

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

    def __init__(self, root=KUBEADM_ROOT, *, reader: Reader | None = None,
                 privileged_reader: Reader | None = None):
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
        return self.ca_crt.exists() and self.apiserver_manifest.exists()

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
            raise InputError(f"{path}: not valid YAML: {exc}") from None
        if not isinstance(doc, dict) or doc.get("kind") != "Pod":
            raise InputError(f"{path}: not a Pod manifest (kind: {doc.get('kind') if isinstance(doc, dict) else doc!r})")
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
        """kube-apiserver's ``--secure-port`` (6443 unless changed)."""
        return int(self.apiserver_flags().get("secure-port", LAB_PORT))

    def ca(self):
        """The cluster CA (``pki/ca.crt`` + ``pki/ca.key``) as a :class:`k8sauthlib.CA` that can sign.

        Raises:
            KeyMismatchError: ``ca.key`` does not belong to ``ca.crt``.
            PrivilegedReadError: ``ca.key`` is root-only and sudo is not possible.
        """
        return CA.from_pem(self.read_bytes(self.ca_crt), self.read_bytes(self.ca_key))

    def ca_cert(self):
        """The cluster CA certificate only (``pki/ca.crt`` is world-readable on a node)."""
        return Cert.load(self.read_bytes(self.ca_crt))

    def apiserver_cert(self):
        """The API server's serving certificate (``pki/apiserver.crt``) as a :class:`k8sauthlib.Cert`."""
        return Cert.load(self.read_bytes(self.apiserver_crt))

    @property
    def node_name(self) -> str:
        """The control-plane node's name: the first DNS SAN of ``apiserver.crt`` (kubeadm puts it first)."""
        from cryptography import x509
        try:
            san = self.apiserver_cert().cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        except x509.ExtensionNotFound:
            raise InputError(f"{self.apiserver_crt} has no subject alternative names") from None
        kubernetes_names = {"kubernetes", "kubernetes.default", "kubernetes.default.svc",
                            f"kubernetes.default.svc.{DNS_DOMAIN}", "localhost"}
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
        from .kubeconfig import Kubeconfig
        path = self.super_admin_conf if super_admin else self.admin_conf
        kc = Kubeconfig.from_yaml(self.read_bytes(path), path=path)
        if server is not None:
            kc.set_server(server)
        return kc

    # --------------------------------------------------------------------------- extracting
    def extract_admin_client(self, dest_dir, prefix: str = "k8s-client", *, super_admin: bool = False,
                             overwrite: bool = False):
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
    def create_lab(cls, root, *, key="rsa-2048", node_name: str = LAB_NODE_NAME,
                   server: str | None = None, full_pki: bool = False) -> KubeadmTree:
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
        tree.rbac_dir.mkdir(parents=True, exist_ok=True)
        # The lock lives in the lab's own lab/ directory, so that the kubeadm part of the tree
        # lists exactly what a node's /etc/kubernetes does.
        with _lock(tree.root / "lab" / ".create.lock"):
            tree._create_lab(key=key, node_name=node_name,
                             server=server or f"https://{LAB_ADDRESS}:{LAB_PORT}", full_pki=full_pki)
        return tree

    def _create_lab(self, *, key, node_name, server, full_pki=False):
        spec = KeySpec.parse(key)
        for directory, mode in ((self.pki_dir, 0o755), (self.manifests_dir, 0o700), (self.rbac_dir, 0o755)):
            if not directory.is_dir():  # never change the modes of an existing (perhaps real) tree
                directory.mkdir(parents=True)
                directory.chmod(mode)

        # The CA: reuse, or create both halves.
        if self.ca_crt.exists() or self.ca_key.exists():
            if not (self.ca_crt.exists() and self.ca_key.exists()):
                present = self.ca_crt if self.ca_crt.exists() else self.ca_key
                raise InputError(f"{present} exists without its other half ({self.ca_key if present == self.ca_crt else self.ca_crt}); "
                                 f"the lab cannot sign without both. Remove {present} or use a new directory")
            ca = CA.load(self.ca_crt, self.ca_key)
        else:
            ca = CA.create("kubernetes", key=spec, validity=CA_VALIDITY, hosts=("kubernetes",),
                           usages=("digital signature", "key encipherment", "cert sign"))
            atomic_write(self.ca_key, ca.key_pem, mode=KEY_MODE, overwrite=False)
            atomic_write(self.ca_crt, ca.cert_pem)

        def check_signed(path, cert):
            if not verify_signature(cert, ca.cert):
                raise InputError(f"{path} was not signed by {self.ca_crt} (the CA was replaced?); delete it "
                                 f"and run again to issue a new one")

        # The API server's serving certificate.
        if self.apiserver_crt.exists() and self.apiserver_key.exists():
            check_signed(self.apiserver_crt, Cert.load(self.apiserver_crt, self.apiserver_key).cert)
        else:
            dns = [node_name, "kubernetes", "kubernetes.default", "kubernetes.default.svc",
                   f"kubernetes.default.svc.{DNS_DOMAIN}"]
            # No "localhost": kubeadm never puts it in, and the book shows https://localhost failing
            # against this certificate as it does on a real node. 127.0.0.1 stands in for the
            # advertise address, which kubeadm does put in.
            server_cert = ca.issue_server_cert(*dns, SERVICE_IP, LAB_ADDRESS, common_name="kube-apiserver",
                                               key=spec, validity=CERT_VALIDITY)
            atomic_write(self.apiserver_key, server_cert.key_pem, mode=KEY_MODE)
            atomic_write(self.apiserver_crt, server_cert.cert_pem)

        # kubeadm always makes the front-proxy CA, and kube-apiserver's --requestheader-client-ca-file
        # changes what happens to client certificates that name no user (an empty CN gets 401, not
        # anonymous; see k8sauthlib.lab.auth), so the lab tree has it too.
        self._create_other_pki(ca, spec, node_name, only=None if full_pki else FRONT_PROXY_FILES)

        # admin.conf and super-admin.conf, as kubeadm's kubeconfig phase writes them.
        from .kubeconfig import Kubeconfig
        kubeconfigs = [(self.admin_conf, ADMIN_USER, [ADMIN_GROUP]),
                       (self.super_admin_conf, SUPER_ADMIN_USER, [SUPER_ADMIN_GROUP])]
        if full_pki:
            kubeconfigs += [(self.root / "controller-manager.conf", "system:kube-controller-manager", []),
                            (self.root / "scheduler.conf", "system:kube-scheduler", [])]
        for path, user, groups in kubeconfigs:
            if path.exists():
                kc = Kubeconfig.load(path)
                cert_pem = kc.users.get(kc.current_user(), {}).get("client-certificate-data")
                if cert_pem:
                    check_signed(path, load_cert(cert_pem))
                continue
            client = ca.issue_client_cert(user, groups, key=spec, validity=CERT_VALIDITY)
            kc = Kubeconfig()
            kc.set_cluster(CLUSTER_NAME, server, certificate_authority_data=ca.cert_pem)
            kc.set_credentials(user, client_certificate_data=client.cert_pem, client_key_data=client.key_pem)
            kc.set_context(f"{user}@{CLUSTER_NAME}", cluster=CLUSTER_NAME, user=user)
            kc.use_context(f"{user}@{CLUSTER_NAME}")
            kc.write(path)

        # Static Pod manifests.
        from .kubeconfig import go_yaml_dump
        for component, doc in static_pod_manifests(node_name=node_name, address=LAB_ADDRESS).items():
            path = self.manifest(component)
            if not path.exists():
                atomic_write(path, go_yaml_dump(doc).encode(), mode=KEY_MODE)

    def _create_other_pki(self, ca, spec, node_name, only=None):
        """The rest of kubeadm's ``pki/`` (cmd/kubeadm/app/phases/certs/certlist.go, 1.29+).

        Args:
            only: file names (without extension) to create, or None for all of them.
        """
        from cryptography.hazmat.primitives import serialization
        etcd_hosts = (node_name, "localhost", LAB_ADDRESS, "::1")
        cas = {"ca": ca}
        for name, cn in (("front-proxy-ca", "front-proxy-ca"), ("etcd/ca", "etcd-ca")):
            if only is not None and name not in only:
                continue
            crt, key_path = self.pki_dir / f"{name}.crt", self.pki_dir / f"{name}.key"
            if crt.exists() and key_path.exists():
                cas[name] = CA.load(crt, key_path)
                continue
            cas[name] = CA.create(cn, key=spec, validity=CA_VALIDITY, hosts=(cn,),
                                  usages=("digital signature", "key encipherment", "cert sign"))
            crt.parent.mkdir(mode=0o755, exist_ok=True)
            atomic_write(key_path, cas[name].key_pem, mode=KEY_MODE, overwrite=False)
            atomic_write(crt, cas[name].cert_pem)
        leaves = [  # (file, issuer, CN, O, usages, SANs)
            ("apiserver-kubelet-client", "ca", "kube-apiserver-kubelet-client", [ADMIN_GROUP], ("client auth",), ()),
            ("front-proxy-client", "front-proxy-ca", "front-proxy-client", [], ("client auth",), ()),
            ("etcd/server", "etcd/ca", node_name, [], ("server auth", "client auth"), etcd_hosts),
            ("etcd/peer", "etcd/ca", node_name, [], ("server auth", "client auth"), etcd_hosts),
            ("etcd/healthcheck-client", "etcd/ca", "kube-etcd-healthcheck-client", [], ("client auth",), ()),
            ("apiserver-etcd-client", "etcd/ca", "kube-apiserver-etcd-client", [], ("client auth",), ()),
        ]
        for name, issuer, cn, orgs, usages, hosts in leaves:
            if only is not None and name not in only:
                continue
            crt, key_path = self.pki_dir / f"{name}.crt", self.pki_dir / f"{name}.key"
            if crt.exists() and key_path.exists():
                cert = Cert.load(crt, key_path).cert
                if not verify_signature(cert, cas[issuer].cert):
                    raise InputError(f"{crt} was not signed by {self.pki_dir / (issuer + '.crt')}; delete it and "
                                     f"run again to issue a new one")
                continue
            leaf = cas[issuer].issue(subject=subject_name(cn, orgs), hosts=hosts, key=spec, validity=CERT_VALIDITY,
                                     usages=("digital signature", "key encipherment") + usages)
            atomic_write(key_path, leaf.key_pem, mode=KEY_MODE)
            atomic_write(crt, leaf.cert_pem)
        sa_key, sa_pub = self.pki_dir / "sa.key", self.pki_dir / "sa.pub"
        if only is None and not (sa_key.exists() and sa_pub.exists()):
            private = spec.generate()
            # The service-account signing key pair: no certificate, PKCS#1/SEC 1 and PKIX PEM.
            atomic_write(sa_key, private.private_bytes(serialization.Encoding.PEM,
                                                       serialization.PrivateFormat.TraditionalOpenSSL,
                                                       serialization.NoEncryption()), mode=KEY_MODE)
            atomic_write(sa_pub, private.public_key().public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))


@contextlib.contextmanager
def _lock(path: Path):
    """An exclusive lock file, so two processes creating the same lab do not make two CAs."""
    import fcntl
    with open(path, "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


# ====================================================================== static Pod manifests
def _probe(path, port, host, *, failure, delay=None, period=10, scheme="HTTPS"):
    probe = {"failureThreshold": failure,
             "httpGet": {"host": host, "path": path, "port": port, "scheme": scheme},
             "periodSeconds": period, "timeoutSeconds": 15}
    if delay is not None:
        probe["initialDelaySeconds"] = delay
    return probe


def _host_path(name, path, kind="DirectoryOrCreate"):
    return {"hostPath": {"path": path, "type": kind}, "name": name}


def _pod(component, command, image, *, annotations=None, probes, cpu, volumes, mounts, memory=None):
    requests = {"cpu": cpu}
    if memory:
        requests["memory"] = memory
    container = {"command": command, "image": image, "imagePullPolicy": "IfNotPresent", "name": component,
                 "resources": {"requests": requests}, "volumeMounts": mounts, **probes}
    metadata = {"creationTimestamp": None, "labels": {"component": component, "tier": "control-plane"},
                "name": component, "namespace": "kube-system"}
    if annotations:
        metadata["annotations"] = annotations
    return {"apiVersion": "v1", "kind": "Pod", "metadata": metadata,
            "spec": {"containers": [container], "hostNetwork": True, "priority": 2000001000,
                     "priorityClassName": "system-node-critical",
                     "securityContext": {"seccompProfile": {"type": "RuntimeDefault"}},
                     "volumes": volumes},
            "status": {}}


_CA_VOLUMES = [("ca-certs", "/etc/ssl/certs"), ("etc-ca-certificates", "/etc/ca-certificates"),
               ("usr-local-share-ca-certificates", "/usr/local/share/ca-certificates"),
               ("usr-share-ca-certificates", "/usr/share/ca-certificates")]


def _mounts(pairs, read_only=True):
    return [{"mountPath": path, "name": name, **({"readOnly": True} if read_only else {})} for name, path in pairs]


def static_pod_manifests(*, node_name: str = LAB_NODE_NAME, address: str = LAB_ADDRESS,
                         version: str = KUBERNETES_VERSION) -> dict[str, dict]:
    """kubeadm's four control-plane static Pods (as dicts) with its default flags.

    Args:
        node_name: the node's name (etcd's ``--name``).
        address: the advertise address (the lab: ``127.0.0.1``).
        version: the Kubernetes version in the image tags.

    Returns:
        ``{"kube-apiserver": {...}, "etcd": {...}, "kube-controller-manager": {...}, "kube-scheduler": {...}}``
    """
    pki = "/etc/kubernetes/pki"
    apiserver = _pod(
        "kube-apiserver",
        ["kube-apiserver", f"--advertise-address={address}", "--allow-privileged=true",
         "--authorization-mode=Node,RBAC", f"--client-ca-file={pki}/ca.crt",
         "--enable-admission-plugins=NodeRestriction", "--enable-bootstrap-token-auth=true",
         f"--etcd-cafile={pki}/etcd/ca.crt", f"--etcd-certfile={pki}/apiserver-etcd-client.crt",
         f"--etcd-keyfile={pki}/apiserver-etcd-client.key", "--etcd-servers=https://127.0.0.1:2379",
         f"--kubelet-client-certificate={pki}/apiserver-kubelet-client.crt",
         f"--kubelet-client-key={pki}/apiserver-kubelet-client.key",
         "--kubelet-preferred-address-types=InternalIP,ExternalIP,Hostname",
         f"--proxy-client-cert-file={pki}/front-proxy-client.crt",
         f"--proxy-client-key-file={pki}/front-proxy-client.key",
         "--requestheader-allowed-names=front-proxy-client",
         f"--requestheader-client-ca-file={pki}/front-proxy-ca.crt",
         "--requestheader-extra-headers-prefix=X-Remote-Extra-", "--requestheader-group-headers=X-Remote-Group",
         "--requestheader-username-headers=X-Remote-User", f"--secure-port={LAB_PORT}",
         f"--service-account-issuer=https://kubernetes.default.svc.{DNS_DOMAIN}",
         f"--service-account-key-file={pki}/sa.pub", f"--service-account-signing-key-file={pki}/sa.key",
         f"--service-cluster-ip-range={SERVICE_SUBNET}", f"--tls-cert-file={pki}/apiserver.crt",
         f"--tls-private-key-file={pki}/apiserver.key"],
        f"registry.k8s.io/kube-apiserver:{version}",
        annotations={"kubeadm.kubernetes.io/kube-apiserver.advertise-address.endpoint": f"{address}:{LAB_PORT}"},
        probes={"livenessProbe": _probe("/livez", LAB_PORT, address, failure=8, delay=10),
                "readinessProbe": _probe("/readyz", LAB_PORT, address, failure=3, period=1),
                "startupProbe": _probe("/livez", LAB_PORT, address, failure=24, delay=10)},
        cpu="250m",
        volumes=[_host_path(n, p) for n, p in _CA_VOLUMES[:2]] + [_host_path("k8s-certs", pki)]
        + [_host_path(n, p) for n, p in _CA_VOLUMES[2:]],
        mounts=_mounts(_CA_VOLUMES[:2] + [("k8s-certs", pki)] + _CA_VOLUMES[2:]))
    etcd = _pod(
        "etcd",
        ["etcd", f"--advertise-client-urls=https://{address}:2379", f"--cert-file={pki}/etcd/server.crt",
         "--client-cert-auth=true", "--data-dir=/var/lib/etcd", "--experimental-initial-corrupt-check=true",
         "--experimental-watch-progress-notify-interval=5s",
         f"--initial-advertise-peer-urls=https://{address}:2380",
         f"--initial-cluster={node_name}=https://{address}:2380", f"--key-file={pki}/etcd/server.key",
         f"--listen-client-urls=https://127.0.0.1:2379,https://{address}:2379",
         "--listen-metrics-urls=http://127.0.0.1:2381", f"--listen-peer-urls=https://{address}:2380",
         f"--name={node_name}", f"--peer-cert-file={pki}/etcd/peer.crt", "--peer-client-cert-auth=true",
         f"--peer-key-file={pki}/etcd/peer.key", f"--peer-trusted-ca-file={pki}/etcd/ca.crt",
         "--snapshot-count=10000", f"--trusted-ca-file={pki}/etcd/ca.crt"],
        f"registry.k8s.io/etcd:{ETCD_IMAGE_TAG}",
        annotations={"kubeadm.kubernetes.io/etcd.advertise-client-urls": f"https://{address}:2379"},
        probes={"livenessProbe": _probe("/livez", 2381, "127.0.0.1", failure=8, delay=10, scheme="HTTP"),
                "readinessProbe": _probe("/readyz", 2381, "127.0.0.1", failure=3, period=1, scheme="HTTP"),
                "startupProbe": _probe("/readyz", 2381, "127.0.0.1", failure=24, delay=10, scheme="HTTP")},
        cpu="100m", memory="100Mi",
        volumes=[_host_path("etcd-certs", f"{pki}/etcd"), _host_path("etcd-data", "/var/lib/etcd")],
        mounts=_mounts([("etcd-data", "/var/lib/etcd"), ("etcd-certs", f"{pki}/etcd")], read_only=False))
    cm_conf = "/etc/kubernetes/controller-manager.conf"
    flexvolume = "/usr/libexec/kubernetes/kubelet-plugins/volume/exec"
    controller_manager = _pod(
        "kube-controller-manager",
        ["kube-controller-manager", f"--authentication-kubeconfig={cm_conf}",
         f"--authorization-kubeconfig={cm_conf}", "--bind-address=127.0.0.1",
         f"--client-ca-file={pki}/ca.crt", f"--cluster-name={CLUSTER_NAME}",
         f"--cluster-signing-cert-file={pki}/ca.crt", f"--cluster-signing-key-file={pki}/ca.key",
         "--controllers=*,bootstrapsigner,tokencleaner", f"--kubeconfig={cm_conf}", "--leader-elect=true",
         f"--requestheader-client-ca-file={pki}/front-proxy-ca.crt", f"--root-ca-file={pki}/ca.crt",
         f"--service-account-private-key-file={pki}/sa.key", "--use-service-account-credentials=true"],
        f"registry.k8s.io/kube-controller-manager:{version}",
        probes={"livenessProbe": _probe("/healthz", 10257, "127.0.0.1", failure=8, delay=10),
                "startupProbe": _probe("/healthz", 10257, "127.0.0.1", failure=24, delay=10)},
        cpu="200m",
        volumes=[_host_path(n, p) for n, p in _CA_VOLUMES[:2]]
        + [_host_path("flexvolume-dir", flexvolume), _host_path("k8s-certs", pki),
           _host_path("kubeconfig", cm_conf, "FileOrCreate")]
        + [_host_path(n, p) for n, p in _CA_VOLUMES[2:]],
        mounts=_mounts(_CA_VOLUMES[:2]) + _mounts([("flexvolume-dir", flexvolume)], read_only=False)
        + _mounts([("k8s-certs", pki), ("kubeconfig", cm_conf)] + _CA_VOLUMES[2:]))
    sched_conf = "/etc/kubernetes/scheduler.conf"
    scheduler = _pod(
        "kube-scheduler",
        ["kube-scheduler", f"--authentication-kubeconfig={sched_conf}",
         f"--authorization-kubeconfig={sched_conf}", "--bind-address=127.0.0.1",
         f"--kubeconfig={sched_conf}", "--leader-elect=true"],
        f"registry.k8s.io/kube-scheduler:{version}",
        probes={"livenessProbe": _probe("/livez", 10259, "127.0.0.1", failure=8, delay=10),
                "readinessProbe": _probe("/readyz", 10259, "127.0.0.1", failure=3, period=1),
                "startupProbe": _probe("/livez", 10259, "127.0.0.1", failure=24, delay=10)},
        cpu="100m",
        volumes=[_host_path("kubeconfig", sched_conf, "FileOrCreate")],
        mounts=_mounts([("kubeconfig", sched_conf)]))
    return {"etcd": etcd, "kube-apiserver": apiserver, "kube-controller-manager": controller_manager,
            "kube-scheduler": scheduler}


__all__ = ["KUBEADM_ROOT", "KubeadmTree", "read_with_sudo", "sudo_cat", "static_pod_manifests"]
