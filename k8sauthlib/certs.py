"""Certificate authorities, keys, CSRs and the certificates Kubernetes cares about.

Shaped after trustme: ``CA.create()`` -> ``ca.issue_client_cert()`` -> ``cert.write()``. The
defaults follow what kubeadm and cfssl produce, because the book puts our output next to theirs:

- SHA-256 signatures (SHA-384 under a P-384 key), random 20-byte serials;
- a Subject Key Identifier on every certificate, and an Authority Key Identifier taken from the
  issuer's SKI;
- ``notBefore`` five minutes in the past (kubeadm's ``CertificateBackdate``, cfssl's backdate), so
  a certificate is usable at once on a machine whose clock is a little behind;
- CAs: ``basicConstraints`` CA:TRUE and a key usage, no extended key usage;
- servers: ``serverAuth`` only; clients: ``clientAuth`` only, ``CN`` = user and one ``O`` per group
  and nothing else in the subject, since Kubernetes reads every ``O`` as a group.

Private keys are serialized like kubeadm and cfssl write them: PKCS#1 (``RSA PRIVATE KEY``) for
RSA and SEC 1 (``EC PRIVATE KEY``) for ECDSA.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Iterable, Sequence

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from .errors import InputError, KeyMismatchError, UnknownUsageError
from .files import KEY_MODE, BareFiles, atomic_write, read_file, write_bare

#: kubeadm and cfssl start validity this far in the past.
BACKDATE = timedelta(minutes=5)

RSA_SIZES = (2048, 3072, 4096)
EC_CURVES = {256: ec.SECP256R1, 384: ec.SECP384R1}

#: cfssl's key usage names (cfssl config/config.go ``KeyUsage``) -> cryptography KeyUsage field.
KEY_USAGES = {
    "signing": "digital_signature",
    "digital signature": "digital_signature",
    "content commitment": "content_commitment",
    "key encipherment": "key_encipherment",
    "key agreement": "key_agreement",
    "data encipherment": "data_encipherment",
    "cert sign": "key_cert_sign",
    "crl sign": "crl_sign",
    "encipher only": "encipher_only",
    "decipher only": "decipher_only",
}

#: cfssl's extended key usage names (cfssl config/config.go ``ExtKeyUsage``) -> OID.
EXT_KEY_USAGES = {
    "any": ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE,
    "server auth": ExtendedKeyUsageOID.SERVER_AUTH,
    "client auth": ExtendedKeyUsageOID.CLIENT_AUTH,
    "code signing": ExtendedKeyUsageOID.CODE_SIGNING,
    "email protection": ExtendedKeyUsageOID.EMAIL_PROTECTION,
    "s/mime": ExtendedKeyUsageOID.EMAIL_PROTECTION,
    "ipsec end system": x509.ObjectIdentifier("1.3.6.1.5.5.7.3.5"),
    "ipsec tunnel": x509.ObjectIdentifier("1.3.6.1.5.5.7.3.6"),
    "ipsec user": x509.ObjectIdentifier("1.3.6.1.5.5.7.3.7"),
    "timestamping": ExtendedKeyUsageOID.TIME_STAMPING,
    "ocsp signing": ExtendedKeyUsageOID.OCSP_SIGNING,
    "microsoft sgc": x509.ObjectIdentifier("1.3.6.1.4.1.311.10.3.3"),
    "netscape sgc": x509.ObjectIdentifier("2.16.840.1.113730.4.1"),
}

CA_USAGES = ("cert sign", "crl sign")
SERVER_USAGES = ("digital signature", "key encipherment", "server auth")
CLIENT_USAGES = ("digital signature", "key encipherment", "client auth")


# --------------------------------------------------------------------------------------- keys
@dataclass(frozen=True)
class KeySpec:
    """A key algorithm and size: ``rsa`` 2048/3072/4096 or ``ecdsa`` 256 (P-256)/384 (P-384).

    ``KeySpec.parse`` accepts the spellings the book's readers meet: ``"rsa-2048"``, kubeadm's
    ``"RSA-2048"``/``"ECDSA-P256"``, cfssl's ``{"algo": "ecdsa", "size": 256}``, or a tuple.
    """

    algo: str = "rsa"
    size: int = 2048

    def __post_init__(self):
        if self.algo == "rsa" and self.size not in RSA_SIZES:
            raise InputError(f"unsupported RSA key size {self.size}; use one of {', '.join(map(str, RSA_SIZES))}")
        if self.algo == "ecdsa" and self.size not in EC_CURVES:
            raise InputError(f"unsupported ECDSA key size {self.size}; use 256 (P-256) or 384 (P-384)")
        if self.algo not in ("rsa", "ecdsa"):
            raise InputError(f"unsupported key algorithm {self.algo!r}; use 'rsa' or 'ecdsa'")

    @classmethod
    def parse(cls, value) -> KeySpec:
        """Build a KeySpec from a string, a ``(algo, size)`` tuple, a cfssl dict, or a KeySpec."""
        if isinstance(value, KeySpec):
            return value
        if isinstance(value, dict):
            return cls(str(value.get("algo", "")).lower(), _size(value.get("size", 0)))
        if isinstance(value, (tuple, list)) and len(value) == 2:
            return cls(str(value[0]).lower(), _size(value[1]))
        if isinstance(value, str):
            m = re.fullmatch(r"(rsa|ecdsa|ec)(?:[-_ ]?p?-?(\d+))?", value.strip().lower())
            if m:
                algo = "ecdsa" if m.group(1) in ("ec", "ecdsa") else "rsa"
                size = int(m.group(2)) if m.group(2) else (2048 if algo == "rsa" else 256)
                return cls(algo, size)
        raise InputError(f"cannot read a key type from {value!r}; write e.g. 'rsa-2048', 'rsa-4096', 'ecdsa-p256'")

    def generate(self):
        """Generate a new private key of this kind."""
        if self.algo == "rsa":
            return rsa.generate_private_key(public_exponent=65537, key_size=self.size)
        return ec.generate_private_key(EC_CURVES[self.size]())

    def __str__(self):
        return f"rsa-{self.size}" if self.algo == "rsa" else f"ecdsa-p{self.size}"


def _size(value) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise InputError(f"key size {value!r} is not a number; use e.g. 2048 for RSA or 256 for ECDSA") from None


def _read(source, what: str) -> bytes:
    if isinstance(source, (bytes, bytearray)):
        return bytes(source)
    if isinstance(source, str) and source.lstrip().startswith("-----BEGIN"):
        return source.encode()
    return read_file(source, what,
                     permission_hint="it may be root-only; copy it with sudo or run as its owner")


def load_private_key(source):
    """Load a PEM private key: PKCS#1 (``RSA PRIVATE KEY``), PKCS#8 or SEC 1 (``EC PRIVATE KEY``).

    Args:
        source: PEM bytes, a PEM string, or a path.

    Raises:
        InputError: the file is missing, unreadable, encrypted, or not a supported private key.
    """
    data = _read(source, "private key")
    if b"PRIVATE KEY-----" not in data:
        raise InputError("no PEM private key found (expected '-----BEGIN RSA PRIVATE KEY-----', "
                         "'-----BEGIN EC PRIVATE KEY-----' or '-----BEGIN PRIVATE KEY-----')")
    if b"ENCRYPTED" in data:
        raise InputError("the private key is encrypted; decrypt it first (openssl pkey -in KEY -out PLAIN-KEY)")
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        raise InputError(f"cannot parse the private key: {exc}") from None
    if not isinstance(key, (rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey)):
        raise InputError(f"unsupported private key type {type(key).__name__}; use RSA or ECDSA")
    return key


def load_cert(source) -> x509.Certificate:
    """Load the first PEM certificate from bytes, a PEM string, or a path."""
    data = _read(source, "certificate")
    if b"-----BEGIN CERTIFICATE-----" not in data:
        raise InputError("no PEM certificate found (expected '-----BEGIN CERTIFICATE-----')")
    try:
        return x509.load_pem_x509_certificates(data)[0]
    except ValueError as exc:
        raise InputError(f"cannot parse the certificate: {exc}") from None


def _load_cert_bundle(source) -> list[x509.Certificate]:
    data = _read(source, "certificate")
    try:
        return x509.load_pem_x509_certificates(data)
    except ValueError as exc:
        raise InputError(f"cannot parse the certificate: {exc}") from None


def _spki(public_key) -> bytes:
    return public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def key_matches(cert: x509.Certificate, key) -> bool:
    """True when ``key`` is the private half of ``cert``'s public key."""
    return _spki(cert.public_key()) == _spki(key.public_key())


