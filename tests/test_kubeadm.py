"""KubeadmTree: the lab tree against kubeadm's defaults, the root-only (sudo) code path of a real
node, flags from the static Pod manifest, and the tree served by the lab to the real kubectl."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import textwrap
from datetime import timedelta
from pathlib import Path

import pytest
import yaml
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID

import k8sauthlib as k8s
from k8sauthlib.errors import PrivilegedReadError
from k8sauthlib.kube.kubeadm import KubeadmTree
from k8sauthlib.kube.kubeconfig import Kubeconfig
from k8sauthlib.kube.node import sudo_cat
from k8sauthlib.kube.user import kubeconfig_for_user
from k8sauthlib.kube.user import main as kubeconfig_main
from k8sauthlib.lab import read_manifest_flags

REPO = Path(__file__).resolve().parents[1]


from test_kubeconfig import kubectl  # noqa: E402  (the real kubectl, a cache dir per test)


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    """One lab tree with kubeadm's defaults (RSA-2048), shared by the read-only tests."""
    return KubeadmTree.create_lab(tmp_path_factory.mktemp("kubeadm") / "etc-kubernetes")


def _ext(cert, cls):
    return cert.extensions.get_extension_for_class(cls)


def _mode(path):
    return stat.S_IMODE(path.stat().st_mode)


# ------------------------------------------------------------------------------- the layout
def test_lab_tree_has_kubeadms_files_and_modes(tree):
    assert tree.exists()
    for path in (
        tree.ca_key,
        tree.apiserver_key,
        tree.admin_conf,
        tree.super_admin_conf,
        *(tree.manifest(c) for c in ("kube-apiserver", "etcd", "kube-controller-manager", "kube-scheduler")),
    ):
        assert _mode(path) == 0o600, path
    for path in (tree.ca_crt, tree.apiserver_crt):
        assert _mode(path) == 0o644, path
    assert _mode(tree.manifests_dir) == 0o700
    assert tree.rbac_dir.is_dir() and list(tree.rbac_dir.iterdir()) == []
    assert tree.ca_key.read_bytes().startswith(b"-----BEGIN RSA PRIVATE KEY-----\n")
    assert tree.apiserver_key.read_bytes().startswith(b"-----BEGIN RSA PRIVATE KEY-----\n")


def test_ca_has_kubeadms_profile(tree):
    ca = tree.ca()
    cert = ca.cert
    assert ca.common_name == "kubernetes" and ca.organizations == []
    assert cert.issuer == cert.subject
    assert timedelta(days=3649) < ca.not_after - ca.not_before <= timedelta(days=3650, minutes=6)
    bc = _ext(cert, x509.BasicConstraints)
    assert bc.critical and bc.value.ca
    ku = _ext(cert, x509.KeyUsage)
    assert ku.critical
    assert ku.value.digital_signature and ku.value.key_encipherment and ku.value.key_cert_sign
    assert not ku.value.crl_sign
    assert _ext(cert, x509.SubjectAlternativeName).value.get_values_for_type(x509.DNSName) == ["kubernetes"]
    with pytest.raises(x509.ExtensionNotFound):
        _ext(cert, x509.ExtendedKeyUsage)


