"""The article's HTTPS / mutual-TLS matrix against a real nginx, with curl AND MTLSClient.

Every case runs twice, with RSA-2048 and with ECDSA P-256 certificates. Each row checks what
curl does (exit code, HTTP status, nginx's page, the mapped cause) and what the library client
does (the exception class, its message, the chained original exception).
"""

import shutil
import socket
import tempfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import requests

import k8sauthlib as k8s
from k8sauthlib import causes
from k8sauthlib.errors import (
    ClientCertExpired,
    ClientCertRejected,
    ClientCertRequired,
    ClientKeyMismatch,
    ClientSignatureRejected,
    HostnameMismatch,
    InsecureTLSWarning,
    PlainHTTPToHTTPS,
    TLSProblem,
    UnknownServerCA,
)
from k8sauthlib.tls import diagnose
from k8sauthlib.tls.client import MTLSClient
from k8sauthlib.tls.nginx import Nginx
from k8sauthlib.tls.process import nginx_available

pytestmark = pytest.mark.skipif(not nginx_available() or shutil.which("curl") is None, reason="needs nginx and curl")

KOREAN = "<h1>안녕하세요, mTLS!</h1>"


@pytest.fixture(scope="module", params=["rsa-2048", "ecdsa-p256"])
def lab(request):
    """CA, certificates and two nginx servers (HTTPS only; mutual TLS) for one key type."""
    key = request.param
    root = Path(tempfile.mkdtemp(prefix=f"k8sauth-matrix-{key}-"))
    root.chmod(0o755)
    d = root / "pki"
    d.mkdir()
    now = datetime.now(timezone.utc)
    ca = k8s.CA.create("rootCA", org="Kubernetes", key=key)
    other_ca = k8s.CA.create("otherCA", key=key)
    ca.write("rootCA", d)
    ca.issue_server_cert("localhost", "127.0.0.1", orgs=["server-group"], key=key).write("server", d)
    ca.issue_client_cert("localhost", groups=["client-group"], key=key).write("client", d)
    ca.issue_client_cert("bob", key=key).write("bob", d)
    other_ca.issue_client_cert("mallory", key=key).write("mallory", d)
    ca.issue_client_cert("old", key=key, not_before=now - timedelta(days=30), not_after=now - timedelta(days=1)).write(
        "expired", d
    )
    tls = Nginx(root / "tls", server_cert=d / "server.pem", server_key=d / "server-key.pem").start()
    mtls = Nginx(
        root / "mtls",
        server_cert=d / "server.pem",
        server_key=d / "server-key.pem",
        client_ca=d / "rootCA.pem",
        verify_client="on",
    ).start()
    yield {"key": key, "dir": d, "tls": tls, "mtls": mtls}
    tls.stop()
    mtls.stop()
    shutil.rmtree(root, ignore_errors=True)


def files(lab, *names):
    return [str(lab["dir"] / n) for n in names]


def client(lab, server, **kw):
    kw.setdefault("server_log", server)
    return MTLSClient(server.url, **kw)


# -- section "HTTPS web server with TLS" (nginx without client verification) -------------------


def test_plain_http_to_the_tls_port(lab):
    web = lab["tls"]
    r = diagnose.run_curl([f"http://127.0.0.1:{web.port}/"])
    assert (r.returncode, r.http_code) == (0, 400)
    assert r.title == "400 The plain HTTP request was sent to HTTPS port"
    assert r.cause.key == "plain-http-to-https-port"

    c = MTLSClient(f"http://127.0.0.1:{web.port}/")
    with pytest.raises(PlainHTTPToHTTPS) as info:
        c.get("/")
    assert info.value.response.status_code == 400  # the raw response stays available
    assert "https://127.0.0.1" in str(info.value)
    # and a notebook can look at the page instead of raising
    r2 = c.get("/", raise_for_tls=False)
    assert r2.status_code == 400 and r2.diagnosis.key == "plain-http-to-https-port"


def test_https_without_the_ca(lab):
    web = lab["tls"]
    r = diagnose.run_curl([web.url])
    assert r.returncode == 60
    assert "unable to get local issuer certificate" in r.stderr
    assert r.cause.key == "unknown-authority"

    with pytest.raises(UnknownServerCA) as info:
        client(lab, web).get("/")
    msg = str(info.value)
    assert "CN=rootCA,O=Kubernetes" in msg  # the issuer it would need
    assert "ca=" in msg and "--cacert" in msg
    assert isinstance(info.value.__cause__, requests.exceptions.SSLError)


