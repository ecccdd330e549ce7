"""The lab API server against real clients: kubectl (on PATH), curl and the official Python client.

One lab serves the whole module (fixture ``lab``); tests that change RBAC use their own group
names, so they do not see each other. Every kubectl run gets its own ``--cache-dir``.
"""

import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import threading
import time
from datetime import datetime, timedelta, timezone

import pytest
import requests
from cryptography import x509
from cryptography.x509.oid import NameOID
from OpenSSL import SSL

import k8sauthlib as k8s
from k8sauthlib.lab.pods import LAB_POD_REASON
from k8sauthlib.pki.identity import certificate_identifier

pytestmark = pytest.mark.skipif(
    shutil.which("kubectl") is None or shutil.which("curl") is None, reason="needs kubectl and curl on PATH"
)

UNAUTHORIZED_BODY = (
    b'{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"Unauthorized",'
    b'"reason":"Unauthorized","code":401}\n'
)


class User:
    """A client certificate and key on disk, plus a kubeconfig for it."""

    def __init__(self, name, cert, directory, lab, *, chain=False):
        self.name = name
        self.cert_file = directory / f"{name}.pem"
        self.key_file = directory / f"{name}-key.pem"
        self.cert = cert
        self.cert_file.write_bytes(cert.chain_pem if chain else cert.cert_pem)
        cert.write_key(self.key_file, overwrite=True)
        self._kubeconfig = directory / f"{name}.kubeconfig"
        self._lab = lab

    @property
    def kubeconfig(self):
        """Written on first use with ``kubectl config``, as a reader would write it."""
        if self._kubeconfig.exists():
            return self._kubeconfig
        name, lab = self.name, self._lab
        for args in (
            [
                "set-cluster",
                "lab",
                f"--server={lab.url}",
                f"--certificate-authority={lab.ca_file}",
                "--embed-certs=true",
            ],
            [
                "set-credentials",
                name,
                f"--client-certificate={self.cert_file}",
                f"--client-key={self.key_file}",
                "--embed-certs=true",
            ],
            ["set-context", "lab", "--cluster=lab", f"--user={name}"],
            ["use-context", "lab"],
        ):
            subprocess.run(
                ["kubectl", "config", f"--kubeconfig={self._kubeconfig}", *args],
                check=True,
                capture_output=True,
                text=True,
            )
        return self._kubeconfig

    @property
    def curl_args(self):
        return ["--cert", str(self.cert_file), "--key", str(self.key_file)]


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    directory = tmp_path_factory.mktemp("lab") / "kubernetes"  # created by the lab (KubeadmTree.create_lab)
    with k8s.LabServer(directory) as server:
        yield server


@pytest.fixture(scope="module")
def cluster_ca(lab):
    return k8s.CA.load(lab.directory / "pki" / "ca.crt", lab.directory / "pki" / "ca.key")


@pytest.fixture(scope="module")
def users(lab, cluster_ca, tmp_path_factory):
    directory = tmp_path_factory.mktemp("users")
    now = datetime.now(timezone.utc)
    intermediate = cluster_ca.issue_intermediate("lab-intermediate-ca", key="ecdsa-p256")
    no_eku_subject = x509.Name(
        [x509.NameAttribute(NameOID.COMMON_NAME, "no-eku"), x509.NameAttribute(NameOID.ORGANIZATION_NAME, "dev")]
    )
    empty_cn_subject = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "system:masters")])
    ec = {"key": "ecdsa-p256"}  # kubeadm's admin key is RSA; the others are ECDSA, which is faster to make
    specs = {
        "admin": cluster_ca.issue_client_cert("kubernetes-admin", ["kubeadm:cluster-admins"]),
        "super": cluster_ca.issue_client_cert("kubernetes-super-admin", ["system:masters"], **ec),
        "jane": cluster_ca.issue_client_cert("jane", ["dev"], **ec),
        "foreign": k8s.CA.create("kubernetes", **ec).issue_client_cert("mallory", ["system:masters"], **ec),
        "expired": cluster_ca.issue_client_cert(
            "old", ["system:masters"], not_before=now - timedelta(days=2), not_after=now - timedelta(days=1), **ec
        ),
        "serverauth": cluster_ca.issue_client_cert(
            "srv", ["system:masters"], usages=("digital signature", "key encipherment", "server auth"), **ec
        ),
        "noeku": cluster_ca.issue(subject=no_eku_subject, usages=("digital signature", "key encipherment"), **ec),
        "emptycn": cluster_ca.issue(subject=empty_cn_subject, **ec),
        "chain": intermediate.issue_client_cert("chain-user", ["chain-group"], **ec),
    }
    out = {name: User(name, cert, directory, lab) for name, cert in specs.items()}
    out["chain-leaf-only"] = User("chain-leaf-only", specs["chain"], directory, lab)
    out["chain"] = User("chain", specs["chain"], directory, lab, chain=True)
    return out