def test_apiserver_cert_has_kubeadms_sans_and_serves_them(tree):
    server = tree.apiserver_cert()
    cert = server.cert
    assert server.common_name == "kube-apiserver"
    san = _ext(cert, x509.SubjectAlternativeName).value
    # sorted, as kubeadm writes them (v1.28 pkiutil.RemoveDuplicateAltNames); IPs in kubeadm's order
    assert san.get_values_for_type(x509.DNSName) == [
        "kubernetes",
        "kubernetes.default",
        "kubernetes.default.svc",
        "kubernetes.default.svc.cluster.local",
        "lab-control-plane",
    ]
    assert [str(ip) for ip in san.get_values_for_type(x509.IPAddress)] == ["10.96.0.1", "127.0.0.1"]
    assert list(_ext(cert, x509.ExtendedKeyUsage).value) == [ExtendedKeyUsageOID.SERVER_AUTH]
    assert timedelta(days=364) < server.not_after - server.not_before <= timedelta(days=365, minutes=6)
    ca = tree.ca_cert().cert
    for host in ("kubernetes.default.svc", "127.0.0.1", "lab-control-plane"):
        assert k8s.verify_chain(cert, [ca], purpose="server", hostname=host)
    for host in ("example.com", "localhost"):  # kubeadm never adds localhost
        with pytest.raises(k8s.VerificationError):
            k8s.verify_chain(cert, [ca], purpose="server", hostname=host)
    assert tree.node_name == "lab-control-plane"
    k8s.Cert.load(tree.apiserver_crt, tree.apiserver_key)  # key matches


def test_node_name_comes_from_kubelet_conf_where_kubeadm_init_wrote_it(tree, tmp_path):
    """kubeadm sorts the API server certificate's DNS SANs, so a certSANs name may sort before the
    node's; kubelet.conf's user (system:node:<name>) says which node this is. A kubelet-written
    kubelet.conf (user default-auth, a joined node) falls back to the certificate."""
    node = KubeadmTree(tmp_path / "node")
    shutil.copytree(tree.root, node.root)

    def kubelet_conf(user):
        conf = {
            "apiVersion": "v1",
            "kind": "Config",
            "current-context": f"{user}@kubernetes",
            "clusters": [{"name": "kubernetes", "cluster": {"server": "https://10.0.0.5:6443"}}],
            "users": [
                {"name": user, "user": {"client-certificate": "/var/lib/kubelet/pki/kubelet-client-current.pem"}}
            ],
            "contexts": [{"name": f"{user}@kubernetes", "context": {"cluster": "kubernetes", "user": user}}],
        }
        (node.root / "kubelet.conf").write_text(yaml.safe_dump(conf))

    kubelet_conf("system:node:cp-1")
    assert node.node_name == "cp-1"
    kubelet_conf("default-auth")
    assert node.node_name == "lab-control-plane"
    (node.root / "kubelet.conf").write_text("not: [a kubeconfig")
    assert node.node_name == "lab-control-plane"


@pytest.mark.parametrize(
    "super_admin, user, group",
    [
        (False, "kubernetes-admin", "kubeadm:cluster-admins"),
        (True, "kubernetes-super-admin", "system:masters"),
    ],
)
def test_admin_kubeconfigs_carry_kubeadms_identities(tree, super_admin, user, group):
    kc = tree.admin_kubeconfig(super_admin=super_admin)
    assert kc.current_context == f"{user}@kubernetes"
    assert kc.current_user() == user and kc.current_cluster() == "kubernetes"
    assert kc.server == "https://127.0.0.1:6443"
    assert kc.clusters["kubernetes"]["certificate-authority-data"] == tree.ca_crt.read_bytes()
    entry = kc.users[user]
    assert sorted(entry) == ["client-certificate-data", "client-key-data"]
    cert = k8s.Cert.from_pem(entry["client-certificate-data"], entry["client-key-data"])
    assert cert.common_name == user and cert.organizations == [group]
    assert cert.identity.groups[:1] == (group,)
    assert list(_ext(cert.cert, x509.ExtendedKeyUsage).value) == [ExtendedKeyUsageOID.CLIENT_AUTH]
    assert k8s.verify_chain(cert.cert, [tree.ca_cert().cert], purpose="client")


