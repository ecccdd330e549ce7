"""A mutual-TLS HTTP client whose failures say what is wrong and what to do.

:class:`MTLSClient` wraps one :class:`requests.Session` (so connections are reused across
calls) configured with the CA to trust and, for mutual TLS, a client certificate and key::

    api = k8s.MTLSClient("https://kubernetes:8443", ca="rootCA.pem",
                         cert="client.pem", key="client-key.pem",
                         resolve={"kubernetes:8443": "127.0.0.1"})
    api.get("/").text

``resolve`` does what ``curl --resolve kubernetes:8443:127.0.0.1`` does: the TCP connection goes
to the given address while SNI, the ``Host`` header and the certificate's host-name check still
use the name, without touching ``/etc/hosts``.

Failures become :class:`TLSProblem` subclasses (``UnknownServerCA``, ``HostnameMismatch``,
``ClientCertRequired``, ``ClientCertRejected``, ``ClientKeyMismatch`` (and its
``ClientSignatureRejected``: the server refused the handshake signature), ``CertificateExpired``,
``PlainHTTPToHTTPS``, ...) whose messages name the cause and the fix; the original exception is
chained, and for nginx's 400 pages the response stays available as ``exc.response``. The
mapping itself lives in :mod:`k8sauthlib.diagnose`, shared with curl and kubectl.
"""

from __future__ import annotations

import ipaddress
import os
import re
import socket
import ssl
import warnings
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import requests
import urllib3
from requests.adapters import HTTPAdapter

from . import diagnose
from .errors import InputError, K8sAuthError, KeyMismatchError

__all__ = [
    "MTLSClient", "TLSProblem", "UnknownServerCA", "HostnameMismatch", "CertificateExpired",
    "ServerCertExpired", "ClientCertExpired", "ClientCertRequired", "ClientCertRejected",
    "ClientKeyMismatch", "ClientSignatureRejected", "WrongKeyUsage", "PlainHTTPToHTTPS", "HTTPSToPlainHTTP",
    "ServerUnreachable", "CredentialFileError", "InsecureTLSWarning", "parse_resolve",
    "check_key_pair",
]


class TLSProblem(K8sAuthError):
    """A (mutual) TLS request failed for a known cause.

    Attributes:
        diagnosis: the :class:`k8sauthlib.diagnose.Diagnosis` (cause, evidence); may be ``None``.
        url: the URL requested.
        response: the HTTP response when the server answered (nginx's 400 pages), else ``None``.
    """

    def __init__(self, message, *, diagnosis=None, url=None, response=None):
        super().__init__(message)
        self.diagnosis = diagnosis
        self.url = url
        self.response = response

    @property
    def cause(self):
        """The :class:`k8sauthlib.diagnose.Cause`, or ``None``."""
        return self.diagnosis.cause if self.diagnosis is not None else None

    @property
    def key(self):
        """The cause's key (e.g. ``"unknown-server-ca"``), or ``None``."""
        return self.diagnosis.key if self.diagnosis is not None else None


class UnknownServerCA(TLSProblem):
    """The server's certificate chains to a CA the client was not told to trust."""


class HostnameMismatch(TLSProblem):
    """The URL's host is not among the server certificate's SANs.

    Attributes:
        hostname: the name (or IP) that was checked.
        sans: the server certificate's SANs as strings (``DNS:...``/``IP:...``), when known.
    """

    def __init__(self, message, *, hostname=None, sans=(), **kw):
        super().__init__(message, **kw)
        self.hostname = hostname
        self.sans = list(sans)


class CertificateExpired(TLSProblem):
    """A certificate in the exchange is outside its validity period."""


class ServerCertExpired(CertificateExpired):
    """The server's certificate has expired (or is not valid yet)."""


class ClientCertRequired(TLSProblem):
    """The server wants a client certificate and none was sent (nginx: 400 No required SSL
    certificate was sent)."""


class ClientCertRejected(TLSProblem):
    """The server refused the client certificate (nginx: 400 The SSL certificate error)."""


class ClientCertExpired(ClientCertRejected, CertificateExpired):
    """The server refused the client certificate because it has expired."""


class ClientKeyMismatch(TLSProblem, KeyMismatchError):
    """The client private key does not belong to the client certificate."""


