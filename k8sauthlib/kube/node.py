"""A kubeadm node: kubeadm's constants, and reading its root-only files (through ``sudo -n``).

Values from Kubernetes v1.32, ``cmd/kubeadm/app/constants/constants.go`` (``KubernetesDir``,
``DefaultServiceDNSDomain``...) and ``cmd/kubeadm/app/apis/kubeadm/v1beta4/defaults.go``
(``DefaultServicesSubnet``, ``DefaultClusterName``). Certificate lifetimes are
:data:`k8sauthlib.pki.certs.CA_VALIDITY` and ``CERT_VALIDITY``.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

from ..errors import InputError, PrivilegedReadError

#: kubeadm's directory on a node.
KUBEADM_ROOT = Path("/etc/kubernetes")
#: The Kubernetes version the lab's manifests name (the lab's ``/version`` says v1.32.3 too).
KUBERNETES_VERSION = "v1.32.3"
ETCD_IMAGE_TAG = "3.5.16-0"
#: kubeadm defaults (cmd/kubeadm/app/constants/constants.go and the v1beta4 defaults).
SERVICE_SUBNET = "10.96.0.0/12"
SERVICE_IP = "10.96.0.1"  # first address of the service subnet: the `kubernetes` Service
DNS_DOMAIN = "cluster.local"
CLUSTER_NAME = "kubernetes"
ADMIN_USER, ADMIN_GROUP = "kubernetes-admin", "kubeadm:cluster-admins"  # 1.29 and later
SUPER_ADMIN_USER, SUPER_ADMIN_GROUP = "kubernetes-super-admin", "system:masters"
#: The lab's node name (the API server certificate's first DNS SAN, as kubeadm puts the hostname).
LAB_NODE_NAME = "lab-control-plane"
LAB_ADDRESS = "127.0.0.1"
LAB_PORT = 6443

Reader = Callable[[Path], bytes]


def _sudo(sudo, args: list[str], attempt: str) -> subprocess.CompletedProcess | None:
    """Run ``sudo -n ARGS`` (stdin closed, 30 s); ``None`` when sudo is not installed.

    Raises:
        PrivilegedReadError: it did not finish in time (``attempt`` says what was being done).
    """
    exe = shutil.which(sudo[0])
    if exe is None:
        return None
    try:
        return subprocess.run([exe, *sudo[1:], *args], capture_output=True, timeout=30, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise PrivilegedReadError(f"{attempt}: 'sudo -n {args[0]}' did not finish within 30 s") from None


def sudo_cat(path: Path, sudo=("sudo", "-n")) -> bytes:
    """Read ``path`` with ``sudo -n cat``; raise PrivilegedReadError with advice when that fails."""
    advice = (
        f"run this as root, or copy the file where you can read it (as root: cp {path} ~/ && chown $USER ~/{path.name})"
    )
    proc = _sudo(sudo, ["cat", "--", str(path)], f"cannot read {path}")
    if proc is None:
        raise PrivilegedReadError(
            f"cannot read {path}: permission denied (on a kubeadm node it is root-only, mode 0600), and "
            f"sudo is not installed here. Install and configure sudo (apt-get install sudo; add yourself "
            f"to the sudo group), or {advice}"
        )
    if proc.returncode == 0:
        return proc.stdout
    err = proc.stderr.decode(errors="replace").strip()
    if "password" in err.lower():
        raise PrivilegedReadError(
            f"cannot read {path}: permission denied, and sudo needs a password, which it cannot ask for "
            f"here (sudo said: {err}). Run 'sudo -v' in a terminal first and retry within a few minutes, "
            f"or {advice}"
        )
    if "not in the sudoers" in err or "not allowed" in err:
        raise PrivilegedReadError(
            f"cannot read {path}: permission denied, and this user may not use sudo (sudo said: {err}); {advice}"
        )
    raise PrivilegedReadError(f"cannot read {path} through sudo (sudo said: {err or 'exit ' + str(proc.returncode)})")


def exists_with_sudo(path, sudo=("sudo", "-n")) -> bool:
    """Whether ``path`` exists, asking ``sudo -n test -e`` where a root-only directory hides it.

    On a kubeadm node ``/etc/kubernetes/manifests`` is ``0700`` root: for another user
    ``Path.exists()`` of a file in it raises ``PermissionError`` instead of answering.

    Raises:
        PrivilegedReadError: permission denied and sudo could not answer (not installed, or it
            needs a password); the message says what to do.
    """
    path = Path(path)
    try:
        return path.exists()
    except PermissionError:
        pass
    advice = "run this as root, or configure passwordless sudo ('sudo -v' in a terminal first also works for a while)"
    proc = _sudo(sudo, ["test", "-e", str(path)], f"cannot tell whether {path} exists")
    if proc is None:
        raise PrivilegedReadError(
            f"cannot tell whether {path} exists: permission denied (a root-only directory), "
            f"and sudo is not installed here; {advice}"
        )
    err = proc.stderr.decode(errors="replace").strip()
    if proc.returncode in (0, 1) and not err:  # test(1): 0 exists, 1 does not
        return proc.returncode == 0
    raise PrivilegedReadError(
        f"cannot tell whether {path} exists: permission denied, and sudo said: "
        f"{err or 'exit ' + str(proc.returncode)}; {advice}"
    )


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
        hint = " (is this a kubeadm control-plane node? kubeadm init creates it)"
        raise InputError(f"{path} does not exist" + (hint if str(path).startswith(str(KUBEADM_ROOT)) else "")) from None
    except IsADirectoryError:
        raise InputError(f"{path} is a directory, not a file") from None
    except PermissionError:
        return (privileged_reader or sudo_cat)(path)


__all__ = [
    "ADMIN_GROUP",
    "ADMIN_USER",
    "SUPER_ADMIN_GROUP",
    "SUPER_ADMIN_USER",
    "CLUSTER_NAME",
    "DNS_DOMAIN",
    "ETCD_IMAGE_TAG",
    "KUBEADM_ROOT",
    "KUBERNETES_VERSION",
    "LAB_ADDRESS",
    "LAB_NODE_NAME",
    "LAB_PORT",
    "SERVICE_IP",
    "SERVICE_SUBNET",
    "Reader",
    "exists_with_sudo",
    "read_with_sudo",
    "sudo_cat",
]