def _key_pem(key) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                             serialization.NoEncryption())


def _hash_for(key):
    if isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.key_size >= 384:
        return hashes.SHA384()
    return hashes.SHA256()


# --------------------------------------------------------------------------------- names, SANs
def subject_name(common_name: str | None, orgs: Iterable[str] = ()) -> x509.Name:
    """``O=<group>`` for each group (in order), then ``CN=<user>``: the order kubeadm writes.

    An empty or None ``common_name`` leaves CN out (Kubernetes then treats the request as
    anonymous).
    """
    if isinstance(orgs, str):
        orgs = [orgs]
    orgs = list(orgs)
    for value in [common_name, *orgs]:
        if value is not None and not isinstance(value, str):
            raise InputError(f"subject values must be strings, not {type(value).__name__} ({value!r})")
    if any(not o for o in orgs):
        raise InputError("an empty O (group name) is not allowed; leave it out instead")
    rdns = [x509.RelativeDistinguishedName([x509.NameAttribute(NameOID.ORGANIZATION_NAME, o)]) for o in orgs]
    if common_name:
        rdns.append(x509.RelativeDistinguishedName([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]))
    return x509.Name(rdns)


def _is_email(host: str) -> bool:
    if "@" not in host:   # the common case, without importing email.utils (CLI start-up)
        return False
    from email.utils import parseaddr
    name, addr = parseaddr(host)
    return "@" in host and addr == host and not name and re.fullmatch(r"[^@\s]+@[^@\s]+", host) is not None


