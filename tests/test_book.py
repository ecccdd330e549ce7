"""The notebooks' one place for mode, work directory and cluster (k8sauthlib.book)."""

import subprocess

import pytest

import k8sauthlib as k8s
from k8sauthlib import book


def test_mode_defaults_to_lab_and_rejects_typos(monkeypatch):
    monkeypatch.delenv("K8SAUTH_MODE", raising=False)
    assert book.mode() == "lab"
    monkeypatch.setenv("K8SAUTH_MODE", "KubeADM")
    assert book.mode() == "kubeadm"
    monkeypatch.setenv("K8SAUTH_MODE", "labb")
    with pytest.raises(ValueError, match="'lab' \\(default\\) or 'kubeadm'"):
        book.mode()


def test_workdir_is_fresh_private_to_the_chapter_and_becomes_cwd(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    first = book.workdir("02_issue_certs", base=tmp_path / "work")
    (first / "leftover.pem").write_text("x")
    again = book.workdir("02_issue_certs", base=tmp_path / "work")
    assert again == first and not (first / "leftover.pem").exists()
    assert again.stat().st_mode & 0o777 == 0o755     # nginx workers (nobody) may enter
    import os
    assert os.getcwd() == str(first)
    for bad in ("", "../x", ".hidden"):
        with pytest.raises(ValueError):
            book.workdir(bad, base=tmp_path)


def test_kubeadm_mode_without_a_node_says_what_is_missing(monkeypatch, tmp_path):
    monkeypatch.setenv("K8SAUTH_MODE", "kubeadm")
    monkeypatch.setattr(book, "KUBEADM_ROOT", tmp_path / "etc-kubernetes")
    with pytest.raises(k8s.InputError, match="unset K8SAUTH_MODE to use the local lab"):
        book.cluster(tmp_path)


def test_kubeadm_mode_uses_the_node_tree_and_starts_no_lab(monkeypatch, tmp_path):
    # a directory laid out like /etc/kubernetes stands in for the node
    node = k8s.KubeadmTree.create_lab(tmp_path / "etc-kubernetes", key="ecdsa-p256")
    monkeypatch.setenv("K8SAUTH_MODE", "kubeadm")
    monkeypatch.setattr(book, "KUBEADM_ROOT", node.root)
    cluster = book.cluster(tmp_path)
    assert not cluster.is_lab and cluster.lab is None and cluster.running
    assert cluster.tree.root == node.root
    flags = node.apiserver_flags()
    assert cluster.url == f"https://{flags['advertise-address']}:{flags['secure-port']}"
    cluster.stop()   # a no-op on a node


def test_lab_cluster_is_kubeadm_like_and_rbac_files_apply(tmp_path, monkeypatch):
    monkeypatch.delenv("K8SAUTH_MODE", raising=False)
    cluster = book.cluster(tmp_path, port=0)
    try:
        assert cluster.is_lab and cluster.running
        assert cluster.tree.root == tmp_path / "etc-kubernetes"
        from cryptography import x509
        san = cluster.tree.apiserver_cert().cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        assert "localhost" not in san.get_values_for_type(x509.DNSName)   # as on a kubeadm node

        jane = cluster.tree.ca().issue_client_cert("jane", ["dev"], key="ecdsa-p256")
        jane.write("jane", tmp_path)

        def can_list():
            return subprocess.run(
                ["curl", "-sS", "--cacert", str(cluster.tree.ca_crt), "--cert", str(tmp_path / "jane.pem"),
                 "--key", str(tmp_path / "jane-key.pem"), "-o", "/dev/null", "-w", "%{http_code}",
                 cluster.url + "/api/v1/namespaces/default/pods"], capture_output=True, text=True, timeout=30).stdout

        assert can_list() == "403"
        rbac = tmp_path / "dev-pods.yaml"
        rbac.write_text("""apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: pod-reader, namespace: default}
rules: [{apiGroups: [""], resources: [pods], verbs: [get, list]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: dev-pod-reader, namespace: default}
subjects: [{kind: Group, name: dev, apiGroup: rbac.authorization.k8s.io}]
roleRef: {kind: Role, name: pod-reader, apiGroup: rbac.authorization.k8s.io}
""")
        assert "rolebinding.rbac.authorization.k8s.io/dev-pod-reader" in cluster.apply(rbac)
        assert can_list() == "200"
        cluster.delete(rbac)
        assert can_list() == "403"
        assert any("jane" in line for line in cluster.log_lines("jane"))
    finally:
        cluster.stop()
    assert not cluster.running


def test_sudo_prefix_for_a_non_root_reader_on_a_node_keeps_path(monkeypatch, tmp_path):
    node = k8s.KubeadmTree.create_lab(tmp_path / "etc-kubernetes", key="ecdsa-p256")
    cluster = book.Cluster(node, "https://127.0.0.1:6443")
    monkeypatch.setattr(book.os, "geteuid", lambda: 1000)
    monkeypatch.setenv("PATH", "/opt/venv with space/bin:/usr/bin")
    import shlex
    assert shlex.split(cluster.sudo) == ["sudo", "-n", "env", "PATH=/opt/venv with space/bin:/usr/bin"]
    monkeypatch.setattr(book.os, "geteuid", lambda: 0)
    assert cluster.sudo == ""