def curl(lab, path, user=None, *, method="GET", data=None, headers=()):
    """Run real curl; return (status, headers dict with lower-case names, body bytes)."""
    # A program's User-Agent: with curl's own, kube-apiserver (and the lab) indent JSON for people
    # (isPrettyPrint); tests/test_lab_writes.py checks that form.
    args = [
        "curl",
        "-sS",
        "--cacert",
        str(lab.ca_file),
        "-X",
        method,
        "-D",
        "-",
        "-o",
        "/dev/stdout",
        "-A",
        "k8sauth-tests/1.0",
    ]
    if user is not None:
        args += user.curl_args
    for header in headers:
        args += ["-H", header]
    if data is not None:
        args += ["--data-binary", data]
    result = subprocess.run([*args, lab.url + path], capture_output=True, timeout=30)
    assert result.returncode == 0, result.stderr.decode()
    head, _, body = result.stdout.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    status = int(lines[0].split()[1])
    hdrs = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    return status, hdrs, body


def kubectl(user, *args, tmp_path, check=None):
    cache = tmp_path / f"kcache-{secrets.token_hex(4)}"
    result = subprocess.run(
        ["kubectl", f"--kubeconfig={user.kubeconfig}", f"--cache-dir={cache}", *args],
        capture_output=True,
        text=True,
        timeout=60,
    )
    if check is not None:
        assert result.returncode == check, (result.stdout, result.stderr)
    return result


def write_rbac(lab, name, text):
    directory = lab.directory / "lab" / "rbac"
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text(text)
    return path


# ---------------------------------------------------------------------------- kubectl
def test_kubectl_whoami_admin(lab, users, tmp_path):
    result = kubectl(users["admin"], "auth", "whoami", tmp_path=tmp_path, check=0)
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["ATTRIBUTE", "VALUE"]
    assert lines[1].split() == ["Username", "kubernetes-admin"]
    assert lines[2].split() == ["Groups", "[kubeadm:cluster-admins", "system:authenticated]"]
    fingerprint = users["admin"].cert.fingerprint_sha256.replace(":", "").lower()
    assert lines[3].split() == ["Extra:", "authentication.kubernetes.io/credential-id", f"[X509SHA256={fingerprint}]"]


def test_kubectl_get_pods_in_kube_system(lab, users, tmp_path):
    result = kubectl(users["admin"], "get", "pods", "-n", "kube-system", tmp_path=tmp_path, check=0)
    header, *rows = result.stdout.splitlines()
    assert header.split() == ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    names = [row.split()[0] for row in rows]
    assert f"kube-apiserver-{lab.node_name}" in names
    for row in rows:  # honest: no container runs, and the STATUS column says so
        assert row.split()[1:4] == ["0/1", LAB_POD_REASON, "0"]
    wide = kubectl(
        users["admin"],
        "get",
        "pod",
        f"kube-apiserver-{lab.node_name}",
        "-n",
        "kube-system",
        "-o",
        "wide",
        tmp_path=tmp_path,
        check=0,
    )
    assert wide.stdout.splitlines()[0].split()[-6:] == ["IP", "NODE", "NOMINATED", "NODE", "READINESS", "GATES"]
    as_json = json.loads(
        kubectl(
            users["admin"],
            "get",
            "pod",
            f"kube-apiserver-{lab.node_name}",
            "-n",
            "kube-system",
            "-o",
            "json",
            tmp_path=tmp_path,
            check=0,
        ).stdout
    )
    annotations = as_json["metadata"]["annotations"]
    assert "kubernetes.io/config.mirror" in annotations
    assert "no container runs" in annotations["lab.k8sauth-book/note"]
    assert as_json["spec"]["nodeName"] == lab.node_name
    assert any(arg.startswith("--client-ca-file=") for arg in as_json["spec"]["containers"][0]["command"])


