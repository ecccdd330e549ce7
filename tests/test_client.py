"""MTLSClient beyond the matrix: the resolve override with a kubeadm-like API server
certificate, connection reuse, and the remaining failure kinds, against real nginx and curl."""

import base64
import http.server
import shutil
import socket
import stat
import subprocess
import tempfile
import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import requests

import k8sauthlib as k8s
from k8sauthlib.errors import (
    ClientKeyMismatch,
    CredentialFileError,
    HostnameMismatch,
    HTTPSToPlainHTTP,
    ServerCertExpired,
    ServerUnreachable,
    TLSProblem,
    UnknownServerCA,
)
from k8sauthlib.tls import diagnose
from k8sauthlib.tls.client import MTLSClient
from k8sauthlib.tls.keypair import check_key_pair
from k8sauthlib.tls.nginx import Nginx
from k8sauthlib.tls.process import nginx_available
from k8sauthlib.tls.resolve import parse_resolve

pytestmark = pytest.mark.skipif(not nginx_available() or shutil.which("curl") is None, reason="needs nginx and curl")

APISERVER_SANS = [
    "kubernetes",
    "kubernetes.default",
    "kubernetes.default.svc",
    "kubernetes.default.svc.cluster.local",
    "10.96.0.1",
    "127.0.0.1",
]


@pytest.fixture(scope="module")
def cluster():
    """A kubeadm-like PKI (CA CN=kubernetes, apiserver cert with the service SANs, an admin
    client cert) and nginx serving it in mutual TLS under server_name kubernetes."""
    root = Path(tempfile.mkdtemp(prefix="k8sauth-client-"))
    root.chmod(0o755)
    d = root / "pki"
    d.mkdir()
    now = datetime.now(timezone.utc)
    ca = k8s.CA.create("kubernetes")
    ca.write("ca", d)
    ca.issue_server_cert("control-plane", *APISERVER_SANS, common_name="kube-apiserver").write("apiserver", d)
    ca.issue_client_cert("kubernetes-admin", groups=["kubeadm:cluster-admins"]).write("admin", d)
    ca.issue_client_cert("dev", key="ecdsa-p256").write("dev", d)
    ca.issue_server_cert(
        "localhost", "127.0.0.1", not_before=now - timedelta(days=10), not_after=now - timedelta(days=2)
    ).write("stale", d)
    api = Nginx(
        root / "api",
        server_cert=d / "apiserver.pem",
        server_key=d / "apiserver-key.pem",
        client_ca=d / "ca.pem",
        verify_client="on",
        server_name="kubernetes",
    ).start()
    stale = Nginx(root / "stale", server_cert=d / "stale.pem", server_key=d / "stale-key.pem").start()
    yield {"dir": d, "api": api, "stale": stale, "root": root}
    api.stop()
    stale.stop()
    shutil.rmtree(root, ignore_errors=True)


def f(cluster, name):
    return str(cluster["dir"] / name)


def admin_client(cluster, **kw):
    api = cluster["api"]
    return MTLSClient(
        f"https://kubernetes:{api.port}",
        ca=f(cluster, "ca.pem"),
        cert=f(cluster, "admin.pem"),
        key=f(cluster, "admin-key.pem"),
        resolve={f"kubernetes:{api.port}": "127.0.0.1"},
        server_log=api,
        **kw,
    )


def test_curl_resolve_kubernetes(cluster):
    api = cluster["api"]
    r = diagnose.run_curl(
        [
            "--resolve",
            f"kubernetes:{api.port}:127.0.0.1",
            "--cacert",
            f(cluster, "ca.pem"),
            "--cert",
            f(cluster, "admin.pem"),
            "--key",
            f(cluster, "admin-key.pem"),
            f"https://kubernetes:{api.port}/",
        ]
    )
    assert r.ok, r
    assert "host=kubernetes sni=kubernetes" in api.access_log_lines()[-1]


def test_resolve_override_keeps_sni_host_and_verification(cluster):
    api = cluster["api"]
    with admin_client(cluster) as c:
        resp = c.get("/")
    assert resp.status_code == 200 and "안녕하세요" in resp.text
    line = api.access_log_lines()[-1]
    # the connection went to 127.0.0.1, but nginx saw the name in SNI and in Host
    assert "host=kubernetes sni=kubernetes" in line
    assert "verify=SUCCESS" in line and "CN=kubernetes-admin" in line