def _is_uri(host: str) -> bool:
    # Go's url.ParseRequestURI accepts absolute URIs ("spiffe://x/y", "https://a") and absolute paths.
    if ":" not in host:
        return False
    from urllib.parse import urlsplit
    parts = urlsplit(host)
    return bool(parts.scheme and (parts.netloc or parts.path)) and re.match(r"^[A-Za-z][A-Za-z0-9+.-]*:", host) is not None


def parse_hosts(hosts: Iterable[str | x509.GeneralName]) -> list[x509.GeneralName]:
    """Turn cfssl-style ``hosts`` into SANs.

    Each entry is an IP address if it parses as one, else an email address, else a URI, else a
    DNS name: cfssl's rule. The SANs come out grouped as Go's ``x509`` encodes them (DNS names,
    email addresses, IP addresses, URIs), each group in input order, so our certificates list
    their SANs in the same order as cfssl's and kubeadm's.

    An entry that is already an ``x509.GeneralName`` (a SAN copied from a CSR) keeps its type.
    """
    if isinstance(hosts, str):
        hosts = [hosts]
    dns, email, ips, uris = [], [], [], []
    for host in hosts:
        if isinstance(host, x509.GeneralName):
            group = {x509.DNSName: dns, x509.RFC822Name: email, x509.IPAddress: ips,
                     x509.UniformResourceIdentifier: uris}.get(type(host))
            if group is None:
                raise InputError(f"unsupported SAN type {type(host).__name__}; use DNS, email, IP or URI names")
            group.append(host)
            continue
        host = str(host).strip()
        if not host:
            raise InputError("empty host name in hosts")
        try:
            ips.append(x509.IPAddress(ipaddress.ip_address(host)))
            continue
        except ValueError:
            pass
        if _is_email(host):
            email.append(x509.RFC822Name(host))
        elif _is_uri(host):
            uris.append(x509.UniformResourceIdentifier(host))
        else:
            try:
                dns.append(x509.DNSName(host))
            except ValueError as exc:
                raise InputError(f"invalid host name {host!r}: {exc}") from None
    return dns + email + ips + uris


def resolve_usages(names: Iterable[str]) -> tuple[x509.KeyUsage | None, list[x509.ObjectIdentifier]]:
    """Map cfssl usage names to a KeyUsage extension value and a list of EKU OIDs.

    Unlike cfssl, which silently drops a name it does not know, an unknown name is an error.

    Raises:
        UnknownUsageError: a name is not one of cfssl's usage names.
    """
    if isinstance(names, str):
        names = [names]
    flags = dict.fromkeys(set(KEY_USAGES.values()), False)
    ekus: list[x509.ObjectIdentifier] = []
    for name in names:
        if name in KEY_USAGES:
            flags[KEY_USAGES[name]] = True
        elif name in EXT_KEY_USAGES:
            if EXT_KEY_USAGES[name] not in ekus:
                ekus.append(EXT_KEY_USAGES[name])
        else:
            known = sorted(KEY_USAGES) + sorted(EXT_KEY_USAGES)
            hint = next((k for k in known if k.replace(" ", "") == str(name).replace(" ", "").replace("_", "").lower()), None)
            raise UnknownUsageError(f"unknown usage {name!r}" + (f" (did you mean {hint!r}?)" if hint else "")
                                    + f"; known usages: {', '.join(known)}")
    if (flags["encipher_only"] or flags["decipher_only"]) and not flags["key_agreement"]:
        raise InputError("'encipher only' and 'decipher only' need 'key agreement' as well")
    key_usage = x509.KeyUsage(**flags) if any(flags.values()) else None
    return key_usage, ekus