def test_admin_conf_is_byte_for_byte_what_kubectl_writes(tree, tmp_path):
    # Rebuild admin.conf with the real kubectl from its own parts; kubeadm writes it through the
    # same clientcmd.Write, so the two must be identical.
    files = tree.extract_admin_client(tmp_path)
    shutil.copy(tree.ca_crt, tmp_path / "ca.crt")
    k = ["--kubeconfig=rebuilt", "config"]
    kubectl(
        tmp_path,
        *k,
        "set-cluster",
        "kubernetes",
        "--server=https://127.0.0.1:6443",
        "--certificate-authority=ca.crt",
        "--embed-certs",
        cwd=tmp_path,
    )
    kubectl(
        tmp_path,
        *k,
        "set-credentials",
        "kubernetes-admin",
        f"--client-certificate={files.cert}",
        f"--client-key={files.key}",
        "--embed-certs",
        cwd=tmp_path,
    )
    kubectl(
        tmp_path,
        *k,
        "set-context",
        "kubernetes-admin@kubernetes",
        "--cluster=kubernetes",
        "--user=kubernetes-admin",
        cwd=tmp_path,
    )
    kubectl(tmp_path, *k, "use-context", "kubernetes-admin@kubernetes", cwd=tmp_path)
    assert (tmp_path / "rebuilt").read_bytes() == tree.admin_conf.read_bytes()


def test_ecdsa_lab_writes_ec_private_keys(tmp_path):
    tree = KubeadmTree.create_lab(tmp_path / "lab", key="ECDSA-P256")
    assert tree.ca_key.read_bytes().startswith(b"-----BEGIN EC PRIVATE KEY-----\n")
    assert tree.apiserver_key.read_bytes().startswith(b"-----BEGIN EC PRIVATE KEY-----\n")
    entry = tree.admin_kubeconfig().users["kubernetes-admin"]
    assert entry["client-key-data"].startswith(b"-----BEGIN EC PRIVATE KEY-----\n")
    assert tree.ca().describe().public_key == "ECDSA P-256"


# ------------------------------------------------------------------------- reuse and repair
def test_create_lab_twice_keeps_the_ca_and_every_file(tmp_path):
    root = tmp_path / "lab"
    KubeadmTree.create_lab(root, key="ecdsa-p256")
    before = {p: p.read_bytes() for p in root.rglob("*") if p.is_file()}
    tree = KubeadmTree.create_lab(root, key="ecdsa-p256")
    assert {p: p.read_bytes() for p in root.rglob("*") if p.is_file()} == before
    # A lost admin.conf and server certificate come back, signed by the same CA.
    ca_fingerprint = tree.ca().fingerprint_sha256
    for path in (tree.admin_conf, tree.apiserver_crt, tree.apiserver_key):
        path.unlink()
    tree = KubeadmTree.create_lab(root, key="ecdsa-p256")
    assert tree.ca().fingerprint_sha256 == ca_fingerprint
    assert tree.ca_key.read_bytes() == before[tree.ca_key]
    admin = tree.admin_kubeconfig().users["kubernetes-admin"]["client-certificate-data"]
    assert k8s.verify_chain(k8s.load_cert(admin), [tree.ca_cert().cert], purpose="client")
    assert tree.apiserver_crt.read_bytes() != before[tree.apiserver_crt]


def test_certificates_of_a_replaced_ca_are_refused(tmp_path):
    root = tmp_path / "lab"
    tree = KubeadmTree.create_lab(root, key="ecdsa-p256")
    tree.ca_crt.unlink()
    with pytest.raises(k8s.InputError, match="exists without its other half"):
        KubeadmTree.create_lab(root, key="ecdsa-p256")
    tree.ca_key.unlink()
    with pytest.raises(k8s.InputError, match=r"apiserver.crt was not signed by .*ca.crt"):
        KubeadmTree.create_lab(root, key="ecdsa-p256")


# --------------------------------------------------------------------------- the manifests
def test_apiserver_flags_come_from_the_static_pod_manifest(tree, tmp_path):
    flags = tree.apiserver_flags()
    assert flags["client-ca-file"] == "/etc/kubernetes/pki/ca.crt"
    assert flags["tls-cert-file"] == "/etc/kubernetes/pki/apiserver.crt"
    assert flags["secure-port"] == "6443" and tree.secure_port == 6443
    assert flags["authorization-mode"] == "Node,RBAC"
    assert "anonymous-auth" not in flags  # kubeadm leaves the default (true)
    assert tree.apiserver_file("client-ca-file") == tree.ca_crt
    assert tree.apiserver_file("--tls-private-key-file") == tree.apiserver_key
    # The lab's own reader agrees.
    assert read_manifest_flags(tree.apiserver_manifest) == flags


