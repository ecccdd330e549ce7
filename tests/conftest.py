"""Shared fixtures for the unit tests, in trustme's style.

- ``key_type``: every test that takes it runs once with RSA-2048 and once with ECDSA P-256, the
  two key types kubeadm and cfssl produce.
- ``ca`` / ``other_ca``: a fresh root CA of that key type, and an unrelated one for the
  "foreign CA fails" negatives.
- ``assert_is_ca`` / ``assert_is_leaf``: read the extensions back and check the profile.
- ``tls_handshake``: a real TLS handshake on 127.0.0.1 (port 0) between two ``ssl`` contexts;
  ``server_context`` / ``client_context`` build those contexts from our certificates.
- ``pem_file``: write PEM bytes to a file under ``tmp_path`` (keys with mode 0600).
- ``rbac_authorizer``: the lab's authorizer over kube-apiserver's bootstrap RBAC policy plus the
  Roles and bindings of a YAML text; ``kubeadm_admin``: the identity of kubeadm's ``admin.conf``
  (``kubeadm:cluster-admins``, with its credential-id); ``authenticated_user(name, *groups)``:
  any other user a client certificate names.
"""

from __future__ import annotations

import itertools
import socket
import ssl
import threading
from dataclasses import dataclass
from datetime import datetime, timezone

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa

import k8sauthlib as k8s

KEY_TYPES = ["rsa-2048", "ecdsa-p256"]


@pytest.fixture(params=KEY_TYPES)
def key_type(request) -> str:
    """``"rsa-2048"`` and ``"ecdsa-p256"``: tests using it run for both."""
    return request.param


@pytest.fixture
def ca(key_type):
    """A fresh self-signed root CA named like kubeadm's cluster CA (``CN=kubernetes``)."""
    return k8s.CA.create("kubernetes", key=key_type)


@pytest.fixture
def other_ca(key_type):
    """An unrelated root CA, for "foreign CA fails" checks."""
    return k8s.CA.create("some-other-ca", key=key_type)


# ------------------------------------------------------------------------------ assertions
def _ext(cert: x509.Certificate, cls):
    try:
        return cert.extensions.get_extension_for_class(cls)
    except x509.ExtensionNotFound:
        return None


def _key_usage_set(cert) -> set[str]:
    ku = _ext(cert, x509.KeyUsage).value
    names = [
        "digital_signature",
        "content_commitment",
        "key_encipherment",
        "data_encipherment",
        "key_agreement",
        "key_cert_sign",
        "crl_sign",
    ]
    found = {n for n in names if getattr(ku, n)}
    if ku.key_agreement:
        found |= {n for n in ("encipher_only", "decipher_only") if getattr(ku, n)}
    return found


def _check_key_type(cert: x509.Certificate, key_type: str) -> None:
    """The certificate's public key is of ``key_type`` (``rsa-2048``, ``ecdsa-p256``...)."""
    spec = k8s.KeySpec.parse(key_type)
    key = cert.public_key()
    if spec.algo == "rsa":
        assert isinstance(key, rsa.RSAPublicKey)
        assert key.key_size == spec.size
    else:
        assert isinstance(key, ec.EllipticCurvePublicKey)
        assert key.curve.key_size == spec.size


def _assert_is_ca(cert, *, path_length=None, self_signed=None):
    """A CA profile: basicConstraints CA:TRUE critical, KU keyCertSign+cRLSign critical, no EKU, SKI."""
    cert = getattr(cert, "cert", cert)
    bc = _ext(cert, x509.BasicConstraints)
    assert bc is not None and bc.critical
    assert bc.value.ca is True
    assert bc.value.path_length == path_length
    ku = _ext(cert, x509.KeyUsage)
    assert ku is not None and ku.critical
    assert _key_usage_set(cert) == {"key_cert_sign", "crl_sign"}
    assert _ext(cert, x509.ExtendedKeyUsage) is None
    ski = _ext(cert, x509.SubjectKeyIdentifier)
    assert ski is not None and not ski.critical
    assert ski.value == x509.SubjectKeyIdentifier.from_public_key(cert.public_key())
    aki = _ext(cert, x509.AuthorityKeyIdentifier)
    if self_signed is True:
        assert cert.issuer == cert.subject
        assert aki is None  # a root names no authority above itself
        cert.verify_directly_issued_by(cert)
    elif self_signed is False:
        assert aki is not None and aki.value.key_identifier is not None
    assert cert.version == x509.Version.v3