class ClientSignatureRejected(ClientKeyMismatch):
    """The server could not verify the client's handshake signature (CertificateVerify).

    The client sent its certificate and signed the handshake with the key file, and the
    signature did not verify with the certificate's public key (TLS alert ``decrypt error``;
    nginx logs ``bad signature``). OpenSSL had accepted the pair because the key file's public
    half is the certificate's, so the file's private values come from another key (or are
    damaged). Raised with ``check_key=False``; the default check refuses such a file before
    connecting.
    """


class WrongKeyUsage(TLSProblem):
    """A certificate's extended key usage does not allow its use here."""


class PlainHTTPToHTTPS(TLSProblem):
    """Plain HTTP was sent to an HTTPS port (nginx: 400 The plain HTTP request was sent to
    HTTPS port)."""


class HTTPSToPlainHTTP(TLSProblem):
    """TLS was attempted against a plain-HTTP port."""


class ServerUnreachable(TLSProblem):
    """No connection at all: connection refused, or the host name does not resolve."""


class CredentialFileError(TLSProblem):
    """A CA, certificate or key file cannot be read."""


class InsecureTLSWarning(UserWarning):
    """Server verification is turned off (the ``curl -k`` of this library)."""


_CLASSES = {
    "plain-http-to-https-port": PlainHTTPToHTTPS,
    "https-to-plain-http-port": HTTPSToPlainHTTP,
    "hostname-mismatch": HostnameMismatch,
    "server-cert-expired": ServerCertExpired,
    "wrong-key-usage": WrongKeyUsage,
    "unknown-server-ca": UnknownServerCA,
    "client-cert-required": ClientCertRequired,
    "client-cert-expired": ClientCertExpired,
    "client-cert-rejected": ClientCertRejected,
    "client-key-mismatch": ClientKeyMismatch,
    "client-cert-unreadable": CredentialFileError,
    "ca-file-unreadable": CredentialFileError,
    "connection-refused": ServerUnreachable,
    "name-not-resolved": ServerUnreachable,
}


def parse_resolve(resolve):
    """Normalize a resolve override to ``{(host, port): address}``.

    Accepts ``{"kubernetes:8443": "127.0.0.1"}``, ``("kubernetes", 8443, "127.0.0.1")``,
    curl's ``"kubernetes:8443:127.0.0.1"``, or a list of those.

    Raises:
        InputError: a form that is none of these.
    """
    if not resolve:
        return {}
    out = {}
    if isinstance(resolve, dict):
        items = []
        for hp, addr in resolve.items():
            if isinstance(hp, tuple):
                host, port = hp
            else:
                host, _, port = str(hp).rpartition(":")
            items.append((host, port, addr))
    elif isinstance(resolve, tuple) and len(resolve) == 3 and not isinstance(resolve[0], (tuple, list)):
        items = [resolve]
    elif isinstance(resolve, str):
        items = [tuple(resolve.split(":", 2))]
    else:
        items = [(h, p, a) for r in resolve for (h, p), a in parse_resolve(r).items()]
    for item in items:
        try:
            host, port, addr = item
            port = int(port)
        except (TypeError, ValueError):
            raise InputError(f"resolve entry {item!r}: expected (host, port, address) or "
                             "'host:port:address'") from None
        if not host or not addr:
            raise InputError(f"resolve entry {item!r}: empty host or address")
        out[(str(host).lower(), port)] = str(addr)
    return out


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
        raise CredentialFileError(f"client certificate {_name(cert)} is not a PEM certificate: {exc}",
                                  diagnosis=_diag("client-cert-unreadable", str(exc))) from exc
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
            diagnosis=_diag("client-key-mismatch", "public key of the key file != public key in the certificate"))


_PEM_LABEL = re.compile(rb"-----BEGIN ([A-Z0-9 ]+)-----")


def _public_der(key_or_cert):
    from cryptography.hazmat.primitives import serialization
    return key_or_cert.public_key().public_bytes(serialization.Encoding.DER,
                                                 serialization.PublicFormat.SubjectPublicKeyInfo)