def test_editing_the_manifest_changes_the_flags(tmp_path, tree):
    copy = KubeadmTree(tmp_path / "copy")
    shutil.copytree(tree.root, copy.root)
    doc = yaml.safe_load(copy.apiserver_manifest.read_text())
    command = doc["spec"]["containers"][0]["command"]
    command += ["--anonymous-auth=false", "--v", "--secure-port=7443"]
    copy.apiserver_manifest.write_text(yaml.safe_dump(doc))
    flags = copy.apiserver_flags()
    assert flags["anonymous-auth"] == "false"
    assert flags["v"] == "true"  # a bare flag, as pflag reads a boolean
    assert flags["secure-port"] == "7443"  # the last occurrence wins
    assert copy.apiserver_file("client-ca-file") == copy.ca_crt


def test_static_pods_look_like_kubeadms(tree):
    names = {}
    for path in sorted(tree.manifests_dir.glob("*.yaml")):
        doc = yaml.safe_load(path.read_text())
        assert doc["apiVersion"] == "v1" and doc["kind"] == "Pod"
        meta = doc["metadata"]
        assert meta["namespace"] == "kube-system" and meta["labels"] == {
            "component": meta["name"],
            "tier": "control-plane",
        }
        container = doc["spec"]["containers"][0]
        assert container["command"][0] == meta["name"]
        assert doc["spec"]["priorityClassName"] == "system-node-critical" and doc["spec"]["hostNetwork"] is True
        names[path.name] = container["image"]
    assert names == {
        "etcd.yaml": "registry.k8s.io/etcd:3.5.16-0",
        "kube-apiserver.yaml": "registry.k8s.io/kube-apiserver:v1.32.3",
        "kube-controller-manager.yaml": "registry.k8s.io/kube-controller-manager:v1.32.3",
        "kube-scheduler.yaml": "registry.k8s.io/kube-scheduler:v1.32.3",
    }
    flags = tree.component_flags("kube-controller-manager")
    assert flags["cluster-signing-key-file"] == "/etc/kubernetes/pki/ca.key"


def test_manifest_problems_are_clear(tmp_path):
    tree = KubeadmTree(tmp_path)
    with pytest.raises(k8s.InputError, match="kube-apiserver.yaml does not exist"):
        tree.apiserver_flags()
    tree.manifests_dir.mkdir()
    tree.apiserver_manifest.write_text("spec: [unclosed\n")
    with pytest.raises(k8s.InputError, match="not valid YAML"):
        tree.apiserver_flags()
    tree.apiserver_manifest.write_text("kind: Deployment\n")
    with pytest.raises(k8s.InputError, match="not a Pod manifest"):
        tree.apiserver_flags()


@pytest.mark.skipif(Path("/etc/kubernetes/manifests").exists(), reason="this machine is a kubeadm node")
def test_default_tree_on_a_machine_without_kubeadm():
    with pytest.raises(k8s.InputError, match="kubeadm init creates it"):
        KubeadmTree().apiserver_flags()


# ---------------------------------------------------------------------------- extracting
def test_extract_admin_client_equals_the_articles_shell_pipeline(tree, tmp_path):
    files = tree.extract_admin_client(tmp_path)
    assert files.cert == tmp_path / "k8s-client.pem" and files.key == tmp_path / "k8s-client-key.pem"
    assert _mode(files.key) == 0o600
    for field, path in (("client-certificate-data", files.cert), ("client-key-data", files.key)):
        shell = subprocess.run(
            ["bash", "-c", f"grep {field} '{tree.admin_conf}' | awk '{{print $2}}' | base64 -d"],
            capture_output=True,
            check=True,
        )
        assert path.read_bytes() == shell.stdout
    assert k8s.Cert.load(files.cert, files.key).common_name == "kubernetes-admin"