def _assert_is_leaf(cert, *, issuer=None, eku=None, key_usage=frozenset({"digital_signature", "key_encipherment"})):
    """A leaf profile: basicConstraints CA:FALSE critical, KU critical, EKU exactly ``eku``, SKI, AKI = issuer SKI."""
    cert = getattr(cert, "cert", cert)
    bc = _ext(cert, x509.BasicConstraints)
    assert bc is not None and bc.critical
    assert bc.value.ca is False
    assert bc.value.path_length is None
    ku = _ext(cert, x509.KeyUsage)
    assert ku is not None and ku.critical
    assert _key_usage_set(cert) == set(key_usage)
    eku_ext = _ext(cert, x509.ExtendedKeyUsage)
    if eku is None:
        assert eku_ext is None
    else:
        assert eku_ext is not None and not eku_ext.critical
        assert list(eku_ext.value) == list(eku)
    ski = _ext(cert, x509.SubjectKeyIdentifier)
    assert ski is not None
    assert ski.value == x509.SubjectKeyIdentifier.from_public_key(cert.public_key())
    if issuer is not None:
        issuer = getattr(issuer, "cert", issuer)
        aki = _ext(cert, x509.AuthorityKeyIdentifier)
        assert aki is not None and not aki.critical
        assert aki.value.key_identifier == _ext(issuer, x509.SubjectKeyIdentifier).value.digest
        assert cert.issuer == issuer.subject
        cert.verify_directly_issued_by(issuer)
    assert cert.version == x509.Version.v3


@pytest.fixture
def check_key_type():
    """``check_key_type(cert, "rsa-2048")``: the certificate's public key is of that type."""
    return _check_key_type


@pytest.fixture
def assert_is_ca():
    """``assert_is_ca(cert, path_length=None, self_signed=None)``."""
    return _assert_is_ca


@pytest.fixture
def assert_is_leaf():
    """``assert_is_leaf(cert, issuer=None, eku=None, key_usage={...})``."""
    return _assert_is_leaf


# ------------------------------------------------------------------------------------ files
_counter = itertools.count()


@pytest.fixture
def pem_file(tmp_path):
    """``pem_file(data, name=None, mode=0o644) -> Path``: write bytes to a fresh file in ``tmp_path``."""

    def write(data: bytes, name: str | None = None, mode: int = 0o644):
        path = tmp_path / (name or f"file{next(_counter)}.pem")
        path.write_bytes(data)
        path.chmod(mode)
        return path

    return write


# -------------------------------------------------------------------------------------- TLS
@pytest.fixture
def server_context(pem_file):
    """``server_context(cert, client_ca=None)``: a TLS server with ``cert``'s chain and key.

    With ``client_ca`` the server requires a client certificate issued by it (like nginx's
    ``ssl_verify_client on``).
    """

    def make(cert, client_ca=None):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(pem_file(cert.chain_pem), pem_file(cert.key_pem, mode=0o600))
        if client_ca is not None:
            ctx.verify_mode = ssl.CERT_REQUIRED
            ctx.load_verify_locations(cadata=getattr(client_ca, "cert_pem", client_ca).decode())
        return ctx

    return make


@pytest.fixture
def client_context(pem_file):
    """``client_context(trust, cert=None)``: a TLS client trusting ``trust``, optionally presenting ``cert``."""

    def make(trust, cert=None):
        ctx = ssl.create_default_context(cadata=getattr(trust, "cert_pem", trust).decode())
        if cert is not None:
            ctx.load_cert_chain(pem_file(cert.chain_pem), pem_file(cert.key_pem, mode=0o600))
        return ctx

    return make