def test_kubectl_get_missing_pod_and_raw_api(lab, users, tmp_path):
    result = kubectl(users["admin"], "get", "pod", "nope", "-n", "kube-system", tmp_path=tmp_path, check=1)
    assert result.stderr.strip() == 'Error from server (NotFound): pods "nope" not found'
    raw = kubectl(users["admin"], "get", "--raw", "/api", tmp_path=tmp_path, check=0)
    assert json.loads(raw.stdout) == {
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": f"127.0.0.1:{lab.port}"}],
    }


def test_kubectl_version_and_cluster_info(lab, users, tmp_path):
    result = kubectl(users["admin"], "version", tmp_path=tmp_path, check=0)
    assert "Server Version: v1.32.3+k8sauthlib-lab" in result.stdout
    assert "WARNING" not in result.stderr  # the dispatcher ran the built-in 1.32
    info = kubectl(users["admin"], "cluster-info", tmp_path=tmp_path, check=0)
    assert info.stdout.splitlines()[0] == f"Kubernetes control plane is running at {lab.url}"


def test_unbound_group_is_forbidden_and_can_i_says_no(lab, users, tmp_path):
    result = kubectl(users["jane"], "get", "pods", "-n", "kube-system", tmp_path=tmp_path, check=1)
    assert result.stderr.strip() == (
        'Error from server (Forbidden): pods is forbidden: User "jane" cannot list '
        'resource "pods" in API group "" in the namespace "kube-system"'
    )
    can_i = kubectl(users["jane"], "auth", "can-i", "list", "pods", "-n", "kube-system", tmp_path=tmp_path, check=1)
    assert can_i.stdout == "no\n"
    # whoami works for every authenticated user (system:basic-user)
    whoami = kubectl(users["jane"], "auth", "whoami", tmp_path=tmp_path, check=0)
    assert whoami.stdout.splitlines()[1].split() == ["Username", "jane"]


def test_rolebinding_file_turns_can_i_to_yes(lab, users, tmp_path):
    group = "readers-" + secrets.token_hex(3)
    reader = User(
        "reader",
        k8s.CA.load(lab.directory / "pki/ca.crt", lab.directory / "pki/ca.key").issue_client_cert(
            "reader", [group], key="ecdsa-p256"
        ),
        tmp_path,
        lab,
    )
    assert kubectl(reader, "auth", "can-i", "list", "pods", "-n", "kube-system", tmp_path=tmp_path).stdout == "no\n"
    write_rbac(
        lab,
        f"{group}.yaml",
        f"""\
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata:
  name: pod-reader
  namespace: kube-system
rules:
- apiGroups: [""]
  resources: ["pods"]
  verbs: ["get", "list", "watch"]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: {group}
  namespace: kube-system
subjects:
- kind: Group
  name: {group}
  apiGroup: rbac.authorization.k8s.io
roleRef:
  kind: Role
  name: pod-reader
  apiGroup: rbac.authorization.k8s.io
""",
    )
    assert (
        kubectl(reader, "auth", "can-i", "list", "pods", "-n", "kube-system", tmp_path=tmp_path, check=0).stdout
        == "yes\n"
    )
    assert (
        kubectl(reader, "auth", "can-i", "list", "pods", "-n", "default", tmp_path=tmp_path, check=1).stdout == "no\n"
    )
    pods = kubectl(reader, "get", "pods", "-n", "kube-system", "-o", "name", tmp_path=tmp_path, check=0)
    assert f"pod/kube-apiserver-{lab.node_name}" in pods.stdout.split()
    record = [r for r in lab.log_records() if r["user"] == "reader" and r["verb"] == "list"][-1]
    assert record["reason"] == (
        f'RBAC: allowed by RoleBinding "{group}/kube-system" of Role "pod-reader" to Group "{group}"'
    )
    listing = kubectl(reader, "auth", "can-i", "--list", "-n", "kube-system", tmp_path=tmp_path, check=0)
    assert any(line.split()[:1] == ["pods"] and "[get list watch]" in line for line in listing.stdout.splitlines())