def _unloadable_key(key, key_pem, certificate, cert, load_error):
    """The exception for a key file that ``cryptography`` refuses to load, saying what is wrong.

    Only the file's PEM labels and the kind of problem are reported, never its content
    (``load_error`` is cryptography's exception, whose text names no key material).
    """
    what = f"client key {_name(key)}"
    labels = [m.decode() for m in _PEM_LABEL.findall(key_pem)]
    key_labels = [l for l in labels if l.endswith("PRIVATE KEY")]

    def unreadable(message, evidence):
        return CredentialFileError(message, diagnosis=_diag("client-cert-unreadable", evidence))

    if not labels:
        return unreadable(
            f"{what} is not an unencrypted PEM private key: it has no PEM block "
            "('-----BEGIN ...-----' line). If it is DER, convert it: "
            "openssl pkey -inform DER -in KEY.der -out KEY-key.pem", "no PEM block")
    if not key_labels:
        return unreadable(
            f"{what} is not an unencrypted PEM private key: it holds "
            f"{', '.join(sorted(set(labels)))} and no private key. Pass the key file "
            "(cfssljson and k8sauthlib write it as NAME-key.pem next to NAME.pem).",
            "no private key block")
    if b"ENCRYPTED" in key_pem:
        return unreadable(
            f"{what} is encrypted with a passphrase; TLS clients here (curl --key, kubectl "
            "client-key, MTLSClient) need it unencrypted: openssl pkey -in KEY -out PLAIN-KEY "
            "(and keep PLAIN-KEY 0600).", "encrypted private key")
    from OpenSSL import crypto

    try:
        kind, public_der, inconsistency = _inspect_key_file(key_pem)
    except (crypto.Error, ValueError):  # OpenSSL cannot decode the block either
        return unreadable(
            f"{what}: its {key_labels[0]} block cannot be decoded (damaged base64 or DER: "
            "truncated, edited, or lines lost in copying). Use an intact copy of the key, "
            "or generate a new key and certificate.", f"undecodable {key_labels[0]}")
    if inconsistency is None:
        # decodes and fits together, yet cryptography refuses it: an unsupported kind of key
        return unreadable(
            f"{what}: this library cannot use its {kind} private key ({load_error}). Issue the certificate with an RSA or ECDSA P-256/P-384 key "
            "(k8sauthlib's and cfssl's key specs: rsa-2048, ecdsa-p256, ...).",
            f"unsupported {kind} key")
    problem = (f"{what} is not a valid {kind} private key: its private values do not belong to "
               f"the public key stored with them ({inconsistency}), so nothing it signs "
               "verifies with that public key")
    if public_der == _public_der(certificate):
        subject = certificate.subject.rfc4514_string() or "(empty subject)"
        return ClientKeyMismatch(
            f"{problem}. That public key is the one in the client certificate {_name(cert)} "
            f"({subject}), but the private values come from another key: the file was "
            "assembled from two keys, or damaged. OpenSSL and curl accept it (they compare only "
            "the public half) and the server then rejects the handshake signature (curl exit 35 "
            "'tlsv1 alert decrypt error', nginx 'bad signature'). Use the key generated with "
            "this certificate (NAME-key.pem next to NAME.pem).",
            diagnosis=_diag("client-key-mismatch", f"invalid {kind} key whose public half is the certificate's"))
    return unreadable(f"{problem}. The file is damaged or was assembled from different keys; "
                      "use the key generated with the certificate, or generate a new key and "
                      "certificate.", f"invalid {kind} key")


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
        return pos + 2 + n, int.from_bytes(der[pos + 2:pos + 2 + n], "big")

    start, _ = header(0)                # SEQUENCE
    version, vlen = header(start)       # INTEGER 1
    value, dlen = header(version + vlen)  # OCTET STRING d
    return int.from_bytes(der[value:value + dlen], "big")


def _diag(key, evidence, source="python"):
    return diagnose.Diagnosis(diagnose.cause(key), source, evidence)


def _name(value):
    return repr(str(value)) if isinstance(value, (str, os.PathLike)) else "(PEM bytes)"


def _read_bytes(value, what):
    if isinstance(value, (bytes, bytearray)):
        return bytes(value)
    path = Path(value)
    try:
        return path.read_bytes()
    except OSError as exc:
        raise CredentialFileError(f"cannot read the {what} file {str(path)!r}: {exc.strerror}",
                                  diagnosis=_diag("client-cert-unreadable", str(exc))) from exc


