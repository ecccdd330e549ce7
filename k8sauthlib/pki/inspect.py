"""Reading certificates the way Kubernetes does: identity, description and chain verification.

Three questions a reader asks about a certificate, each answered the way the real programs do:

- *Who does kube-apiserver think I am?* :func:`kubernetes_identity` applies the x509
  authenticator's rules (``CommonNameUserConversion`` plus the authenticated-group adder).
- *What is in it?* :func:`describe` returns a :class:`CertInfo` that prints well in a notebook
  and converts to ``cfssl certinfo``'s JSON.
- *Will it be accepted?* :func:`verify_chain` follows Go's ``crypto/x509`` ``Certificate.Verify``
  (what kube-apiserver, kubectl and every Go client run), and fails with Go's own error text so
  the reader can match it against a real log line.

This module works on plain ``cryptography`` objects and never imports :mod:`k8sauthlib.certs`
(``certs`` imports it lazily instead), so it can be used on certificates made by any tool.
"""

from __future__ import annotations

import hashlib
import ipaddress
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, ExtensionOID, NameOID, SignatureAlgorithmOID

from ..errors import InputError, VerificationError
from ..files import read_file
from ..go.text import go_quote

#: Extra key kube-apiserver (1.32+) fills with the leaf certificate's SHA-256 (``user.CredentialIDKey``).
CREDENTIAL_ID_KEY = "authentication.kubernetes.io/credential-id"
#: Subject attribute kube-apiserver (1.33+, gate ``AllowParsingUserUIDFromCertAuth``) reads as the user UID.
UID_OID = x509.ObjectIdentifier("1.3.6.1.4.1.57683.2")

ANONYMOUS_USER = "system:anonymous"
UNAUTHENTICATED_GROUP = "system:unauthenticated"
AUTHENTICATED_GROUP = "system:authenticated"