@pytest.mark.parametrize("name", ["kubernetes.default", "kubernetes.default.svc.cluster.local", "10.96.0.1"])
def test_resolve_other_names_of_the_apiserver(cluster, name):
    api = cluster["api"]
    c = MTLSClient(
        f"https://{name}:{api.port}",
        ca=f(cluster, "ca.pem"),
        cert=f(cluster, "dev.pem"),
        key=f(cluster, "dev-key.pem"),
        resolve=(name, api.port, "127.0.0.1"),
    )
    assert c.get("/").status_code == 200


def test_resolve_still_checks_the_name(cluster):
    # a name that the apiserver certificate does not carry fails, even though the address is right
    api = cluster["api"]
    c = MTLSClient(
        f"https://kube-api.example.test:{api.port}",
        ca=f(cluster, "ca.pem"),
        resolve=("kube-api.example.test", api.port, "127.0.0.1"),
    )
    with pytest.raises(HostnameMismatch) as info:
        c.get("/")
    assert "DNS:kubernetes.default.svc" in info.value.sans
    assert "IP:10.96.0.1" in info.value.sans
    r = diagnose.run_curl(
        [
            "--resolve",
            f"kube-api.example.test:{api.port}:127.0.0.1",
            "--cacert",
            f(cluster, "ca.pem"),
            f"https://kube-api.example.test:{api.port}/",
        ]
    )
    assert r.returncode == 60 and r.cause.key == "hostname-mismatch"


def test_without_resolve_the_name_does_not_resolve(cluster):
    api = cluster["api"]
    try:
        socket.getaddrinfo("kubernetes", api.port)
        pytest.skip("this machine resolves 'kubernetes' (an /etc/hosts entry?)")
    except socket.gaierror:
        pass
    r = diagnose.run_curl(["--cacert", f(cluster, "ca.pem"), f"https://kubernetes:{api.port}/"])
    assert r.returncode == 6 and r.cause.key == "name-not-resolved"
    c = MTLSClient(f"https://kubernetes:{api.port}", ca=f(cluster, "ca.pem"))
    with pytest.raises(ServerUnreachable) as info:
        c.get("/")
    assert "resolve=" in str(info.value)


def test_one_session_reuses_the_connection(cluster):
    api = cluster["api"]
    with admin_client(cluster) as c:
        for _ in range(3):
            assert c.get("/").status_code == 200
    lines = api.access_log_lines()[-3:]
    conns = {l.split("conn=")[1].split()[0] for l in lines}
    reqs = [l.split("reqs=")[1].split()[0] for l in lines]
    assert len(conns) == 1, lines  # one TCP/TLS connection ...
    assert reqs == ["1", "2", "3"]  # ... carrying three requests


def test_curl_processes_do_not_reuse(cluster):
    api = cluster["api"]
    args = [
        "--resolve",
        f"kubernetes:{api.port}:127.0.0.1",
        "--cacert",
        f(cluster, "ca.pem"),
        "--cert",
        f(cluster, "admin.pem"),
        "--key",
        f(cluster, "admin-key.pem"),
        f"https://kubernetes:{api.port}/",
    ]
    for _ in range(2):
        assert diagnose.run_curl(args).ok
    conns = {l.split("conn=")[1].split()[0] for l in api.access_log_lines()[-2:]}
    assert len(conns) == 2


def test_wrong_ca_names_the_issuer(cluster):
    api = cluster["api"]
    other = k8s.CA.create("not-the-cluster-ca")
    other.write("other-ca", cluster["root"])
    c = MTLSClient(
        f"https://kubernetes:{api.port}",
        ca=cluster["root"] / "other-ca.pem",
        resolve=("kubernetes", api.port, "127.0.0.1"),
    )
    with pytest.raises(UnknownServerCA) as info:
        c.get("/")
    assert "CN=kubernetes" in str(info.value)  # the issuer the server certificate names
    assert "is not that issuer" in str(info.value)


def test_expired_server_certificate(cluster):
    stale = cluster["stale"]
    with pytest.raises(ServerCertExpired) as info:
        MTLSClient(stale.url, ca=f(cluster, "ca.pem")).get("/")
    assert isinstance(info.value, k8s.CertificateExpired)
    assert "valid" in str(info.value) and "UTC" in str(info.value)
    r = diagnose.run_curl(["--cacert", f(cluster, "ca.pem"), stale.url])
    assert r.returncode == 60 and r.cause.key == "cert-expired"