def test_copy_ca_and_apiserver_give_the_articles_files(tree, tmp_path):
    ca = tree.copy_ca(tmp_path, with_key=True)
    server = tree.copy_apiserver(tmp_path)
    assert (ca.cert.name, ca.key.name) == ("k8s-rootCA.pem", "k8s-rootCA-key.pem")
    assert (server.cert.name, server.key.name) == ("k8s-server.pem", "k8s-server-key.pem")
    assert ca.key.read_bytes() == tree.ca_key.read_bytes() and _mode(ca.key) == 0o600
    assert server.cert.read_bytes() == tree.apiserver_crt.read_bytes()
    assert tree.copy_ca(tmp_path / ".", prefix="only-cert").key is None


def test_kubeconfig_user_signed_by_the_trees_ca(tree, tmp_path, capsys):
    kc = kubeconfig_for_user(tree.pki_dir, "alice", ["developers"], "24h", server="https://127.0.0.1:6443")
    entry = kc.users["alice"]
    cert = k8s.Cert.from_pem(entry["client-certificate-data"], entry["client-key-data"])
    assert (cert.common_name, cert.organizations) == ("alice", ["developers"])
    assert k8s.verify_chain(cert.cert, [tree.ca_cert().cert], purpose="client")
    assert timedelta(hours=24) <= cert.not_after - cert.not_before <= timedelta(hours=24, minutes=6)
    assert (
        kubeconfig_main(
            ["user", "--client-name", "bob", "--cert-dir", str(tree.pki_dir), "--server", "https://127.0.0.1:6443"]
        )
        == 0
    )
    printed = Kubeconfig.from_yaml(capsys.readouterr().out)
    bob = k8s.load_cert(printed.users["bob"]["client-certificate-data"])
    assert timedelta(days=365) <= bob.not_valid_after_utc - bob.not_valid_before_utc <= timedelta(days=365, minutes=6)


def test_set_server_rewrites_both_kubeconfigs(tmp_path, tree):
    copy = KubeadmTree(tmp_path / "copy")
    shutil.copytree(tree.root, copy.root)
    changed = copy.set_server("https://127.0.0.1:16443")
    assert changed == [copy.admin_conf, copy.super_admin_conf]
    for path in changed:
        assert _mode(path) == 0o600
        server = kubectl(
            tmp_path,
            f"--kubeconfig={path}",
            "config",
            "view",
            "--minify",
            "-o",
            "jsonpath={.clusters[0].cluster.server}",
        ).stdout
        assert server == "https://127.0.0.1:16443"
    assert copy.set_server("https://127.0.0.1:16443") == []
    # Nothing else changed: same user, same embedded data.
    assert copy.admin_kubeconfig().users == tree.admin_kubeconfig().users


# ---------------------------------------------------------- root-only files on a real node
def _root_only_reader(path):
    """Read as a non-root process would: files without read permission for others are refused.

    Tests run as root, which reads everything; this reader restores the check a normal user's
    process gets from the kernel, so that the sudo branch runs.
    """
    if not path.stat().st_mode & stat.S_IROTH:
        raise PermissionError(13, "Permission denied", str(path))
    return path.read_bytes()


def test_root_only_files_go_through_the_privileged_reader(tree):
    calls = []

    def privileged(path):
        calls.append(path.name)
        return path.read_bytes()

    node = KubeadmTree(tree.root, reader=_root_only_reader, privileged_reader=privileged)
    assert node.ca_cert().common_name == "kubernetes"
    assert calls == []  # ca.crt is world-readable
    assert node.ca().common_name == "kubernetes"  # ca.key is not
    assert calls == ["ca.key"]
    assert node.apiserver_flags()["secure-port"] == "6443"  # nor are the manifests
    assert node.admin_kubeconfig().current_user() == "kubernetes-admin"
    assert calls == ["ca.key", "kube-apiserver.yaml", "admin.conf"]