def _utc(dt: datetime) -> datetime:
    if dt.tzinfo is None:
        raise InputError(f"datetime {dt!r} has no time zone; use an aware datetime such as datetime.now(timezone.utc)")
    return dt.astimezone(timezone.utc).replace(microsecond=0)


def _validity(validity, not_before, not_after) -> tuple[datetime, datetime]:
    now = datetime.now(timezone.utc).replace(microsecond=0)
    if not isinstance(validity, timedelta):
        raise InputError(f"validity must be a timedelta, not {type(validity).__name__}")
    start = _utc(not_before) if not_before is not None else now - BACKDATE
    end = _utc(not_after) if not_after is not None else (_utc(not_before) if not_before is not None else now) + validity
    if end <= start:
        raise InputError(f"the certificate would end ({end:%Y-%m-%d %H:%M:%S}Z) before it starts "
                         f"({start:%Y-%m-%d %H:%M:%S}Z)")
    return start, end


# ---------------------------------------------------------------------------- results: Cert, CSR
class Cert:
    """One certificate, with its private key when we have it.

    Attributes:
        cert: the ``cryptography`` certificate.
        key: its private key, or None (a certificate signed from someone else's CSR).
        csr: the CSR it was made from, when there was one.
        chain: intermediate CA certificates between this certificate and its root (the root
            itself excluded), nearest first.
    """

    def __init__(self, cert: x509.Certificate, key=None, csr: x509.CertificateSigningRequest | None = None,
                 chain: Sequence[x509.Certificate] = ()):
        if key is not None and not key_matches(cert, key):
            raise KeyMismatchError(f"the private key does not belong to the certificate {_short_subject(cert)}")
        self.cert = cert
        self.key = key
        self.csr = csr
        self.chain = list(chain)

    @classmethod
    def load(cls, cert_path, key_path=None):
        """Load a certificate (and optionally its key) from PEM files; extra PEM certs become the chain."""
        certs = _load_cert_bundle(cert_path)
        if not certs:
            raise InputError(f"no PEM certificate found in {cert_path}")
        key = load_private_key(key_path) if key_path is not None else None
        if key is not None and not key_matches(certs[0], key):
            raise KeyMismatchError(f"the private key {key_path} does not belong to the certificate {cert_path} "
                                   f"({_short_subject(certs[0])}); pair each certificate with the key it was issued for")
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
            raise InputError("this certificate has no private key here (it was signed from a CSR; the key stays "
                             "with its owner)")
        return _key_pem(self.key)

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
        from .inspect import kubernetes_identity
        return kubernetes_identity(self.cert)

    def describe(self):
        """Everything a reader wants to know about the certificate, as a ``CertInfo``."""
        from .inspect import describe
        return describe(self.cert)

    # files --------------------------------------------------------------------------------
    def write(self, name, directory=".", *, overwrite: bool = False) -> BareFiles:
        """Write ``NAME.pem``, ``NAME-key.pem`` (0600) and ``NAME.csr`` as ``cfssljson -bare`` does.

        The key and CSR are written only when this object has them. Existing files are not
        replaced unless ``overwrite`` is True.
        """
        return write_bare(name, directory, cert_pem=self.cert_pem,
                          key_pem=_key_pem(self.key) if self.key is not None else None,
                          csr_pem=self.csr_pem, overwrite=overwrite)

    def write_cert(self, path, *, chain: bool = False, overwrite: bool = True):
        """Write the certificate (with ``chain=True``: plus intermediates) to one PEM file."""
        return atomic_write(path, self.chain_pem if chain else self.cert_pem, overwrite=overwrite)

    def write_key(self, path, *, overwrite: bool = False):
        """Write the private key to ``path`` with mode 0600; an existing file is kept unless ``overwrite``."""
        return atomic_write(path, self.key_pem, mode=KEY_MODE, overwrite=overwrite)

    def __repr__(self):
        subject = " ".join(f"{k}={v}" for k, v in
                           ([("CN", self.common_name)] if self.common_name else []) +
                           [("O", o) for o in self.organizations]) or "(empty subject)"
        return (f"<{type(self).__name__} {subject} serial={self.serial_hex[:6]}… "
                f"expires {self.not_after:%Y-%m-%d}>")