def test_insecure_k_works_and_says_so(lab):
    web = lab["tls"]
    r = diagnose.run_curl(["-k", web.url])
    assert r.ok and KOREAN in r.stdout
    assert r.cause.key == "verification-disabled" and r.cause.cause.severity == "warning"

    with pytest.warns(InsecureTLSWarning, match="verification is OFF"):
        c = client(lab, web, verify=False)
    resp = c.get("/")
    assert resp.status_code == 200 and KOREAN in resp.text
    assert resp.diagnosis.key == "verification-disabled"
    assert "verify=OFF" in repr(c)


def test_cacert(lab):
    web = lab["tls"]
    (ca,) = files(lab, "rootCA.pem")
    r = diagnose.run_curl(["--cacert", ca, web.url])
    assert r.ok and r.cause is None
    assert KOREAN in r.stdout
    resp = client(lab, web, ca=ca).get("/")
    assert resp.status_code == 200 and resp.diagnosis is None
    assert resp.headers["Content-Type"] == "text/html; charset=utf-8"
    assert KOREAN in resp.text  # decoded as UTF-8, not ISO-8859-1 mojibake


def test_cacert_with_the_ip_address(lab):
    web = lab["tls"]
    (ca,) = files(lab, "rootCA.pem")
    r = diagnose.run_curl(["--cacert", ca, web.ip_url])
    assert r.ok
    assert MTLSClient(web.ip_url, ca=ca).get("/").status_code == 200


# -- section "adding the client certificate" (ssl_verify_client on) ------------------------------


def test_mutual_tls_without_a_client_cert(lab):
    web = lab["mtls"]
    (ca,) = files(lab, "rootCA.pem")
    r = diagnose.run_curl(["--cacert", ca, web.url])
    assert (r.returncode, r.http_code) == (0, 400)
    assert r.title == "400 No required SSL certificate was sent"
    assert r.cause.key == "client-cert-required"
    r_fail = diagnose.run_curl(["--fail", "--cacert", ca, web.url])
    assert r_fail.returncode == 22  # with --fail curl itself fails on the 400

    with pytest.raises(ClientCertRequired) as info:
        client(lab, web, ca=ca).get("/")
    assert "400 No required SSL certificate was sent" in str(info.value)
    assert "cert=" in str(info.value)
    assert info.value.response.status_code == 400
    assert web.access_log_lines()[-1].endswith('verify=NONE subject="-"')


def test_mutual_tls_k_without_a_client_cert(lab):
    web = lab["mtls"]
    r = diagnose.run_curl(["-k", web.url])
    assert r.http_code == 400 and r.cause.key == "client-cert-required"


def test_mutual_tls_with_cert_and_key(lab):
    web = lab["mtls"]
    ca, cert, key = files(lab, "rootCA.pem", "client.pem", "client-key.pem")
    r = diagnose.run_curl(["--cacert", ca, "--cert", cert, "--key", key, web.url])
    assert r.ok and r.cause is None
    assert KOREAN in r.stdout
    assert "verify=SUCCESS" in web.access_log_lines()[-1] and "CN=localhost" in web.access_log_lines()[-1]

    resp = client(lab, web, ca=ca, cert=cert, key=key).get("/")
    assert resp.status_code == 200 and resp.diagnosis is None
    assert KOREAN in resp.text
    assert resp.encoding == "utf-8"
    assert "verify=SUCCESS" in web.access_log_lines()[-1] and "CN=localhost" in web.access_log_lines()[-1]


# -- the cases the article skips -----------------------------------------------------------------


def test_client_cert_from_another_ca(lab):
    web = lab["mtls"]
    ca, cert, key = files(lab, "rootCA.pem", "mallory.pem", "mallory-key.pem")
    r = diagnose.run_curl(["--cacert", ca, "--cert", cert, "--key", key, web.url])
    assert (r.returncode, r.http_code) == (0, 400)
    assert r.title == "400 The SSL certificate error"
    assert r.cause.key == "client-cert-rejected"
    log = web.error_log_lines("client SSL certificate verify error")
    assert log and "unable to verify the first certificate" in log[-1]

    with pytest.raises(ClientCertRejected) as info:
        client(lab, web, ca=ca, cert=cert, key=key).get("/")
    msg = str(info.value)
    assert "400 The SSL certificate error" in msg
    assert "issuer CN=otherCA" in msg
    assert "client SSL certificate verify error" in msg  # nginx's own line, via server_log
    assert not isinstance(info.value, ClientCertExpired)


