"""k8sauthlib: Kubernetes X.509 client-certificate authentication, hands-on.

One import serves every notebook: ``import k8sauthlib as k8s``. Names are loaded lazily
(PEP 562), so ``k8sauthlib json -bare`` and ``--help`` start without importing
``cryptography``.
"""

import importlib

__version__ = "0.1.0"

# public name -> module that defines it
_EXPORTS = {
    # errors
    "K8sAuthError": "errors", "InputError": "errors", "KeyMismatchError": "errors",
    "UnknownUsageError": "errors", "UnknownProfileError": "errors",
    "FileExistsRefusedError": "errors", "VerificationError": "errors",
    # certificates and CAs
    "CA": "pki.certs", "Cert": "pki.certs", "CSR": "pki.certs", "KeySpec": "pki.certs",
    "make_csr": "pki.certs", "load_cert": "pki.certs", "load_private_key": "pki.certs",
    "resolve_usages": "pki.certs",
    # files
    "BareFiles": "files", "write_bare": "files", "atomic_write": "files",
    # inspection and verification
    "CertInfo": "pki.inspect", "Identity": "pki.inspect", "describe": "pki.inspect",
    "kubernetes_identity": "pki.inspect", "verify_chain": "pki.inspect",
    # cfssl inputs
    "CsrRequest": "cfssl", "SigningConfig": "cfssl",
    # mTLS client and nginx
    "MTLSClient": "tls.client", "TLSProblem": "tls.client", "Nginx": "tls.nginx",
    "run_curl": "tls.diagnose", "CAUSES": "tls.diagnose", "ClientKeyMismatch": "tls.client",
    "ClientSignatureRejected": "tls.client",
    # Kubernetes side
    "Kubeconfig": "kube.kubeconfig", "KubeadmTree": "kube.kubeadm", "LabServer": "lab",
    "kubeconfig_for_user": "kube.kubeconfig", "parse_duration": "kube.kubeconfig", "PrivilegedReadError": "kube.kubeadm",
    # pictures
    "draw_chain": "book.figures", "draw_mtls_handshake": "book.figures", "draw_kubeconfig": "book.figures",
    "draw_request_path": "book.figures",
}

# submodules reachable as attributes, e.g. ``k8s.book.workdir(...)``
_SUBMODULES = {"book": "book", "certs": "pki.certs", "cfssl": "cfssl", "cli": "cli", "client": "tls.client",
               "diagnose": "tls.diagnose", "errors": "errors", "figures": "book.figures", "files": "files",
               "inspect": "pki.inspect", "kubeadm": "kube.kubeadm", "kubeconfig": "kube.kubeconfig", "lab": "lab",
               "nginx": "tls.nginx", "pki": "pki", "tls": "tls", "kube": "kube"}

__all__ = sorted(_EXPORTS)


def __getattr__(name):
    if name in _SUBMODULES:
        return importlib.import_module(f"{__name__}.{_SUBMODULES[name]}")
    try:
        module = _EXPORTS[name]
    except KeyError:
        raise AttributeError(f"module 'k8sauthlib' has no attribute {name!r}") from None
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(__all__))