def _short_subject(cert: x509.Certificate) -> str:
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
        return _key_pem(self.key)

    def write(self, name, directory=".", *, overwrite: bool = False) -> tuple[Path, Path]:
        """Write ``NAME.csr`` and ``NAME-key.pem`` (0600); returns their paths."""
        from .files import bare_paths
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


def make_csr(common_name: str | None, *, orgs: Iterable[str] = (), hosts: Iterable[str] = (),
             subject: x509.Name | None = None, key="rsa-2048") -> CSR:
    """Make a new key and a CSR for it, as a user would on their own machine.

    Args:
        common_name: the CN (for Kubernetes: the user name).
        orgs: one ``O`` per group.
        hosts: SANs, cfssl-style (see :func:`parse_hosts`).
        subject: a complete subject instead of ``common_name``/``orgs``.
        key: a key spec (see :class:`KeySpec`) or an existing private key.
    """
    private_key = key if isinstance(key, (rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey)) else KeySpec.parse(key).generate()
    builder = x509.CertificateSigningRequestBuilder().subject_name(
        subject if subject is not None else subject_name(common_name, orgs))
    sans = parse_hosts(hosts)
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    return CSR(builder.sign(private_key, _hash_for(private_key)), private_key)


# ------------------------------------------------------------------------------------------ CA
class CA(Cert):
    """A certificate authority that can issue certificates: a self-signed root or an intermediate."""

    @classmethod
    def create(cls, common_name: str = "kubernetes", *, orgs: Iterable[str] = (), org: str | None = None,
               subject: x509.Name | None = None, key="rsa-2048", validity: timedelta = timedelta(days=3650),
               not_before: datetime | None = None, not_after: datetime | None = None,
               usages: Iterable[str] = CA_USAGES, hosts: Iterable[str] = (), path_length: int | None = None) -> CA:
        """Create a self-signed root CA.

        Args:
            common_name: the CA's CN (kubeadm's cluster CA is ``kubernetes``).
            orgs: ``O`` values of the CA subject; ``org`` is a shorthand for a single one.
            subject: a complete subject instead of ``common_name``/``orgs``.
            key: key spec, e.g. ``"rsa-2048"`` or ``"ecdsa-p256"``.
            validity: lifetime (kubeadm: 10 years; cfssl ``-initca``: 5 years).
            not_before, not_after: explicit validity bounds (aware datetimes).
            usages: cfssl usage names for the key usage extension.
            hosts: SANs (kubeadm puts ``DNS:kubernetes`` on its CA).
            path_length: ``basicConstraints`` pathlen, or None for no limit.
        """
        orgs = ([org] if org else []) + (list(orgs) if not isinstance(orgs, str) else [orgs])
        private_key = KeySpec.parse(key).generate()
        name = subject if subject is not None else subject_name(common_name, orgs)
        cert = _build(subject=name, issuer=name, public_key=private_key.public_key(), signing_key=private_key,
                      issuer_ski=None, hosts=hosts, usages=usages, validity=validity, not_before=not_before,
                      not_after=not_after, is_ca=True, path_length=path_length)
        return cls(cert, private_key)

    @classmethod
    def load(cls, cert_path, key_path):
        """Load a CA from PEM files, e.g. kubeadm's ``/etc/kubernetes/pki/ca.crt`` and ``ca.key``.

        Accepts PKCS#1, PKCS#8 and EC private keys.

        Raises:
            KeyMismatchError: the key does not belong to the certificate.
            InputError: a file is missing or unreadable, or the certificate is not a CA.
        """
        ca = super().load(cert_path, key_path)
        if ca.key is None:
            raise InputError("a CA needs its private key to sign; give the key file as well")
        try:
            bc = ca.cert.extensions.get_extension_for_class(x509.BasicConstraints).value
        except x509.ExtensionNotFound:
            bc = None
        if bc is not None and not bc.ca:
            raise InputError(f"{_short_subject(ca.cert)} is not a CA certificate (basicConstraints CA:FALSE); "
                             f"it cannot sign other certificates")
        return ca

    @classmethod
    def from_pem(cls, cert_pem: bytes, key_pem: bytes):
        return cls.load(cert_pem, key_pem)

    @property
    def is_root(self) -> bool:
        return self.cert.issuer == self.cert.subject and not self.chain

    def _chain_for_children(self) -> list[x509.Certificate]:
        return ([] if self.is_root else [self.cert]) + self.chain

    def _basic_constraints(self):
        try:
            return self.cert.extensions.get_extension_for_class(x509.BasicConstraints).value
        except x509.ExtensionNotFound:
            return None

    def _ski(self):
        try:
            return self.cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
        except x509.ExtensionNotFound:
            return None

    def issue(self, *, subject: x509.Name, hosts: Iterable[str] = (), usages: Iterable[str] = CLIENT_USAGES,
              key="rsa-2048", validity: timedelta = timedelta(days=365), not_before: datetime | None = None,
              not_after: datetime | None = None, is_ca: bool = False, path_length: int | None = None,
              public_key=None, csr: x509.CertificateSigningRequest | None = None) -> Cert:
        """Issue a certificate with any subject, SANs and usages: the general form of the helpers below.

        Args:
            subject: the subject name.
            hosts: SANs, cfssl-style.
            usages: cfssl usage names.
            key: key spec for a new key pair (ignored when ``public_key`` is given).
            validity, not_before, not_after: lifetime.
            is_ca: issue a CA certificate (``basicConstraints`` CA:TRUE).
            path_length: pathlen for a CA.
            public_key: sign this public key (from a CSR) instead of making a new key pair.
            csr: the CSR to keep with the result.
        """
        private_key = None
        if public_key is None:
            private_key = KeySpec.parse(key).generate()
            public_key = private_key.public_key()
        cert = _build(subject=subject, issuer=self.cert.subject, public_key=public_key, signing_key=self.key,
                      issuer_ski=self._ski(), issuer_public_key=self.cert.public_key(), hosts=hosts, usages=usages,
                      validity=validity, not_before=not_before, not_after=not_after, is_ca=is_ca,
                      path_length=path_length)
        result_cls = CA if is_ca and private_key is not None else Cert
        return result_cls(cert, private_key, csr=csr, chain=self._chain_for_children())

    def issue_server_cert(self, *hosts: str, common_name: str | None = None, orgs: Iterable[str] = (),
                          key="rsa-2048", validity: timedelta = timedelta(days=365),
                          not_before: datetime | None = None, not_after: datetime | None = None,
                          usages: Iterable[str] = SERVER_USAGES) -> Cert:
        """Issue a TLS server certificate for ``hosts`` (DNS names and IP addresses), ``serverAuth`` only.

        The CN defaults to the first host; clients check the SANs, never the CN.
        """
        if not hosts:
            raise InputError("a server certificate needs at least one host name or IP address")
        if isinstance(orgs, str):
            orgs = [orgs]
        return self.issue(subject=subject_name(common_name if common_name is not None else hosts[0], orgs),
                          hosts=hosts, usages=usages, key=key, validity=validity, not_before=not_before,
                          not_after=not_after)

    def issue_client_cert(self, user: str, groups: Iterable[str] = (), *, key="rsa-2048",
                          validity: timedelta = timedelta(days=365), not_before: datetime | None = None,
                          not_after: datetime | None = None, usages: Iterable[str] = CLIENT_USAGES,
                          hosts: Iterable[str] = ()) -> Cert:
        """Issue a client certificate for a Kubernetes user: ``CN=user``, one ``O`` per group, ``clientAuth``.

        An empty ``user`` makes a certificate without CN, which Kubernetes treats as anonymous.
        """
        if user is None:
            raise InputError("give the user name (the CN); pass \"\" explicitly for a certificate without CN")
        if isinstance(groups, str):
            groups = [groups]
        return self.issue(subject=subject_name(user, groups), hosts=hosts, usages=usages, key=key,
                          validity=validity, not_before=not_before, not_after=not_after)

    def issue_intermediate(self, common_name: str, *, orgs: Iterable[str] = (), key="rsa-2048",
                           validity: timedelta = timedelta(days=1825), path_length: int | None = None,
                           usages: Iterable[str] = CA_USAGES) -> CA:
        """Issue an intermediate CA signed by this one; its ``chain`` leads back to (not including) the root.

        Raises:
            InputError: this CA has ``pathlen`` 0, so clients would reject any intermediate under it
                (``x509: too many intermediates for path length constraint``). The general
                :meth:`issue` still builds such a chain for a reader who wants to see it fail.
        """
        bc = self._basic_constraints()
        if bc is not None and bc.path_length == 0:
            raise InputError(f"{_short_subject(self.cert)} has pathlen 0: it may sign only end-entity "
                             f"certificates, and clients would reject an intermediate under it "
                             f"('x509: too many intermediates for path length constraint')")
        return self.issue(subject=subject_name(common_name, orgs), usages=usages, key=key, validity=validity,
                          is_ca=True, path_length=path_length)

    def sign_csr(self, csr, *, usages: Iterable[str] = CLIENT_USAGES, hosts: Iterable[str] | None = None,
                 subject: x509.Name | None = None, validity: timedelta = timedelta(days=365),
                 not_before: datetime | None = None, not_after: datetime | None = None) -> Cert:
        """Sign a CSR made elsewhere, so the requester's private key never leaves their machine.

        Args:
            csr: a ``cryptography`` CSR, PEM bytes, or a path to a PEM file.
            usages: cfssl usage names (default: a client certificate).
            hosts: SANs to put in; None keeps the CSR's own SANs.
            subject: a subject to use instead of the CSR's.
            validity, not_before, not_after: lifetime.

        Raises:
            InputError: the CSR cannot be parsed or its signature is invalid.
        """
        if not isinstance(csr, x509.CertificateSigningRequest):
            data = _read(csr, "CSR")
            try:
                csr = x509.load_pem_x509_csr(data)
            except ValueError as exc:
                raise InputError(f"cannot parse the CSR (expected '-----BEGIN CERTIFICATE REQUEST-----'): {exc}") from None
        if not csr.is_signature_valid:
            raise InputError("the CSR's signature does not verify; it was altered or not signed by its key")
        if hosts is None:
            try:
                san = csr.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
                hosts = [str(n.value) for n in san]
            except x509.ExtensionNotFound:
                hosts = []
        return self.issue(subject=subject if subject is not None else csr.subject, hosts=hosts, usages=usages,
                          validity=validity, not_before=not_before, not_after=not_after,
                          public_key=csr.public_key(), csr=csr)


