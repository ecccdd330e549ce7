"""What issuing gives back: :class:`Cert` (a certificate with its key and chain) and :class:`CSR`.

A :class:`Cert` is also how a certificate already on disk is held (:meth:`Cert.load`): it checks
that the key belongs to the certificate, tells its facts (CN, groups, serial, validity, the
Kubernetes identity) and writes the files the way ``cfssljson -bare`` does (``NAME.pem``,
``NAME-key.pem`` 0600 from its first byte). :func:`make_csr` makes a key and a CSR as a user
would on their own machine. The issuer, :class:`~k8sauthlib.pki.certs.CA`, is a :class:`Cert`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from ..errors import InputError, KeyMismatchError
from ..files import KEY_MODE, BareFiles, atomic_write, bare_paths, write_bare
from .describe import describe
from .fields import load_cert_bundle, source_path
from .identity import kubernetes_identity
from .keys import DEFAULT_KEY, KeySpec, hash_for, key_matches, key_pem, load_private_key
from .names import parse_hosts, subject_name


class Cert:
    """One certificate, with its private key when we have it.

    Attributes:
        cert: the ``cryptography`` certificate.
        key: its private key, or None (a certificate signed from someone else's CSR).
        csr: the CSR it was made from, when there was one.
        chain: intermediate CA certificates between this certificate and its root (the root
            itself excluded), nearest first.
    """

    def __init__(
        self,
        cert: x509.Certificate,
        key=None,
        csr: x509.CertificateSigningRequest | None = None,
        chain: Sequence[x509.Certificate] = (),
    ):
        if key is not None and not key_matches(cert, key):
            raise KeyMismatchError(f"the private key does not belong to the certificate {short_subject(cert)}")
        self.cert = cert
        self.key = key
        self.csr = csr
        self.chain = list(chain)

    @classmethod
    def load(cls, cert_path, key_path=None):
        """Load a certificate (and optionally its key) from PEM files; extra PEM certs become the chain."""
        certs = load_cert_bundle(cert_path)
        if not certs:
            raise InputError(f"no PEM certificate found in {cert_path}")
        key = load_private_key(key_path) if key_path is not None else None
        if key is not None and not key_matches(certs[0], key):
            key_name, cert_name = source_path(key_path), source_path(cert_path)  # never the PEM itself
            raise KeyMismatchError(
                f"the private key{f' {key_name}' if key_name else ''} does not belong to the certificate"
                f"{f' {cert_name}' if cert_name else ''} ({short_subject(certs[0])}); pair each certificate "
                f"with the key it was issued for"
            )
        return cls(certs[0], key, chain=certs[1:])

    @classmethod
    def from_pem(cls, cert_pem: bytes, key_pem: bytes | None = None):
        """Build from PEM bytes; same checks as :meth:`load`."""
        return cls.load(cert_pem, key_pem)

    # PEM and facts ------------------------------------------------------------------------
    @property
    def cert_pem(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.PEM)

    @property
    def key_pem(self) -> bytes:
        if self.key is None:
            raise InputError(
                "this certificate has no private key here (it was signed from a CSR; the key stays with its owner)"
            )
        return key_pem(self.key)

    @property
    def csr_pem(self) -> bytes | None:
        return self.csr.public_bytes(serialization.Encoding.PEM) if self.csr is not None else None

    @property
    def chain_pem(self) -> bytes:
        return self.cert_pem + b"".join(c.public_bytes(serialization.Encoding.PEM) for c in self.chain)

    @property
    def common_name(self) -> str | None:
        # Go keeps the last CN when there are several, and so does kube-apiserver.
        cns = self.cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
        return str(cns[-1].value) if cns else None

    @property
    def organizations(self) -> list[str]:
        return [str(a.value) for a in self.cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)]

    @property
    def serial_hex(self) -> str:
        return format(self.cert.serial_number, "x")

    @property
    def not_before(self) -> datetime:
        return self.cert.not_valid_before_utc

    @property
    def not_after(self) -> datetime:
        return self.cert.not_valid_after_utc

    @property
    def fingerprint_sha256(self) -> str:
        return self.cert.fingerprint(hashes.SHA256()).hex(":").upper()

    @property
    def identity(self):
        """The Kubernetes identity kube-apiserver reads from this certificate (see ``inspect``)."""
        return kubernetes_identity(self.cert)

    def describe(self):
        """Everything a reader wants to know about the certificate, as a ``CertInfo``."""
        return describe(self.cert)

    # files --------------------------------------------------------------------------------
    def write(self, name, directory=".", *, overwrite: bool = False) -> BareFiles:
        """Write ``NAME.pem``, ``NAME-key.pem`` (0600) and ``NAME.csr`` as ``cfssljson -bare`` does.

        The key and CSR are written only when this object has them. Existing files are not
        replaced unless ``overwrite`` is True.
        """
        return write_bare(
            name,
            directory,
            cert_pem=self.cert_pem,
            key_pem=key_pem(self.key) if self.key is not None else None,
            csr_pem=self.csr_pem,
            overwrite=overwrite,
        )

    def write_cert(self, path, *, chain: bool = False, overwrite: bool = True):
        """Write the certificate (with ``chain=True``: plus intermediates) to one PEM file."""
        return atomic_write(path, self.chain_pem if chain else self.cert_pem, overwrite=overwrite)

    def write_key(self, path, *, overwrite: bool = False):
        """Write the private key to ``path`` with mode 0600; an existing file is kept unless ``overwrite``."""
        return atomic_write(path, self.key_pem, mode=KEY_MODE, overwrite=overwrite)

    def __repr__(self):
        subject = (
            " ".join(
                f"{k}={v}"
                for k, v in ([("CN", self.common_name)] if self.common_name else [])
                + [("O", o) for o in self.organizations]
            )
            or "(empty subject)"
        )
        return f"<{type(self).__name__} {subject} serial={self.serial_hex[:6]}… expires {self.not_after:%Y-%m-%d}>"


def short_subject(cert: x509.Certificate) -> str:
    return cert.subject.rfc4514_string() or "(empty subject)"


@dataclass
class CSR:
    """A certificate signing request and the private key that signed it (which never leaves its owner)."""

    csr: x509.CertificateSigningRequest
    key: object

    @property
    def csr_pem(self) -> bytes:
        return self.csr.public_bytes(serialization.Encoding.PEM)

    @property
    def key_pem(self) -> bytes:
        return key_pem(self.key)

    def write(self, name, directory=".", *, overwrite: bool = False) -> tuple[Path, Path]:
        """Write ``NAME.csr`` and ``NAME-key.pem`` (0600); returns their paths."""
        _, key_path, csr_path = bare_paths(name, directory)
        atomic_write(key_path, self.key_pem, mode=KEY_MODE, overwrite=overwrite)
        try:
            atomic_write(csr_path, self.csr_pem, overwrite=overwrite)
        except BaseException:
            key_path.unlink(missing_ok=True)
            raise
        return csr_path, key_path

    def __repr__(self):
        return f"<CSR {self.csr.subject.rfc4514_string() or '(empty subject)'}>"


def make_csr(
    common_name: str | None,
    *,
    orgs: Iterable[str] = (),
    hosts: Iterable[str] = (),
    subject: x509.Name | None = None,
    key=DEFAULT_KEY,
) -> CSR:
    """Make a new key and a CSR for it, as a user would on their own machine.

    Args:
        common_name: the CN (for Kubernetes: the user name).
        orgs: one ``O`` per group.
        hosts: SANs, cfssl-style (see :func:`parse_hosts`).
        subject: a complete subject instead of ``common_name``/``orgs``.
        key: a key spec (see :class:`KeySpec`) or an existing private key.
    """
    private_key = (
        key if isinstance(key, (rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey)) else KeySpec.parse(key).generate()
    )
    builder = x509.CertificateSigningRequestBuilder().subject_name(
        subject if subject is not None else subject_name(common_name, orgs)
    )
    sans = parse_hosts(hosts)
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    return CSR(builder.sign(private_key, hash_for(private_key)), private_key)


__all__ = ["CSR", "Cert", "make_csr", "short_subject"]