def test_binding_to_a_missing_role_shows_in_the_denial(lab, cluster_ca, tmp_path):
    """RBAC's only non-empty "no" reason: a binding whose role does not exist."""
    group = "viewers-" + secrets.token_hex(3)
    viewer = User("viewer", cluster_ca.issue_client_cert("viewer", [group], key="ecdsa-p256"), tmp_path, lab)
    write_rbac(
        lab,
        f"{group}.yaml",
        f"""\
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: {group}
subjects:
- kind: Group
  name: {group}
  apiGroup: rbac.authorization.k8s.io
roleRef:
  kind: ClusterRole
  name: no-such-role
  apiGroup: rbac.authorization.k8s.io
""",
    )
    result = kubectl(viewer, "get", "pods", "-n", "default", tmp_path=tmp_path, check=1)
    assert result.stderr.strip() == (
        'Error from server (Forbidden): pods is forbidden: User "viewer" cannot list '
        'resource "pods" in API group "" in the namespace "default": '
        'RBAC: clusterrole.rbac.authorization.k8s.io "no-such-role" not found'
    )
    can_i = kubectl(viewer, "auth", "can-i", "list", "pods", tmp_path=tmp_path, check=1)
    assert can_i.stdout == 'no - RBAC: clusterrole.rbac.authorization.k8s.io "no-such-role" not found\n'


@pytest.mark.parametrize("name", ["foreign", "expired", "serverauth"])
def test_bad_certificates_get_401_from_kubectl(lab, users, tmp_path, name):
    result = kubectl(users[name], "auth", "whoami", tmp_path=tmp_path, check=1)
    assert result.stderr.strip() == "error: You must be logged in to the server (Unauthorized)"
    result = kubectl(users[name], "get", "pods", "-n", "kube-system", tmp_path=tmp_path, check=1)
    assert result.stderr.strip().splitlines()[-1] == (
        "error: You must be logged in to the server (the server has asked for the client to provide credentials)"
    )


def test_bad_certificate_log_lines_name_the_go_error(lab, users):
    expectations = {
        "foreign": "x509: certificate signed by unknown authority",
        "expired": "x509: certificate has expired or is not yet valid: current time ",
        "serverauth": "x509: certificate specifies an incompatible key usage",
    }
    for name, go_error in expectations.items():
        status, _, body = curl(lab, "/version", users[name])
        assert (status, body) == (401, UNAUTHORIZED_BODY)
        ident = certificate_identifier(users[name].cert.cert)
        line = [m for m in lab.log_messages() if m.startswith('"Unable to authenticate the request"')][-1]
        # kubeadm's front-proxy authenticator runs first and fails too: two errors, as kube-apiserver logs them
        assert line.startswith('"Unable to authenticate the request" err="[x509: ')
        assert f", verifying certificate {ident} failed: {go_error}" in line
        assert "PRIVATE KEY" not in "\n".join(lab.log_lines())


def test_certificate_without_eku_passes(lab, users):
    status, _, body = curl(
        lab,
        "/apis/authentication.k8s.io/v1/selfsubjectreviews",
        users["noeku"],
        method="POST",
        data='{"apiVersion":"authentication.k8s.io/v1","kind":"SelfSubjectReview"}',
        headers=["Content-Type: application/json"],
    )
    assert status == 201
    info = json.loads(body)["status"]["userInfo"]
    assert (info["username"], info["groups"]) == ("no-eku", ["dev", "system:authenticated"])


