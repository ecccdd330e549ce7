"""What an HTTPS client trusts: the system's CA bundle, and a CA file checked before use.

:class:`~k8sauthlib.MTLSClient` with ``ca=None`` trusts what curl and kubectl trust when they are
given no CA: the distribution's CA bundle (curl's compiled-in ``--cacert`` default; Go 1.22
``src/crypto/x509/root_linux.go``, ``certFiles``), never a file named by the environment.
A ``ca`` file is loaded once the way the TLS layer will load it, so a bad file fails at
construction in one sentence (curl: "error setting certificate file").
"""

from __future__ import annotations

import os
import ssl

from ..errors import CredentialFileError
from .diagnose import make_diagnosis

#: The distributions' system CA bundles (Debian/Ubuntu, Fedora/RHEL, openSUSE, Alpine/Arch),
#: in the order of Go's ``certFiles``.
SYSTEM_CA_FILES = (
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/ssl/ca-bundle.pem",
    "/etc/ssl/cert.pem",
)


def system_trust_store():
    """The system's CA bundle file (or OpenSSL's compiled-in CA directory), or None.

    Environment variables (``SSL_CERT_FILE``, ``REQUESTS_CA_BUNDLE``, ``CURL_CA_BUNDLE``) are
    not consulted: the same call trusts the same roots in every reader's shell.
    """
    paths = ssl.get_default_verify_paths()
    for candidate in (*SYSTEM_CA_FILES, paths.openssl_cafile):
        if candidate and os.path.isfile(candidate):
            return candidate
    if paths.openssl_capath and os.path.isdir(paths.openssl_capath):
        return paths.openssl_capath
    return None


def check_ca_file(path):
    """Load a CA bundle the way the TLS layer will, so a bad file fails here, in one sentence,
    instead of at the first request (curl: "error setting certificate file").

    Raises:
        CredentialFileError: the file cannot be read or holds no usable PEM certificate.
    """
    try:
        ssl.create_default_context(cafile=path)
    except (ssl.SSLError, ValueError, UnicodeDecodeError) as exc:
        raise CredentialFileError(
            f"CA file {path} holds no usable PEM certificate ({getattr(exc, 'reason', None) or exc}); "
            f"give the CA certificate file (-----BEGIN CERTIFICATE-----), e.g. rootCA.pem",
            diagnosis=make_diagnosis("ca-file-unreadable", str(path)),
        ) from None
    except OSError as exc:
        raise CredentialFileError(
            f"cannot read CA file {path}: {exc.strerror or exc}",
            diagnosis=make_diagnosis("ca-file-unreadable", str(path)),
        ) from None


__all__ = ["SYSTEM_CA_FILES", "check_ca_file", "system_trust_store"]
