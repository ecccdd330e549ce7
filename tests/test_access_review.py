"""k8sauthlib.why_allowed against the lab's RBAC authorizer: the binding named as the reason, no reason for
system:masters (allowed before RBAC), no reason for a denial, and a one-line error for an untrusted certificate."""

import pytest

import k8sauthlib as k8s
from k8sauthlib.kube.access import access_review_body


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    with k8s.LabServer(tmp_path_factory.mktemp("lab") / "kubernetes") as server:
        yield server


@pytest.fixture(scope="module")
def certs(lab, tmp_path_factory):
    directory = tmp_path_factory.mktemp("certs")
    ca = k8s.CA.load(lab.directory / "pki" / "ca.crt", lab.directory / "pki" / "ca.key")
    ca.issue_client_cert("kubernetes-admin", ["kubeadm:cluster-admins"], key="ecdsa-p256").write(directory / "admin")
    ca.issue_client_cert("masters", ["system:masters"], key="ecdsa-p256").write(directory / "masters")
    ca.issue_client_cert("nobody", ["dev"], key="ecdsa-p256").write(directory / "nobody")
    k8s.CA.create("otherCA").issue_client_cert("mallory").write(directory / "mallory")
    return directory


def ask(lab, certs, who, **request):
    return k8s.why_allowed(
        lab.url, ca=lab.directory / "pki" / "ca.crt", cert=certs / f"{who}.pem", key=certs / f"{who}-key.pem", **request
    )


def test_binding_is_the_reason(lab, certs):
    answer = ask(lab, certs, "admin", verb="list", resource="pods", namespace="kube-system")
    assert answer == (
        True,
        'RBAC: allowed by ClusterRoleBinding "kubeadm:cluster-admins" of ClusterRole '
        '"cluster-admin" to Group "kubeadm:cluster-admins"',
    )
    assert answer.allowed is True


def test_system_masters_has_no_reason(lab, certs):
    assert ask(lab, certs, "masters", verb="delete", resource="nodes") == (True, "")


def test_denied_has_no_reason(lab, certs):
    assert ask(lab, certs, "nobody", verb="list", resource="pods", namespace="default") == (False, "")


def test_untrusted_certificate_is_one_line_error(lab, certs):
    with pytest.raises(k8s.K8sAuthError, match=r"HTTP 401: Unauthorized"):
        ask(lab, certs, "mallory", verb="list", resource="pods")


def test_body_and_bad_input():
    body = access_review_body("get", "pods", namespace="default", name="web")
    assert body["spec"]["resourceAttributes"] == {
        "verb": "get",
        "resource": "pods",
        "namespace": "default",
        "name": "web",
    }
    assert "namespace" not in access_review_body("list", "nodes")["spec"]["resourceAttributes"]
    with pytest.raises(k8s.InputError, match="verb and a resource"):
        access_review_body("", "pods")