class _ResolvingAdapter(HTTPAdapter):
    """An HTTPAdapter that connects to another address for some (host, port) pairs.

    The pool is keyed by the address but created with ``server_hostname`` (SNI) and
    ``assert_hostname`` (certificate check) set to the name, which is what curl's
    ``--resolve`` does.
    """

    def __init__(self, resolve, **kw):
        self.resolve = resolve
        super().__init__(**kw)

    def _target(self, url):
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
        host = (parts.hostname or "").lower()
        addr = self.resolve.get((host, port))
        return parts, host, port, addr

    def get_connection_with_tls_context(self, request, verify, proxies=None, cert=None):
        parts, host, port, addr = self._target(request.url)
        if addr is None:
            return super().get_connection_with_tls_context(request, verify, proxies=proxies, cert=cert)
        pool_kwargs = {}
        if parts.scheme == "https":
            if verify is False:
                pool_kwargs["cert_reqs"] = "CERT_NONE"
            else:
                pool_kwargs["cert_reqs"] = "CERT_REQUIRED"
                bundle = verify if isinstance(verify, str) else requests.utils.DEFAULT_CA_BUNDLE_PATH
                pool_kwargs["ca_cert_dir" if os.path.isdir(bundle) else "ca_certs"] = bundle
                pool_kwargs["assert_hostname"] = host
            pool_kwargs["server_hostname"] = host
            if cert:
                cert_file, key_file = cert if isinstance(cert, tuple) else (cert, None)
                pool_kwargs["cert_file"] = cert_file
                pool_kwargs["key_file"] = key_file
        return self.poolmanager.connection_from_host(addr, port, scheme=parts.scheme,
                                                     pool_kwargs=pool_kwargs)

    def send(self, request, **kw):
        parts, host, port, addr = self._target(request.url)
        if addr is not None and "Host" not in request.headers:
            default = 443 if parts.scheme == "https" else 80
            request.headers["Host"] = parts.hostname if port == default else f"{parts.hostname}:{port}"
        return super().send(request, **kw)


#: The distributions' system CA bundles (Debian/Ubuntu, Fedora/RHEL, openSUSE, Alpine/Arch):
#: the store curl (its compiled-in ``--cacert`` default) and kubectl (Go's crypto/x509
#: ``root_linux.go`` certFiles) trust when given no CA.
_SYSTEM_CA_FILES = ("/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt",
                    "/etc/ssl/ca-bundle.pem", "/etc/ssl/cert.pem")


def _system_trust_store():
    """The system's CA bundle file (or OpenSSL's compiled-in CA directory), or None.

    Environment variables (``SSL_CERT_FILE``, ``REQUESTS_CA_BUNDLE``, ``CURL_CA_BUNDLE``) are
    not consulted: the same call trusts the same roots in every reader's shell.
    """
    paths = ssl.get_default_verify_paths()
    for candidate in (*_SYSTEM_CA_FILES, paths.openssl_cafile):
        if candidate and os.path.isfile(candidate):
            return candidate
    if paths.openssl_capath and os.path.isdir(paths.openssl_capath):
        return paths.openssl_capath
    return None


def _check_ca_file(path):
    """Load a CA bundle the way the TLS layer will, so a bad file fails here, in one sentence,
    instead of at the first request (curl: "error setting certificate file")."""
    try:
        ssl.create_default_context(cafile=path)
    except (ssl.SSLError, ValueError, UnicodeDecodeError) as exc:
        raise CredentialFileError(
            f"CA file {path} holds no usable PEM certificate ({getattr(exc, 'reason', None) or exc}); "
            f"give the CA certificate file (-----BEGIN CERTIFICATE-----), e.g. rootCA.pem",
            diagnosis=_diag("ca-file-unreadable", str(path))) from None
    except OSError as exc:
        raise CredentialFileError(f"cannot read CA file {path}: {exc.strerror or exc}",
                                  diagnosis=_diag("ca-file-unreadable", str(path))) from None


def _refuse_downgrade(response, *args, **kwargs):
    """Response hook: a redirect from https to plain http is an error, not a silent downgrade.

    curl -L and Go's http.Client follow it (stripping credentials); a client configured for
    mutual TLS must not leave TLS behind without saying so.
    """
    if response.is_redirect and urlsplit(response.url).scheme == "https":
        target = urljoin(response.url, response.headers.get("Location", ""))
        if urlsplit(target).scheme != "https":
            raise TLSProblem(
                f"{response.url}: the server redirects to {target}, which is not HTTPS; refusing to "
                f"leave TLS (request that URL explicitly if plain HTTP is really meant, or pass "
                f"allow_redirects=False to see the redirect)", url=response.url, response=response)
    return response


