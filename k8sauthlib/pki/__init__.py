"""Certificates and keys, by concept.

- :mod:`.fields`: the one reader of a certificate-ish input (object, PEM, DER, path) and field helpers;
- :mod:`.keys`: key specs, generating, loading and matching keys;
- :mod:`.names`: subjects, cfssl's ``hosts`` rule for SANs, cfssl's usage names;
- :mod:`.results`: :class:`Cert` (a certificate with its key), :class:`CSR`, :func:`make_csr`;
- :mod:`.certs`: :class:`CA` (issuing) and the one certificate builder;
- :mod:`.identity`: who kube-apiserver thinks a certificate is;
- :mod:`.describe`: what is in a certificate (``cfssl certinfo``);
- :mod:`.verify`: Go's ``crypto/x509`` chain verification, with :mod:`.hostname` (``VerifyHostname``).
"""

from .certs import CA
from .describe import CertInfo, describe
from .fields import load_cert
from .identity import Identity, certificate_identifier, kubernetes_identity
from .keys import KeySpec, key_matches, load_private_key
from .names import parse_hosts, resolve_usages, subject_name
from .results import CSR, Cert, make_csr
from .verify import verify_chain

__all__ = [
    "CA",
    "CSR",
    "Cert",
    "CertInfo",
    "Identity",
    "KeySpec",
    "certificate_identifier",
    "describe",
    "key_matches",
    "kubernetes_identity",
    "load_cert",
    "load_private_key",
    "make_csr",
    "parse_hosts",
    "resolve_usages",
    "subject_name",
    "verify_chain",
]