def _build(*, subject, issuer, public_key, signing_key, issuer_ski, hosts, usages, validity, not_before,
           not_after, is_ca, path_length, issuer_public_key=None) -> x509.Certificate:
    start, end = _validity(validity, not_before, not_after)
    key_usage, ekus = resolve_usages(list(usages))
    if not is_ca and path_length is not None:
        raise InputError("path_length applies to CA certificates only")
    builder = (x509.CertificateBuilder()
               .subject_name(subject)
               .issuer_name(issuer)
               .public_key(public_key)
               .serial_number(x509.random_serial_number())
               .not_valid_before(start)
               .not_valid_after(end))
    if key_usage is not None:
        builder = builder.add_extension(key_usage, critical=True)
    if ekus:
        builder = builder.add_extension(x509.ExtendedKeyUsage(ekus), critical=False)
    builder = builder.add_extension(x509.BasicConstraints(ca=is_ca, path_length=path_length if is_ca else None),
                                    critical=True)
    builder = builder.add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
    if issuer != subject or issuer_public_key is not None:
        if issuer_ski is not None:
            aki = x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(issuer_ski)
        else:
            aki = x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_public_key or signing_key.public_key())
        builder = builder.add_extension(aki, critical=False)
    sans = parse_hosts(hosts)
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    return builder.sign(signing_key, _hash_for(signing_key))


def verify_signature(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    """True when ``issuer``'s key signed ``cert`` (names are checked too)."""
    try:
        cert.verify_directly_issued_by(issuer)
        return True
    except (ValueError, TypeError, InvalidSignature):
        return False


__all__ = ["BACKDATE", "CA", "CSR", "Cert", "KeySpec", "key_matches", "load_cert", "load_private_key",
           "make_csr", "parse_hosts", "resolve_usages", "subject_name", "verify_signature"]
