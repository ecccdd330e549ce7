"""``kubeadm kubeconfig user`` and the ``k8sauthlib kubeconfig`` command.

kubeadm's ``kubeconfig user`` phase (``cmd/kubeadm/app/cmd/kubeconfig.go``, ``newCmdUserKubeConfig``,
Kubernetes v1.32) reads the cluster CA from ``--cert-dir``, issues a client certificate and prints
a kubeconfig with everything embedded. This module joins the two halves it needs, the kubeadm
tree (:mod:`.kubeadm`, for reading root-only CA files) and the kubeconfig model
(:mod:`.kubeconfig`), so neither of them imports the other.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable
from datetime import timedelta
from pathlib import Path

from ..errors import InputError, K8sAuthError, error_line
from ..go.duration import format_duration, parse_duration
from ..pki.keys import DEFAULT_KEY
from .kubeadm import load_cluster_ca
from .kubeconfig import Kubeconfig
from .node import read_with_sudo


def check_server_url(server) -> None:
    """Refuse a ``--server`` that kubectl could not use with a client certificate.

    kubeadm writes ``https://<controlPlaneEndpoint>`` and client-go refuses an empty server
    ("no server found for cluster", clientcmd/validation.go, v0.28); a certificate is only ever
    sent in a TLS handshake, so ``http://`` would send the request without it.

    Raises:
        InputError: not an ``https://HOST[:PORT]`` URL.
    """
    from urllib.parse import urlsplit

    text = str(server)
    shown = repr(text if len(text) <= 80 else text[:80] + "...")
    try:
        url = urlsplit(text)
        url.port  # noqa: B018 - raises ValueError for a port out of range or not a number
    except ValueError as exc:
        raise InputError(
            f"--server {shown} is not a URL ({exc}); give https://HOST:PORT, e.g. https://127.0.0.1:6443"
        ) from None
    if url.scheme == "http":
        raise InputError(
            f"--server {shown} is plain HTTP: a client certificate is only sent over TLS, and kube-apiserver "
            f"serves HTTPS only; use https://{url.netloc}{url.path}"
        )
    if url.scheme != "https" or not url.hostname or any(c.isspace() or ord(c) < 32 for c in text):
        raise InputError(
            f"--server {shown} is not an https:// URL; give https://HOST:PORT, e.g. https://127.0.0.1:6443"
        )


def kubeconfig_for_user(
    cert_dir,
    client_name: str,
    orgs: Iterable[str] = (),
    validity="8760h",
    *,
    server: str,
    cluster_name: str = "kubernetes",
    key=DEFAULT_KEY,
    reader=None,
) -> Kubeconfig:
    """A kubeconfig for a new user signed by the cluster CA, like ``kubeadm kubeconfig user``.

    ``kubeadm kubeconfig user --client-name NAME --org GROUP --validity-period 24h`` loads
    ``<cert-dir>/ca.crt`` and ``ca.key``, issues a client certificate (``CN=NAME``, one ``O`` per
    ``--org``, key usage digitalSignature+keyEncipherment, EKU clientAuth) and prints a kubeconfig
    with everything embedded: cluster ``kubernetes``, user ``NAME``, context ``NAME@kubernetes``
    as the current context.

    Args:
        cert_dir: the PKI directory (kubeadm: ``/etc/kubernetes/pki``). ``ca.key`` is read through
            ``sudo -n`` when this process may not read it (see :class:`k8sauthlib.KubeadmTree`).
        client_name: the user name (certificate CN).
        orgs: groups (one ``O`` each).
        validity: Go duration (``24h``, ``8760h0m0s``) or a ``timedelta``; kubeadm's default is
            one year.
        server: the API server URL.
        cluster_name: kubeadm's ``clusterName`` (default ``kubernetes``).
        key: key type for the new key pair (kubeadm's ``encryptionAlgorithm``, default RSA-2048).
        reader: optional plain ``callable(path) -> bytes`` used instead of ``Path.read_bytes``;
            a ``PermissionError`` from it still falls back to ``sudo -n cat``.

    Returns:
        The kubeconfig (not yet written; ``.to_yaml()`` is what kubeadm prints, ``.write()``
        saves it with mode 0600).

    Raises:
        InputError: missing or unreadable CA files, a bad duration, an empty name.
        KeyMismatchError: ``ca.key`` does not belong to ``ca.crt``.
    """
    if not client_name:
        raise InputError("the client name (the certificate's CN, i.e. the user name) must not be empty")
    if len(client_name) > 64:  # RFC 5280 ub-common-name; the cryptography package enforces it
        raise InputError(
            f"the client name is {len(client_name)} characters long; a certificate's CN (the user "
            f"name) holds at most 64 (RFC 5280 ub-common-name): choose a shorter --client-name"
        )
    check_server_url(server)
    if isinstance(orgs, str):
        orgs = [orgs]
    lifetime = parse_duration(validity)
    if lifetime <= timedelta(0):
        raise InputError(f"the validity must be positive, not {format_duration(lifetime)}")
    cert_dir = Path(cert_dir)
    ca_crt, ca_key = cert_dir / "ca.crt", cert_dir / "ca.key"
    ca = load_cluster_ca(ca_crt, ca_key, lambda path: read_with_sudo(path, reader=reader))
    user = ca.issue_client_cert(client_name, list(orgs), key=key, validity=lifetime)
    kc = Kubeconfig()
    kc.set_cluster(cluster_name, server, certificate_authority_data=ca.cert_pem)
    kc.set_credentials(client_name, client_certificate_data=user.cert_pem, client_key_data=user.key_pem)
    context = f"{client_name}@{cluster_name}"
    kc.set_context(context, cluster=cluster_name, user=client_name)
    kc.use_context(context)
    return kc


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="k8sauthlib kubeconfig", description="kubeconfig helpers")
    sub = parser.add_subparsers(dest="command", required=True)
    user = sub.add_parser(
        "user", help="print a kubeconfig for a new user signed by the cluster CA (like kubeadm kubeconfig user)"
    )
    user.add_argument("--client-name", required=True, help="user name: the certificate's CN")
    user.add_argument("--org", action="append", default=[], help="group (O); repeat for several")
    user.add_argument(
        "--validity",
        "--validity-period",
        dest="validity",
        default="8760h0m0s",
        help="certificate lifetime as a Go duration (default 8760h0m0s)",
    )
    user.add_argument(
        "--cert-dir", default="/etc/kubernetes/pki", help="where ca.crt and ca.key are (default /etc/kubernetes/pki)"
    )
    user.add_argument("--server", required=True, help="API server URL, e.g. https://127.0.0.1:6443")
    user.add_argument("--cluster-name", default="kubernetes", help="cluster name (default kubernetes)")
    user.add_argument("--key", default="rsa-2048", help="key type: rsa-2048 (default), rsa-4096, ecdsa-p256, ...")
    user.add_argument("-o", "--output", help="write the kubeconfig to this file (mode 0600) instead of stdout")
    view = sub.add_parser("view", help="print a kubeconfig like kubectl config view")
    view.add_argument("kubeconfig", help="kubeconfig file")
    view.add_argument("--minify", action="store_true", help="only the current context and what it uses")
    view.add_argument("--raw", action="store_true", help="show certificate and key data")
    extract = sub.add_parser(
        "client-files", help="extract a user's embedded certificate and key to NAME.pem and NAME-key.pem"
    )
    extract.add_argument("kubeconfig", help="kubeconfig file, e.g. /etc/kubernetes/admin.conf")
    extract.add_argument("--name", default="k8s-client", help="base name of the files (default k8s-client)")
    extract.add_argument("--dir", default=".", help="directory for the files (default: current)")
    extract.add_argument("--user", help="which user (default: the current context's)")
    return parser


def main(argv=None) -> int:
    """``k8sauthlib kubeconfig ...``: ``user`` (like ``kubeadm kubeconfig user``), ``view``, ``client-files``.

    Args:
        argv: arguments after ``kubeconfig`` (a leading ``"kubeconfig"`` is accepted too).

    Returns:
        The exit status: 0 on success, 1 on an error (message on stderr), 2 on bad usage.
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["kubeconfig"]:
        argv = argv[1:]
    try:
        args = _parser().parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    try:
        if args.command == "user":
            kc = kubeconfig_for_user(
                args.cert_dir,
                args.client_name,
                args.org,
                args.validity,
                server=args.server,
                cluster_name=args.cluster_name,
                key=args.key,
            )
            if args.output:
                kc.write(args.output)
            else:
                # kubeadm prints clientcmd.Write's bytes with fmt.Fprintln: one extra newline.
                sys.stdout.write(kc.to_yaml() + "\n")
        elif args.command == "view":
            kc = Kubeconfig.from_yaml(read_with_sudo(args.kubeconfig), path=args.kubeconfig)
            sys.stdout.write(kc.view(minify=args.minify, raw=args.raw))
        elif args.command == "client-files":
            kc = Kubeconfig.from_yaml(read_with_sudo(args.kubeconfig), path=args.kubeconfig)
            files = kc.client_files(args.dir, args.name, user=args.user)
            print(files.cert)
            print(files.key)
    except K8sAuthError as exc:
        sys.stderr.write(error_line(exc) + "\n")
        return 1
    return 0


__all__ = ["check_server_url", "kubeconfig_for_user", "main"]