@pytest.fixture
def plain_http_server():
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    yield srv.server_address[1]
    srv.shutdown()
    srv.server_close()


def test_https_to_a_plain_http_port(plain_http_server, cluster):
    port = plain_http_server
    r = diagnose.run_curl(["--cacert", f(cluster, "ca.pem"), f"https://127.0.0.1:{port}/"])
    assert r.returncode == 35 and r.cause.key == "https-to-plain-http-port"
    with pytest.raises(HTTPSToPlainHTTP) as info:
        MTLSClient(f"https://127.0.0.1:{port}", ca=f(cluster, "ca.pem")).get("/")
    assert f"http://127.0.0.1:{port}/" in str(info.value)


def test_connection_refused(cluster):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(ServerUnreachable):
        MTLSClient(f"https://127.0.0.1:{port}", ca=f(cluster, "ca.pem")).get("/")
    r = diagnose.run_curl([f"https://127.0.0.1:{port}/"])
    assert r.returncode == 7 and r.cause.key == "connection-refused"


def test_key_pair_check(cluster):
    check_key_pair(f(cluster, "admin.pem"), f(cluster, "admin-key.pem"))
    check_key_pair(Path(f(cluster, "dev.pem")).read_bytes(), Path(f(cluster, "dev-key.pem")).read_bytes())
    with pytest.raises(ClientKeyMismatch):
        check_key_pair(f(cluster, "admin.pem"), f(cluster, "dev-key.pem"))  # RSA cert, EC key
    with pytest.raises(CredentialFileError, match="cannot read"):
        check_key_pair(f(cluster, "admin.pem"), f(cluster, "nope-key.pem"))
    with pytest.raises(CredentialFileError, match="not an unencrypted PEM private key") as info:
        check_key_pair(f(cluster, "admin.pem"), f(cluster, "admin.pem"))
    assert "PRIVATE KEY" not in str(info.value)


def test_key_pair_check_says_what_is_wrong_with_the_key_file(cluster, tmp_path):
    from cryptography.hazmat.primitives import serialization as ser

    cert, good = f(cluster, "admin.pem"), Path(f(cluster, "admin-key.pem")).read_bytes()
    key = k8s.load_private_key(good)

    def problem(data):
        path = tmp_path / "key.pem"
        k8s.atomic_write(path, data, mode=0o600)
        with pytest.raises(CredentialFileError) as info:
            check_key_pair(cert, path)
        assert info.value.key == "client-cert-unreadable"
        assert "PRIVATE KEY-----" not in str(info.value) and "MII" not in str(info.value)
        return str(info.value)

    assert "has no PEM block" in problem(b"not a key")
    msg = problem(key.private_bytes(ser.Encoding.DER, ser.PrivateFormat.PKCS8, ser.NoEncryption()))
    assert "has no PEM block" in msg and "openssl pkey -inform DER" in msg
    assert "holds CERTIFICATE and no private key" in problem(Path(cert).read_bytes())
    msg = problem(
        key.private_bytes(
            ser.Encoding.PEM, ser.PrivateFormat.TraditionalOpenSSL, ser.BestAvailableEncryption(b"secret")
        )
    )
    assert "is encrypted with a passphrase" in msg and "openssl pkey" in msg
    lines = good.splitlines(keepends=True)
    msg = problem(b"".join(lines[:5] + lines[-1:]))  # lines lost in copying
    assert "its RSA PRIVATE KEY block cannot be decoded" in msg
    # decodes, but the numbers do not fit together: another key's modulus with these secrets
    der = key.private_bytes(ser.Encoding.DER, ser.PrivateFormat.TraditionalOpenSSL, ser.NoEncryption())
    other_n = k8s.KeySpec.parse("rsa-2048").generate().public_key().public_numbers().n
    n = key.public_key().public_numbers().n
    assert der.count(n.to_bytes(257, "big")) == 1  # INTEGER n: a 0x00 byte, then 256
    der = der.replace(n.to_bytes(257, "big"), other_n.to_bytes(257, "big"))
    msg = problem(b"-----BEGIN RSA PRIVATE KEY-----\n" + base64.encodebytes(der) + b"-----END RSA PRIVATE KEY-----\n")
    assert "is not a valid RSA private key" in msg and "n does not equal p q" in msg
    assert "generate a new key" in msg
    # a key on a curve cryptography does not support (openssl makes one with explicit params)
    odd = tmp_path / "odd-key.pem"
    subprocess.run(
        [
            "openssl",
            "ecparam",
            "-name",
            "brainpoolP256t1",
            "-param_enc",
            "explicit",
            "-genkey",
            "-noout",
            "-out",
            str(odd),
        ],
        check=True,
        capture_output=True,
    )
    msg = problem(odd.read_bytes())
    assert "cannot use its EC private key" in msg and "explicit parameters" in msg
    assert "ECDSA P-256" in msg