def test_expired_client_cert(lab):
    web = lab["mtls"]
    ca, cert, key = files(lab, "rootCA.pem", "expired.pem", "expired-key.pem")
    r = diagnose.run_curl(["--cacert", ca, "--cert", cert, "--key", key, web.url])
    assert r.http_code == 400 and r.title == "400 The SSL certificate error"
    log = web.error_log_lines("(10:certificate has expired)")
    assert log
    assert diagnose.diagnose_response(r.http_code, r.stdout, nginx_log=log).key == "client-cert-expired"

    with pytest.raises(ClientCertExpired) as info:
        client(lab, web, ca=ca, cert=cert, key=key).get("/")
    assert isinstance(info.value, ClientCertRejected)
    assert isinstance(info.value, k8s.CertificateExpired)
    assert "expired" in str(info.value)
    # without the server's log the client still knows: its own certificate is out of date
    with pytest.raises(ClientCertExpired):
        MTLSClient(web.url, ca=ca, cert=cert, key=key).get("/")


def test_certificate_with_someone_elses_key(lab):
    web = lab["mtls"]
    ca, cert, other_key = files(lab, "rootCA.pem", "client.pem", "bob-key.pem")
    # curl: OpenSSL refuses to pair them before any byte is sent
    r = diagnose.run_curl(["--cacert", ca, "--cert", cert, "--key", other_key, web.url])
    assert r.returncode == 58
    assert "unable to set private key file" in r.stderr
    assert r.cause.key == "client-key-mismatch"

    # our client: detected before connecting (no request reaches nginx)
    before = len(web.access_log_lines())
    with pytest.raises(ClientKeyMismatch) as info:
        MTLSClient(web.url, ca=ca, cert=cert, key=other_key)
    assert isinstance(info.value, k8s.KeyMismatchError)
    assert "does not belong to the client certificate" in str(info.value)
    assert len(web.access_log_lines()) == before

    # forced past our check: OpenSSL (inside requests) refuses to load the pair
    with pytest.raises(ClientKeyMismatch) as info:
        MTLSClient(web.url, ca=ca, cert=cert, key=other_key, check_key=False).get("/")
    assert "KEY_VALUES_MISMATCH" in str(info.value.__cause__)


def test_someone_elses_key_on_the_wire(lab):
    """What reaches the server when the mismatch is forced through OpenSSL anyway.

    OpenSSL keeps a certificate only together with its own key: loading the other key first
    and the certificate after makes it silently drop the key, so the handshake completes
    without a client certificate and nginx answers 'No required SSL certificate was sent'.
    The holder of a certificate without its key cannot prove anything.
    """
    pytest.importorskip("OpenSSL")
    from OpenSSL import SSL

    web = lab["mtls"]
    ca, cert, other_key = files(lab, "rootCA.pem", "client.pem", "bob-key.pem")
    ctx = SSL.Context(SSL.TLS_CLIENT_METHOD)
    ctx.load_verify_locations(ca)
    ctx.set_verify(SSL.VERIFY_PEER)
    ctx.use_privatekey_file(other_key)
    ctx.use_certificate_file(cert)
    with pytest.raises(SSL.Error):
        ctx.check_privatekey()  # nothing usable is left
    with socket.create_connection(("127.0.0.1", web.port)) as raw:
        conn = SSL.Connection(ctx, raw)
        conn.set_tlsext_host_name(b"localhost")
        conn.set_connect_state()
        conn.do_handshake()
        assert conn.get_peer_certificate() is not None
        conn.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        data = b""
        try:
            while chunk := conn.recv(4096):
                data += chunk
        except (SSL.ZeroReturnError, SSL.SysCallError):
            pass
    assert data.startswith(b"HTTP/1.1 400")
    assert diagnose.nginx_page_title(data) == "400 No required SSL certificate was sent"
    assert "verify=NONE" in web.access_log_lines()[-1]


def test_host_name_missing_from_the_sans(lab):
    web = lab["tls"]
    (ca,) = files(lab, "rootCA.pem")
    name = "www.example.test"
    r = diagnose.run_curl(["--cacert", ca, "--resolve", f"{name}:{web.port}:127.0.0.1", f"https://{name}:{web.port}/"])
    assert r.returncode == 60
    assert "no alternative certificate subject name matches target host name" in r.stderr
    assert r.cause.key == "hostname-mismatch"

    c = MTLSClient(f"https://{name}:{web.port}/", ca=ca, resolve=(name, web.port, "127.0.0.1"))
    with pytest.raises(HostnameMismatch) as info:
        c.get("/")
    err = info.value
    assert err.hostname == name
    assert err.sans == ["DNS:localhost", "IP:127.0.0.1"]
    assert "DNS:localhost, IP:127.0.0.1" in str(err)
    assert isinstance(err.__cause__, requests.exceptions.SSLError)