# Short attribute names, as openssl and RFC 4514 print them.
_ATTR_NAMES = {
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
_KEY_USAGE_NAMES = (
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

_EXTENSION_NAMES = {
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
_GO_HANDLED_EXTENSIONS = frozenset(_EXTENSION_NAMES)

# Go's (and cfssl's helpers.SignatureString) names for signature algorithms.
_SIGALG_GO_NAMES = {
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

# Go's SignatureAlgorithm.String() for the algorithms it refuses as insecure.
_GO_INSECURE_SIGALGS = {
    SignatureAlgorithmOID.RSA_WITH_MD5: "MD5-RSA",
    SignatureAlgorithmOID.RSA_WITH_SHA1: "SHA1-RSA",
    SignatureAlgorithmOID.ECDSA_WITH_SHA1: "ECDSA-SHA1",
    SignatureAlgorithmOID.DSA_WITH_SHA1: "DSA-SHA1",
}

_PURPOSES = {
    "client": ExtendedKeyUsageOID.CLIENT_AUTH,
    "server": ExtendedKeyUsageOID.SERVER_AUTH,
    "any": ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE,
}


# ------------------------------------------------------------------------------------ loading
def _as_certificate(source) -> x509.Certificate:
    """Accept a certificate, an object with ``.cert``, PEM/DER bytes, a PEM string, or a path."""
    if isinstance(source, x509.Certificate):
        return source
    if hasattr(source, "cert") and isinstance(source.cert, x509.Certificate):
        return source.cert
    certs = _as_certificates(source)
    if not certs:
        raise InputError("no certificate found (expected '-----BEGIN CERTIFICATE-----')")
    return certs[0]


def _read_bytes(source) -> bytes:
    if isinstance(source, (bytes, bytearray, memoryview)):
        return bytes(source)
    if isinstance(source, str) and source.lstrip().startswith("-----BEGIN"):
        return source.encode()
    if isinstance(source, (str, Path)):
        return read_file(source, "certificate")
    raise InputError(f"cannot read a certificate from a {type(source).__name__}; give a cryptography "
                     f"Certificate, PEM bytes, or a file path")


def _as_certificates(source) -> list[x509.Certificate]:
    """Like :func:`_as_certificate` but keeps every certificate of a bundle, and accepts lists."""
    if source is None:
        return []
    if isinstance(source, x509.Certificate):
        return [source]
    if hasattr(source, "cert") and isinstance(source.cert, x509.Certificate):
        return [source.cert]
    if isinstance(source, (list, tuple, set, frozenset)) or (
            not isinstance(source, (str, bytes, bytearray, memoryview, Path)) and hasattr(source, "__iter__")):
        out: list[x509.Certificate] = []
        for item in source:
            out.extend(_as_certificates(item))
        return out
    data = _read_bytes(source)
    if b"-----BEGIN" in data:
        if b"-----BEGIN CERTIFICATE-----" not in data:
            raise InputError("the PEM data holds no certificate (expected '-----BEGIN CERTIFICATE-----'; "
                             "a key or CSR was given instead?)")
        try:
            return x509.load_pem_x509_certificates(data)
        except ValueError as exc:
            raise InputError(f"cannot parse the PEM certificate: {exc}") from None
    try:
        return [x509.load_der_x509_certificate(data)]
    except ValueError:
        raise InputError("not a certificate: neither PEM ('-----BEGIN CERTIFICATE-----') nor DER") from None


def _ext(cert: x509.Certificate, cls):
    try:
        return cert.extensions.get_extension_for_class(cls)
    except x509.ExtensionNotFound:
        return None


def _colon_hex(data: bytes | None) -> str:
    """``AB:CD:01``; kube-apiserver's ``columnSeparatedHex`` and cfssl's ``formatKeyID``."""
    return data.hex(":").upper() if data else ""


# ----------------------------------------------------------------------------------- identity
@dataclass(frozen=True)
class Identity:
    """The user kube-apiserver's x509 authenticator makes of a client certificate.

    Attributes:
        user: the user name: the subject's ``CN``, or ``system:anonymous``.
        groups: every ``O`` of the subject in order, then ``system:authenticated`` (added by
            kube-apiserver's authenticated-group adder); ``("system:unauthenticated",)`` when
            anonymous.
        anonymous: True when the certificate has no CN. The x509 authenticator then has "no
            opinion" (no user, no error), so the request falls through to the anonymous
            authenticator and is served as ``system:anonymous`` (usually 403 Forbidden),
            not rejected with 401.
        extra: ``{"authentication.kubernetes.io/credential-id": ["X509SHA256=<hex>"]}`` as
            kube-apiserver 1.32+ sets it (the SHA-256 of the leaf certificate's DER).
        uid: the user UID from subject attribute ``1.3.6.1.4.1.57683.2`` (kube-apiserver
            1.33+), or ``""``.
    """

    user: str
    groups: tuple[str, ...] = ()
    anonymous: bool = False
    extra: dict = field(default_factory=dict, hash=False)
    uid: str = ""

    def as_user_info(self) -> dict:
        """The ``UserInfo`` object, as in a SelfSubjectReview's ``status.userInfo``."""
        info: dict = {"username": self.user}
        if self.uid:
            info["uid"] = self.uid
        info["groups"] = list(self.groups)
        if self.extra:
            info["extra"] = {k: list(v) for k, v in self.extra.items()}
        return info

    def __str__(self):
        groups = ", ".join(self.groups) or "(none)"
        text = f"user={self.user} groups=[{groups}]"
        if self.uid:
            text += f" uid={self.uid}"
        if self.anonymous:
            text += (" (no CN: the certificate names no user; anonymous where no other authenticator "
                     "objects, 401 on kubeadm clusters)")
        return text

    def _repr_pretty_(self, p, cycle):
        p.text(str(self))


def kubernetes_identity(cert) -> Identity:
    """The identity kube-apiserver gives a request authenticated with this client certificate.

    Follows ``CommonNameUserConversion`` (``k8s.io/apiserver/pkg/authentication/request/x509``)
    and ``AuthenticatedGroupAdder``: the user is the subject's CN (Go's ``Subject.CommonName``,
    i.e. the last CN when there are several), the groups are every ``O`` in order, OU/C/L/ST are
    ignored, and ``system:authenticated`` is appended unless the user is ``system:anonymous`` or
    the groups already hold ``system:authenticated`` or ``system:unauthenticated``.

    A certificate without a CN yields the anonymous identity: the x509 authenticator returns
    "no opinion", and on a server whose other authenticators all stay silent, with anonymous
    authentication enabled (the default), the request is served as ``system:anonymous`` in group
    ``system:unauthenticated``. A kubeadm cluster is not such a server: its front-proxy
    (request-header) authenticator runs first and fails on every client certificate that
    ``front-proxy-ca`` did not sign, and with no authenticator succeeding that error makes the
    request a 401 (``union`` + ``NewFailOnError`` in ``pkg/kubeapiserver/authenticator/config.go``).
    The ``anonymous`` flag therefore means "this certificate names nobody", not "the request
    will be served".

    This assumes the chain verified; use :func:`verify_chain` with ``purpose="client"`` for that.

    Args:
        cert: a certificate, an object with ``.cert`` (a :class:`~k8sauthlib.Cert`), PEM bytes or
            a path.

    Returns:
        The :class:`Identity`.

    Raises:
        InputError: the certificate carries a user UID attribute kube-apiserver would reject
            (more than one, not a string, or empty): kube-apiserver answers 401 then.
    """
    cert = _as_certificate(cert)
    cns = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    common_name = str(cns[-1].value) if cns else ""
    if not common_name:
        return Identity(user=ANONYMOUS_USER, groups=(UNAUTHENTICATED_GROUP,), anonymous=True, extra={})
    groups = [str(a.value) for a in cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)]
    if common_name != ANONYMOUS_USER and not ({AUTHENTICATED_GROUP, UNAUTHENTICATED_GROUP} & set(groups)):
        groups.append(AUTHENTICATED_GROUP)
    credential_id = "X509SHA256=" + hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).hexdigest()
    uids = [a.value for a in cert.subject.get_attributes_for_oid(UID_OID)]
    if any(not isinstance(u, str) for u in uids):
        raise InputError("the certificate's UID attribute (1.3.6.1.4.1.57683.2) is not a string; "
                         "kube-apiserver rejects it ('unable to parse UID into a string')")
    if len(uids) > 1:
        raise InputError(f"the certificate holds {len(uids)} UID attributes (1.3.6.1.4.1.57683.2); "
                         f"kube-apiserver rejects it ('expected 1 UID, but found multiple')")
    if uids and uids[0] == "":
        raise InputError("the certificate's UID attribute is empty; kube-apiserver rejects it "
                         "('UID cannot be an empty string')")
    return Identity(user=common_name, groups=tuple(groups), anonymous=False,
                    extra={CREDENTIAL_ID_KEY: [credential_id]}, uid=uids[0] if uids else "")


# ----------------------------------------------------------------------------------- describe
def _name_attributes(name: x509.Name) -> list[tuple[str, str]]:
    out = []
    for attr in name:
        label = _ATTR_NAMES.get(attr.oid, attr.oid.dotted_string)
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
    return _SIGALG_GO_NAMES.get(oid, "Unknown Signature")


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
        when = _aware(when)
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
            ext = _ext(self.cert, ext_cls)
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
        out.update({
            "not_before": _rfc3339(self.not_before),
            "not_after": _rfc3339(self.not_after),
            "sigalg": self.signature_algorithm,
            "authority_key_id": key_id(x509.AuthorityKeyIdentifier, "key_identifier"),
            "subject_key_id": key_id(x509.SubjectKeyIdentifier, "digest"),
            "pem": self.cert.public_bytes(serialization.Encoding.PEM).decode(),
            "kubernetes": {"user": self.kubernetes.user, "groups": list(self.kubernetes.groups)},
        })
        return out

    def __str__(self):
        rows = [
            ("Subject", self.subject or "(empty)"),
            ("Issuer", self.issuer or "(empty)"),
            ("Serial", f"{self.serial_hex} ({self.serial_decimal})"),
            ("Valid", f"{self.not_before:%Y-%m-%d %H:%M:%S}Z .. {self.not_after:%Y-%m-%d %H:%M:%S}Z"),
            ("Public key", self.public_key),
            ("Signature", self.signature_algorithm),
            ("CA", f"yes (pathlen {self.path_length})" if self.is_ca and self.path_length is not None
             else "yes" if self.is_ca else "no"),
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
        return ([f"DNS:{n}" for n in self.dns_names] + [f"IP:{n}" for n in self.ip_addresses]
                + [f"email:{n}" for n in self.email_addresses] + [f"URI:{n}" for n in self.uris])

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


def _rfc3339(dt: datetime) -> str:
    return dt.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


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
    cert = _as_certificate(cert)
    san = _ext(cert, x509.SubjectAlternativeName)
    dns, ips, emails, uris = [], [], [], []
    if san is not None:
        for gn in san.value:
            if isinstance(gn, x509.DNSName):
                dns.append(gn.value)
            elif isinstance(gn, x509.IPAddress):
                ips.append(_go_ip_string(gn.value))
            elif isinstance(gn, x509.RFC822Name):
                emails.append(gn.value)
            elif isinstance(gn, x509.UniformResourceIdentifier):
                uris.append(gn.value)
    ku_ext = _ext(cert, x509.KeyUsage)
    key_usage = []
    if ku_ext is not None:
        for attr, label in _KEY_USAGE_NAMES:
            try:
                if getattr(ku_ext.value, attr):
                    key_usage.append(label)
            except ValueError:  # encipher_only/decipher_only without key_agreement
                pass
    eku_ext = _ext(cert, x509.ExtendedKeyUsage)
    ext_key_usage = [EKU_NAMES.get(oid, oid.dotted_string) for oid in eku_ext.value] if eku_ext else []
    bc = _ext(cert, x509.BasicConstraints)
    ski = _ext(cert, x509.SubjectKeyIdentifier)
    aki = _ext(cert, x509.AuthorityKeyIdentifier)
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
        serial_hex=_colon_hex(_int_bytes(cert.serial_number)),
        serial_decimal=str(cert.serial_number),
        dns_names=dns, ip_addresses=ips, email_addresses=emails, uris=uris,
        key_usage=key_usage,
        ext_key_usage=ext_key_usage,
        not_before=cert.not_valid_before_utc,
        not_after=cert.not_valid_after_utc,
        fingerprint_sha256=cert.fingerprint(hashes.SHA256()).hex(":").upper(),
        is_ca=bool(bc and bc.value.ca),
        path_length=bc.value.path_length if bc else None,
        ski=_colon_hex(ski.value.digest) if ski else None,
        aki=_colon_hex(aki.value.key_identifier) if aki and aki.value.key_identifier else None,
        public_key=_public_key_text(cert.public_key()),
        signature_algorithm=_sigalg_go_name(cert),
        extensions={_EXTENSION_NAMES.get(e.oid, e.oid.dotted_string): e.critical for e in cert.extensions},
        kubernetes=kube,
        cert=cert,
    )


def _int_bytes(n: int) -> bytes:
    return n.to_bytes(max(1, (n.bit_length() + 7) // 8), "big")


def _go_ip_string(ip) -> str:
    # Go prints an IPv4-mapped IPv6 address (16-byte form) in dotted IPv4 form.
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return str(ip.ipv4_mapped)
    return str(ip)


# ------------------------------------------------------------------------------- verification
def certificate_identifier(cert) -> str:
    """Go's ``certificateIdentifier``: ``SN=<decimal>, SKID=<AB:CD:..>, AKID=<AB:CD:..>``.

    kube-apiserver logs a failed client certificate as
    ``verifying certificate SN=..., SKID=..., AKID=... failed: <Go error>``; this string lets a
    reader find their certificate in that log line. An absent key identifier prints as empty.
    """
    cert = _as_certificate(cert)
    ski = _ext(cert, x509.SubjectKeyIdentifier)
    aki = _ext(cert, x509.AuthorityKeyIdentifier)
    return (f"SN={cert.serial_number}, SKID={_colon_hex(ski.value.digest if ski else None)}, "
            f"AKID={_colon_hex(aki.value.key_identifier if aki else None)}")


def _aware(when: datetime | None) -> datetime:
    if when is None:
        return datetime.now(timezone.utc)
    if when.tzinfo is None:  # a naive time is read as UTC, the zone certificates use
        return when.replace(tzinfo=timezone.utc)
    return when.astimezone(timezone.utc)


def _label(cert: x509.Certificate) -> str:
    return repr(cert.subject.rfc4514_string() or f"serial {cert.serial_number}")


def _has_eku(cert) -> bool:
    return _ext(cert, x509.ExtendedKeyUsage) is not None


def _eku_oids(cert) -> list:
    ext = _ext(cert, x509.ExtendedKeyUsage)
    return list(ext.value) if ext is not None else []


def _ski_bytes(cert) -> bytes | None:
    ext = _ext(cert, x509.SubjectKeyIdentifier)
    return ext.value.digest if ext is not None else None


def _aki_bytes(cert) -> bytes | None:
    ext = _ext(cert, x509.AuthorityKeyIdentifier)
    return ext.value.key_identifier if ext is not None else None


class _Fail(Exception):
    """A Go error inside the chain builder, kept until Verify decides what to report."""

    def __init__(self, reason: str, go_message: str, message: str, cert: x509.Certificate):
        super().__init__(go_message)
        self.reason, self.go_message, self.message, self.cert = reason, go_message, message, cert

    def raise_(self):
        err = VerificationError(self.message, reason=self.reason, go_message=self.go_message)
        err.certificate = self.cert
        raise err


def _unhandled_critical(cert) -> list[str]:
    return [e.oid.dotted_string for e in cert.extensions if e.critical and e.oid not in _GO_HANDLED_EXTENSIONS]


def _check_validity(cert, now: datetime, role: str) -> None:
    """Go's ``isValid`` time check; the bounds themselves are valid instants."""
    nb, na = cert.not_valid_before_utc, cert.not_valid_after_utc
    if now < nb:
        raise _Fail("not-yet-valid",
                    f"x509: certificate has expired or is not yet valid: current time {_rfc3339(now)} "
                    f"is before {_rfc3339(nb)}",
                    f"The {role} certificate {_label(cert)} is not valid yet: it starts at {_rfc3339(nb)}, "
                    f"and it is {_rfc3339(now)} now. Check this machine's and the server's clocks, or wait.",
                    cert)
    if now > na:
        raise _Fail("expired",
                    f"x509: certificate has expired or is not yet valid: current time {_rfc3339(now)} "
                    f"is after {_rfc3339(na)}",
                    f"The {role} certificate {_label(cert)} expired at {_rfc3339(na)} (it is {_rfc3339(now)} "
                    f"now). Issue a new certificate; Kubernetes cannot extend an existing one.",
                    cert)


def _is_valid(cert, cert_type: str, current_chain: list, now: datetime) -> None:
    """Go's ``Certificate.isValid`` (Go 1.23): critical extensions, time, CA flag, path length."""
    role = {"leaf": "leaf", "intermediate": "intermediate CA", "root": "root CA"}[cert_type]
    unhandled = _unhandled_critical(cert)
    if unhandled:
        raise _Fail("unhandled-critical-extension", "x509: unhandled critical extension",
                    f"The {role} certificate {_label(cert)} has a critical extension Go does not understand "
                    f"({', '.join(unhandled)}), so Go clients and kube-apiserver refuse it. Re-issue it "
                    f"without that extension or mark it non-critical.", cert)
    _check_validity(cert, now, role)
    bc = _ext(cert, x509.BasicConstraints)
    if cert_type == "intermediate" and (bc is None or not bc.value.ca):
        raise _Fail("not-a-ca", "x509: certificate is not authorized to sign other certificates",
                    f"{_label(cert)} is used as an intermediate CA but is not a CA (no basicConstraints "
                    f"CA:TRUE). Chain through a real CA certificate.", cert)
    if bc is not None and bc.value.path_length is not None:
        intermediates = len(current_chain) - 1
        if intermediates > bc.value.path_length:
            raise _Fail("path-length", "x509: too many intermediates for path length constraint",
                        f"The CA {_label(cert)} allows at most {bc.value.path_length} intermediate CA(s) below "
                        f"it (pathlen), but this chain has {intermediates}. Issue from a CA higher up, or "
                        f"create the CA with a larger path_length.", cert)


_GO_KEY_TYPES = ((rsa.RSAPublicKey, "*rsa.PublicKey", "RSA"), (ec.EllipticCurvePublicKey, "*ecdsa.PublicKey", "ECDSA"),
                 (ed25519.Ed25519PublicKey, "ed25519.PublicKey", "Ed25519"), (dsa.DSAPublicKey, "*dsa.PublicKey", "DSA"))


def _go_key_type(key) -> tuple[str, str | None]:
    """Go's ``%T`` of a public key and its ``PublicKeyAlgorithm`` name."""
    for cls, go_type, algo in _GO_KEY_TYPES:
        if isinstance(key, cls):
            return go_type, algo
    return type(key).__name__, None


def _sig_key_algo(cert) -> str | None:
    name = _SIGALG_GO_NAMES.get(cert.signature_algorithm_oid, "")
    if "RSA" in name:
        return "RSA"
    if name.startswith("ECDSA"):
        return "ECDSA"
    if name.startswith("DSA"):
        return "DSA"
    if name == "PureEd25519":
        return "Ed25519"
    return None


def _check_signature_from(child, parent) -> str | None:
    """Go's ``CheckSignatureFrom``; returns Go's error text, or None when ``parent`` signed ``child``."""
    bc = _ext(parent, x509.BasicConstraints)
    if (parent.version == x509.Version.v3 and bc is None) or (bc is not None and not bc.value.ca):
        return "x509: invalid signature: parent certificate cannot sign this kind of certificate"
    ku = _ext(parent, x509.KeyUsage)
    if ku is not None and not ku.value.key_cert_sign:
        return "x509: invalid signature: parent certificate cannot sign this kind of certificate"
    insecure = _GO_INSECURE_SIGALGS.get(child.signature_algorithm_oid)
    if insecure:
        # Go 1.18-1.23 (kube-apiserver 1.32) still offered an escape hatch for SHA-1 RSA/ECDSA.
        override = " (temporarily override with GODEBUG=x509sha1=1)" if insecure in ("SHA1-RSA", "ECDSA-SHA1") else ""
        return f"x509: cannot verify signature: insecure algorithm {insecure}{override}"
    go_type, have = _go_key_type(parent.public_key())
    want = _sig_key_algo(child)
    if want is None or have is None:
        return "x509: cannot verify signature: algorithm unimplemented"
    if want != have:
        return f"x509: signature algorithm specifies an {want} public key, but have public key of type {go_type}"

    try:
        child.verify_directly_issued_by(parent)
    except InvalidSignature:
        return {"RSA": "crypto/rsa: verification error", "ECDSA": "x509: ECDSA verification failure",
                "Ed25519": "x509: Ed25519 verification failure"}.get(have, "x509: verification failure")
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        return f"x509: {exc}"
    return None


def _already_in_chain(candidate, chain) -> bool:
    """Go's ``alreadyInChain``: same subject, same public key and same SAN extension."""
    def san(c):
        ext = _ext(c, x509.SubjectAlternativeName)
        return ext.value.public_bytes() if ext is not None else None

    spki = candidate.public_key().public_bytes(serialization.Encoding.DER,
                                               serialization.PublicFormat.SubjectPublicKeyInfo)
    for cert in chain:
        if cert.subject.public_bytes() != candidate.subject.public_bytes():
            continue
        if cert.public_key().public_bytes(serialization.Encoding.DER,
                                          serialization.PublicFormat.SubjectPublicKeyInfo) != spki:
            continue
        if san(cert) == san(candidate):
            return True
    return False


def _potential_parents(cert, pool: list) -> list:
    """Go's ``CertPool.findPotentialParents``: same raw name, key-id matches first."""
    issuer = cert.issuer.public_bytes()
    aki = _aki_bytes(cert)
    matching, one, mismatch = [], [], []
    for cand in pool:
        if cand.subject.public_bytes() != issuer:
            continue
        ski = _ski_bytes(cand)
        if (ski or b"") == (aki or b""):
            matching.append(cand)
        elif (not ski and aki) or (ski and not aki):
            one.append(cand)
        else:
            mismatch.append(cand)
    return matching + one + mismatch


def _unknown_authority(cert, roots, hint_err, hint_cert) -> _Fail:
    go = "x509: certificate signed by unknown authority"
    issuer = cert.issuer.rfc4514_string() or "(empty name)"
    trusted = ", ".join(repr(r.subject.rfc4514_string()) for r in roots) or "none"
    if hint_err is None:
        return _Fail("unknown-issuer", go,
                     f"{_label(cert)} was issued by {issuer!r}, which is not among the trusted CAs "
                     f"({trusted}) nor the intermediates given. Trust the CA that issued it "
                     f"(kubeconfig certificate-authority-data, --client-ca-file, curl --cacert), or "
                     f"re-issue the certificate from a CA that is trusted.", cert)
    name = hint_cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    cand_name = str(name[0].value) if name else ""
    if not cand_name:
        orgs = hint_cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)
        cand_name = str(orgs[0].value) if orgs else f"serial:{hint_cert.serial_number}"
    go += f" (possibly because of {go_quote(hint_err)} while trying to verify candidate authority certificate {go_quote(cand_name)})"
    if "cannot sign this kind of certificate" in hint_err:
        return _Fail("not-a-ca", go,
                     f"{_label(cert)} names {issuer!r} as its issuer, and a certificate with that name is "
                     f"trusted, but it is not allowed to sign certificates (no CA:TRUE basic constraint or "
                     f"no keyCertSign key usage). Use a real CA certificate as the trust anchor.", cert)
    if "insecure algorithm" in hint_err:
        return _Fail("bad-signature", go,
                     f"{_label(cert)} is signed with {cert.signature_hash_algorithm.name.upper()}, which Go no "
                     f"longer accepts in certificate signatures. Re-issue it with a SHA-256 signature (every "
                     f"k8sauthlib, cfssl and kubeadm default).", cert)
    return _Fail("bad-signature", go,
                 f"{_label(cert)} names {issuer!r} as its issuer, and a CA with that name is trusted, but "
                 f"its key did not verify the signature ({hint_err}). The CA was most likely regenerated "
                 f"with a new key: re-issue the certificate with the current CA key (for kubeadm: "
                 f"/etc/kubernetes/pki/ca.key), or trust the CA that really signed it.", cert)


def _build_chains(cert, current: list, roots: list, intermediates: list, now: datetime, checks: list):
    """Go's ``buildChains``: depth-first over roots, then intermediates; returns (chains, fail)."""
    chains: list = []
    err: _Fail | None = None
    hint_err = hint_cert = None

    def consider(cert_type, candidate):
        nonlocal err, hint_err, hint_cert, chains
        if _already_in_chain(candidate, current):
            return
        checks[0] += 1
        if checks[0] > 100:
            err = _Fail("unknown-issuer",
                        "x509: signature check attempts limit reached while verifying certificate chain",
                        "Too many candidate issuers to try; remove unrelated certificates from the bundles.",
                        cert)
            return
        sig_err = _check_signature_from(cert, candidate)
        if sig_err is not None:
            if hint_err is None:
                hint_err, hint_cert = sig_err, candidate
            return
        try:
            _is_valid(candidate, cert_type, current, now)
            err = None
        except _Fail as fail:
            err = fail
            return
        if cert_type == "root":
            chains.append(current + [candidate])
        else:
            child_chains, err = _build_chains(candidate, current + [candidate], roots, intermediates, now, checks)
            chains.extend(child_chains)

    for root in _potential_parents(cert, roots):
        consider("root", root)
    for inter in _potential_parents(cert, intermediates):
        consider("intermediate", inter)
    if chains:
        return chains, None
    if err is None:
        err = _unknown_authority(cert, roots, hint_err, hint_cert)
    return [], err


def _check_chain_for_key_usage(chain: list, usage) -> bool:
    """Go's ``checkChainForKeyUsage`` for one requested usage.

    A certificate without an EKU extension is skipped, one listing ``anyExtendedKeyUsage``
    passes, every other certificate in the chain must list the usage.
    """
    for cert in reversed(chain):
        if not _has_eku(cert):
            continue
        ekus = _eku_oids(cert)
        if ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE in ekus:
            continue
        if usage not in ekus:
            return False
    return True


def _valid_hostname(host: str, is_pattern: bool) -> bool:
    if not is_pattern:
        host = host[:-1] if host.endswith(".") else host
    if not host:
        return False
    for i, part in enumerate(host.split(".")):
        if part == "":
            return False
        if is_pattern and i == 0 and part == "*":
            continue
        for j, c in enumerate(part):
            if "a" <= c <= "z" or "0" <= c <= "9" or "A" <= c <= "Z" or c == "_" or (c == "-" and j != 0):
                continue
            return False
    return True


def _match_hostnames(pattern: str, host: str) -> bool:
    pattern = pattern.lower()
    host = (host[:-1] if host.endswith(".") else host).lower()
    if not pattern or not host:
        return False
    pp, hp = pattern.split("."), host.split(".")
    if len(pp) != len(hp):
        return False
    return all((i == 0 and p == "*") or p == h for i, (p, h) in enumerate(zip(pp, hp)))


def _match_exactly(a: str, b: str) -> bool:
    if a in ("", ".") or b in ("", "."):
        return False
    return a.lower() == b.lower()


def _parse_ip(text: str):
    try:
        ip = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


def _verify_hostname(cert, host: str) -> None:
    """Go's ``Certificate.VerifyHostname``: SANs only, CN ignored; failures as ``HostnameError``."""
    san = _ext(cert, x509.SubjectAlternativeName)
    dns_names = san.value.get_values_for_type(x509.DNSName) if san else []
    ips = [_parse_ip(str(ip)) for ip in san.value.get_values_for_type(x509.IPAddress)] if san else []
    candidate_ip = host[1:-1] if len(host) >= 3 and host[0] == "[" and host[-1] == "]" else host
    ip = _parse_ip(candidate_ip)
    if ip is not None:
        if ip in ips:
            return
        shown = candidate_ip
    else:
        name = host.lower()
        valid_name = _valid_hostname(name, False)
        for pattern in dns_names:
            if valid_name and _valid_hostname(pattern, True):
                if _match_hostnames(pattern, name):
                    return
            elif _match_exactly(pattern, name):
                return
        shown = host
    # HostnameError.Error()
    cns = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    cn = str(cns[-1].value) if cns else ""
    if san is None and _match_hostnames(cn, shown):
        go = "x509: certificate relies on legacy Common Name field, use SANs instead"
        advice = (f"The server certificate {_label(cert)} names {shown!r} only in its CN, which Go ignores "
                  f"since Go 1.15. Re-issue it with {shown!r} in hosts (SANs).")
    elif ip is not None and not ips:
        go = f"x509: cannot validate certificate for {shown} because it doesn't contain any IP SANs"
        advice = (f"The server certificate {_label(cert)} has no IP address SANs, so it cannot be used at "
                  f"https://{shown}/. Re-issue it with {shown!r} in hosts, or connect by a DNS name it lists"
                  + (f" ({', '.join(dns_names)})." if dns_names else "."))
    else:
        valid = ", ".join(_go_ip_string(i) for i in ips) if ip is not None else ", ".join(dns_names)
        if not valid:
            go = f"x509: certificate is not valid for any names, but wanted to match {shown}"
            advice = (f"The server certificate {_label(cert)} lists no SANs at all. Re-issue it with "
                      f"{shown!r} in hosts.")
        else:
            go = f"x509: certificate is valid for {valid}, not {shown}"
            advice = (f"The server certificate {_label(cert)} is valid for {valid}, but the client asked for "
                      f"{shown!r}. Connect using one of those names, or add {shown!r} to the hosts (SANs) "
                      f"and re-issue the certificate (kubeadm: apiServer.certSANs).")
    raise _Fail("hostname-mismatch", go, advice, cert)


def _wrong_usage(leaf, purpose: str, chains: list) -> _Fail:
    need = "clientAuth" if purpose == "client" else "serverAuth"
    culprit = leaf
    for chain in chains:
        for cert in chain:
            ekus = _eku_oids(cert)
            if _has_eku(cert) and _PURPOSES[purpose] not in ekus and \
                    ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE not in ekus:
                culprit = cert
                break
        break
    listed = ", ".join(EKU_NAMES.get(o, o.dotted_string) for o in _eku_oids(culprit))
    cfssl = "client auth" if purpose == "client" else "server auth"
    who = "client certificate" if purpose == "client" else "server certificate"
    where = "" if culprit is leaf else f" (in the chain of {_label(leaf)})"
    return _Fail("wrong-usage", "x509: certificate specifies an incompatible key usage",
                 f"{_label(culprit)}{where} lists extended key usages [{listed}] without {need}, so Go refuses "
                 f"it as a {who}. Re-issue it with the {cfssl!r} usage (cfssl profile \"usages\"), or "
                 f"without any extended key usage at all.", culprit)


def verify_chain(leaf, roots, *, intermediates=(), purpose: str | None = None, hostname: str | None = None,
                 at: datetime | None = None) -> list[x509.Certificate]:
    """Verify a certificate the way Go's ``crypto/x509`` does, as kube-apiserver and kubectl do.

    The steps and their order follow ``Certificate.Verify`` of Go 1.23, the Go that
    kube-apiserver and kubectl 1.32 are built with (the tests compare the texts with kubectl
    1.32's), so the first error reported is the one Go reports. (Go's development branch has
    since moved the EKU check into chain building, which can change which error comes first
    when several things are wrong.) The checks, in order:

    1. the leaf: no critical extension Go does not understand, and ``at`` within its validity;
    2. ``hostname``, when given, against the SANs only (the CN is ignored since Go 1.15):
       DNS names case-insensitively with a wildcard for one whole left-most label, IP addresses
       against IP SANs;
    3. a path from the leaf through ``intermediates`` to one of ``roots``: candidates are
       certificates whose subject equals the child's issuer (those whose SKI matches the
       child's AKI first); each must be a CA (``basicConstraints`` CA:TRUE and, if it has a key
       usage, ``keyCertSign``) whose key verifies the child's signature; each must be valid at
       ``at`` and respect ``pathlen``. A leaf that is itself in ``roots`` is trusted as is;
    4. the extended key usage over the whole chain, with Go's rule: a certificate without an
       EKU extension is skipped, ``anyExtendedKeyUsage`` passes, every other certificate must
       list the usage asked for (``purpose="any"`` skips this step).

    Not modelled: name constraints, certificate policies, revocation (Kubernetes has none).

    Compared with ``openssl verify -purpose sslclient|sslserver`` (OpenSSL 3.0): the verdicts on
    extended key usage agree (a leaf without any EKU passes; a leaf, intermediate or root whose
    EKU list lacks the usage fails), but OpenSSL also checks a leaf's key usage bits (a client
    certificate without ``digitalSignature`` fails ``sslclient``), which Go ignores.

    Args:
        leaf: the certificate to verify: a ``cryptography`` certificate, PEM bytes, a path, or a
            :class:`~k8sauthlib.Cert` (its ``chain`` is then used as intermediates, like the
            certificates a TLS peer sends after its own).
        roots: the trusted CAs: one or more certificates, CA objects, PEM bundles or paths (a
            ``--client-ca-file``, a kubeconfig's ``certificate-authority``).
        intermediates: untrusted CA certificates that may complete the path.
        purpose: ``"client"`` (clientAuth, what kube-apiserver requires of client certificates),
            ``"server"`` (serverAuth, what kubectl requires of the API server) or ``"any"``.
            Default: ``"server"`` when ``hostname`` is given, else ``"client"``.
        hostname: the name or IP address the client connected to (server certificates).
        at: the time to verify at (default: now); a naive datetime is read as UTC.

    Returns:
        The verified chain, leaf first and the trusted root last.

    Raises:
        VerificationError: with ``reason`` one of ``unknown-issuer``, ``bad-signature`` (a
            trusted CA has the issuer's name but not its key: a regenerated CA), ``not-a-ca``,
            ``expired``, ``not-yet-valid``, ``wrong-usage``, ``hostname-mismatch``,
            ``path-length`` or ``unhandled-critical-extension``; ``go_message`` holds Go's exact
            error text, ``certificate`` the certificate the error is about.
        InputError: an argument cannot be read, or ``purpose`` is unknown.
    """
    if purpose is None:
        purpose = "server" if hostname else "client"
    if purpose not in _PURPOSES:
        raise InputError(f"unknown purpose {purpose!r}; use 'client', 'server' or 'any'")
    leaf_cert = _as_certificate(leaf)
    extra_intermediates = list(getattr(leaf, "chain", None) or []) if not isinstance(leaf, x509.Certificate) else []
    root_certs = _as_certificates(roots)
    inter_certs = _as_certificates(intermediates) + [c for c in extra_intermediates if isinstance(c, x509.Certificate)]
    now = _aware(at)
    try:
        _is_valid(leaf_cert, "leaf", [], now)
        if hostname:
            _verify_hostname(leaf_cert, hostname)
        leaf_der = leaf_cert.public_bytes(serialization.Encoding.DER)
        if any(r.public_bytes(serialization.Encoding.DER) == leaf_der for r in root_certs):
            chains = [[leaf_cert]]
        else:
            chains, fail = _build_chains(leaf_cert, [leaf_cert], root_certs, inter_certs, now, [0])
            if fail is not None:
                raise fail
        if purpose == "any":
            return chains[0]
        good = [c for c in chains if _check_chain_for_key_usage(c, _PURPOSES[purpose])]
        if not good:
            raise _wrong_usage(leaf_cert, purpose, chains)
        return good[0]
    except _Fail as fail:
        fail.raise_()


__all__ = ["CREDENTIAL_ID_KEY", "UID_OID", "CertInfo", "Identity", "certificate_identifier", "describe",
           "kubernetes_identity", "verify_chain"]