def test_empty_cn_is_401_on_a_kubeadm_like_server(lab, users, tmp_path):
    # kubeadm configures a front-proxy CA; its authenticator fails on every certificate it did not
    # sign, and with the x509 authenticator having no opinion (no CN) that error is a 401.
    # Without a front-proxy CA the same certificate is anonymous: see test_lab_cli.py.
    assert lab.api.authenticator.requestheader is not None
    status, _, body = curl(lab, "/api", users["emptycn"])
    assert (status, body) == (401, UNAUTHORIZED_BODY)
    result = kubectl(users["emptycn"], "auth", "whoami", tmp_path=tmp_path, check=1)
    assert result.stderr.strip() == "error: You must be logged in to the server (Unauthorized)"


def test_client_chain_with_intermediate(lab, users):
    status, _, body = curl(
        lab,
        "/apis/authentication.k8s.io/v1/selfsubjectreviews",
        users["chain"],
        method="POST",
        data='{"apiVersion":"authentication.k8s.io/v1","kind":"SelfSubjectReview"}',
        headers=["Content-Type: application/json"],
    )
    assert status == 201
    assert json.loads(body)["status"]["userInfo"]["username"] == "chain-user"
    # Without the intermediate in the bundle the API server cannot build the path: 401.
    status, _, body = curl(lab, "/version", users["chain-leaf-only"])
    assert (status, body) == (401, UNAUTHORIZED_BODY)


def test_kubectl_sends_the_intermediate_from_its_certificate_file(lab, users, tmp_path):
    whoami = kubectl(users["chain"], "auth", "whoami", tmp_path=tmp_path, check=0).stdout.splitlines()
    assert whoami[1].split() == ["Username", "chain-user"]


def test_masters_bypass_rbac_while_kubeadm_admins_use_the_binding(lab, users, tmp_path):
    review = json.dumps(
        {
            "apiVersion": "authorization.k8s.io/v1",
            "kind": "SelfSubjectAccessReview",
            "spec": {"resourceAttributes": {"namespace": "kube-system", "verb": "delete", "resource": "secrets"}},
        }
    )
    statuses = {}
    for name in ("super", "admin", "jane"):
        status, _, body = curl(
            lab,
            "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
            users[name],
            method="POST",
            data=review,
            headers=["Content-Type: application/json"],
        )
        assert status == 201
        statuses[name] = json.loads(body)["status"]
    assert statuses["super"] == {"allowed": True}  # privileged-groups authorizer: no reason
    assert statuses["admin"] == {
        "allowed": True,
        "reason": 'RBAC: allowed by ClusterRoleBinding "kubeadm:cluster-admins" '
        'of ClusterRole "cluster-admin" to Group "kubeadm:cluster-admins"',
    }
    assert statuses["jane"] == {"allowed": False}  # RBAC: no opinion, empty reason
    for name in ("super", "admin"):
        assert (
            kubectl(
                users[name], "auth", "can-i", "delete", "secrets", "-n", "kube-system", tmp_path=tmp_path, check=0
            ).stdout
            == "yes\n"
        )


# ------------------------------------------------------------------------ curl, anonymous
def test_anonymous_version_ok_and_api_forbidden(lab):
    status, headers, body = curl(lab, "/version")
    assert status == 200 and json.loads(body)["minor"] == "32"
    assert headers["content-type"] == "application/json"
    status, headers, body = curl(lab, "/api")
    assert status == 403
    assert body == (
        b'{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"forbidden: '
        b'User \\"system:anonymous\\" cannot get path \\"/api\\"","reason":"Forbidden","details":{},"code":403}\n'
    )
    assert headers["cache-control"] == "no-cache, private"
    assert len(headers["audit-id"]) == 36
    status, headers, body = curl(lab, "/healthz")
    assert (status, body, headers["content-type"]) == (200, b"ok", "text/plain; charset=utf-8")


def test_article_step_6_curl_api_as_admin(lab, users):
    status, _, body = curl(lab, "/api", users["admin"])
    assert status == 200 and json.loads(body)["versions"] == ["v1"]


