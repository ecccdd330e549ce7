"""What is in a certificate: :func:`describe` gives a :class:`CertInfo` that reads well in a notebook
and converts to the JSON of ``cfssl certinfo`` (cloudflare/cfssl v1.6, ``certinfo/certinfo.go``,
``ParseCertificate``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID, SignatureAlgorithmOID

from ..errors import InputError
from ..go.text import format_rfc3339, go_ip_string
from .fields import EXTENSION_NAMES, SIGALG_GO_NAMES, colon_hex, extension, load_cert, utc_time
from .identity import UID_OID, Identity, kubernetes_identity

ATTR_NAMES = {
    NameOID.COMMON_NAME: "CN",
    NameOID.ORGANIZATION_NAME: "O",
    NameOID.ORGANIZATIONAL_UNIT_NAME: "OU",
    NameOID.COUNTRY_NAME: "C",
    NameOID.STATE_OR_PROVINCE_NAME: "ST",
    NameOID.LOCALITY_NAME: "L",
    NameOID.STREET_ADDRESS: "street",
    NameOID.POSTAL_CODE: "postalCode",
    NameOID.SERIAL_NUMBER: "serialNumber",
    NameOID.EMAIL_ADDRESS: "emailAddress",
    NameOID.DOMAIN_COMPONENT: "DC",
    NameOID.USER_ID: "UID",
    UID_OID: "k8sUID",
}

# RFC 5280 names of the key usage bits, in bit order.
KEY_USAGE_NAMES = (
    ("digital_signature", "digitalSignature"),
    ("content_commitment", "contentCommitment"),
    ("key_encipherment", "keyEncipherment"),
    ("data_encipherment", "dataEncipherment"),
    ("key_agreement", "keyAgreement"),
    ("key_cert_sign", "keyCertSign"),
    ("crl_sign", "cRLSign"),
    ("encipher_only", "encipherOnly"),
    ("decipher_only", "decipherOnly"),
)

#: Extended key usage OIDs by the names openssl and Go print.
EKU_NAMES = {
    ExtendedKeyUsageOID.SERVER_AUTH: "serverAuth",
    ExtendedKeyUsageOID.CLIENT_AUTH: "clientAuth",
    ExtendedKeyUsageOID.CODE_SIGNING: "codeSigning",
    ExtendedKeyUsageOID.EMAIL_PROTECTION: "emailProtection",
    ExtendedKeyUsageOID.TIME_STAMPING: "timeStamping",
    ExtendedKeyUsageOID.OCSP_SIGNING: "OCSPSigning",
    ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE: "anyExtendedKeyUsage",
    x509.ObjectIdentifier("1.3.6.1.5.5.7.3.5"): "ipsecEndSystem",
    x509.ObjectIdentifier("1.3.6.1.5.5.7.3.6"): "ipsecTunnel",
    x509.ObjectIdentifier("1.3.6.1.5.5.7.3.7"): "ipsecUser",
    x509.ObjectIdentifier("1.3.6.1.4.1.311.10.3.3"): "msSGC",
    x509.ObjectIdentifier("2.16.840.1.113730.4.1"): "nsSGC",
}


def _name_attributes(name: x509.Name) -> list[tuple[str, str]]:
    out = []
    for attr in name:
        label = ATTR_NAMES.get(attr.oid, attr.oid.dotted_string)
        value = attr.value if isinstance(attr.value, str) else attr.value.hex()
        out.append((label, value))
    return out


def _public_key_text(key) -> str:
    if isinstance(key, rsa.RSAPublicKey):
        return f"RSA {key.key_size}"
    if isinstance(key, ec.EllipticCurvePublicKey):
        curve = {"secp256r1": "P-256", "secp384r1": "P-384", "secp521r1": "P-521"}.get(key.curve.name, key.curve.name)
        return f"ECDSA {curve}"
    if isinstance(key, ed25519.Ed25519PublicKey):
        return "Ed25519"
    if isinstance(key, ed448.Ed448PublicKey):
        return "Ed448"
    if isinstance(key, dsa.DSAPublicKey):
        return f"DSA {key.key_size}"
    return type(key).__name__


def _sigalg_go_name(cert: x509.Certificate) -> str:
    oid = cert.signature_algorithm_oid
    if oid == SignatureAlgorithmOID.RSASSA_PSS:
        try:
            digest = cert.signature_hash_algorithm.name.upper().replace("-", "")
        except Exception:  # noqa: BLE001 - an unusual PSS parameter set; the generic name will do
            digest = "SHA256"
        return f"{digest}WithRSAPSS"
    return SIGALG_GO_NAMES.get(oid, "Unknown Signature")


@dataclass
class CertInfo:
    """Everything a reader wants to know about one certificate.

    Build it with :func:`describe`. Times are timezone-aware UTC datetimes.

    Attributes:
        subject: RFC 4514 string (most specific attribute first, e.g. ``CN=alice,O=dev``).
        subject_attributes: ``(attribute, value)`` pairs in the certificate's own order, e.g.
            ``[("O", "dev"), ("CN", "alice")]`` (the order ``openssl x509 -subject`` prints).
        issuer, issuer_attributes: the same for the issuer.
        serial: the serial number as an int.
        serial_hex: upper-case hex bytes separated by colons.
        serial_decimal: decimal string (``cfssl certinfo``'s ``serial_number``, Go's ``SN=``).
        dns_names, ip_addresses, email_addresses, uris: the SANs, by type.
        key_usage: RFC 5280 names of the key usage bits (``digitalSignature``, ``keyCertSign``...).
        ext_key_usage: extended key usages (``serverAuth``, ``clientAuth``; unknown ones as dotted OIDs).
        not_before, not_after: validity (aware UTC).
        fingerprint_sha256: ``AB:CD:...`` upper hex.
        is_ca: ``basicConstraints`` CA flag (False when the extension is absent).
        path_length: ``basicConstraints`` pathlen, or None.
        ski, aki: subject / authority key identifiers as ``AB:CD:...``, or None when absent.
        public_key: ``"RSA 2048"``, ``"ECDSA P-256"``...
        signature_algorithm: Go's and cfssl's name, e.g. ``SHA256WithRSA``, ``ECDSAWithSHA256``.
        extensions: extension name -> critical flag, for every extension present.
        kubernetes: the :class:`Identity` kube-apiserver would derive.
        cert: the certificate itself.
    """

    subject: str
    subject_attributes: list
    issuer: str
    issuer_attributes: list
    serial: int
    serial_hex: str
    serial_decimal: str
    dns_names: list
    ip_addresses: list
    email_addresses: list
    uris: list
    key_usage: list
    ext_key_usage: list
    not_before: datetime
    not_after: datetime
    fingerprint_sha256: str
    is_ca: bool
    path_length: int | None
    ski: str | None
    aki: str | None
    public_key: str
    signature_algorithm: str
    extensions: dict
    kubernetes: Identity
    cert: x509.Certificate = field(repr=False)

    @property
    def path_len(self) -> int | None:
        """Alias of :attr:`path_length` (the team contract's name)."""
        return self.path_length

    @property
    def key(self) -> str:
        """Alias of :attr:`public_key`: ``"RSA 2048"``, ``"ECDSA P-256"``..."""
        return self.public_key

    @property
    def sans(self) -> list[str]:
        """All SANs as strings: DNS names, IP addresses, email addresses, URIs."""
        return self.dns_names + self.ip_addresses + self.email_addresses + self.uris

    @property
    def self_signed(self) -> bool:
        """True when subject and issuer are the same name (a root, or a self-signed leaf)."""
        return self.cert.subject == self.cert.issuer

    def is_valid_at(self, when: datetime | None = None) -> bool:
        """True when ``when`` (default: now) lies within the validity period, ends included (as Go)."""
        when = utc_time(when)
        return self.not_before <= when <= self.not_after

    def to_cfssl_certinfo(self, *, unpadded_key_ids: bool = False) -> dict:
        """The JSON object ``cfssl certinfo -cert FILE`` prints, plus a ``kubernetes`` object.

        Field names and shapes follow cfssl's ``certinfo.Certificate``: ``subject``/``issuer``
        (``common_name``, ``country``, ``organization``... each joined with commas as Go's
        ``strings.Join`` does, plus ``names``: every attribute value in certificate order),
        ``serial_number`` (decimal string), ``sans`` (DNS names then IP addresses; cfssl lists no
        email or URI SANs and leaves the key out when empty), ``not_before``/``not_after``
        (RFC 3339, UTC), ``sigalg``, ``authority_key_id``/``subject_key_id`` and ``pem``.

        Args:
            unpadded_key_ids: write key identifier bytes without zero padding (``6:ED`` instead
                of ``06:ED``), as Debian's 2016 cfssl build does; upstream cfssl pads them.

        Returns:
            A JSON-serializable dict; ``kubernetes`` is ``{"user": ..., "groups": [...]}``.
        """

        def key_id(ext_cls, attr):
            ext = extension(self.cert, ext_cls)
            data = getattr(ext.value, attr) if ext is not None else None
            if not data:
                return ""
            return ":".join((f"{b:X}" if unpadded_key_ids else f"{b:02X}") for b in data)

        out = {
            "subject": _cfssl_name(self.cert.subject),
            "issuer": _cfssl_name(self.cert.issuer),
            "serial_number": self.serial_decimal,
        }
        sans = self.dns_names + self.ip_addresses
        if sans:
            out["sans"] = sans
        out.update(
            {
                "not_before": format_rfc3339(self.not_before),
                "not_after": format_rfc3339(self.not_after),
                "sigalg": self.signature_algorithm,
                "authority_key_id": key_id(x509.AuthorityKeyIdentifier, "key_identifier"),
                "subject_key_id": key_id(x509.SubjectKeyIdentifier, "digest"),
                "pem": self.cert.public_bytes(serialization.Encoding.PEM).decode(),
                "kubernetes": {"user": self.kubernetes.user, "groups": list(self.kubernetes.groups)},
            }
        )
        return out

    def __str__(self):
        ca = "no" if not self.is_ca else "yes" if self.path_length is None else f"yes (pathlen {self.path_length})"
        rows = [
            ("Subject", self.subject or "(empty)"),
            ("Issuer", self.issuer or "(empty)"),
            ("Serial", f"{self.serial_hex} ({self.serial_decimal})"),
            ("Valid", f"{self.not_before:%Y-%m-%d %H:%M:%S}Z .. {self.not_after:%Y-%m-%d %H:%M:%S}Z"),
            ("Public key", self.public_key),
            ("Signature", self.signature_algorithm),
            ("CA", ca),
        ]
        if self.sans:
            rows.append(("SANs", ", ".join(self._san_labels())))
        if self.key_usage:
            rows.append(("Key usage", ", ".join(self.key_usage)))
        rows.append(("Ext. key usage", ", ".join(self.ext_key_usage) if self.ext_key_usage else "(none)"))
        rows.append(("SKI", self.ski or "(none)"))
        rows.append(("AKI", self.aki or "(none)"))
        rows.append(("SHA-256", self.fingerprint_sha256))
        rows.append(("Kubernetes", str(self.kubernetes)))
        width = max(len(label) for label, _ in rows)
        return "\n".join(f"{label + ':':<{width + 1}} {value}" for label, value in rows)

    def _san_labels(self) -> list[str]:
        return (
            [f"DNS:{n}" for n in self.dns_names]
            + [f"IP:{n}" for n in self.ip_addresses]
            + [f"email:{n}" for n in self.email_addresses]
            + [f"URI:{n}" for n in self.uris]
        )

    def _repr_pretty_(self, p, cycle):
        p.text(str(self))


def _cfssl_name(name: x509.Name) -> dict:
    """cfssl's ``certinfo.ParseName`` of Go's ``pkix.Name``."""

    def values(oid):
        return [str(a.value) for a in name.get_attributes_for_oid(oid)]

    cns = values(NameOID.COMMON_NAME)
    serials = values(NameOID.SERIAL_NUMBER)
    fields = [
        ("common_name", cns[-1] if cns else ""),
        ("serial_number", serials[-1] if serials else ""),
        ("country", ",".join(values(NameOID.COUNTRY_NAME))),
        ("organization", ",".join(values(NameOID.ORGANIZATION_NAME))),
        ("organizational_unit", ",".join(values(NameOID.ORGANIZATIONAL_UNIT_NAME))),
        ("locality", ",".join(values(NameOID.LOCALITY_NAME))),
        ("province", ",".join(values(NameOID.STATE_OR_PROVINCE_NAME))),
        ("street_address", ",".join(values(NameOID.STREET_ADDRESS))),
        ("postal_code", ",".join(values(NameOID.POSTAL_CODE))),
    ]
    out = {k: v for k, v in fields if v}  # Go's omitempty
    names = [a.value if isinstance(a.value, str) else a.value.hex() for a in name]
    if names:
        out["names"] = names
    return out


def describe(cert) -> CertInfo:
    """Describe a certificate: names, serial, SANs, usages, validity, keys and Kubernetes identity.

    Args:
        cert: a ``cryptography`` certificate, an object with ``.cert`` (a
            :class:`~k8sauthlib.Cert`), PEM bytes/str (the first certificate is used), DER bytes,
            or a path to a PEM file.

    Returns:
        A :class:`CertInfo`; print it, or call ``.to_cfssl_certinfo()``.

    Raises:
        InputError: the input is not a readable certificate.
    """
    cert = load_cert(cert)
    san = extension(cert, x509.SubjectAlternativeName)
    dns, ips, emails, uris = [], [], [], []
    if san is not None:
        for gn in san.value:
            if isinstance(gn, x509.DNSName):
                dns.append(gn.value)
            elif isinstance(gn, x509.IPAddress):
                ips.append(go_ip_string(gn.value))
            elif isinstance(gn, x509.RFC822Name):
                emails.append(gn.value)
            elif isinstance(gn, x509.UniformResourceIdentifier):
                uris.append(gn.value)
    ku_ext = extension(cert, x509.KeyUsage)
    key_usage = []
    if ku_ext is not None:
        for attr, label in KEY_USAGE_NAMES:
            try:
                if getattr(ku_ext.value, attr):
                    key_usage.append(label)
            except ValueError:  # encipher_only/decipher_only without key_agreement
                pass
    eku_ext = extension(cert, x509.ExtendedKeyUsage)
    ext_key_usage = [EKU_NAMES.get(oid, oid.dotted_string) for oid in eku_ext.value] if eku_ext else []
    bc = extension(cert, x509.BasicConstraints)
    ski = extension(cert, x509.SubjectKeyIdentifier)
    aki = extension(cert, x509.AuthorityKeyIdentifier)
    try:
        kube = kubernetes_identity(cert)
    except InputError as exc:  # a UID attribute kube-apiserver refuses: show it, don't fail describe()
        kube = Identity(user=f"(rejected: {exc})", groups=(), anonymous=False, extra={})
    return CertInfo(
        subject=cert.subject.rfc4514_string(),
        subject_attributes=_name_attributes(cert.subject),
        issuer=cert.issuer.rfc4514_string(),
        issuer_attributes=_name_attributes(cert.issuer),
        serial=cert.serial_number,
        serial_hex=colon_hex(_int_bytes(cert.serial_number)),
        serial_decimal=str(cert.serial_number),
        dns_names=dns,
        ip_addresses=ips,
        email_addresses=emails,
        uris=uris,
        key_usage=key_usage,
        ext_key_usage=ext_key_usage,
        not_before=cert.not_valid_before_utc,
        not_after=cert.not_valid_after_utc,
        fingerprint_sha256=cert.fingerprint(hashes.SHA256()).hex(":").upper(),
        is_ca=bool(bc and bc.value.ca),
        path_length=bc.value.path_length if bc else None,
        ski=colon_hex(ski.value.digest) if ski else None,
        aki=colon_hex(aki.value.key_identifier) if aki and aki.value.key_identifier else None,
        public_key=_public_key_text(cert.public_key()),
        signature_algorithm=_sigalg_go_name(cert),
        extensions={EXTENSION_NAMES.get(e.oid, e.oid.dotted_string): e.critical for e in cert.extensions},
        kubernetes=kube,
        cert=cert,
    )


def cert_label(cert: x509.Certificate) -> str:
    """How a message names a certificate: its subject quoted, or its serial when the subject is empty."""
    return repr(cert.subject.rfc4514_string() or f"serial {cert.serial_number}")


def _int_bytes(n: int) -> bytes:
    return n.to_bytes(max(1, (n.bit_length() + 7) // 8), "big")


__all__ = ["EKU_NAMES", "CertInfo", "cert_label", "describe"]
