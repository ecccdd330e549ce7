"""Reading the fields of a certificate from any source: the one reader of "a certificate-ish input".

Every function that takes a certificate accepts the same inputs through :func:`load_cert`:
a ``cryptography`` certificate, an object with ``.cert`` (our :class:`~k8sauthlib.CA`,
:class:`~k8sauthlib.Cert`), PEM or DER bytes, a PEM string, or a path.
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import ExtensionOID, SignatureAlgorithmOID

from ..errors import InputError
from ..files import check_pem_blocks, read_file

EXTENSION_NAMES = {
    ExtensionOID.BASIC_CONSTRAINTS: "basicConstraints",
    ExtensionOID.KEY_USAGE: "keyUsage",
    ExtensionOID.EXTENDED_KEY_USAGE: "extendedKeyUsage",
    ExtensionOID.SUBJECT_KEY_IDENTIFIER: "subjectKeyIdentifier",
    ExtensionOID.AUTHORITY_KEY_IDENTIFIER: "authorityKeyIdentifier",
    ExtensionOID.SUBJECT_ALTERNATIVE_NAME: "subjectAltName",
    ExtensionOID.NAME_CONSTRAINTS: "nameConstraints",
    ExtensionOID.CRL_DISTRIBUTION_POINTS: "crlDistributionPoints",
    ExtensionOID.AUTHORITY_INFORMATION_ACCESS: "authorityInfoAccess",
    ExtensionOID.CERTIFICATE_POLICIES: "certificatePolicies",
    ExtensionOID.POLICY_CONSTRAINTS: "policyConstraints",
    ExtensionOID.POLICY_MAPPINGS: "policyMappings",
    ExtensionOID.INHIBIT_ANY_POLICY: "inhibitAnyPolicy",
}

# Extensions Go's parser understands; any other extension marked critical makes Go refuse the
# certificate with "x509: unhandled critical extension".
GO_HANDLED_EXTENSIONS = frozenset(EXTENSION_NAMES)

# Go's (and cfssl's helpers.SignatureString) names for signature algorithms.


def load_cert(source) -> x509.Certificate:
    """Accept a certificate, an object with ``.cert``, PEM/DER bytes, a PEM string, or a path."""
    if isinstance(source, x509.Certificate):
        return source
    if hasattr(source, "cert") and isinstance(source.cert, x509.Certificate):
        return source.cert
    certs = load_cert_bundle(source)
    if not certs:
        raise InputError("no certificate found (expected '-----BEGIN CERTIFICATE-----')")
    return certs[0]


def source_path(source) -> str | None:
    """The file name of a PEM input that is a path (as :func:`read_pem` reads it), else ``None``:
    error messages name the file, and never echo PEM given as bytes or text (it may be a key)."""
    if isinstance(source, str) and not source.lstrip().startswith("-----BEGIN"):
        return source
    if isinstance(source, Path) or hasattr(source, "__fspath__"):
        return str(source)
    return None


def source_prefix(source) -> str:
    """``"PATH: "`` for a path input, else nothing (the prefix of a parse error)."""
    path = source_path(source)
    return f"{path}: " if path is not None else ""


def read_pem(source, what: str = "certificate") -> bytes:
    """The bytes of a PEM (or DER) input: bytes, a PEM string, or a path (``what`` names it in errors)."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        return bytes(source)
    if isinstance(source, str) and source.lstrip().startswith("-----BEGIN"):
        return source.encode()
    if isinstance(source, (str, Path)) or hasattr(source, "__fspath__"):
        return read_file(source, what, permission_hint="it may be root-only; copy it with sudo or run as its owner")
    raise InputError(
        f"cannot read a {what} from a {type(source).__name__}; give a cryptography object, PEM bytes, or a file path"
    )


def pem_of(value, what: str, *, key: bool = False, chain: bool = False) -> bytes:
    """PEM bytes of a certificate (``key=True``: a private key) given in any form the library takes.

    The same inputs everywhere (:class:`~k8sauthlib.MTLSClient`, :class:`~k8sauthlib.Nginx`): a
    path, PEM bytes or text, a ``cryptography`` object, or our :class:`~k8sauthlib.Cert` /
    :class:`~k8sauthlib.CA` (its certificate; with ``chain=True`` followed by its intermediates,
    as a server or client sends it; with ``key=True`` its private key).

    Raises:
        InputError: a missing file, or data that is not PEM.
    """
    if key:
        if getattr(value, "key", None) is not None and hasattr(value, "key_pem"):
            return value.key_pem
        if hasattr(value, "private_bytes"):
            return value.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
            )
    else:
        if hasattr(value, "cert_pem"):
            return value.chain_pem if chain else value.cert_pem
        if isinstance(value, x509.Certificate):
            return value.public_bytes(serialization.Encoding.PEM)
    data = read_pem(value, what)
    check_pem_blocks(data, what)  # every block whole, its base64 body intact
    return data


