"""``k8sauthlib lab up --dir DIR [--port PORT] [--kubernetes-version 1.N]``: run the lab API server.

Creates the kubeadm-like tree in ``DIR`` when it is missing (or reuses it, so the CA survives
restarts as in a real cluster), serves it, prints the URL on stdout once the server answers
TLS, logs every request on stderr, and exits 0 on SIGINT (Ctrl-C) or SIGTERM.

The default port is the manifest's ``--secure-port`` (kubeadm: 6443), so that the server URL
in the tree's ``admin.conf`` is right; ``--port 0`` picks a free port.
``--kubernetes-version`` (1.28 to 1.35, default 1.32) is what ``/version`` says, so the
``kubectl`` dispatcher runs the matching kubectl; see :mod:`k8sauthlib.lab.discovery`.
"""

import argparse
import logging
import signal
import sys
import threading

from ..errors import K8sAuthError, UsageError, error_line

SERVES = (
    "What it serves, as kube-apiserver does: client-certificate authentication, impersonation and RBAC; "
    "discovery, /openapi/v2 and /openapi/v3; Namespaces, Roles, ClusterRoles, RoleBindings, ClusterRoleBindings and "
    "CertificateSigningRequests (create, get, list, update, patch, delete; approved CSRs are signed with "
    "pki/ca.key at once); the default ClusterRoles (view, edit, admin, system:*); read-only mirror pods of "
    "manifests/, the control-plane Node, the kubernetes Service and 'kubectl logs' of the kube-apiserver pod "
    "(the lab's own log); field selectors; SelfSubjectReview, SelfSubjectAccessReview, SelfSubjectRulesReview. "
    "Not served, and refused with a message saying so: watch, server-side apply, dry-run, other resources "
    "and writes to pods. Objects written through the API are kept as YAML in DIR/lab/objects/ (they survive "
    "a restart); RBAC YAML files you write into DIR/lab/rbac/ take effect on the next request."
)


def _port(text):
    """argparse type for --port: a TCP port 0-65535 (bind() would raise OverflowError)."""
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{port} is not a TCP port: use 1-65535, or 0 for a free one")
    return port


def _host(text):
    """argparse type for --host: an address this machine can resolve, checked before the tree
    is created (a bad one would otherwise fail only at listen())."""
    import socket

    try:
        socket.getaddrinfo(text, None, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise argparse.ArgumentTypeError(f"{text!r} is not an address to listen on ({exc})") from None
    return text


class _Parser(argparse.ArgumentParser):
    """argparse with the command line's one error prefix (:func:`k8sauthlib.errors.error_line`)."""

    def error(self, message):
        self.print_usage(sys.stderr)
        raise UsageError(message)


def _parser():
    from .discovery import SUPPORTED_MINORS

    parser = _Parser(prog="k8sauthlib lab", description="The local lab API server.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    up = sub.add_parser(
        "up",
        help="serve the lab API in the foreground until Ctrl-C or SIGTERM",
        description="Serve the lab API server on 127.0.0.1 in the foreground. " + SERVES,
    )
    up.add_argument("--dir", required=True, help="the lab's kubeadm tree (created if missing)")
    up.add_argument(
        "--port",
        type=_port,
        default=None,
        help="TCP port (default: --secure-port of manifests/kube-apiserver.yaml; 0: a free port)",
    )
    up.add_argument("--host", type=_host, default="127.0.0.1", help="listen address (default 127.0.0.1)")
    up.add_argument("--quiet", action="store_true", help="do not log requests on stderr")
    up.add_argument(
        "--kubernetes-version",
        default="1.32",
        metavar="1.N",
        choices=[f"1.{m}" for m in SUPPORTED_MINORS],
        help=f"the Kubernetes version the lab presents (1.{SUPPORTED_MINORS[0]} to "
        f"1.{SUPPORTED_MINORS[-1]}; default 1.32): /version, credential-id from 1.32",
    )
    return parser


def main(argv=None) -> int:
    """Run the ``lab`` command line; ``argv`` excludes the program name (``["up", "--dir", ...]``)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["lab"]:
        argv = argv[1:]
    try:
        args = _parser().parse_args(argv)
    except UsageError as exc:
        print(error_line(exc), file=sys.stderr)
        return 2

    log = logging.getLogger("k8sauthlib.lab")
    saved = (log.level, log.propagate)
    handler = None
    if not args.quiet:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(message)s"))  # lines carry klog's header
        log.addHandler(handler)
        log.setLevel(logging.INFO)
        log.propagate = False
    try:
        return _serve(args, log)
    finally:
        # The handler lives as long as this command: bound to this sys.stderr, it must not outlive
        # it (a caller that runs main() in-process, as a test does, closes that stream afterwards).
        if handler is not None:
            log.removeHandler(handler)
            log.setLevel(saved[0])
            log.propagate = saved[1]


def _serve(args, log):
    """``lab up`` after the arguments: serve until Ctrl-C or SIGTERM; the exit status."""
    from .server import LabServer

    stop = threading.Event()

    def on_signal(signum, frame):
        stop.set()

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        lab = LabServer(args.dir, port=args.port, host=args.host, kubernetes_version=args.kubernetes_version)
        port = args.port
        if port is None:
            lab.ensure_tree()
            port = lab.tree.secure_port
            lab.requested_port = port
        lab.start()
        log.info(
            "lab: presenting Kubernetes v%s; RBAC files in %s; objects written through the API in %s; "
            "not served: watch, server-side apply, dry-run, pod writes, other resources",
            args.kubernetes_version,
            lab.rbac_dir,
            lab.directory / "lab" / "objects",
        )
        try:
            print(lab.url, flush=True)
            while not stop.wait(0.5):
                pass
        finally:
            lab.stop()
    except (K8sAuthError, ValueError) as exc:
        print(error_line(exc), file=sys.stderr)
        return 1
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
