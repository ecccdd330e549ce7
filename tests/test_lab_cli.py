"""The lab as an operator runs it: ``k8sauthlib lab up`` in the foreground, and the static Pod
manifest's flags taking effect after a restart."""

import json
import os
import signal
import subprocess
import sys

import pytest
import yaml

import k8sauthlib as k8s
from k8sauthlib.lab import LabError
from k8sauthlib.pki.identity import certificate_identifier

pytestmark = pytest.mark.skipif(
    subprocess.run(["which", "curl"], capture_output=True).returncode != 0, reason="needs curl on PATH"
)

UNAUTHORIZED_BODY = (
    b'{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"Unauthorized",'
    b'"reason":"Unauthorized","code":401}\n'
)


def curl(url, ca_file, cert=None, key=None):
    # a program's User-Agent: curl's own gets indented JSON, as from kube-apiserver (isPrettyPrint)
    args = ["curl", "-sS", "-A", "k8sauth-tests/1.0", "--cacert", str(ca_file), "-w", "\n%{http_code}", url]
    if cert:
        args[1:1] = ["--cert", str(cert), "--key", str(key)]
    result = subprocess.run(args, capture_output=True, timeout=30)
    assert result.returncode == 0, result.stderr
    body, _, code = result.stdout.rpartition(b"\n")
    return int(code), body


def set_flag(manifest, flag, value):
    """Edit the kube-apiserver static Pod manifest as an operator would (one flag)."""
    doc = yaml.safe_load(manifest.read_text())
    command = doc["spec"]["containers"][0]["command"]
    command[:] = [arg for arg in command if not arg.startswith(f"--{flag}=")] + [f"--{flag}={value}"]
    manifest.write_text(yaml.safe_dump(doc, sort_keys=False))


def test_anonymous_auth_false_in_the_manifest(tmp_path):
    directory = tmp_path / "kubernetes"
    with k8s.LabServer(directory) as lab:
        ca = k8s.CA.load(directory / "pki/ca.crt", directory / "pki/ca.key")
        admin = ca.issue_client_cert("kubernetes-admin", ["kubeadm:cluster-admins"], key="ecdsa-p256")
        admin.write("admin", tmp_path)
        from cryptography import x509
        from cryptography.x509.oid import NameOID

        empty_cn = ca.issue(
            subject=x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "system:masters")]), key="ecdsa-p256"
        )
        empty_cn.write("empty-cn", tmp_path)
        assert curl(lab.url + "/version", lab.ca_file)[0] == 200
        assert curl(lab.url + "/api", lab.ca_file)[0] == 403

        set_flag(lab.manifest_path, "anonymous-auth", "false")
        lab.restart()
        assert lab.flags["anonymous-auth"] == "false"
        assert curl(lab.url + "/version", lab.ca_file) == (401, UNAUTHORIZED_BODY)
        assert curl(lab.url + "/healthz", lab.ca_file) == (401, UNAUTHORIZED_BODY)
        # An empty CN was anonymous; with anonymous access off it is a 401 too.
        assert curl(lab.url + "/api", lab.ca_file, tmp_path / "empty-cn.pem", tmp_path / "empty-cn-key.pem")[0] == 401
        code, body = curl(lab.url + "/api", lab.ca_file, tmp_path / "admin.pem", tmp_path / "admin-key.pem")
        assert code == 200 and json.loads(body)["kind"] == "APIVersions"

        set_flag(lab.manifest_path, "anonymous-auth", "true")
        lab.restart()
        assert curl(lab.url + "/version", lab.ca_file)[0] == 200


def test_manifest_pointing_at_a_missing_file_is_a_clear_error(tmp_path):
    directory = tmp_path / "kubernetes"
    with k8s.LabServer(directory):
        pass  # make sure the tree exists
    set_flag(directory / "manifests/kube-apiserver.yaml", "client-ca-file", "/etc/kubernetes/pki/nope.crt")
    with pytest.raises(LabError, match="--client-ca-file=.*nope.crt"):
        k8s.LabServer(directory).start()


