"""When do a kubeadm tree's certificates expire: ``kubeadm certs check-expiration`` over a :class:`KubeadmTree`.

kubeadm's command (kubernetes/kubernetes v1.32, ``cmd/kubeadm/app/cmd/certs.go``,
``newCmdCertsExpiration``) asks the renewal manager
(``cmd/kubeadm/app/phases/certs/renewal/manager.go``, ``NewManager``) for two lists and prints
them as two tab-aligned tables:

* the certificates kubeadm can renew: every leaf of the certificate tree of
  ``cmd/kubeadm/app/phases/certs/certlist.go`` (``GetDefaultCertList``: ``apiserver``,
  ``apiserver-kubelet-client``, ``front-proxy-client``, ``etcd-server``, ``etcd-peer``,
  ``etcd-healthcheck-client``, ``apiserver-etcd-client``; without the four etcd ones when etcd is
  external), plus the client certificates embedded in ``admin.conf``, ``super-admin.conf`` (1.29+),
  ``controller-manager.conf`` and ``scheduler.conf``, all signed by ``ca``. ``kubelet.conf`` is
  left out because the kubelet rotates its own certificate;
* the CAs those certificates depend on: ``ca``, ``front-proxy-ca``, ``etcd-ca``.

Both lists are sorted by name. A row shows the name, ``notAfter`` as Go's ``"Jan 02, 2006 15:04
MST"``, the residual time as apimachinery's ``duration.ShortHumanDuration``, the CA (first table
only) and ``EXTERNALLY MANAGED`` (``yes`` when a CA's certificate is present without its key:
kubeadm cannot renew what it cannot sign). A file that is not there is printed as ``!MISSING!
<name>``.

Differences kept on purpose: kubeadm decides "external etcd" from its ClusterConfiguration; here
it is "no ``manifests/etcd.yaml``" (kubeadm writes that manifest only for local etcd). kubeadm
stops at the first unreadable file; here the row says ``!UNREADABLE!`` and the error, so one bad
file does not hide the others' dates, and the command then fails (exit 1, one error line naming them).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

from ..errors import InputError, K8sAuthError, UsageError
from ..go.duration import short_human_duration
from ..pki.fields import load_cert
from .kubeadm import KubeadmTree
from .kubeconfig import Kubeconfig
from .node import KUBEADM_ROOT, exists_with_sudo

#: ``certsphase.GetDefaultCertList``: (name, file under pki/ without extension, CA name).
PKI_CERTS = (
    ("apiserver", "apiserver", "ca"),
    ("apiserver-etcd-client", "apiserver-etcd-client", "etcd-ca"),
    ("apiserver-kubelet-client", "apiserver-kubelet-client", "ca"),
    ("etcd-healthcheck-client", "etcd/healthcheck-client", "etcd-ca"),
    ("etcd-peer", "etcd/peer", "etcd-ca"),
    ("etcd-server", "etcd/server", "etcd-ca"),
    ("front-proxy-client", "front-proxy-client", "front-proxy-ca"),
)
#: The certificates that exist only with local (stacked) etcd (``GetCertsWithoutEtcd`` drops them).
ETCD_ONLY = frozenset({"apiserver-etcd-client", "etcd-healthcheck-client", "etcd-peer", "etcd-server"})
#: The kubeconfig files whose embedded client certificate kubeadm renews (all signed by ``ca``).
KUBECONFIGS = ("admin.conf", "controller-manager.conf", "scheduler.conf", "super-admin.conf")
#: (name, file under pki/ without extension).
CAS = (("ca", "ca"), ("etcd-ca", "etcd/ca"), ("front-proxy-ca", "front-proxy-ca"))
#: Go's reference layout ``"Jan 02, 2006 15:04 MST"`` as strftime.
DATE_FORMAT = "%b %d, %Y %H:%M UTC"


@dataclass(frozen=True)
class ExpirationInfo:
    """One row of ``check-expiration``.

    Attributes:
        name: kubeadm's name (``apiserver``, ``admin.conf``, ``ca``...).
        path: the file it was read from.
        not_after: the certificate's ``notAfter`` (UTC), or ``None`` when the file is missing
            or unreadable.
        ca_name: the CA that signed it (``None`` for a CA row).
        externally_managed: the CA's key is not in the tree, so kubeadm could not renew it.
        problem: ``"missing"``, or the reason the file could not be read; ``""`` when read.
    """

    name: str
    path: Path
    not_after: datetime | None
    ca_name: str | None
    externally_managed: bool
    problem: str = ""

    def residual(self, now: datetime | None = None) -> timedelta | None:
        """Time left until ``not_after`` (negative once expired); ``None`` without a date."""
        if self.not_after is None:
            return None
        return self.not_after - (now or datetime.now(timezone.utc))


def _pki_cert(tree, relative: str):
    return load_cert(tree.read_bytes(tree.pki_dir / f"{relative}.crt"))


def _kubeconfig_cert(tree, path: Path):
    """The client certificate of the kubeconfig's current user, as kubeadm's kubeconfigReadWriter reads it."""
    kc = Kubeconfig.from_yaml(tree.read_bytes(path).decode("utf-8"), path=path)
    try:
        user = kc.current_user()
    except K8sAuthError as exc:
        raise InputError(f"{path}: {exc}") from None
    data = kc.users.get(user or "", {}).get("client-certificate-data")
    if not data:
        raise InputError(f"{path}: the current user has no client-certificate-data (kubeadm embeds one)")
    return load_cert(data)


def _row(name, path, ca_name, external, read) -> ExpirationInfo:
    if not path.exists():
        return ExpirationInfo(name, path, None, ca_name, external, "missing")
    try:
        cert = read()
    except K8sAuthError as exc:
        return ExpirationInfo(name, path, None, ca_name, external, str(exc))
    return ExpirationInfo(name, path, cert.not_valid_after_utc, ca_name, external)


def check_expiration(tree) -> tuple[list[ExpirationInfo], list[ExpirationInfo]]:
    """List a kubeadm tree's certificates and CAs with their expiry, as ``kubeadm certs check-expiration``.

    Args:
        tree: a :class:`k8sauthlib.KubeadmTree` (``/etc/kubernetes`` on a node, read with
            ``sudo -n`` where root-only, or the lab's tree).

    Returns:
        ``(certificates, authorities)``, each sorted by name like kubeadm's tables.
    """
    external = {
        name: (tree.pki_dir / f"{rel}.crt").exists() and not (tree.pki_dir / f"{rel}.key").exists() for name, rel in CAS
    }
    external["etcd-ca"] = False  # kubeadm: IsExternallyManaged is always false for etcd
    local_etcd = exists_with_sudo(tree.manifest("etcd"))  # manifests/ is root-only (0700) on a node
    certs = []
    for name, rel, ca_name in PKI_CERTS:
        if name in ETCD_ONLY and not local_etcd:
            continue
        path = tree.pki_dir / f"{rel}.crt"
        certs.append(_row(name, path, ca_name, external[ca_name], lambda rel=rel: _pki_cert(tree, rel)))
    for name in KUBECONFIGS:
        path = tree.root / name
        certs.append(_row(name, path, "ca", external["ca"], lambda path=path: _kubeconfig_cert(tree, path)))
    cas = [
        _row(name, tree.pki_dir / f"{rel}.crt", None, external[name], lambda rel=rel: _pki_cert(tree, rel))
        for name, rel in CAS
    ]
    return sorted(certs, key=lambda r: r.name), sorted(cas, key=lambda r: r.name)


def _tabwriter(rows: list[list[str]]) -> str:
    """Go ``text/tabwriter`` as kubeadm makes it: ``tabwriter.NewWriter(os.Stdout, 10, 4, 3, ' ', 0)``.

    A column is as wide as its widest cell plus 3 spaces, at least 10; a line's last cell is
    not aligned (it is not followed by a tab).
    """
    widths = {}
    for row in rows:
        for i, cell in enumerate(row[:-1]):  # the last cell of a line is not aligned
            widths[i] = max(widths.get(i, 0), len(cell) + 3, 10)
    return "".join("".join(cell.ljust(widths[i]) for i, cell in enumerate(row[:-1])) + row[-1] + "\n" for row in rows)


def _yes_no(flag: bool) -> str:
    return "yes" if flag else "no"


def format_expiration(certs, cas, *, now: datetime | None = None) -> str:
    """The two tables ``kubeadm certs check-expiration`` prints for :func:`check_expiration`'s lists."""
    now = now or datetime.now(timezone.utc)

    def cells(info, with_ca):
        if info.not_after is None:
            label = "!MISSING!" if info.problem == "missing" else "!UNREADABLE!"
            return [
                f"{label} {info.name}",
                "",
                "",
                *([""] if with_ca else []),
                info.problem if label != "!MISSING!" else "",
            ]
        return [
            info.name,
            info.not_after.strftime(DATE_FORMAT),
            short_human_duration(info.residual(now)),
            *([info.ca_name] if with_ca else []),
            f"{_yes_no(info.externally_managed):<8}",
        ]

    first = [["CERTIFICATE", "EXPIRES", "RESIDUAL TIME", "CERTIFICATE AUTHORITY", "EXTERNALLY MANAGED"]]
    first += [cells(info, True) for info in certs]
    second = [["CERTIFICATE AUTHORITY", "EXPIRES", "RESIDUAL TIME", "EXTERNALLY MANAGED"]]
    second += [cells(info, False) for info in cas]
    return _tabwriter(first) + "\n" + _tabwriter(second)


USAGE = """usage: k8sauthlib check-expiration [--dir DIR]

List the certificates of a kubeadm tree and when they expire, as 'kubeadm certs check-expiration'.

  --dir DIR   the kubeadm directory (default /etc/kubernetes; root-only files are read with sudo -n)
"""


def main(argv: list[str]) -> int:
    """``k8sauthlib check-expiration [--dir DIR]``."""
    directory, rest = str(KUBEADM_ROOT), list(argv)
    while rest:
        arg = rest.pop(0)
        if arg in ("-h", "--help", "-help"):
            sys.stdout.write(USAGE)
            return 0
        if arg.startswith("--dir="):
            directory = arg.split("=", 1)[1]
        elif arg == "--dir" and rest:
            directory = rest.pop(0)
        else:
            raise UsageError(
                f"check-expiration: unexpected argument {arg!r}; usage: k8sauthlib check-expiration [--dir DIR]"
            )
    tree = KubeadmTree(directory)
    if not tree.pki_dir.is_dir():
        raise InputError(
            f"{tree.pki_dir} is not a directory: give the kubeadm directory with --dir "
            f"(the one holding pki/ and admin.conf)"
        )
    certs, cas = check_expiration(tree)
    sys.stdout.write(format_expiration(certs, cas))
    unreadable = [info.name for info in (*certs, *cas) if info.not_after is None and info.problem != "missing"]
    if unreadable:  # kubeadm fails at the first one; the tables above still show the rest
        raise InputError(
            f"cannot read {', '.join(unreadable)} in {tree.root} (the !UNREADABLE! rows say why); "
            f"replace or renew those files"
        )
    return 0