def test_root_only_file_with_the_real_sudo_command(tree):
    node = KubeadmTree(tree.root, reader=_root_only_reader)
    if shutil.which("sudo") is None:
        with pytest.raises(PrivilegedReadError, match="sudo is not installed here") as info:
            node.ca()
        assert "run this as root" in str(info.value) and "apt-get install sudo" in str(info.value)
    else:  # we are root, so `sudo -n cat` succeeds
        assert node.ca().common_name == "kubernetes"


def _fake_sudo(tmp_path, stderr, rc=1):
    """A stand-in for sudo that fails the way the real one does (message text from sudo 1.9)."""
    script = tmp_path / "sudo"
    script.write_text(f"#!/bin/sh\necho '{stderr}' >&2\nexit {rc}\n")
    script.chmod(0o755)
    return str(script)


@pytest.mark.parametrize(
    "stderr, advice",
    [
        ("sudo: a password is required", "Run 'sudo -v' in a terminal first"),
        ("nobody is not in the sudoers file.", "may not use sudo"),
    ],
)
def test_sudo_refusals_become_advice(tmp_path, tree, stderr, advice):
    with pytest.raises(PrivilegedReadError, match=advice) as info:
        sudo_cat(tree.ca_key, sudo=(_fake_sudo(tmp_path, stderr), "-n"))
    assert str(tree.ca_key) in str(info.value)


def _setpriv():
    exe = shutil.which("setpriv")
    if exe is None:
        pytest.skip("setpriv (util-linux) is not installed")
    return [exe, "--reuid=65534", "--regid=65534", "--clear-groups"]


def test_node_layout_read_by_an_unprivileged_user(tree, tmp_path):
    """The kubeadm-VM code path for real: a non-root process against root-only files."""
    node_root = Path(tempfile.mkdtemp(prefix="k8sauth-node-"))
    try:
        node_root.chmod(0o755)
        shutil.copytree(tree.root, node_root / "etc-kubernetes")
        fakebin = node_root / "bin"
        fakebin.mkdir()
        fakebin.chmod(0o755)
        _fake_sudo(fakebin, "sudo: a password is required")
        script = textwrap.dedent(f"""
            import json, sys
            from k8sauthlib.kube.kubeadm import KubeadmTree
            tree = KubeadmTree({str(node_root / "etc-kubernetes")!r})
            out = {{"crt": tree.ca_cert().common_name}}
            for name, call in (("flags", tree.apiserver_flags), ("ca", tree.ca), ("admin", tree.admin_kubeconfig)):
                try:
                    call()
                    out[name] = "read"
                except Exception as exc:
                    out[name] = type(exc).__name__ + ": " + str(exc)
            print(json.dumps(out))
        """)
        base = _setpriv() + [sys.executable, "-c", script]
        env = {"PYTHONPATH": str(REPO), "HOME": "/nonexistent"}
        probe = subprocess.run(
            _setpriv() + [sys.executable, "-c", "import k8sauthlib.kube.kubeadm"],
            capture_output=True,
            text=True,
            env={**env, "PATH": "/usr/bin:/bin"},
        )
        if probe.returncode != 0:
            pytest.skip(f"this Python cannot run as nobody here: {probe.stderr.strip()[-200:]}")
        # Without sudo on PATH (the real situation on this machine when sudo is absent).
        no_sudo = subprocess.run(
            base, capture_output=True, text=True, timeout=60, env={**env, "PATH": str(node_root / "empty")}
        )
        assert no_sudo.returncode == 0, no_sudo.stderr
        result = json.loads(no_sudo.stdout)
        assert result["crt"] == "kubernetes"  # pki/ca.crt is world-readable
        for name in ("flags", "ca", "admin"):
            assert result[name].startswith("PrivilegedReadError: cannot read "), result
            assert "sudo is not installed here" in result[name]
        assert "kube-apiserver.yaml" in result["flags"] and "ca.key" in result["ca"]
        # With a sudo that wants a password (sudo -n cannot ask for it).
        with_sudo = subprocess.run(
            base, capture_output=True, text=True, timeout=60, env={**env, "PATH": f"{fakebin}:/usr/bin:/bin"}
        )
        result = json.loads(with_sudo.stdout)
        assert "sudo needs a password" in result["ca"] and "sudo -v" in result["ca"]
    finally:
        shutil.rmtree(node_root)


