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
    assert again.stat().st_mode & 0o777 == 0o755  # nginx workers (nobody) may enter
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
    cluster.stop()  # a no-op on a node


def test_lab_cluster_is_kubeadm_like_and_rbac_files_apply(tmp_path, monkeypatch):
    monkeypatch.delenv("K8SAUTH_MODE", raising=False)
    cluster = book.cluster(tmp_path, port=0)
    try:
        assert cluster.is_lab and cluster.running
        assert cluster.tree.root == tmp_path / "etc-kubernetes"
        from cryptography import x509

        san = cluster.tree.apiserver_cert().cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        assert "localhost" not in san.get_values_for_type(x509.DNSName)  # as on a kubeadm node

        jane = cluster.tree.ca().issue_client_cert("jane", ["dev"], key="ecdsa-p256")
        jane.write("jane", tmp_path)

        def can_list():
            return subprocess.run(
                [
                    "curl",
                    "-sS",
                    "--cacert",
                    str(cluster.tree.ca_crt),
                    "--cert",
                    str(tmp_path / "jane.pem"),
                    "--key",
                    str(tmp_path / "jane-key.pem"),
                    "-o",
                    "/dev/null",
                    "-w",
                    "%{http_code}",
                    cluster.url + "/api/v1/namespaces/default/pods",
                ],
                capture_output=True,
                text=True,
                timeout=30,
            ).stdout

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


# ------------------------------------------------------------------ reader's environment, safety
def test_clean_env_puts_the_interpreter_first_and_drops_the_readers_variables(monkeypatch, tmp_path):
    import os
    import sys
    from pathlib import Path

    bindir = str(Path(sys.executable).parent)
    monkeypatch.setenv("PATH", f"/usr/bin:{bindir}:/bin")
    for name in book.READER_VARIABLES:
        monkeypatch.setenv(name, "http://127.0.0.1:9")
    monkeypatch.setenv("SHELL", "/usr/bin/fish")
    book.clean_env(tmp_path)
    # the interpreter first and once; Debian's sbin directories (nginx) last, for a normal user
    assert os.environ["PATH"].split(os.pathsep) == [bindir, "/usr/bin", "/bin", "/usr/local/sbin", "/usr/sbin", "/sbin"]
    assert os.environ["KUBECONFIG"] == os.devnull
    assert os.environ["KUBECACHEDIR"] == str(tmp_path / ".kube-cache")
    assert not (set(book.READER_VARIABLES) - {"KUBECONFIG"}) & set(os.environ)
    assert os.environ["SHELL"] == "/bin/sh"  # IPython's '!' runs $SHELL -c


def test_remove_private_files_takes_keys_and_key_holding_kubeconfigs_only(tmp_path):
    ca = k8s.CA.create("book-ca", key="ecdsa-p256")
    ca.write("k8s-rootCA", tmp_path)  # a copy of ca.key
    alice = ca.issue_client_cert("alice", ["dev"], key="ecdsa-p256")
    (tmp_path / "lib").mkdir()
    alice.write("alice", tmp_path / "lib")
    import base64

    k8s.atomic_write(
        tmp_path / "jane.conf",
        (
            "apiVersion: v1\nkind: Config\nusers:\n- name: jane\n  user:\n"
            f"    client-certificate-data: {base64.b64encode(alice.cert_pem).decode()}\n"
            f"    client-key-data: {base64.b64encode(alice.key_pem).decode()}\n"
        ).encode(),
        mode=0o600,
    )
    (tmp_path / "notes.txt").write_text("client-certificate-data only\n")
    lab_tree = k8s.KubeadmTree.create_lab(tmp_path / "etc-kubernetes", key="ecdsa-p256")
    removed = book.remove_private_files(tmp_path)
    assert removed == ["jane.conf", "k8s-rootCA-key.pem", "lib/alice-key.pem"]
    assert (tmp_path / "k8s-rootCA.pem").exists() and (tmp_path / "lib" / "alice.pem").exists()
    assert (tmp_path / "notes.txt").exists() and lab_tree.ca_key.exists()  # the lab's tree stays
    assert book.remove_private_files(tmp_path) == []


def test_cluster_version_is_read_from_the_server_with_the_trees_ca(tmp_path, monkeypatch):
    """kubeadm mode's code path: a Cluster without a lab asks /version at its URL, verified with pki/ca.crt."""
    monkeypatch.delenv("K8SAUTH_MODE", raising=False)
    monkeypatch.delenv("K8SAUTH_LAB_VERSION", raising=False)
    lab = book.cluster(tmp_path, port=0)
    try:
        node = book.Cluster(lab.tree, lab.url)  # as kubeadm mode builds it: no lab attached
        assert not node.is_lab and node.version == (1, 32)
        stranger = k8s.KubeadmTree.create_lab(tmp_path / "other-tree", key="ecdsa-p256")
        import ssl

        with pytest.raises(ssl.SSLCertVerificationError):
            _ = book.Cluster(stranger, lab.url).version  # another cluster's CA: not trusted
    finally:
        lab.stop()


def test_kubectl_refuses_flags_over_an_embedded_credential_and_both_fixes_work(tmp_path, monkeypatch):
    """Chapter 06's claim, measured with the real kubectl on PATH (<= 1.34 here)."""
    import os

    monkeypatch.delenv("K8SAUTH_MODE", raising=False)
    monkeypatch.delenv("K8SAUTH_LAB_VERSION", raising=False)
    cluster = book.cluster(tmp_path, port=0)
    try:
        cluster.tree.ca().issue_client_cert("jane", ["dev"], key="ecdsa-p256", validity=book.SHORT_LIVED).write(
            "jane", tmp_path
        )
        default = tmp_path / "node-kube-config"
        k8s.atomic_write(default, cluster.tree.read_bytes(cluster.tree.admin_conf), mode=0o600)
        env = dict(os.environ, KUBECONFIG=str(default), KUBECACHEDIR=str(tmp_path / "cache"))
        flags = [f"--client-certificate={tmp_path / 'jane.pem'}", f"--client-key={tmp_path / 'jane-key.pem'}"]
        r = subprocess.run(["kubectl", *flags, "auth", "whoami"], env=env, capture_output=True, text=True, timeout=60)
        assert r.returncode == 1 and r.stderr.startswith(
            "Error in configuration: \n* client-cert-data and client-cert are both specified for kubernetes-admin."
        ), r
        fixed = [
            "kubectl",
            "--kubeconfig=/dev/null",
            f"--server={cluster.url}",
            f"--certificate-authority={cluster.tree.ca_crt}",
            *flags,
            "auth",
            "whoami",
            "-o",
            "jsonpath={.status.userInfo.username}",
        ]
        r = subprocess.run(fixed, env=env, capture_output=True, text=True, timeout=60)
        assert (r.returncode, r.stdout) == (0, "jane"), r
    finally:
        cluster.stop()


def test_plain_strips_kubectl_colour_codes():
    coloured = "\x1b[0;32mKubernetes control plane\x1b[0m is running at \x1b[0;33mhttps://127.0.0.1:6443\x1b[0m"
    assert book.plain(coloured) == "Kubernetes control plane is running at https://127.0.0.1:6443"
    assert book.plain("no codes") == "no codes"
    assert book.KUBECTL_UNAUTHORIZED[0].endswith("(Unauthorized)")
