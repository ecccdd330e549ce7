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
    "CA": "certs", "Cert": "certs", "CSR": "certs", "KeySpec": "certs",
    "make_csr": "certs", "load_cert": "certs", "load_private_key": "certs",
    "resolve_usages": "certs",
    # files
    "BareFiles": "files", "write_bare": "files", "atomic_write": "files",
    # inspection and verification
    "CertInfo": "inspect", "Identity": "inspect", "describe": "inspect",
    "kubernetes_identity": "inspect", "verify_chain": "inspect",
    # cfssl inputs
    "CsrRequest": "cfssl", "SigningConfig": "cfssl",
    # mTLS client and nginx
    "MTLSClient": "client", "TLSProblem": "client", "Nginx": "nginx",
    "run_curl": "diagnose", "CAUSES": "diagnose", "ClientKeyMismatch": "client",
    "ClientSignatureRejected": "client",
    # Kubernetes side
    "Kubeconfig": "kubeconfig", "KubeadmTree": "kubeadm", "LabServer": "lab",
    "kubeconfig_for_user": "kubeconfig", "parse_duration": "kubeconfig", "PrivilegedReadError": "kubeadm",
    # pictures
    "draw_chain": "figures", "draw_mtls_handshake": "figures", "draw_kubeconfig": "figures",
    "draw_request_path": "figures",
}

# submodules reachable as attributes, e.g. ``k8s.book.workdir(...)``
_SUBMODULES = ("book", "certs", "cfssl", "cli", "client", "diagnose", "errors", "figures", "files",
               "inspect", "kubeadm", "kubeconfig", "lab", "nginx")

__all__ = sorted(_EXPORTS)


def __getattr__(name):
    if name in _SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    try:
        module = _EXPORTS[name]
    except KeyError:
        raise AttributeError(f"module 'k8sauthlib' has no attribute {name!r}") from None
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(__all__))
