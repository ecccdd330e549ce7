"""Filling a kubeadm tree for the lab: the files ``kubeadm init`` would leave in ``/etc/kubernetes``.

:meth:`k8sauthlib.KubeadmTree.create_lab` takes the lock (:func:`creation_lock`) and calls
:func:`fill_lab_tree`: the cluster CA, the API server's serving certificate, the front-proxy CA
and client (:data:`FRONT_PROXY_FILES`), ``admin.conf``/``super-admin.conf`` and the static Pod
manifests; :func:`create_other_pki` makes the rest of a node's ``pki/`` (kubeadm's
``cmd/kubeadm/app/phases/certs/certlist.go``, 1.29+). Existing files are kept and checked
against the CA that should have signed them.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

from ..errors import InputError
from ..files import KEY_MODE, atomic_write
from ..go.yaml import go_yaml_dump
from ..pki.certs import CA, CA_VALIDITY, CERT_VALIDITY
from ..pki.fields import load_cert
from ..pki.keys import KeySpec, verify_signature
from ..pki.names import subject_name
from ..pki.results import Cert
from .kubeconfig import Kubeconfig
from .manifests import static_pod_manifests
from .node import (
    ADMIN_GROUP,
    ADMIN_USER,
    CLUSTER_NAME,
    DNS_DOMAIN,
    LAB_ADDRESS,
    SERVICE_IP,
    SUPER_ADMIN_GROUP,
    SUPER_ADMIN_USER,
)

#: Made in every lab tree (kubeadm always has them); the rest of pki/ only with full_pki.
FRONT_PROXY_FILES = frozenset({"front-proxy-ca", "front-proxy-client"})


def fill_lab_tree(tree, *, key, node_name, server, full_pki=False, ca=None):
    """Make what is missing in ``tree`` (a :class:`~k8sauthlib.KubeadmTree`) with kubeadm's defaults.

    The work of :meth:`KubeadmTree.create_lab <k8sauthlib.KubeadmTree.create_lab>`, which
    documents the files and holds the lock; files that exist are kept and checked against the CA.
    ``ca`` is the tree's CA when the caller has already loaded it (both files exist, and an
    existing CA is never replaced); otherwise it is loaded or created here.
    """
    spec = KeySpec.parse(key)
    for directory, mode in ((tree.pki_dir, 0o755), (tree.manifests_dir, 0o700), (tree.rbac_dir, 0o755)):
        if not directory.is_dir():  # never change the modes of an existing (perhaps real) tree
            directory.mkdir(parents=True)
            directory.chmod(mode)

    # The CA: the caller's, reuse, or create both halves.
    if ca is None and (tree.ca_crt.exists() or tree.ca_key.exists()):
        if not (tree.ca_crt.exists() and tree.ca_key.exists()):
            present = tree.ca_crt if tree.ca_crt.exists() else tree.ca_key
            raise InputError(
                f"{present} exists without its other half ({tree.ca_key if present == tree.ca_crt else tree.ca_crt}); "
                f"the lab cannot sign without both. Remove {present} or use a new directory"
            )
        ca = CA.load(tree.ca_crt, tree.ca_key)
    elif ca is None:
        ca = CA.create(
            "kubernetes",
            key=spec,
            validity=CA_VALIDITY,
            hosts=("kubernetes",),
            usages=("digital signature", "key encipherment", "cert sign"),
        )
        atomic_write(tree.ca_key, ca.key_pem, mode=KEY_MODE, overwrite=False)
        atomic_write(tree.ca_crt, ca.cert_pem)

    def check_signed(path, cert):
        if not verify_signature(cert, ca.cert):
            raise InputError(
                f"{path} was not signed by {tree.ca_crt} (the CA was replaced?); delete it "
                f"and run again to issue a new one"
            )

    # The API server's serving certificate.
    if tree.apiserver_crt.exists() and tree.apiserver_key.exists():
        check_signed(tree.apiserver_crt, Cert.load(tree.apiserver_crt, tree.apiserver_key).cert)
    else:
        # kubeadm sorts the DNS names (v1.28 pkiutil.RemoveDuplicateAltNames: sets.List), so the
        # node's name comes after the kubernetes.* names, as Go's "certificate is valid for" lists them.
        dns = sorted(
            {
                node_name,
                "kubernetes",
                "kubernetes.default",
                "kubernetes.default.svc",
                f"kubernetes.default.svc.{DNS_DOMAIN}",
            }
        )
        # No "localhost": kubeadm never puts it in, and the book shows https://localhost failing
        # against this certificate as it does on a real node. 127.0.0.1 stands in for the
        # advertise address, which kubeadm does put in.
        server_cert = ca.issue_server_cert(
            *dns, SERVICE_IP, LAB_ADDRESS, common_name="kube-apiserver", key=spec, validity=CERT_VALIDITY
        )
        atomic_write(tree.apiserver_key, server_cert.key_pem, mode=KEY_MODE)
        atomic_write(tree.apiserver_crt, server_cert.cert_pem)

    # kubeadm always makes the front-proxy CA, and kube-apiserver's --requestheader-client-ca-file
    # changes what happens to client certificates that name no user (an empty CN gets 401, not
    # anonymous; see k8sauthlib.lab.auth), so the lab tree has it too.
    create_other_pki(tree, ca, spec, node_name, only=None if full_pki else FRONT_PROXY_FILES)

    # admin.conf and super-admin.conf, as kubeadm's kubeconfig phase writes them.
    kubeconfigs = [
        (tree.admin_conf, ADMIN_USER, [ADMIN_GROUP]),
        (tree.super_admin_conf, SUPER_ADMIN_USER, [SUPER_ADMIN_GROUP]),
    ]
    if full_pki:
        kubeconfigs += [
            (tree.root / "controller-manager.conf", "system:kube-controller-manager", []),
            (tree.root / "scheduler.conf", "system:kube-scheduler", []),
        ]
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
    for component, doc in static_pod_manifests(node_name=node_name, address=LAB_ADDRESS).items():
        path = tree.manifest(component)
        if not path.exists():
            atomic_write(path, go_yaml_dump(doc).encode(), mode=KEY_MODE)


def create_other_pki(tree, ca, spec, node_name, only=None):
    """The rest of kubeadm's ``pki/`` (cmd/kubeadm/app/phases/certs/certlist.go, 1.29+).

    Args:
        tree: the :class:`~k8sauthlib.KubeadmTree` whose ``pki/`` is completed.
        only: file names (without extension) to create, or None for all of them.
    """
    from cryptography.hazmat.primitives import serialization

    etcd_hosts = (node_name, "localhost", LAB_ADDRESS, "::1")
    cas = {"ca": ca}
    for name, cn in (("front-proxy-ca", "front-proxy-ca"), ("etcd/ca", "etcd-ca")):
        if only is not None and name not in only:
            continue
        crt, key_path = tree.pki_dir / f"{name}.crt", tree.pki_dir / f"{name}.key"
        if crt.exists() and key_path.exists():
            cas[name] = CA.load(crt, key_path)
            continue
        cas[name] = CA.create(
            cn,
            key=spec,
            validity=CA_VALIDITY,
            hosts=(cn,),
            usages=("digital signature", "key encipherment", "cert sign"),
        )
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
        crt, key_path = tree.pki_dir / f"{name}.crt", tree.pki_dir / f"{name}.key"
        if crt.exists() and key_path.exists():
            cert = Cert.load(crt, key_path).cert
            if not verify_signature(cert, cas[issuer].cert):
                raise InputError(
                    f"{crt} was not signed by {tree.pki_dir / (issuer + '.crt')}; delete it and "
                    f"run again to issue a new one"
                )
            continue
        leaf = cas[issuer].issue(
            subject=subject_name(cn, orgs),
            hosts=hosts,
            key=spec,
            validity=CERT_VALIDITY,
            usages=("digital signature", "key encipherment") + usages,
        )
        atomic_write(key_path, leaf.key_pem, mode=KEY_MODE)
        atomic_write(crt, leaf.cert_pem)
    sa_key, sa_pub = tree.pki_dir / "sa.key", tree.pki_dir / "sa.pub"
    if only is None and not (sa_key.exists() and sa_pub.exists()):
        private = spec.generate()
        # The service-account signing key pair: no certificate, PKCS#1/SEC 1 and PKIX PEM.
        atomic_write(
            sa_key,
            private.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
            ),
            mode=KEY_MODE,
        )
        atomic_write(
            sa_pub,
            private.public_key().public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            ),
        )


@contextlib.contextmanager
def creation_lock(path: Path):
    """An exclusive lock file, so two processes creating the same lab do not make two CAs."""
    import fcntl

    with open(path, "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


__all__ = ["FRONT_PROXY_FILES", "create_other_pki", "creation_lock", "fill_lab_tree"]