def test_not_found_and_method_not_allowed_bodies(lab, users):
    status, _, body = curl(lab, "/api/v1/namespaces/default/no-such-resources", users["admin"])
    assert (status, json.loads(body)) == (
        404,
        {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": "the server could not find the requested resource",
            "reason": "NotFound",
            "details": {},
            "code": 404,
        },
    )
    status, headers, body = curl(lab, "/no-such-path", users["admin"])
    assert (status, body) == (404, b"404 page not found\n")  # Go's http.NotFound, as kube-apiserver 1.32
    status, _, body = curl(lab, "/api/v1/namespaces/kube-system/pods/x", users["admin"], method="DELETE")
    # kube-apiserver would delete the pod; the lab refuses with the same code family and says why.
    assert (status, json.loads(body)["reason"], json.loads(body)["message"]) == (
        405,
        "MethodNotAllowed",
        "the k8sauthlib lab serves pods read-only (get, list): it runs no controllers or kubelet to act on them",
    )
    # Authorization comes first: an anonymous request for a missing path is a 403, not a 404.
    status, _, body = curl(lab, "/no-such-path")
    assert status == 403


@pytest.mark.parametrize("flag, version", [("--http2", "2"), ("--http1.1", "1.1")])
def test_h2_is_negotiated_when_offered_as_kube_apiserver_does(lab, users, flag, version):
    result = subprocess.run(
        [
            "curl",
            "-sS",
            flag,
            "--cacert",
            str(lab.ca_file),
            *users["admin"].curl_args,
            "-w",
            "\n%{http_version} %{http_code}",
            lab.url + "/api/v1/namespaces/kube-system/pods",
        ],
        capture_output=True,
        text=True,
        timeout=30,
    )
    body, _, tail = result.stdout.rpartition("\n")
    assert tail == f"{version} 200"
    assert json.loads(body)["kind"] == "PodList"


def test_plain_http_on_the_tls_port(lab):
    result = subprocess.run(["curl", "-sS", f"http://127.0.0.1:{lab.port}/version"], capture_output=True, timeout=30)
    assert result.stdout == b"Client sent an HTTP request to an HTTPS server.\n"


# ---------------------------------------------------------------------- Python client
def _api_client(lab, user):
    from kubernetes import client

    cfg = client.Configuration()
    cfg.host = lab.url
    cfg.ssl_ca_cert = str(lab.ca_file)
    cfg.cert_file = str(user.cert_file)
    cfg.key_file = str(user.key_file)
    return client.ApiClient(cfg)


def test_python_client_lists_pods_and_creates_self_subject_review(lab, users):
    from kubernetes import client

    api = _api_client(lab, users["admin"])
    pods = client.CoreV1Api(api).list_namespaced_pod("kube-system")
    assert f"kube-apiserver-{lab.node_name}" in [p.metadata.name for p in pods.items]
    review = client.AuthenticationV1Api(api).create_self_subject_review(body=client.V1SelfSubjectReview())
    assert review.status.user_info.username == "kubernetes-admin"
    assert review.status.user_info.groups == ["kubeadm:cluster-admins", "system:authenticated"]
    assert client.VersionApi(api).get_code().minor == "32"


def test_python_client_forbidden(lab, users):
    from kubernetes import client
    from kubernetes.client.exceptions import ApiException

    with pytest.raises(ApiException) as info:
        client.CoreV1Api(_api_client(lab, users["jane"])).list_namespaced_pod("kube-system")
    assert info.value.status == 403
    assert json.loads(info.value.body)["reason"] == "Forbidden"
    review = client.AuthorizationV1Api(_api_client(lab, users["jane"])).create_self_subject_access_review(
        body=client.V1SelfSubjectAccessReview(
            spec=client.V1SelfSubjectAccessReviewSpec(
                resource_attributes=client.V1ResourceAttributes(namespace="kube-system", verb="list", resource="pods")
            )
        )
    )
    assert (review.status.allowed, review.status.reason) == (False, None)


# ------------------------------------------------------------------- load and garbage
def test_parallel_clients(lab, users):
    errors, counts = [], []

    def worker():
        try:
            # verify/cert per request: a Session's own verify loses to REQUESTS_CA_BUNDLE (requests#3829)
            tls = {"verify": str(lab.ca_file), "cert": (str(users["admin"].cert_file), str(users["admin"].key_file))}
            with requests.Session() as session:  # one keep-alive connection per worker
                ok = 0
                for i in range(50):
                    path = "/api/v1/namespaces/kube-system/pods" if i % 2 else "/version"
                    response = session.get(lab.url + path, timeout=30, **tls)
                    ok += response.status_code == 200
                counts.append(ok)
        except Exception as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert counts == [50] * 8


