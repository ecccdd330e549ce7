"""k8sauthlib: Kubernetes X.509 client-certificate authentication, hands-on.

One import serves every notebook: ``import k8sauthlib as k8s``; every name a notebook needs is
here, under one spelling (``k8s.CA``, ``k8s.run_curl``, ``k8s.HostnameMismatch``...).

The packages, from the bottom up (each imports only those above it)::

    errors, files        exceptions; file reading and atomic writing
    go                   Go's rules: durations, strconv.Quote, encoding/json, go-yaml v2
    pki                  keys, names (subjects, SANs, usages), certificates and CAs; identity, describe, verify
    cfssl                cfssl's JSON inputs, signing configurations and gencert
    tls                  the mTLS client, failure diagnosis, managed nginx
    kube                 kubeconfig files, the kubeadm tree, ``kubeadm kubeconfig user``
    lab                  a local stand-in for kube-apiserver
    book                 the notebooks' helpers and figures (graphviz: the ``book`` extra)
    cli                  the ``k8sauthlib`` command line

Names load on first use (PEP 562): ``import k8sauthlib`` itself imports nothing else, so the
command line's ``json -bare`` and ``--help`` start without ``cryptography``, ``requests`` and
``OpenSSL`` (about 0.3 s of imports on the book's machine, paid once per command). The
``TYPE_CHECKING`` block below is the same list written as imports, for editors and readers;
``tests/test_layout.py`` keeps the two identical.
"""

from __future__ import annotations

import importlib

# typing.TYPE_CHECKING without importing typing (~10 ms at every command start); type checkers
# and editors read a module-level TYPE_CHECKING = False the same way (CPython's own idiom).
TYPE_CHECKING = False

__version__ = "0.1.0"

if TYPE_CHECKING:
    from .book.figures import draw_chain, draw_mtls_handshake
    from .book.kube_figures import draw_kubeconfig, draw_request_path
    from .cause_text import explain, markdown_table
    from .causes import CAUSES, cause
    from .cfssl import CsrRequest, SigningConfig
    from .errors import (
        CertificateExpired,
        ClientCertExpired,
        ClientCertRejected,
        ClientCertRequired,
        ClientKeyMismatch,
        ClientSignatureRejected,
        CredentialFileError,
        FileExistsRefusedError,
        HostnameMismatch,
        HTTPSToPlainHTTP,
        InputError,
        InsecureTLSWarning,
        K8sAuthError,
        KeyMismatchError,
        NginxError,
        PlainHTTPToHTTPS,
        PrivilegedReadError,
        ServerCertExpired,
        ServerUnreachable,
        TLSProblem,
        UnknownProfileError,
        UnknownServerCA,
        UnknownUsageError,
        VerificationError,
        WrongKeyUsage,
    )
    from .files import BareFiles, atomic_write, write_bare
    from .go.duration import format_duration, parse_duration, short_human_duration
    from .kube.access import AccessReview, why_allowed
    from .kube.expiration import check_expiration, format_expiration
    from .kube.kubeadm import KubeadmTree
    from .kube.kubeconfig import Kubeconfig
    from .kube.user import kubeconfig_for_user
    from .lab import LabServer
    from .pki.certs import CA
    from .pki.describe import CertInfo, describe
    from .pki.fields import load_cert
    from .pki.identity import Identity, kubernetes_identity
    from .pki.keys import KeySpec, key_matches, load_private_key
    from .pki.names import resolve_usages, subject_name
    from .pki.results import CSR, Cert, make_csr
    from .pki.verify import verify_chain
    from .tls.client import MTLSClient
    from .tls.diagnose import diagnose_nginx_log, diagnose_response, diagnose_text, run_curl
    from .tls.keypair import check_key_pair
    from .tls.nginx import Nginx
    from .tls.recorder import RecordedRequest, RequestRecorder

# module -> the public names it gives the top level (the same list as the block above)
_EXPORTS = {
    "errors": (
        "CertificateExpired",
        "ClientCertExpired",
        "ClientCertRejected",
        "ClientCertRequired",
        "ClientKeyMismatch",
        "ClientSignatureRejected",
        "CredentialFileError",
        "FileExistsRefusedError",
        "HostnameMismatch",
        "HTTPSToPlainHTTP",
        "InputError",
        "InsecureTLSWarning",
        "K8sAuthError",
        "KeyMismatchError",
        "NginxError",
        "PlainHTTPToHTTPS",
        "PrivilegedReadError",
        "ServerCertExpired",
        "ServerUnreachable",
        "TLSProblem",
        "UnknownProfileError",
        "UnknownServerCA",
        "UnknownUsageError",
        "VerificationError",
        "WrongKeyUsage",
    ),
    "files": ("BareFiles", "atomic_write", "write_bare"),
    "go.duration": ("format_duration", "parse_duration", "short_human_duration"),
    "pki.fields": ("load_cert",),
    "pki.keys": ("KeySpec", "key_matches", "load_private_key"),
    "pki.names": ("resolve_usages", "subject_name"),
    "pki.results": ("CSR", "Cert", "make_csr"),
    "pki.certs": ("CA",),
    "pki.describe": ("CertInfo", "describe"),
    "pki.identity": ("Identity", "kubernetes_identity"),
    "pki.verify": ("verify_chain",),
    "cfssl": ("CsrRequest", "SigningConfig"),
    "tls.client": ("MTLSClient",),
    "tls.keypair": ("check_key_pair",),
    "causes": ("CAUSES", "cause"),
    "cause_text": ("explain", "markdown_table"),
    "tls.diagnose": ("diagnose_nginx_log", "diagnose_response", "diagnose_text", "run_curl"),
    "tls.nginx": ("Nginx",),
    "tls.recorder": ("RecordedRequest", "RequestRecorder"),
    "kube.kubeconfig": ("Kubeconfig",),
    "kube.kubeadm": ("KubeadmTree",),
    "kube.access": ("AccessReview", "why_allowed"),
    "kube.expiration": ("check_expiration", "format_expiration"),
    "kube.user": ("kubeconfig_for_user",),
    "lab": ("LabServer",),
    "book.figures": ("draw_chain", "draw_mtls_handshake"),
    "book.kube_figures": ("draw_kubeconfig", "draw_request_path"),
}
_HOME = {name: module for module, names in _EXPORTS.items() for name in names}

# packages reachable as attributes: ``k8s.book.workdir(...)``, ``k8s.cfssl.gencert(...)``
_PACKAGES = ("book", "cfssl", "cli", "errors", "files", "go", "kube", "lab", "pki", "tls")

__all__ = sorted(_HOME)


def __getattr__(name):
    if name in _PACKAGES:
        return importlib.import_module(f"{__name__}.{name}")
    module = _HOME.get(name)
    if module is None:
        raise AttributeError(f"module 'k8sauthlib' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(__all__) | set(_PACKAGES))