def test_missing_files_and_bad_arguments(cluster):
    with pytest.raises(CredentialFileError, match="CA file"):
        MTLSClient("https://localhost:1", ca="/nonexistent/ca.pem")
    with pytest.raises(k8s.InputError, match="both cert and key"):
        MTLSClient("https://localhost:1", cert=f(cluster, "admin.pem"))
    r = diagnose.run_curl(["--cacert", "/nonexistent/ca.pem", cluster["api"].ip_url])
    assert r.returncode == 77 and r.cause.key == "ca-file-unreadable"
    r = diagnose.run_curl(
        [
            "--cacert",
            f(cluster, "ca.pem"),
            "--cert",
            f(cluster, "admin.pem"),
            "--key",
            "/nonexistent/key.pem",
            cluster["api"].ip_url,
        ]
    )
    assert r.returncode == 58 and r.cause.key == "client-cert-unreadable"


def test_parse_resolve_forms():
    want = {("kubernetes", 8443): "127.0.0.1"}
    assert parse_resolve({"kubernetes:8443": "127.0.0.1"}) == want
    assert parse_resolve(("kubernetes", 8443, "127.0.0.1")) == want
    assert parse_resolve("kubernetes:8443:127.0.0.1") == want
    assert parse_resolve(["Kubernetes:8443:127.0.0.1", ("a", "1", "b")]) == {**want, ("a", 1): "b"}
    assert parse_resolve(None) == {}
    with pytest.raises(k8s.InputError):
        parse_resolve("kubernetes:notaport:127.0.0.1")
    with pytest.raises(k8s.InputError):
        parse_resolve(("", 1, "x"))


def test_url_joining_and_repr(cluster):
    c = admin_client(cluster)
    assert c.url("/api/v1") == f"https://kubernetes:{cluster['api'].port}/api/v1"
    assert c.url("version") == f"https://kubernetes:{cluster['api'].port}/version"
    assert "resolve=kubernetes" in repr(c) and "ca=" in repr(c)
    assert "admin-key" not in repr(c)  # the key path is not shown either


def test_unknown_failure_is_still_a_tls_problem_chained():
    # a TLS server that resets the connection: no specific cause, still a TLSProblem
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen()
    port = srv.getsockname()[1]

    def reset_one():
        conn, _ = srv.accept()
        conn.recv(1024)
        conn.close()

    t = threading.Thread(target=reset_one, daemon=True)
    t.start()
    try:
        with pytest.raises(TLSProblem) as info:
            MTLSClient(f"https://127.0.0.1:{port}", timeout=5).get("/")
        assert isinstance(info.value.__cause__, requests.RequestException)
    finally:
        t.join(5)
        srv.close()


def test_the_client_takes_what_nginx_takes(cluster):
    """Paths, PEM and objects alike: ``MTLSClient(url, ca=ca, cert=alice)`` (the key comes with the Cert)."""
    ca = k8s.CA.load(f(cluster, "ca.pem"), f(cluster, "ca-key.pem"))
    alice = ca.issue_client_cert("alice", groups=["dev"], key="ecdsa-p256")
    url = f"https://kubernetes:{cluster['api'].port}"
    resolve = {f"kubernetes:{cluster['api'].port}": "127.0.0.1"}
    with MTLSClient(url, ca=ca, cert=alice, resolve=resolve) as client:
        assert client.get("/").status_code == 200
        material = Path(client.key).parent
        assert stat.S_IMODE(Path(client.key).stat().st_mode) == 0o600
    assert not material.exists()  # written for this client only, removed on close
    with MTLSClient(url, ca=ca.cert_pem, cert=alice.cert_pem, key=alice.key_pem, resolve=resolve) as client:
        assert client.get("/").status_code == 200
    # the negative: a foreign CA object is refused as a foreign CA file is
    with (
        pytest.raises(UnknownServerCA),
        MTLSClient(url, ca=k8s.CA.create("other", key="ecdsa-p256"), cert=alice, resolve=resolve) as client,
    ):
        client.get("/")