# ------------------------------------------------------------------------- served by the lab
def test_lab_serves_the_tree_to_kubectl_with_admin_conf(tmp_path):
    tree = KubeadmTree.create_lab(tmp_path / "lab", key="ecdsa-p256")
    with k8s.LabServer(tree.root) as lab:
        admin = tree.admin_kubeconfig(server=lab.url).write(tmp_path / "admin.kubeconfig")
        whoami = kubectl(tmp_path, f"--kubeconfig={admin}", "auth", "whoami", "-o", "json").stdout
        info = json.loads(whoami)["status"]["userInfo"]
        assert info["username"] == "kubernetes-admin"
        assert info["groups"] == ["kubeadm:cluster-admins", "system:authenticated"]
        # A user made like `kubeadm kubeconfig user`, in a group nothing is bound to.
        kc = kubeconfig_for_user(tree.pki_dir, "alice", ["developers"], "1h", server=lab.url)
        alice = kc.write(tmp_path / "alice.kubeconfig")
        denied = kubectl(tmp_path, f"--kubeconfig={alice}", "get", "pods", "-n", "kube-system", check=False)
        assert denied.returncode == 1
        assert (
            'pods is forbidden: User "alice" cannot list resource "pods" in API group "" in the namespace "kube-system"'
        ) in denied.stderr


def test_articles_step_6_kubeconfig_matches_kubectl(tree, tmp_path, monkeypatch):
    # Section 6: copy admin.conf to $HOME/kubeconfig, add the new user by file paths, point the
    # admin context at it. kubectl and the library, each on its own copy, end with the same bytes.
    ca = tree.ca()
    monkeypatch.chdir(tmp_path)
    ca.issue_client_cert("k8s-new-client", ["system:masters"]).write("k8s-new-client", tmp_path)
    home = tmp_path / "home"
    home.mkdir()
    theirs, ours = home / "kubeconfig-kubectl", home / "kubeconfig"
    shutil.copy(tree.admin_conf, theirs)
    k = [f"--kubeconfig={theirs}", "config"]
    kubectl(
        tmp_path,
        *k,
        "set-credentials",
        "x509",
        "--client-certificate=k8s-new-client.pem",
        "--client-key=k8s-new-client-key.pem",
        cwd=tmp_path,
    )
    kubectl(tmp_path, *k, "set-context", "kubernetes-admin@kubernetes", "--user=x509", cwd=tmp_path)
    shutil.copy(tree.admin_conf, ours)
    kc = Kubeconfig.load(ours)
    kc.set_credentials("x509", client_certificate="k8s-new-client.pem", client_key="k8s-new-client-key.pem")
    kc.set_context("kubernetes-admin@kubernetes", user="x509")
    kc.write()
    assert ours.read_bytes() == theirs.read_bytes()
    assert f"client-certificate: {tmp_path}/k8s-new-client.pem\n" in ours.read_text()  # absolute: needs ".."
    assert kc.view() == kubectl(tmp_path, f"--kubeconfig={theirs}", "config", "view").stdout