class MTLSClient:
    """One HTTPS/mTLS session against one server, with clear errors.

    Args:
        base_url: e.g. ``"https://localhost:8443"``; paths given to :meth:`get` are joined to it.
        ca: the CA bundle (path) to trust for the server certificate; ``None`` uses the
            system's CA bundle, as curl and kubectl do (``/etc/ssl/certs/ca-certificates.crt``
            on Debian; :attr:`trust_store` holds its path), which will not know a private cluster CA:
            that is the lesson. Environment variables (``REQUESTS_CA_BUNDLE``,
            ``SSL_CERT_FILE``, ``CURL_CA_BUNDLE``, ``HTTPS_PROXY``) are ignored.
        cert: the client certificate (path) for mutual TLS.
        key: the client private key (path); checked against ``cert`` before any connection.
        resolve: connect to another address for a host name, like ``curl --resolve``:
            ``{"kubernetes:8443": "127.0.0.1"}`` or ``("kubernetes", 8443, "127.0.0.1")``.
        verify: ``False`` turns server verification off (``curl -k``); an
            :class:`InsecureTLSWarning` says so and every response carries the
            ``verification-disabled`` diagnosis.
        timeout: seconds for connect and read.
        raise_for_tls: raise :class:`TLSProblem` for responses that report a TLS problem
            (nginx's 400 pages); ``False`` returns them with ``response.diagnosis`` set.
        server_log: an object with ``error_log_lines()`` (an :class:`~k8sauthlib.Nginx`) whose
            new lines refine "400 The SSL certificate error" into the exact reason.
        check_key: check that ``key`` matches ``cert`` before connecting (default). ``False``
            leaves it to OpenSSL, which refuses a key with another public half when loading
            it (:class:`ClientKeyMismatch`); a key file with the certificate's public half but
            another key's private values gets past OpenSSL, and then the server refuses the
            handshake signature (:class:`ClientSignatureRejected`).

    Raises:
        ClientKeyMismatch: ``key`` does not belong to ``cert``.
        CredentialFileError: a given file cannot be read.
        InputError: ``cert`` without ``key`` or the other way round, bad ``resolve``.
    """

    def __init__(self, base_url, *, ca=None, cert=None, key=None, resolve=None, verify=True,
                 timeout=10.0, raise_for_tls=True, server_log=None, check_key=True):
        self.base_url = str(base_url).rstrip("/") + "/"
        self.ca = str(ca) if ca is not None else None
        self.cert = str(cert) if cert is not None else None
        self.key = str(key) if key is not None else None
        if (cert is None) != (key is None):
            given, missing = ("cert", "key") if key is None else ("key", "cert")
            raise InputError(f"{given}= was given without {missing}=: give both cert and key "
                             "for mutual TLS (or neither)")
        self.resolve = parse_resolve(resolve)
        self.verify = bool(verify)
        self.timeout = timeout
        self.raise_for_tls = raise_for_tls
        self.server_log = server_log
        if self.ca is not None and not Path(self.ca).is_file():
            raise CredentialFileError(f"CA file {self.ca!r} not found",
                                      diagnosis=_diag("ca-file-unreadable", self.ca))
        if self.ca is not None:
            _check_ca_file(self.ca)
        if self.cert is not None and check_key:
            check_key_pair(self.cert, self.key)
        if not self.verify:
            warnings.warn(f"server certificate verification is OFF for {self.base_url} "
                          "(like curl -k): anyone on the path can impersonate the server",
                          InsecureTLSWarning, stacklevel=2)
        self.session = requests.Session()
        self.session.trust_env = False  # no proxies or REQUESTS_CA_BUNDLE from the environment
        adapter = _ResolvingAdapter(self.resolve)
        self.session.mount("https://", adapter)
        self.session.mount("http://", adapter)
        #: what verifies the server: the ``ca`` file, the system bundle's path, or certifi's
        self.trust_store = self.ca
        self._trust_label = "the system CA bundle"
        if self.ca is None:
            self.trust_store = _system_trust_store()
            if self.trust_store is None:
                import certifi  # a requests dependency: the last resort, and said so
                self.trust_store = certifi.where()
                self._trust_label = "certifi's CA bundle (no system bundle found)"
        self.session.verify = self.trust_store if self.verify else False
        if self.cert is not None:
            self.session.cert = (self.cert, self.key)

    def __repr__(self):
        parts = [self.base_url]
        parts.append(f"ca={self.ca}" if self.verify else "verify=OFF")
        if self.cert:
            parts.append(f"cert={self.cert}")
        if self.resolve:
            parts.append("resolve=" + ",".join(f"{h}:{p}->{a}" for (h, p), a in self.resolve.items()))
        return f"<MTLSClient {' '.join(parts)}>"

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        """Close the pooled connections."""
        self.session.close()

    def url(self, path=""):
        """The absolute URL for ``path`` (relative to ``base_url``)."""
        return urljoin(self.base_url, str(path).lstrip("/"))

    def get(self, path="/", **kw):
        """GET ``path``; see :meth:`request`."""
        return self.request("GET", path, **kw)

    def post(self, path, **kw):
        """POST to ``path``; see :meth:`request`."""
        return self.request("POST", path, **kw)

    def request(self, method, path="/", *, raise_for_tls=None, **kw):
        """Send one request on the shared session.

        Args:
            method: the HTTP method.
            path: a path relative to ``base_url`` (or an absolute URL).
            raise_for_tls: overrides the client's setting for this call.
            **kw: passed to :meth:`requests.Session.request` (``json=``, ``headers=``, ...).

        Returns:
            The :class:`requests.Response`, with an extra ``diagnosis`` attribute
            (a :class:`~k8sauthlib.diagnose.Diagnosis` or ``None``).

        Raises:
            TLSProblem: a subclass naming the cause (the original exception is chained).
        """
        url = path if "://" in str(path) else self.url(path)
        kw.setdefault("timeout", self.timeout)
        if kw.get("allow_redirects", True):  # only a redirect being followed can downgrade
            hooks = dict(kw.get("hooks") or {})
            given = hooks.get("response", [])
            hooks["response"] = ([given] if callable(given) else list(given)) + [_refuse_downgrade]
            kw["hooks"] = hooks
        log_mark = len(self._server_log_lines())
        try:
            with warnings.catch_warnings():
                # our InsecureTLSWarning already said it, once, at construction
                warnings.simplefilter("ignore", urllib3.exceptions.InsecureRequestWarning)
                response = self.session.request(method, url, **kw)
        except (requests.RequestException, OSError, ssl.SSLError) as exc:
            raise self._problem_from_exception(exc, url) from exc
        if response.encoding is None or response.encoding.lower() == "iso-8859-1":
            # a text response without charset: requests would assume ISO-8859-1 and garble
            # Korean; our nginx sends charset=utf-8, but a server that does not is common
            if "charset" not in response.headers.get("Content-Type", ""):
                response.encoding = "utf-8"
        diagnosis = diagnose.diagnose_response(response.status_code, response.content,
                                               nginx_log=self._server_log_lines()[log_mark:])
        if diagnosis is None and not self.verify:
            diagnosis = _diag("verification-disabled", "MTLSClient(verify=False)")
        response.diagnosis = diagnosis
        raise_it = self.raise_for_tls if raise_for_tls is None else raise_for_tls
        # 401/403 (unauthorized, forbidden) are the application's answers: diagnosed, not raised
        if raise_it and diagnosis is not None and diagnosis.key in _CLASSES:
            raise self._problem_from_response(diagnosis, response, url)
        return response

    # -- turning failures into TLSProblem ---------------------------------------------------
    def _server_log_lines(self):
        if self.server_log is None:
            return []
        reader = getattr(self.server_log, "error_log_lines", self.server_log)
        try:
            return list(reader())
        except OSError:
            return []

    def _problem_from_response(self, d, response, url):
        title = diagnose.nginx_page_title(response.text) or f"HTTP {response.status_code}"
        head = f"{url}: {d.cause.title} (the server answered '{title}')."
        extra = ""
        if d.key == "client-cert-required":
            extra = (" This client has no client certificate; pass cert= and key= "
                     "(curl --cert client.pem --key client-key.pem).") if self.cert is None else \
                    " A certificate was configured but the server did not receive one."
        elif d.key in ("client-cert-rejected", "client-cert-expired"):
            extra = self._client_cert_facts()
            if d.key == "client-cert-rejected" and self._client_cert_expired():
                d = _diag("client-cert-expired", d.evidence, d.source)
            if d.source == "nginx-log":
                extra += f" nginx error.log: {d.evidence}"
        elif d.key == "plain-http-to-https-port":
            extra = f" Use {url.replace('http://', 'https://', 1)} instead."
        cls = _CLASSES[d.key]
        return cls(f"{head} {d.cause.fix}{extra}", diagnosis=d, url=url, response=response)

    def _client_cert(self):
        if self.cert is None:
            return None
        from cryptography import x509
        try:
            return x509.load_pem_x509_certificate(Path(self.cert).read_bytes())
        except (OSError, ValueError):
            return None

    def _client_cert_expired(self):
        c = self._client_cert()
        now = datetime.now(timezone.utc)
        return c is not None and not (c.not_valid_before_utc <= now <= c.not_valid_after_utc)

    def _client_cert_facts(self):
        c = self._client_cert()
        if c is None:
            return ""
        return (f" Our client certificate: subject {c.subject.rfc4514_string()}, issuer "
                f"{c.issuer.rfc4514_string()}, valid {c.not_valid_before_utc:%Y-%m-%d %H:%M} to "
                f"{c.not_valid_after_utc:%Y-%m-%d %H:%M} UTC.")

    def _problem_from_exception(self, exc, url):
        d = diagnose.diagnose_exception(exc)
        signature_rejected = d is not None and d.detail == diagnose.SIGNATURE_REJECTED
        if signature_rejected and self.cert is None:
            # no client certificate, nothing signed: the alert is about something else
            d, signature_rejected = _diag("tls-handshake-failed", d.evidence), False
        if d is None or d.key not in _CLASSES:
            return TLSProblem(f"{url}: request failed: {exc}", diagnosis=d, url=url)
        cls = _CLASSES[d.key]
        parts = urlsplit(url)
        head = f"{url}: {d.headline} ({d.evidence})."
        extra = ""
        kw = {}
        if signature_rejected:
            cls = ClientSignatureRejected
            extra = self._key_file_facts()
        elif d.key == "hostname-mismatch":
            sans = self._server_sans(parts)
            kw = {"hostname": parts.hostname, "sans": sans}
            if sans:
                extra = (f" The server certificate is valid for: {', '.join(sans)}; "
                         f"not for {parts.hostname!r}.")
        elif d.key == "unknown-server-ca":
            issuer = self._server_issuer(parts)
            extra = f" The server certificate's issuer is {issuer}." if issuer else ""
            extra += (f" This client trusts only {self._trust_label} (ca=None)."
                      if self.ca is None else f" The CA file given ({self.ca}) is not that issuer.")
        elif d.key == "server-cert-expired":
            c = self._peer_cert(parts)
            if c is not None:
                extra = (f" The server certificate is valid {c.not_valid_before_utc:%Y-%m-%d %H:%M} "
                         f"to {c.not_valid_after_utc:%Y-%m-%d %H:%M} UTC.")
        elif d.key == "https-to-plain-http-port":
            extra = f" Try {url.replace('https://', 'http://', 1)}."
        elif d.key == "name-not-resolved":
            extra = (f" (for this request only: MTLSClient(..., resolve={{'{parts.hostname}:"
                     f"{parts.port or 443}': '127.0.0.1'}}))")
        return cls(f"{head} {d.cause.fix}{extra}", diagnosis=d, url=url, **kw)

    def _key_file_facts(self):
        """What the local check says about the key file (it never connects), for a message."""
        try:
            check_key_pair(self.cert, self.key)
        except TLSProblem as problem:
            return f" Checking the files here: {problem}"
        return ""

    def _peer_cert(self, parts):
        """The server's certificate, fetched with verification off (only to explain an error)."""
        from cryptography import x509
        port = parts.port or 443
        host = (parts.hostname or "").lower()
        addr = self.resolve.get((host, port), parts.hostname)
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        sni = None if _is_ip(host) else host
        try:
            with socket.create_connection((addr, port), timeout=self.timeout) as raw:
                with ctx.wrap_socket(raw, server_hostname=sni) as tls:
                    der = tls.getpeercert(binary_form=True)
        except (OSError, ssl.SSLError):
            return None
        return x509.load_der_x509_certificate(der) if der else None

    def _server_sans(self, parts):
        from cryptography import x509
        c = self._peer_cert(parts)
        if c is None:
            return []
        try:
            san = c.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        except x509.ExtensionNotFound:
            return []
        out = [f"DNS:{n}" for n in san.get_values_for_type(x509.DNSName)]
        out += [f"IP:{ip}" for ip in san.get_values_for_type(x509.IPAddress)]
        return out

    def _server_issuer(self, parts):
        c = self._peer_cert(parts)
        return c.issuer.rfc4514_string() if c is not None else None


def _is_ip(host):
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        return False