def test_garbage_connections_do_not_hurt_others(lab, users):
    held = []
    try:
        for _ in range(5):  # connect and say nothing
            held.append(socket.create_connection(("127.0.0.1", lab.port)))
        for _ in range(5):  # random bytes
            s = socket.create_connection(("127.0.0.1", lab.port))
            s.sendall(os.urandom(512))
            held.append(s)
        for _ in range(5):  # a TLS ClientHello, then silence
            s = socket.create_connection(("127.0.0.1", lab.port))
            s.setblocking(False)
            tls = SSL.Connection(SSL.Context(SSL.TLS_CLIENT_METHOD), s)
            tls.set_connect_state()
            try:
                tls.do_handshake()  # sends the hello; the server's answer is never read
            except SSL.WantReadError:
                pass
            held.append(s)
        status, _, body = curl(
            lab,
            "/apis/authentication.k8s.io/v1/selfsubjectreviews",
            users["admin"],
            method="POST",
            data="{}",
            headers=["Content-Type: application/json"],
        )
        assert status == 201 and json.loads(body)["status"]["userInfo"]["username"] == "kubernetes-admin"
    finally:
        for s in held:
            s.close()
    deadline = time.monotonic() + 10
    while not any("TLS handshake error" in ln for ln in lab.log_lines()) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert any("TLS handshake error" in ln for ln in lab.log_lines())


def test_requests_are_logged_for_operators(lab, users):
    # klog's header, with "lab" where kube-apiserver names its source file
    for line in lab.log_lines():
        assert re.match(r"[IWEF]\d{4} \d{2}:\d{2}:\d{2}\.\d{6} +\d+ lab\] [^ ]", line), line
    curl(lab, "/api/v1/namespaces/kube-system/pods", users["jane"])
    line = [m for m in lab.log_messages() if m.startswith('"HTTP"') and 'user="jane"' in m][-1]
    # respLogger.Log's order: verb (NormalizedVerb), URI, latency, userAgent, audit-ID, srcIP, added pairs, resp
    assert re.match(
        r'"HTTP" verb="LIST" URI="/api/v1/namespaces/kube-system/pods" latency="\d+(\.\d+)?(µs|ms|s)" '
        r'userAgent="k8sauth-tests/1.0" audit-ID="[0-9a-f-]{36}" srcIP="127\.0\.0\.1:\d+" user="jane" ',
        line,
    ), line
    assert 'groups=["dev","system:authenticated"] decision="forbid" authorizer="" reason="" resp=403' in line
    assert line.endswith("resp=403") and "statusStack" not in line  # a 4xx line carries no stack
    curl(lab, "/api/v1/namespaces/kube-system/pods", users["super"])
    line = [m for m in lab.log_messages() if m.startswith('"HTTP"') and 'user="kubernetes-super-admin"' in m][-1]
    assert 'decision="allow" authorizer="privileged-groups" reason="" resp=200' in line
    assert "addedInfo" not in line  # the negative: no impersonation, nothing added
    # The impersonation filter's Addf, printed last by httplog's respLogger.Log
    curl(
        lab,
        "/api/v1/namespaces/kube-system/pods",
        users["super"],
        headers=("Impersonate-User: jane", "Impersonate-Group: dev"),
    )
    line = [m for m in lab.log_messages() if m.startswith('"HTTP"') and "is impersonating" in m][-1]
    assert line.endswith(
        ' addedInfo="kubernetes-super-admin[system:masters,system:authenticated] '
        'is impersonating jane[dev,system:authenticated]"'
    ), line
    assert 'user="jane" groups=["dev","system:authenticated"] decision="forbid"' in line


# ----------------------------------------------------------- the tree's kubeconfigs, article step 6
def test_admin_conf_and_super_admin_conf_of_the_tree(lab, tmp_path):
    # The lab pointed the tree's kubeconfigs at its URL, so they work as on a node.
    for conf, groups in (
        ("admin.conf", ["kubeadm:cluster-admins", "system:authenticated"]),
        ("super-admin.conf", ["system:masters", "system:authenticated"]),
    ):
        cache = tmp_path / f"cache-{conf}"
        result = subprocess.run(
            ["kubectl", f"--kubeconfig={lab.directory / conf}", f"--cache-dir={cache}", "auth", "whoami", "-o", "json"],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout)["status"]["userInfo"]["groups"] == groups


