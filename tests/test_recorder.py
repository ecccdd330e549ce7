"""k8sauthlib.tls.recorder: the HTTPS request recorder of chapter 00, driven by real curl and kubectl."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

import k8sauthlib as k8s

POD_LIST = {"kind": "PodList", "apiVersion": "v1", "metadata": {}, "items": []}


@pytest.fixture
def served(tmp_path):
    ca = k8s.CA.create("recorder-ca")
    ca.write_cert(tmp_path / "ca.pem")
    ca.issue_server_cert("127.0.0.1").write(tmp_path / "web")
    with k8s.RequestRecorder(tmp_path / "web.pem", tmp_path / "web-key.pem", POD_LIST) as web:
        yield web, tmp_path


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl not installed")
def test_curl_request_is_recorded_with_its_bearer_token(served):
    web, tmp = served
    out = subprocess.run(
        [
            "curl",
            "-sS",
            "--cacert",
            str(tmp / "ca.pem"),
            "-H",
            "Authorization: Bearer t0k",
            web.url + "/api/v1/namespaces/default/pods",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert json.loads(out.stdout) == POD_LIST
    (req,) = web.requests
    assert req.line == "GET /api/v1/namespaces/default/pods HTTP/1.1"
    assert req.authorization == "Bearer t0k"
    assert req.user_agent.startswith("curl/")


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl not installed")
def test_kubectl_get_raw_sends_the_same_plain_get(served):
    web, tmp = served
    out = subprocess.run(
        [
            "kubectl",
            "--kubeconfig=/dev/null",
            f"--server={web.url}",
            f"--certificate-authority={tmp / 'ca.pem'}",
            "--token=demo",
            f"--cache-dir={tmp / 'cache'}",
            "get",
            "--raw",
            "/api/v1/namespaces/default/pods",
        ],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == POD_LIST
    pods = [r for r in web.requests if r.path == "/api/v1/namespaces/default/pods"]
    assert [(r.line, r.authorization) for r in pods] == [
        ("GET /api/v1/namespaces/default/pods HTTP/1.1", "Bearer demo")
    ]
    assert pods[0].user_agent.startswith("kubectl/")


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl not installed")
def test_foreign_ca_is_refused_and_nothing_is_recorded(served, tmp_path_factory):
    web, _ = served
    other = tmp_path_factory.mktemp("other")
    k8s.CA.create("someone-else").write_cert(other / "ca.pem")
    r = subprocess.run(
        ["curl", "-sS", "--cacert", str(other / "ca.pem"), web.url + "/"], capture_output=True, text=True
    )
    assert r.returncode == 60, r
    assert web.requests == []


def test_key_that_is_not_the_certificates_is_one_line_input_error(tmp_path):
    ca = k8s.CA.create("recorder-ca")
    ca.issue_server_cert("127.0.0.1").write(tmp_path / "a")
    ca.issue_server_cert("127.0.0.1").write(tmp_path / "b")
    with pytest.raises(k8s.InputError, match="cannot serve HTTPS with .*a.pem and .*b-key.pem"):
        k8s.RequestRecorder(tmp_path / "a.pem", tmp_path / "b-key.pem", POD_LIST)


def test_close_is_idempotent_and_stops_serving(served):
    web, tmp = served
    url = web.url
    web.close()
    web.close()
    if shutil.which("curl"):
        r = subprocess.run(["curl", "-sS", "--cacert", str(tmp / "ca.pem"), url + "/"], capture_output=True, text=True)
        assert r.returncode == 7, r  # connection refused