def load_cert_bundle(source) -> list[x509.Certificate]:
    """Like :func:`load_cert` but keeps every certificate of a bundle, and accepts lists."""
    if source is None:
        return []
    if isinstance(source, x509.Certificate):
        return [source]
    if hasattr(source, "cert") and isinstance(source.cert, x509.Certificate):
        return [source.cert]
    if isinstance(source, (list, tuple, set, frozenset)) or (
        not isinstance(source, (str, bytes, bytearray, memoryview, Path)) and hasattr(source, "__iter__")
    ):
        out: list[x509.Certificate] = []
        for item in source:
            out.extend(load_cert_bundle(item))
        return out
    data = read_pem(source)
    if b"-----BEGIN" in data:
        if b"-----BEGIN CERTIFICATE-----" not in data:
            raise InputError(
                f"{source_prefix(source)}the PEM data holds no certificate (expected '-----BEGIN CERTIFICATE-----'; "
                "a key or CSR was given instead?)"
            )
        try:
            return x509.load_pem_x509_certificates(data)
        except ValueError as exc:
            raise InputError(f"{source_prefix(source)}cannot parse the PEM certificate: {exc}") from None
    try:
        return [x509.load_der_x509_certificate(data)]
    except ValueError:
        raise InputError(
            f"{source_prefix(source)}not a certificate: neither PEM ('-----BEGIN CERTIFICATE-----') nor DER"
        ) from None


def extension(cert: x509.Certificate, cls):
    try:
        return cert.extensions.get_extension_for_class(cls)
    except x509.ExtensionNotFound:
        return None


def colon_hex(data: bytes | None) -> str:
    """``AB:CD:01``; kube-apiserver's ``columnSeparatedHex`` and cfssl's ``formatKeyID``."""
    return data.hex(":").upper() if data else ""


SIGALG_GO_NAMES = {
    SignatureAlgorithmOID.RSA_WITH_MD5: "MD5WithRSA",
    SignatureAlgorithmOID.RSA_WITH_SHA1: "SHA1WithRSA",
    SignatureAlgorithmOID.RSA_WITH_SHA256: "SHA256WithRSA",
    SignatureAlgorithmOID.RSA_WITH_SHA384: "SHA384WithRSA",
    SignatureAlgorithmOID.RSA_WITH_SHA512: "SHA512WithRSA",
    SignatureAlgorithmOID.RSASSA_PSS: "SHA256WithRSAPSS",  # refined below from the PSS parameters
    SignatureAlgorithmOID.DSA_WITH_SHA1: "DSAWithSHA1",
    SignatureAlgorithmOID.DSA_WITH_SHA256: "DSAWithSHA256",
    SignatureAlgorithmOID.ECDSA_WITH_SHA1: "ECDSAWithSHA1",
    SignatureAlgorithmOID.ECDSA_WITH_SHA256: "ECDSAWithSHA256",
    SignatureAlgorithmOID.ECDSA_WITH_SHA384: "ECDSAWithSHA384",
    SignatureAlgorithmOID.ECDSA_WITH_SHA512: "ECDSAWithSHA512",
    SignatureAlgorithmOID.ED25519: "PureEd25519",
}


def utc_time(when: datetime | None) -> datetime:
    if when is None:
        return datetime.now(timezone.utc)
    if when.tzinfo is None:  # a naive time is read as UTC, the zone certificates use
        return when.replace(tzinfo=timezone.utc)
    return when.astimezone(timezone.utc)


__all__ = [
    "EXTENSION_NAMES",
    "GO_HANDLED_EXTENSIONS",
    "SIGALG_GO_NAMES",
    "utc_time",
    "load_cert",
    "load_cert_bundle",
    "pem_of",
    "colon_hex",
    "extension",
    "read_pem",
]