def _lab_up(directory, *extra):
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    return subprocess.Popen(
        [sys.executable, "-m", "k8sauthlib", "lab", "up", "--dir", str(directory), *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_lab_up_serves_in_the_foreground_and_stops_cleanly(tmp_path, sig):
    directory = tmp_path / "kubernetes"
    proc = _lab_up(directory, "--port", "0")
    try:
        url = proc.stdout.readline().strip()
        assert url.startswith("https://127.0.0.1:"), proc.stderr.read() if proc.poll() is not None else url
        assert curl(url + "/healthz", directory / "pki/ca.crt") == (200, b"ok")
        ca_before = (directory / "pki/ca.crt").read_bytes()
        proc.send_signal(sig)
        assert proc.wait(timeout=30) == 0
        stderr = proc.stderr.read()
        assert '"Serving securely"' in stderr
        assert 'URI="/healthz"' in stderr and "resp=200" in stderr
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    # A second start reuses the tree: the cluster CA survives restarts.
    proc = _lab_up(directory, "--port", "0")
    try:
        assert proc.stdout.readline().startswith("https://127.0.0.1:")
        assert (directory / "pki/ca.crt").read_bytes() == ca_before
    finally:
        proc.terminate()
        assert proc.wait(timeout=30) == 0


def test_lab_up_reports_a_taken_port(tmp_path):
    directory = tmp_path / "kubernetes"
    with k8s.LabServer(directory) as lab:
        proc = _lab_up(directory, "--port", str(lab.port))
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 1
    assert out == ""
    assert err.splitlines()[-1].startswith("k8sauthlib: error: cannot listen on 127.0.0.1:")


def test_front_proxy_ca_changes_what_kube_apiserver_logs_and_does(tmp_path):
    """With kubeadm's front-proxy CA in place (kubeadm always creates one), the request header
    authenticator runs first: its error is part of the log line, an empty CN becomes a 401,
    and a front-proxy client certificate may name the user in X-Remote-User."""
    from cryptography import x509
    from cryptography.x509.oid import NameOID

    directory = tmp_path / "kubernetes"
    k8s.KubeadmTree.create_lab(directory, key="ecdsa-p256")
    # The lab tree has kubeadm's front-proxy CA from the start.
    front_proxy_ca = k8s.CA.load(directory / "pki/front-proxy-ca.crt", directory / "pki/front-proxy-ca.key")
    proxy_client = front_proxy_ca.issue_client_cert("front-proxy-client", key="ecdsa-p256")
    proxy_client.write("front-proxy-client", tmp_path)
    ca = k8s.CA.load(directory / "pki/ca.crt", directory / "pki/ca.key")
    ca.issue_client_cert("kubernetes-admin", ["kubeadm:cluster-admins"], key="ecdsa-p256").write("admin", tmp_path)
    ca.issue(subject=x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "dev")]), key="ecdsa-p256").write(
        "empty-cn", tmp_path
    )
    foreign = k8s.CA.create("some-other-ca", key="ecdsa-p256").issue_client_cert("mallory", key="ecdsa-p256")
    foreign.write("foreign", tmp_path)

    def pem(name):
        return tmp_path / f"{name}.pem", tmp_path / f"{name}-key.pem"

    def last_auth_error(lab):
        return [m for m in lab.log_messages() if m.startswith('"Unable to authenticate the request"')][-1]

    with k8s.LabServer(directory) as lab:
        assert lab.api.authenticator.requestheader is not None
        assert curl(lab.url + "/api", lab.ca_file, *pem("admin"))[0] == 200
        assert curl(lab.url + "/version", lab.ca_file, *pem("foreign")) == (401, UNAUTHORIZED_BODY)
        ident = certificate_identifier(foreign.cert)
        assert last_auth_error(lab) == (
            '"Unable to authenticate the request" err="[x509: certificate signed by unknown '
            f"authority, verifying certificate {ident} failed: x509: certificate signed by "
            'unknown authority]"'
        )
        assert curl(lab.url + "/version", lab.ca_file, *pem("empty-cn")) == (401, UNAUTHORIZED_BODY)
        assert (
            last_auth_error(lab)
            == '"Unable to authenticate the request" err="x509: certificate signed by unknown authority"'
        )

        review = subprocess.run(
            [
                "curl",
                "-sS",
                "--cacert",
                str(lab.ca_file),
                "--cert",
                str(pem("front-proxy-client")[0]),
                "--key",
                str(pem("front-proxy-client")[1]),
                "-H",
                "X-Remote-User: bob",
                "-H",
                "X-Remote-Group: dev",
                "-H",
                "Content-Type: application/json",
                "--data",
                "{}",
                lab.url + "/apis/authentication.k8s.io/v1/selfsubjectreviews",
            ],
            capture_output=True,
            timeout=30,
        )
        info = json.loads(review.stdout)["status"]["userInfo"]
        assert (info["username"], info["groups"]) == ("bob", ["dev", "system:authenticated"])
        # The same certificate without the header is nobody: the cluster CA did not sign it.
        assert curl(lab.url + "/version", lab.ca_file, *pem("front-proxy-client")) == (401, UNAUTHORIZED_BODY)

        token = subprocess.run(
            [
                "curl",
                "-sS",
                "--cacert",
                str(lab.ca_file),
                "-H",
                "Authorization: Bearer abc.def",
                "-w",
                "\n%{http_code}",
                lab.url + "/version",
            ],
            capture_output=True,
            timeout=30,
        )
        assert token.stdout.rpartition(b"\n")[2] == b"401"
        assert last_auth_error(lab) == '"Unable to authenticate the request" err="invalid bearer token"'


