"""Keys: key specs, generating, loading, matching and serializing private keys.

Private keys are read through the one PEM reader (:func:`k8sauthlib.pki.fields.read_pem`) and
serialized as kubeadm (``k8s.io/client-go/util/keyutil``) and cfssl write them: PKCS#1 for RSA,
SEC 1 for ECDSA.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from ..errors import InputError
from .fields import read_pem, source_prefix

#: Key sizes we generate and accept: cfssl's ``csr.KeyRequest`` limits (RSA 2048-8192 in steps, ECDSA
#: P-256/P-384/P-521) narrowed to what kubeadm and the book use.
RSA_SIZES = (2048, 3072, 4096)
EC_CURVES = {256: ec.SECP256R1, 384: ec.SECP384R1}
#: The default key of ``CA.create``, ``issue_*`` and kubeadm (``encryptionAlgorithm: RSA-2048``).
DEFAULT_KEY = "rsa-2048"


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


def load_private_key(source):
    """Load a PEM private key: PKCS#1 (``RSA PRIVATE KEY``), PKCS#8 or SEC 1 (``EC PRIVATE KEY``).

    Args:
        source: PEM bytes, a PEM string, or a path.

    Raises:
        InputError: the file is missing, unreadable, encrypted, or not a supported private key.
    """
    data = read_pem(source, "private key")
    where = source_prefix(source)
    if b"PRIVATE KEY-----" not in data:
        raise InputError(
            f"{where}no PEM private key found (expected '-----BEGIN RSA PRIVATE KEY-----', "
            "'-----BEGIN EC PRIVATE KEY-----' or '-----BEGIN PRIVATE KEY-----')"
        )
    if b"ENCRYPTED" in data:
        raise InputError(f"{where}the private key is encrypted; decrypt it first (openssl pkey -in KEY -out PLAIN-KEY)")
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        raise InputError(f"{where}cannot parse the private key: {exc}") from None
    if not isinstance(key, (rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey)):
        raise InputError(f"{where}unsupported private key type {type(key).__name__}; use RSA or ECDSA")
    return key


def _spki(public_key) -> bytes:
    return public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def key_matches(cert: x509.Certificate, key) -> bool:
    """True when ``key`` is the private half of ``cert``'s public key."""
    return _spki(cert.public_key()) == _spki(key.public_key())


def key_pem(key) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
    )


def hash_for(key):
    if isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.key_size >= 384:
        return hashes.SHA384()
    return hashes.SHA256()


def verify_signature(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    """True when ``issuer``'s key signed ``cert`` (names are checked too)."""
    try:
        cert.verify_directly_issued_by(issuer)
        return True
    except (ValueError, TypeError, InvalidSignature):
        return False


__all__ = [
    "DEFAULT_KEY",
    "EC_CURVES",
    "RSA_SIZES",
    "KeySpec",
    "hash_for",
    "key_matches",
    "key_pem",
    "load_private_key",
    "verify_signature",
]