@pytest.mark.skipif(shutil.which("cfssl") is None or shutil.which("cfssljson") is None, reason="needs cfssl")
def test_article_step_6_with_real_cfssl(lab, tmp_path):
    """The article's step 6, corrected: sign a system:masters user with the cluster's ca.key using cfssl."""
    shutil.copy(lab.directory / "pki/ca.crt", tmp_path / "k8s-rootCA.pem")
    shutil.copy(lab.directory / "pki/ca.key", tmp_path / "k8s-rootCA-key.pem")
    (tmp_path / "rootCA-config.json").write_text(
        json.dumps(
            {
                "signing": {
                    "default": {"expiry": "8760h"},
                    "profiles": {
                        "root-ca": {
                            "usages": ["signing", "key encipherment", "server auth", "client auth"],
                            "expiry": "8760h",
                        }
                    },
                }
            }
        )
    )
    (tmp_path / "k8s-new-client-csr.json").write_text(
        json.dumps({"CN": "k8s-new-client", "key": {"algo": "rsa", "size": 2048}, "names": [{"O": "system:masters"}]})
    )

    def sh(command):
        result = subprocess.run(command, shell=True, cwd=tmp_path, capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, (command, result.stdout, result.stderr)
        return result

    sh(
        "cfssl gencert -ca=k8s-rootCA.pem -ca-key=k8s-rootCA-key.pem -config=rootCA-config.json -profile=root-ca "
        "k8s-new-client-csr.json | cfssljson -bare k8s-new-client"
    )
    shutil.copy(lab.directory / "admin.conf", tmp_path / "kubeconfig")
    sh(
        "kubectl config --kubeconfig=kubeconfig set-credentials x509 --client-certificate=k8s-new-client.pem "
        "--client-key=k8s-new-client-key.pem"
    )
    sh("kubectl config --kubeconfig=kubeconfig set-context kubernetes-admin@kubernetes --user=x509")
    whoami = sh("kubectl --kubeconfig=kubeconfig --cache-dir=cache1 auth whoami").stdout.splitlines()
    assert whoami[1].split() == ["Username", "k8s-new-client"]
    assert whoami[2].split() == ["Groups", "[system:masters", "system:authenticated]"]
    pods = sh("kubectl --kubeconfig=kubeconfig --cache-dir=cache2 get pod -n kube-system").stdout
    assert f"kube-apiserver-{lab.node_name}" in pods
    api = sh(f"curl -sS --cacert k8s-rootCA.pem --cert k8s-new-client.pem --key k8s-new-client-key.pem {lab.url}/api")
    assert json.loads(api.stdout)["kind"] == "APIVersions"

    # The article as written signs with its own root CA's key: the API server answers 401.
    sh(
        'echo \'{"CN":"rootCA","key":{"algo":"rsa","size":2048},"names":[{"O":"Kubernetes"}]}\' '
        "> rootCA-csr.json && cfssl gencert -initca rootCA-csr.json | cfssljson -bare rootCA"
    )
    sh(
        "cfssl gencert -ca=rootCA.pem -ca-key=rootCA-key.pem -config=rootCA-config.json -profile=root-ca "
        "k8s-new-client-csr.json | cfssljson -bare wrong-ca-client"
    )
    sh(
        "kubectl config --kubeconfig=kubeconfig set-credentials x509 --client-certificate=wrong-ca-client.pem "
        "--client-key=wrong-ca-client-key.pem"
    )
    result = subprocess.run(
        "kubectl --kubeconfig=kubeconfig --cache-dir=cache3 auth whoami",
        shell=True,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (result.returncode, result.stderr.strip()) == (
        1,
        "error: You must be logged in to the server (Unauthorized)",
    )
    assert 'failed: x509: certificate signed by unknown authority]"' in lab.log_lines()[-2]