def test_full_pki_has_every_file_the_manifests_name(tmp_path):
    tree = KubeadmTree.create_lab(tmp_path / "lab", key="ecdsa-p256", full_pki=True)
    for component in ("kube-apiserver", "kube-controller-manager", "etcd"):
        for flag, value in tree.component_flags(component).items():
            if value.startswith("/etc/kubernetes/") and (
                flag.endswith("file") or "kubeconfig" in flag or flag.endswith(("certificate", "key"))
            ):
                assert tree.map_path(value).is_file(), (component, flag, value)
    issuers = {
        "ca": tree.ca_cert().cert,
        "front-proxy-ca": k8s.load_cert(tree.pki_dir / "front-proxy-ca.crt"),
        "etcd/ca": k8s.load_cert(tree.pki_dir / "etcd/ca.crt"),
    }
    for name, issuer, purpose in (
        ("apiserver-kubelet-client", "ca", "client"),
        ("front-proxy-client", "front-proxy-ca", "client"),
        ("etcd/server", "etcd/ca", "server"),
        ("etcd/peer", "etcd/ca", "client"),
        ("etcd/healthcheck-client", "etcd/ca", "client"),
        ("apiserver-etcd-client", "etcd/ca", "client"),
    ):
        cert = k8s.Cert.load(tree.pki_dir / f"{name}.crt", tree.pki_dir / f"{name}.key")
        assert k8s.verify_chain(cert.cert, [issuers[issuer]], purpose=purpose), name
        assert _mode(tree.pki_dir / f"{name}.key") == 0o600
    kubelet_client = k8s.Cert.load(tree.pki_dir / "apiserver-kubelet-client.crt")
    assert kubelet_client.organizations == ["kubeadm:cluster-admins"]
    assert tree.pki_dir.joinpath("sa.pub").read_bytes().startswith(b"-----BEGIN PUBLIC KEY-----\n")
    assert tree.admin_kubeconfig().current_user() == "kubernetes-admin"
    cm = Kubeconfig.load(tree.root / "controller-manager.conf")
    assert cm.current_context == "system:kube-controller-manager@kubernetes"
    # The lab serves this tree as well (front-proxy CA and all).
    with k8s.LabServer(tree.root) as lab:
        admin = tree.admin_kubeconfig(server=lab.url).write(tmp_path / "admin.kubeconfig")
        assert kubectl(tmp_path, f"--kubeconfig={admin}", "auth", "whoami").stdout.split()[3] == "kubernetes-admin"


def test_exists_in_a_root_only_directory_is_asked_through_sudo(tmp_path, monkeypatch):
    """A node's manifests/ is 0700 root: Path.exists() raises PermissionError for other users;
    exists_with_sudo asks 'sudo -n test -e' (here a stand-in 'sudo' on PATH that runs the command)."""
    from k8sauthlib.kube import node as node_module

    hidden = tmp_path / "manifests" / "kube-apiserver.yaml"
    hidden.parent.mkdir()
    hidden.write_text("kind: Pod\n")
    real_exists = Path.exists

    def denied(self, *args, **kwargs):
        if self.parent == hidden.parent:
            raise PermissionError(13, "Permission denied", str(self))
        return real_exists(self, *args, **kwargs)

    monkeypatch.setattr(Path, "exists", denied)
    bindir = tmp_path / "bin"
    bindir.mkdir()
    fake_sudo = bindir / "sudo"
    fake_sudo.write_text('#!/bin/sh\n[ "$1" = -n ] && shift\nexec "$@"\n')
    fake_sudo.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bindir}:{os.environ['PATH']}")
    assert node_module.exists_with_sudo(hidden) is True
    assert node_module.exists_with_sudo(hidden.parent / "etcd.yaml") is False
    # sudo that needs a password: a one-line error that says so, not a traceback or a wrong False
    fake_sudo.write_text('#!/bin/sh\necho "sudo: a password is required" >&2\nexit 1\n')
    with pytest.raises(PrivilegedReadError, match="a password is required"):
        node_module.exists_with_sudo(hidden)
    monkeypatch.setenv("PATH", str(tmp_path / "nowhere"))
    with pytest.raises(PrivilegedReadError, match="sudo is not installed"):
        node_module.exists_with_sudo(hidden)