def test_every_failure_is_a_tls_problem_with_a_chained_cause(lab):
    web = lab["mtls"]
    (ca,) = files(lab, "rootCA.pem")
    for kwargs in ({}, {"ca": ca}):
        with pytest.raises(TLSProblem) as info:
            client(lab, web, **kwargs).get("/")
        assert info.value.diagnosis is not None
        assert info.value.cause.fix_ko  # the Korean fix is there for the book


def _der_len(n):
    if n < 0x80:
        return bytes([n])
    raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(raw)]) + raw


def _der_int(i):
    raw = i.to_bytes(i.bit_length() // 8 + 1, "big")
    return b"\x02" + _der_len(len(raw)) + raw


def forge_key(cert_path, other_key_path, out):
    """A key file with the certificate's public half and another key's private values (what
    book/04_mtls.ipynb builds): OpenSSL's pairing check compares only the public half."""
    import base64

    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    public = k8s.load_cert(cert_path).public_key()
    other = k8s.load_private_key(other_key_path)
    if isinstance(other, ec.EllipticCurvePrivateKey):
        # SEC 1 ECPrivateKey: the other key's scalar, the certificate's point
        point = serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        der = other.private_bytes(
            serialization.Encoding.DER, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
        )
        der = der.replace(other.public_key().public_bytes(*point), public.public_bytes(*point))
        label = b"EC PRIVATE KEY"
    else:
        # PKCS#1 RSAPrivateKey: version, n, e (the certificate's), d, p, q, dP, dQ, qInv (the other's)
        pub, sec = public.public_numbers(), other.private_numbers()
        body = b"".join(_der_int(x) for x in (0, pub.n, pub.e, sec.d, sec.p, sec.q, sec.dmp1, sec.dmq1, sec.iqmp))
        der = b"\x30" + _der_len(len(body)) + body
        label = b"RSA PRIVATE KEY"
    pem = b"-----BEGIN " + label + b"-----\n" + base64.encodebytes(der) + b"-----END " + label + b"-----\n"
    k8s.atomic_write(out, pem, mode=0o600)
    return str(out)


def test_key_file_with_the_certificates_public_half_and_another_secret(lab, tmp_path):
    """Past OpenSSL's pairing check, the server rejects the handshake signature; every tool's
    words for it (curl 35 'decrypt error', nginx 'bad signature', Python's alert) map to the
    key mismatch, and MTLSClient says which file is wrong and why."""
    web = lab["mtls"]
    ca, cert, other_key = files(lab, "rootCA.pem", "client.pem", "bob-key.pem")
    forged = forge_key(cert, other_key, tmp_path / "forged-key.pem")

    r = diagnose.run_curl(["--cacert", ca, "--cert", cert, "--key", forged, web.url])
    assert r.returncode == 35 and "tlsv1 alert decrypt error" in r.stderr, r
    assert r.cause.key == "client-key-mismatch"
    assert r.cause.detail == causes.SIGNATURE_REJECTED
    assert "could not verify the handshake signature" in str(r)
    assert "curl: curl:" not in str(r) and "[curl: (35) " in str(r)
    failed = web.error_log_lines("SSL_do_handshake() failed")
    assert failed and "bad signature" in failed[-1]
    d = diagnose.diagnose_nginx_log(web.error_log_lines())
    assert d.key == "client-key-mismatch" and d.detail == causes.SIGNATURE_REJECTED

    # the default check refuses the file before connecting, and says what is wrong with it
    kind = "RSA" if lab["key"].startswith("rsa") else "EC"
    before = len(web.error_log_lines())
    with pytest.raises(ClientKeyMismatch) as info:
        MTLSClient(web.url, ca=ca, cert=cert, key=forged)
    msg = str(info.value)
    assert f"is not a valid {kind} private key" in msg
    assert "public key is the one in the client certificate" in msg
    assert "PRIVATE KEY-----" not in msg
    assert len(web.error_log_lines()) == before

    # forced through: the server's refusal becomes ClientSignatureRejected, original chained
    with pytest.raises(ClientSignatureRejected) as info:
        client(lab, web, ca=ca, cert=cert, key=forged, check_key=False).get("/")
    err = info.value
    assert isinstance(err, ClientKeyMismatch) and isinstance(err, k8s.KeyMismatchError)
    assert err.key == "client-key-mismatch"
    assert str(err).startswith(f"{web.url}: The server could not verify the handshake signature")
    assert f"is not a valid {kind} private key" in str(err)  # the local check, appended
    assert isinstance(err.__cause__, requests.exceptions.SSLError)
    assert "TLSV1_ALERT_DECRYPT_ERROR" in str(err.__cause__)
    assert "bad signature" in web.error_log_lines("SSL_do_handshake() failed")[-1]
