"""A mutual-TLS HTTP client whose failures say what is wrong and what to do.

:class:`MTLSClient` wraps one :class:`requests.Session` (so connections are reused across
calls) configured with the CA to trust and, for mutual TLS, a client certificate and key::

    api = k8s.MTLSClient("https://kubernetes:8443", ca="rootCA.pem",
                         cert="client.pem", key="client-key.pem",
                         resolve={"kubernetes:8443": "127.0.0.1"})
    api.get("/").text

``resolve`` does what ``curl --resolve kubernetes:8443:127.0.0.1`` does: the TCP connection goes
to the given address while SNI, the ``Host`` header and the certificate's host-name check still
use the name, without touching ``/etc/hosts`` (:mod:`k8sauthlib.tls.resolve`).

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
import socket
import ssl
import tempfile
import warnings
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import requests
import urllib3

from .. import causes
from ..errors import (
    CAUSE_CLASSES,
    ClientSignatureRejected,
    CredentialFileError,
    InputError,
    InsecureTLSWarning,
    TLSProblem,
)
from ..files import KEY_MODE, atomic_write
from ..pki.fields import pem_of
from . import diagnose
from .diagnose import make_diagnosis
from .keypair import check_key_pair
from .resolve import ResolvingAdapter, parse_resolve
from .trust import check_ca_file, system_trust_store

__all__ = ["MTLSClient"]


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
                f"allow_redirects=False to see the redirect)",
                url=response.url,
                response=response,
            )
    return response


class MTLSClient:
    """One HTTPS/mTLS session against one server, with clear errors.

    Args:
        base_url: e.g. ``"https://localhost:8443"``; paths given to :meth:`get` are joined to it.
        ca: the CA to trust for the server certificate: a path, PEM, or a :class:`~k8sauthlib.CA`
            (the inputs :class:`~k8sauthlib.Nginx` takes); ``None`` uses the system's CA bundle,
            as curl and kubectl do (``/etc/ssl/certs/ca-certificates.crt`` on Debian;
            :attr:`trust_store` holds its path), which will not know a private cluster CA: that
            is the lesson. Environment variables (``REQUESTS_CA_BUNDLE``, ``SSL_CERT_FILE``,
            ``CURL_CA_BUNDLE``, ``HTTPS_PROXY``) are ignored.
        cert: the client certificate for mutual TLS: a path, PEM, or a :class:`~k8sauthlib.Cert`.
        key: the client private key (path, PEM or key object); ``None`` with a ``Cert`` that has
            its key takes that key. Checked against ``cert`` before any connection.
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

    def __init__(
        self,
        base_url,
        *,
        ca=None,
        cert=None,
        key=None,
        resolve=None,
        verify=True,
        timeout=10.0,
        raise_for_tls=True,
        server_log=None,
        check_key=True,
    ):
        self.base_url = str(base_url).rstrip("/") + "/"
        self._material = None  # private temp dir for credentials given as PEM data or objects
        if key is None and getattr(cert, "key", None) is not None and hasattr(cert, "key_pem"):
            key = cert  # a Cert with its key, as Nginx(server_cert=...) takes it
        self.ca = self._as_path(ca, "ca", "ca.pem")
        self.cert = self._as_path(cert, "cert", "client.pem", chain=True)
        self.key = self._as_path(key, "key", "client-key.pem", key=True)
        if (cert is None) != (key is None):
            given, missing = ("cert", "key") if key is None else ("key", "cert")
            raise InputError(
                f"{given}= was given without {missing}=: give both cert and key for mutual TLS (or neither)"
            )
        self.resolve = parse_resolve(resolve)
        self.verify = bool(verify)
        self.timeout = timeout
        self.raise_for_tls = raise_for_tls
        self.server_log = server_log
        if self.ca is not None and not Path(self.ca).is_file():
            raise CredentialFileError(
                f"CA file {self.ca!r} not found", diagnosis=make_diagnosis("ca-file-unreadable", self.ca)
            )
        if self.ca is not None:
            check_ca_file(self.ca)
        if self.cert is not None and check_key:
            check_key_pair(self.cert, self.key)
        if not self.verify:
            warnings.warn(
                f"server certificate verification is OFF for {self.base_url} "
                "(like curl -k): anyone on the path can impersonate the server",
                InsecureTLSWarning,
                stacklevel=2,
            )
        self.session = requests.Session()
        self.session.trust_env = False  # no proxies or REQUESTS_CA_BUNDLE from the environment
        adapter = ResolvingAdapter(self.resolve)
        self.session.mount("https://", adapter)
        self.session.mount("http://", adapter)
        #: what verifies the server: the ``ca`` file, the system bundle's path, or certifi's
        self.trust_store = self.ca
        self._trust_label = "the system CA bundle"
        if self.ca is None:
            self.trust_store = system_trust_store()
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
        """Close the pooled connections (and remove credentials written from PEM data or objects)."""
        self.session.close()
        if self._material is not None:
            self._material.cleanup()

    def _as_path(self, value, what, name, **kind):
        """A file for requests and OpenSSL: a path stays a path; PEM data and objects (CA, Cert,
        ``cryptography`` objects) are written to a private temporary directory, keys 0600."""
        if value is None:
            return None
        if isinstance(value, os.PathLike) or (isinstance(value, str) and not value.lstrip().startswith("-----BEGIN")):
            return str(value)
        pem = pem_of(value, what, **kind)
        if self._material is None:
            self._material = tempfile.TemporaryDirectory(prefix="k8sauthlib-mtls-")
        path = Path(self._material.name) / name
        atomic_write(path, pem, mode=KEY_MODE)
        return str(path)

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
        diagnosis = diagnose.diagnose_response(
            response.status_code, response.content, nginx_log=self._server_log_lines()[log_mark:]
        )
        if diagnosis is None and not self.verify:
            diagnosis = make_diagnosis("verification-disabled", "MTLSClient(verify=False)")
        response.diagnosis = diagnosis
        raise_it = self.raise_for_tls if raise_for_tls is None else raise_for_tls
        # 401/403 (unauthorized, forbidden) are the application's answers: diagnosed, not raised
        if raise_it and diagnosis is not None and diagnosis.key in CAUSE_CLASSES:
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
            if self.cert is None:
                extra = (
                    " This client has no client certificate; pass cert= and key= "
                    "(curl --cert client.pem --key client-key.pem)."
                )
            else:
                extra = " A certificate was configured but the server did not receive one."
        elif d.key in ("client-cert-rejected", "client-cert-expired"):
            extra = self._client_cert_facts()
            if d.key == "client-cert-rejected" and self._client_cert_expired():
                d = make_diagnosis("client-cert-expired", d.evidence, d.source)
            if d.source == "nginx-log":
                extra += f" nginx error.log: {d.evidence}"
        elif d.key == "plain-http-to-https-port":
            extra = f" Use {url.replace('http://', 'https://', 1)} instead."
        cls = CAUSE_CLASSES[d.key]
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
        return (
            f" Our client certificate: subject {c.subject.rfc4514_string()}, issuer "
            f"{c.issuer.rfc4514_string()}, valid {c.not_valid_before_utc:%Y-%m-%d %H:%M} to "
            f"{c.not_valid_after_utc:%Y-%m-%d %H:%M} UTC."
        )

    def _problem_from_exception(self, exc, url):
        d = diagnose.diagnose_exception(exc)
        signature_rejected = d is not None and d.detail == causes.SIGNATURE_REJECTED
        if signature_rejected and self.cert is None:
            # no client certificate, nothing signed: the alert is about something else
            d, signature_rejected = make_diagnosis("tls-handshake-failed", d.evidence), False
        if d is None or d.key not in CAUSE_CLASSES:
            return TLSProblem(f"{url}: request failed: {exc}", diagnosis=d, url=url)
        cls = CAUSE_CLASSES[d.key]
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
                extra = f" The server certificate is valid for: {', '.join(sans)}; not for {parts.hostname!r}."
        elif d.key == "unknown-authority":
            issuer = self._server_issuer(parts)
            extra = f" The server certificate's issuer is {issuer}." if issuer else ""
            extra += (
                f" This client trusts only {self._trust_label} (ca=None)."
                if self.ca is None
                else f" The CA file given ({self.ca}) is not that issuer."
            )
        elif d.key == "cert-expired":
            c = self._peer_cert(parts)
            if c is not None:
                extra = (
                    f" The server certificate is valid {c.not_valid_before_utc:%Y-%m-%d %H:%M} "
                    f"to {c.not_valid_after_utc:%Y-%m-%d %H:%M} UTC."
                )
        elif d.key == "https-to-plain-http-port":
            extra = f" Try {url.replace('https://', 'http://', 1)}."
        elif d.key == "name-not-resolved":
            extra = (
                f" (for this request only: MTLSClient(..., resolve={{'{parts.hostname}:"
                f"{parts.port or 443}': '127.0.0.1'}}))"
            )
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
