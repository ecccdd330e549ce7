"""kubectl's own messages against the real nginx, mapped by k8sauthlib.tls.diagnose.

kubectl is Go: its TLS failures read differently from curl's and Python's (``x509: ...``,
``tls: ...``). Each case runs the real kubectl (own ``--cache-dir``) and checks the mapping.
"""

import shutil
import socket
import subprocess
from datetime import datetime, timedelta, timezone

import pytest

import k8sauthlib as k8s
from k8sauthlib.tls import diagnose
from k8sauthlib.tls.nginx import Nginx
from k8sauthlib.tls.process import nginx_available

pytestmark = pytest.mark.skipif(
    shutil.which("kubectl") is None or not nginx_available(), reason="needs kubectl and nginx"
)


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    d = tmp_path_factory.mktemp("kubectl-pki")
    now = datetime.now(timezone.utc)
    ca = k8s.CA.create("rootCA", org="Kubernetes")
    ca.write("ca", d)
    ca.issue_server_cert("localhost", "127.0.0.1").write("server", d)
    ca.issue_server_cert(
        "localhost", "127.0.0.1", not_before=now - timedelta(days=9), not_after=now - timedelta(days=1)
    ).write("stale", d)
    ca.issue_client_cert("alice", groups=["developers"]).write("alice", d)
    ca.issue_client_cert("bob").write("bob", d)
    k8s.CA.create("otherCA").issue_client_cert("mallory").write("mallory", d)
    (d / "empty-kubeconfig").write_text("")
    # under /tmp directly would let workers run as nobody; here the 0700 parent makes
    # Nginx keep root workers, which does not matter for kubectl's side
    web = Nginx(
        d / "mtls",
        server_cert=d / "server.pem",
        server_key=d / "server-key.pem",
        client_ca=d / "ca.pem",
        verify_client="on",
    ).start()
    stale = Nginx(d / "stale", server_cert=d / "stale.pem", server_key=d / "stale-key.pem").start()
    yield {"dir": d, "web": web, "stale": stale}
    web.stop()
    stale.stop()


def kubectl(site, tmp_path, *flags, server=None):
    d = site["dir"]
    server = server or f"https://127.0.0.1:{site['web'].port}"
    # an empty kubeconfig and every setting as a flag: nothing from ~/.kube leaks in
    cmd = [
        "kubectl",
        "--kubeconfig",
        str(d / "empty-kubeconfig"),
        "--cache-dir",
        str(tmp_path / "cache"),
        "--server",
        server,
        *map(str, flags),
        "get",
        "--raw",
        "/",
    ]
    return subprocess.run(cmd, capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=60)


def test_no_ca(site, tmp_path):
    r = kubectl(site, tmp_path, "--token", "not-used")  # a user, so kubectl does not prompt
    assert r.returncode == 1
    assert "x509: certificate signed by unknown authority" in r.stderr
    assert diagnose.diagnose_text(r.stderr).key == "unknown-authority"


def test_with_client_certificate(site, tmp_path):
    d = site["dir"]
    r = kubectl(
        site,
        tmp_path,
        "--certificate-authority",
        d / "ca.pem",
        "--client-certificate",
        d / "alice.pem",
        "--client-key",
        d / "alice-key.pem",
    )
    assert r.returncode == 0, r.stderr
    assert "안녕하세요, mTLS!" in r.stdout
    assert "CN=alice" in site["web"].access_log_lines()[-1]


@pytest.mark.parametrize("user", [None, "mallory"])
def test_missing_or_rejected_client_cert_is_a_bare_400(site, tmp_path, user):
    d = site["dir"]
    creds = (
        ["--token", "not-used"]
        if user is None
        else ["--client-certificate", d / f"{user}.pem", "--client-key", d / f"{user}-key.pem"]
    )
    r = kubectl(site, tmp_path, "--certificate-authority", d / "ca.pem", *creds)
    assert r.returncode == 1
    assert diagnose.diagnose_text(r.stderr).key == "bad-request-from-proxy"
    # the page itself (what kubectl hides) says which one it was
    args = ["--cacert", d / "ca.pem", f"https://127.0.0.1:{site['web'].port}/"]
    if user:
        args[:0] = ["--cert", d / f"{user}.pem", "--key", d / f"{user}-key.pem"]
    want = "client-cert-required" if user is None else "client-cert-rejected"
    assert diagnose.run_curl(args).cause.key == want


def test_someone_elses_key(site, tmp_path):
    d = site["dir"]
    r = kubectl(
        site,
        tmp_path,
        "--certificate-authority",
        d / "ca.pem",
        "--client-certificate",
        d / "alice.pem",
        "--client-key",
        d / "bob-key.pem",
    )
    assert r.returncode == 1
    assert "tls: private key does not match public key" in r.stderr
    assert diagnose.diagnose_text(r.stderr).key == "client-key-mismatch"


def test_name_not_in_sans(site, tmp_path):
    d = site["dir"]
    r = kubectl(
        site, tmp_path, "--certificate-authority", d / "ca.pem", "--token", "x", "--tls-server-name", "kubernetes"
    )
    assert r.returncode == 1
    assert "x509: certificate is valid for localhost" in r.stderr and "not kubernetes" in r.stderr
    assert diagnose.diagnose_text(r.stderr).key == "hostname-mismatch"


def test_expired_server_cert(site, tmp_path):
    d = site["dir"]
    r = kubectl(
        site,
        tmp_path,
        "--certificate-authority",
        d / "ca.pem",
        "--token",
        "x",
        server=f"https://127.0.0.1:{site['stale'].port}",
    )
    assert r.returncode == 1
    assert "x509: certificate has expired or is not yet valid" in r.stderr
    assert diagnose.diagnose_text(r.stderr).key == "cert-expired"


def test_name_that_does_not_resolve(site, tmp_path):
    try:
        socket.getaddrinfo("kubernetes", 443)
        pytest.skip("this machine resolves 'kubernetes'")
    except socket.gaierror:
        pass
    r = kubectl(site, tmp_path, "--token", "x", server=f"https://kubernetes:{site['web'].port}")
    assert r.returncode == 1
    assert diagnose.diagnose_text(r.stderr).key == "name-not-resolved"


def test_nothing_listening(site, tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    r = kubectl(site, tmp_path, "--token", "x", server=f"https://127.0.0.1:{port}")
    assert r.returncode == 1
    assert diagnose.diagnose_text(r.stderr).key == "connection-refused"
