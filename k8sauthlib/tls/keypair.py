"""Does a private key belong to a certificate? Checked before connecting, with the exact reason.

OpenSSL (``SSL_CTX_check_private_key``) compares only the public halves; a key file with the
certificate's public half but another key's private values gets past it and fails later, at the
server, as a rejected handshake signature. :func:`check_key_pair` reads the key file itself and
names each case (not PEM, encrypted, another key, damaged), so the reader sees it before any
connection.
"""

from __future__ import annotations

import os
import re
import warnings
from pathlib import Path

from ..errors import ClientKeyMismatch, CredentialFileError
from .diagnose import make_diagnosis


def check_key_pair(cert, key):
    """Check that a private key belongs to a certificate, without connecting anywhere.

    Args:
        cert: path or PEM bytes of the certificate.
        key: path or PEM bytes of the private key.

    Raises:
        ClientKeyMismatch: the key's public half is not the certificate's public key, or it is
            but the file's private values belong to another key (a file that OpenSSL and curl
            accept and the server then refuses: "bad signature").
        CredentialFileError: a file is missing, or the key file is not a usable unencrypted PEM
            private key; the message says which (no PEM block, a certificate instead of a key,
            encrypted, damaged, inconsistent numbers) and what to do.
    """
    from cryptography import x509
    from cryptography.exceptions import UnsupportedAlgorithm
    from cryptography.hazmat.primitives import serialization

    cert_pem = _read_bytes(cert, "client certificate")
    key_pem = _read_bytes(key, "client key")
    try:
        certificate = x509.load_pem_x509_certificate(cert_pem)
    except ValueError as exc:
        raise CredentialFileError(
            f"client certificate {_name(cert)} is not a PEM certificate: {exc}",
            diagnosis=make_diagnosis("client-cert-unreadable", str(exc)),
        ) from exc
    try:
        private_key = serialization.load_pem_private_key(key_pem, password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        raise _unloadable_key(key, key_pem, certificate, cert, exc) from exc
    if _public_der(private_key) != _public_der(certificate):
        subject = certificate.subject.rfc4514_string() or "(empty subject)"
        raise ClientKeyMismatch(
            f"the client key {_name(key)} does not belong to the client certificate {_name(cert)} "
            f"({subject}): their public keys differ. Pass the key generated with this "
            "certificate (cfssljson writes NAME.pem and NAME-key.pem as a pair); TLS makes the "
            "client sign the handshake with this key to prove it owns the certificate, so "
            "another key cannot work (OpenSSL and curl refuse the pair: curl exit 58 "
            "'unable to set private key file').",
            diagnosis=make_diagnosis(
                "client-key-mismatch", "public key of the key file != public key in the certificate"
            ),
        )


_PEM_LABEL = re.compile(rb"-----BEGIN ([A-Z0-9 ]+)-----")


def _public_der(key_or_cert):
    from cryptography.hazmat.primitives import serialization

    return key_or_cert.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def _unloadable_key(key, key_pem, certificate, cert, load_error):
    """The exception for a key file that ``cryptography`` refuses to load, saying what is wrong.

    Only the file's PEM labels and the kind of problem are reported, never its content
    (``load_error`` is cryptography's exception, whose text names no key material).
    """
    what = f"client key {_name(key)}"
    labels = [m.decode() for m in _PEM_LABEL.findall(key_pem)]
    key_labels = [l for l in labels if l.endswith("PRIVATE KEY")]

    def unreadable(message, evidence):
        return CredentialFileError(message, diagnosis=make_diagnosis("client-cert-unreadable", evidence))

    if not labels:
        return unreadable(
            f"{what} is not an unencrypted PEM private key: it has no PEM block "
            "('-----BEGIN ...-----' line). If it is DER, convert it: "
            "openssl pkey -inform DER -in KEY.der -out KEY-key.pem",
            "no PEM block",
        )
    if not key_labels:
        return unreadable(
            f"{what} is not an unencrypted PEM private key: it holds "
            f"{', '.join(sorted(set(labels)))} and no private key. Pass the key file "
            "(cfssljson and k8sauthlib write it as NAME-key.pem next to NAME.pem).",
            "no private key block",
        )
    if b"ENCRYPTED" in key_pem:
        return unreadable(
            f"{what} is encrypted with a passphrase; TLS clients here (curl --key, kubectl "
            "client-key, MTLSClient) need it unencrypted: openssl pkey -in KEY -out PLAIN-KEY "
            "(and keep PLAIN-KEY 0600).",
            "encrypted private key",
        )
    from OpenSSL import crypto

    try:
        kind, public_der, inconsistency = _inspect_key_file(key_pem)
    except (crypto.Error, ValueError):  # OpenSSL cannot decode the block either
        return unreadable(
            f"{what}: its {key_labels[0]} block cannot be decoded (damaged base64 or DER: "
            "truncated, edited, or lines lost in copying). Use an intact copy of the key, "
            "or generate a new key and certificate.",
            f"undecodable {key_labels[0]}",
        )
    if inconsistency is None:
        # decodes and fits together, yet cryptography refuses it: an unsupported kind of key
        return unreadable(
            f"{what}: this library cannot use its {kind} private key ({load_error}). Issue the certificate with an RSA or ECDSA P-256/P-384 key "
            "(k8sauthlib's and cfssl's key specs: rsa-2048, ecdsa-p256, ...).",
            f"unsupported {kind} key",
        )
    problem = (
        f"{what} is not a valid {kind} private key: its private values do not belong to "
        f"the public key stored with them ({inconsistency}), so nothing it signs "
        "verifies with that public key"
    )
    if public_der == _public_der(certificate):
        subject = certificate.subject.rfc4514_string() or "(empty subject)"
        return ClientKeyMismatch(
            f"{problem}. That public key is the one in the client certificate {_name(cert)} "
            f"({subject}), but the private values come from another key: the file was "
            "assembled from two keys, or damaged. OpenSSL and curl accept it (they compare only "
            "the public half) and the server then rejects the handshake signature (curl exit 35 "
            "'tlsv1 alert decrypt error', nginx 'bad signature'). Use the key generated with "
            "this certificate (NAME-key.pem next to NAME.pem).",
            diagnosis=make_diagnosis(
                "client-key-mismatch", f"invalid {kind} key whose public half is the certificate's"
            ),
        )
    return unreadable(
        f"{problem}. The file is damaged or was assembled from different keys; "
        "use the key generated with the certificate, or generate a new key and "
        "certificate.",
        f"invalid {kind} key",
    )


def _inspect_key_file(key_pem):
    """``(kind, stored public key as SubjectPublicKeyInfo DER, inconsistency or None)`` of a PEM
    private key that ``cryptography`` refuses to load.

    pyOpenSSL loads keys without the consistency check (as OpenSSL does for curl and nginx), so
    the public half stored in the file can be compared with the certificate's, and the private
    values checked against it: OpenSSL's RSA check (n = p*q, ...), for EC whether the private
    value gives the stored point. Raises whatever OpenSSL raises for a block it cannot decode.
    """
    from cryptography.exceptions import UnsupportedAlgorithm
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from OpenSSL import crypto

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        pkey = crypto.load_privatekey(crypto.FILETYPE_PEM, key_pem)
        public_der = crypto.dump_publickey(crypto.FILETYPE_ASN1, pkey)
        if pkey.type() == crypto.TYPE_RSA:
            try:
                pkey.check()
            except crypto.Error as exc:
                reasons = [err[2] for err in exc.args[0] if len(err) > 2 and err[2]]
                return "RSA", public_der, "OpenSSL: " + ("; ".join(reasons) or "RSA key check failed")
            return "RSA", public_der, None
        if pkey.type() == crypto.TYPE_EC:
            try:
                public = serialization.load_der_public_key(public_der)
            except UnsupportedAlgorithm:  # e.g. a custom curve: nothing to say about consistency
                return "EC", public_der, None
            secret = _sec1_private_value(crypto.dump_privatekey(crypto.FILETYPE_ASN1, pkey))
            if _public_der(ec.derive_private_key(secret, public.curve)) != public_der:
                return "EC", public_der, "the private value does not give the stored public point"
            return "EC", public_der, None
    return f"type-{pkey.type()}", public_der, None


def _sec1_private_value(der):
    """The private value of a SEC 1 ``ECPrivateKey`` (SEQUENCE {INTEGER 1, OCTET STRING d, ...})."""

    def header(pos):  # -> (content start, content length) of the DER element at pos
        length = der[pos + 1]
        if length < 0x80:
            return pos + 2, length
        n = length & 0x7F
        return pos + 2 + n, int.from_bytes(der[pos + 2 : pos + 2 + n], "big")

    start, _ = header(0)  # SEQUENCE
    version, vlen = header(start)  # INTEGER 1
    value, dlen = header(version + vlen)  # OCTET STRING d
    return int.from_bytes(der[value : value + dlen], "big")


def _name(value):
    return repr(str(value)) if isinstance(value, (str, os.PathLike)) else "(PEM bytes)"


def _read_bytes(value, what):
    if isinstance(value, (bytes, bytearray)):
        return bytes(value)
    path = Path(value)
    try:
        return path.read_bytes()
    except OSError as exc:
        raise CredentialFileError(
            f"cannot read the {what} file {str(path)!r}: {exc.strerror}",
            diagnosis=make_diagnosis("client-cert-unreadable", str(exc)),
        ) from exc


__all__ = ["check_key_pair"]