def test_without_a_front_proxy_ca_an_empty_cn_is_anonymous(tmp_path):
    """A server with no --requestheader-client-ca-file (not kubeadm's setup): the x509
    authenticator has no opinion on a certificate without CN, no authenticator fails, and the
    request is served as system:anonymous (a 403 for /api), as K8S-FACTS §1.2 derives."""
    from cryptography import x509
    from cryptography.x509.oid import NameOID

    directory = tmp_path / "kubernetes"
    tree = k8s.KubeadmTree.create_lab(directory, key="ecdsa-p256")
    for name in ("front-proxy-ca.crt", "front-proxy-ca.key"):
        (directory / "pki" / name).unlink()
    ca = tree.ca()
    ca.issue(subject=x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "dev")]), key="ecdsa-p256").write(
        "empty-cn", tmp_path
    )
    with k8s.LabServer(directory) as lab:
        assert lab.api.authenticator.requestheader is None
        assert any("front-proxy" in line for line in lab.log_lines())
        status, body = curl(lab.url + "/api", lab.ca_file, tmp_path / "empty-cn.pem", tmp_path / "empty-cn-key.pem")
        assert status == 403
        assert json.loads(body)["message"] == 'forbidden: User "system:anonymous" cannot get path "/api"'


def test_lab_up_in_process_leaves_no_handler_on_a_closed_stream(tmp_path, capsys):
    """``lab up`` logs to the stderr it was started with, and only while it runs: a handler left on
    the lab's logger after main() returned wrote every later lab line of the process into a stream
    its caller had closed (pytest printed "--- Logging error ---")."""
    import logging

    from k8sauthlib.cli import main

    log = logging.getLogger("k8sauthlib.lab")
    before = (list(log.handlers), log.level, log.propagate)
    (tmp_path / "a-file").write_text("not a kubeadm tree\n")
    assert main(["lab", "up", "--dir", str(tmp_path / "a-file"), "--port", "0"]) == 1
    assert "a-file" in capsys.readouterr().err  # it ran, and said what was wrong
    assert (list(log.handlers), log.level, log.propagate) == before
    # a lab started afterwards in this process logs without touching the old stream
    with k8s.LabServer(tmp_path / "lab2") as lab:
        lab.log.note("after main()")
    assert "--- Logging error ---" not in capsys.readouterr().err