@dataclass
class HandshakeResult:
    """What both ends saw: the peer certificates (DER) and the server's error, if any."""

    server_saw: bytes | None
    client_saw: bytes | None
    reply: bytes


def _handshake(server_ctx: ssl.SSLContext, client_ctx: ssl.SSLContext, server_hostname: str) -> HandshakeResult:
    """Connect a client to a server on 127.0.0.1:0, exchange one message, and return what each saw.

    Raises the client's ``ssl.SSLError``/``OSError`` when the handshake (or, with TLS 1.3, the
    first read after it, where a rejected client certificate shows) fails; its
    ``server_error`` attribute holds the server's own exception (or None).
    """
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(10)
    port = listener.getsockname()[1]
    server_state: dict = {}

    def serve():
        try:
            conn, _ = listener.accept()
        except OSError as exc:
            server_state["error"] = exc
            return
        conn.settimeout(10)
        try:
            with server_ctx.wrap_socket(conn, server_side=True) as tls:
                server_state["peer"] = tls.getpeercert(binary_form=True)
                data = tls.recv(64)
                tls.sendall(b"pong:" + data)
        except (ssl.SSLError, OSError) as exc:
            server_state["error"] = exc
            conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
            with client_ctx.wrap_socket(raw, server_hostname=server_hostname) as tls:
                client_saw = tls.getpeercert(binary_form=True)
                tls.sendall(b"ping")
                reply = tls.recv(64)
                if not reply:
                    raise ssl.SSLError("the server closed the connection without a reply")
    except (ssl.SSLError, OSError) as exc:
        thread.join(10)
        # Why the server hung up (e.g. "certificate verify failed: unsupported certificate
        # purpose"), for tests that check the server's side of a refusal.
        exc.server_error = server_state.get("error")
        raise
    finally:
        thread.join(10)
        listener.close()
    return HandshakeResult(server_saw=server_state.get("peer"), client_saw=client_saw, reply=reply)


@pytest.fixture
def tls_handshake():
    """``tls_handshake(server_ctx, client_ctx, server_hostname) -> HandshakeResult`` (see ``_handshake``)."""
    return _handshake


# ----------------------------------------------------------------------------------- time
@pytest.fixture
def now():
    """The current time, aware UTC, whole seconds."""
    return datetime.now(timezone.utc).replace(microsecond=0)


# ----------------------------------------------------------------------------- the lab's RBAC
@pytest.fixture(scope="session")
def rbac_authorizer():
    """``rbac_authorizer(yaml_text)``: an :class:`~k8sauthlib.lab.auth.Authorizer` over the bootstrap
    policy (the default ClusterRoles and bindings) and the objects of ``yaml_text``."""
    from k8sauthlib.lab import bootstrap
    from k8sauthlib.lab.auth import Authorizer
    from k8sauthlib.lab.rbac import parse_objects

    def build(yaml_text):
        policy = bootstrap.policy()
        policy.add(*parse_objects(yaml_text))
        return Authorizer(policy)

    return build


@pytest.fixture(scope="session")
def authenticated_user():
    """``authenticated_user(name, *groups)``: the identity a client certificate with CN=name,
    O=groups gives, ``system:authenticated`` added as kube-apiserver adds it."""
    from k8sauthlib.pki.identity import Identity

    return lambda name, *groups: Identity(name, (*groups, "system:authenticated"))


@pytest.fixture(scope="session")
def kubeadm_admin():
    """kubeadm's ``admin.conf`` user (1.29+): group ``kubeadm:cluster-admins``, with a credential-id."""
    from k8sauthlib.pki.identity import Identity

    return Identity(
        "kubernetes-admin",
        ("kubeadm:cluster-admins", "system:authenticated"),
        extra={"authentication.kubernetes.io/credential-id": ["X509SHA256=ab"]},
    )
