"""Kubeconfig: our files against the real kubectl's, byte for byte, and read back by kubectl and
the official Python client."""

from __future__ import annotations

import base64
import os
import stat
import subprocess
from datetime import timedelta

import pytest
import yaml

import k8sauthlib as k8s
from k8sauthlib.go.yaml import go_key_cmp, go_yaml_dump
from k8sauthlib.kube.kubeconfig import Kubeconfig
from k8sauthlib.kube.user import kubeconfig_for_user, main


def kubectl(tmp_path, *args, cwd=None, check=True):
    """Run the real kubectl with its own cache dir; return the CompletedProcess."""
    proc = subprocess.run(
        ["kubectl", f"--cache-dir={tmp_path / '.kube-cache'}", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "KUBECONFIG": str(tmp_path / "no-default-kubeconfig")},
    )
    if check:
        assert proc.returncode == 0, proc.stderr
    return proc


@pytest.fixture
def pki(tmp_path):
    """ca.crt, alice.pem, alice-key.pem (and bob's pair) written into tmp_path."""
    ca = k8s.CA.create("kubernetes", key="ecdsa-p256")
    (tmp_path / "ca.crt").write_bytes(ca.cert_pem)
    alice = ca.issue_client_cert("alice", ["developers"], key="ecdsa-p256")
    alice.write("alice", tmp_path)
    bob = ca.issue_client_cert("bob", key="ecdsa-p256")
    bob.write("bob", tmp_path)
    return ca, alice, bob


def _kubectl_sequence(tmp_path, kubeconfig, embed, cwd):
    e = ["--embed-certs=true"] if embed else []
    k = [f"--kubeconfig={kubeconfig}", "config"]
    kubectl(
        tmp_path,
        *k,
        "set-cluster",
        "kubernetes",
        "--server=https://127.0.0.1:6443",
        "--certificate-authority=ca.crt",
        *e,
        cwd=cwd,
    )
    kubectl(
        tmp_path,
        *k,
        "set-credentials",
        "alice",
        "--client-certificate=alice.pem",
        "--client-key=alice-key.pem",
        *e,
        cwd=cwd,
    )
    kubectl(
        tmp_path,
        *k,
        "set-context",
        "alice@kubernetes",
        "--cluster=kubernetes",
        "--user=alice",
        "--namespace=dev",
        cwd=cwd,
    )
    kubectl(tmp_path, *k, "use-context", "alice@kubernetes", cwd=cwd)


def _our_sequence(kubeconfig, embed):
    kc = Kubeconfig()
    kc.set_cluster("kubernetes", "https://127.0.0.1:6443", certificate_authority="ca.crt", embed=embed)
    kc.set_credentials("alice", client_certificate="alice.pem", client_key="alice-key.pem", embed=embed)
    kc.set_context("alice@kubernetes", cluster="kubernetes", user="alice", namespace="dev")
    kc.use_context("alice@kubernetes")
    return kc.write(kubeconfig)


@pytest.mark.parametrize("embed", [False, True], ids=["paths", "embed-certs"])
@pytest.mark.parametrize("where", [".", "sub"], ids=["beside-the-files", "in-a-subdirectory"])
def test_same_bytes_as_kubectl(tmp_path, pki, monkeypatch, embed, where):
    # kubectl makes paths absolute, then relative to the kubeconfig's directory when that needs no
    # "..": beside the files they stay "ca.crt", from a subdirectory they become absolute.
    (tmp_path / where).mkdir(exist_ok=True)
    monkeypatch.chdir(tmp_path)
    _kubectl_sequence(tmp_path, f"{where}/kc-kubectl", embed, cwd=tmp_path)
    ours = _our_sequence(f"{where}/kc-ours", embed)
    expected = (tmp_path / where / "kc-kubectl").read_bytes()
    assert ours.read_bytes() == expected
    assert stat.S_IMODE(ours.stat().st_mode) == 0o600
    if embed:
        assert b"client-key-data: " in expected and b"alice-key.pem" not in expected
    else:
        assert (b"certificate-authority: ca.crt\n" in expected) == (where == ".")


def test_cluster_options_match_kubectl(tmp_path, pki, monkeypatch):
    # Each step changes only what it names, and the CA and insecure mode exclude each other.
    monkeypatch.chdir(tmp_path)
    steps = [
        (
            ["--server=https://h:1", "--insecure-skip-tls-verify=true", "--tls-server-name=kubernetes"],
            dict(server="https://h:1", insecure_skip_tls_verify=True, tls_server_name="kubernetes"),
        ),
        (["--certificate-authority=ca.crt"], dict(certificate_authority="ca.crt")),
        (["--certificate-authority=ca.crt", "--embed-certs"], dict(certificate_authority="ca.crt", embed=True)),
        (["--server=https://h:2"], dict(server="https://h:2")),
        (["--insecure-skip-tls-verify=true"], dict(insecure_skip_tls_verify=True)),
    ]
    kc = Kubeconfig()
    for flags, kwargs in steps:
        kubectl(tmp_path, "--kubeconfig=kc", "config", "set-cluster", "c", *flags, cwd=tmp_path)
        kc.set_cluster("c", **kwargs)
        assert kc.write("ours", validate=False).read_bytes() == (tmp_path / "kc").read_bytes(), flags


def test_loading_kubectl_files_and_writing_them_back_is_lossless(tmp_path, pki):
    _kubectl_sequence(tmp_path, "kc", True, cwd=tmp_path)
    kubectl(
        tmp_path,
        "--kubeconfig=kc",
        "config",
        "set-credentials",
        "bob",
        "--token=abc",
        "--username=ignored-with-token",
        cwd=tmp_path,
        check=False,
    )
    kubectl(
        tmp_path,
        "--kubeconfig=kc",
        "config",
        "set-credentials",
        "carol",
        "--auth-provider=oidc",
        "--auth-provider-arg=a10=x",
        "--auth-provider-arg=a2=y",
        "--auth-provider-arg=B=z",
        "--auth-provider-arg=_u=w",
        "--auth-provider-arg=a-b=v",
        "--auth-provider-arg=a1=q",
        "--auth-provider-arg=-x=r",
        "--auth-provider-arg=b=s",
        "--auth-provider-arg=a=t",
        cwd=tmp_path,
    )
    kubectl(
        tmp_path,
        "--kubeconfig=kc",
        "config",
        "set-cluster",
        "insecure",
        "--server=https://h:1",
        "--insecure-skip-tls-verify=true",
        "--tls-server-name=kubernetes",
        cwd=tmp_path,
    )
    raw = (tmp_path / "kc").read_text()
    # The auth-provider map shows go-yaml's key order (the same keys as test_go_key_order).
    assert "-x: r\n        _u: w\n        B: z\n        a: t\n        a-b: v\n        a1: q\n" in raw
    kc = Kubeconfig.load(tmp_path / "kc")
    assert kc.to_yaml() == raw
    out = kc.write(tmp_path / "kc-again", validate=False)
    assert out.read_text() == raw


# Names that go-yaml quotes, folds or leaves plain, each a trap for a naive YAML writer.
EDGE_VALUES = [
    "yes",
    "123",
    "@x",
    "foo: bar",
    "a #b",
    "-x",
    "1.5",
    "1e3",
    ".inf",
    "0o17",
    "0x1F",
    "08",
    "1:20",
    "2026-11-29",
    "2026-02-30",
    "null",
    "~",
    "y",
    "it's",
    'a"b',
    " lead",
    "tab\there",
    "system:masters",
    "한글",
    "<<",
    "=",
    "0xFFFFFFFFFFFFFFFFFF",
    "a long name with spaces that goes on and on beyond the eighty columns of go-yaml's width",
]


def test_quoting_and_folding_match_kubectl(tmp_path):
    kc = Kubeconfig()
    for i, value in enumerate(EDGE_VALUES):
        name = f"ctx{i:02d}"
        kubectl(
            tmp_path,
            "--kubeconfig=kc",
            "config",
            "set-context",
            name,
            f"--cluster={value}",
            f"--user={value}",
            f"--namespace={value}",
            cwd=tmp_path,
        )
        kc.set_context(name, cluster=value, user=value, namespace=value)
    kubectl(tmp_path, "--kubeconfig=kc", "config", "set-context", "empty", cwd=tmp_path)
    kc.set_context("empty")
    expected = (tmp_path / "kc").read_text()
    assert kc.to_yaml() == expected
    assert kc.write(tmp_path / "ours", validate=False).read_text() == expected
    # ...and every value reads back as the same string.
    again = Kubeconfig.load(tmp_path / "kc").contexts
    for i, value in enumerate(EDGE_VALUES):
        assert again[f"ctx{i:02d}"] == {"cluster": value, "user": value, "namespace": value}


def test_kubectl_edits_our_file_like_its_own(tmp_path, pki, monkeypatch):
    monkeypatch.chdir(tmp_path)
    ours = _our_sequence(tmp_path / "ours", embed=False)
    theirs = tmp_path / "theirs"
    _kubectl_sequence(tmp_path, theirs, False, cwd=tmp_path)
    for path in (ours, theirs):
        kubectl(
            tmp_path,
            f"--kubeconfig={path}",
            "config",
            "set-credentials",
            "bob",
            "--client-certificate=bob.pem",
            "--client-key=bob-key.pem",
            "--embed-certs",
            cwd=tmp_path,
        )
        kubectl(
            tmp_path, f"--kubeconfig={path}", "config", "set-context", "alice@kubernetes", "--user=bob", cwd=tmp_path
        )
    assert ours.read_bytes() == theirs.read_bytes()
    # The same two edits through the library give the same file again.
    kc = Kubeconfig.load(_our_sequence(tmp_path / "ours2", embed=False))
    kc.set_credentials("bob", client_certificate=tmp_path / "bob.pem", client_key=tmp_path / "bob-key.pem", embed=True)
    kc.set_context("alice@kubernetes", user="bob")
    assert kc.write().read_bytes() == theirs.read_bytes()


def test_view_matches_kubectl_config_view(tmp_path, pki):
    _, alice, _ = pki
    kc = Kubeconfig()
    kc.set_cluster("kubernetes", "https://127.0.0.1:6443", certificate_authority=tmp_path / "ca.crt", embed=True)
    kc.set_cluster("other", "https://10.0.0.1:6443")
    kc.set_credentials("alice", client_certificate_data=alice.cert_pem, client_key_data=alice.key_pem)
    kc.set_credentials("robot", token="s3cr3t-token")
    kc.set_context("alice@kubernetes", cluster="kubernetes", user="alice")
    kc.set_context("robot@other", cluster="other", user="robot")
    kc.use_context("alice@kubernetes")
    path = kc.write(tmp_path / "kc")
    for flags, kwargs in (
        ([], {}),
        (["--minify"], {"minify": True}),
        (["--raw"], {"raw": True}),
        (["--minify", "--raw"], {"minify": True, "raw": True}),
    ):
        expected = kubectl(tmp_path, f"--kubeconfig={path}", "config", "view", *flags).stdout
        assert kc.view(**kwargs) == expected, flags
    view = kc.view()
    assert "client-key-data: DATA+OMITTED" in view and "token: REDACTED" in view
    assert "s3cr3t" not in view and "PRIVATE" not in view
    assert base64.b64encode(alice.key_pem).decode() in kc.view(raw=True)


def test_minify_needs_a_current_context():
    kc = Kubeconfig().set_cluster("c", "https://h:1")
    with pytest.raises(k8s.InputError, match="current-context must exist in order to minify"):
        kc.view(minify=True)


def test_kubectl_reads_and_uses_our_file(tmp_path, pki, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _, alice, _ = pki
    path = _our_sequence(tmp_path / "kc", embed=True)
    assert kubectl(tmp_path, f"--kubeconfig={path}", "config", "current-context").stdout == "alice@kubernetes\n"
    data = kubectl(
        tmp_path,
        f"--kubeconfig={path}",
        "config",
        "view",
        "--raw",
        "-o",
        "jsonpath={.users[0].user.client-certificate-data}",
    ).stdout
    assert base64.b64decode(data) == alice.cert_pem
    ns = kubectl(
        tmp_path,
        f"--kubeconfig={path}",
        "config",
        "view",
        "--minify",
        "-o",
        "jsonpath={.contexts[0].context.namespace}",
    ).stdout
    assert ns == "dev"


@pytest.mark.parametrize("embed", [False, True], ids=["paths", "embed-certs"])
def test_python_client_loads_our_file(tmp_path, pki, monkeypatch, embed):
    from kubernetes import client, config

    ca, alice, _ = pki
    monkeypatch.chdir(tmp_path)
    path = _our_sequence(tmp_path / "kc", embed=embed)
    monkeypatch.chdir("/")  # relative paths in the file must resolve against its directory
    cfg = client.Configuration()
    config.load_kube_config(config_file=str(path), client_configuration=cfg)
    assert cfg.host == "https://127.0.0.1:6443"
    with open(cfg.ssl_ca_cert, "rb") as fh:
        assert fh.read() == ca.cert_pem
    with open(cfg.cert_file, "rb") as fh:
        assert fh.read() == alice.cert_pem
    with open(cfg.key_file, "rb") as fh:
        assert fh.read() == alice.key_pem
    assert cfg.verify_ssl is True


def test_load_reports_kubectl_style_settings():
    text = """
apiVersion: v1
kind: Config
clusters:
- name: kubernetes
  cluster: {server: "https://127.0.0.1:6443", unknown-field: dropped}
contexts:
- name: a@kubernetes
  context: {cluster: kubernetes, user: a}
current-context: a@kubernetes
users:
- name: a
  user: {token: abc}
"""
    kc = Kubeconfig.from_yaml(text)
    assert kc.current_user() == "a" and kc.current_cluster() == "kubernetes"
    assert kc.server == "https://127.0.0.1:6443"
    assert kc.clusters == {"kubernetes": {"server": "https://127.0.0.1:6443"}}
    assert "unknown-field" not in kc.to_yaml()


# ------------------------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    "text, message",
    [
        ("clusters: [\n", "not valid YAML at line"),
        ("- just\n- a list\n", "a kubeconfig is a YAML mapping"),
        ("clusters: 5\n", '"clusters" must be a list'),
        ("users:\n- name: a\n  user: {client-certificate-data: '%%%'}\n", "not valid base64"),
        ("contexts:\n- name: c\n  context: {namespace: 123}\n", "namespace must be a string, not a number"),
        ("clusters:\n- name: a\n  cluster: {}\n- name: a\n  cluster: {}\n", 'two entries named "a"'),
        ("apiVersion: v2\n", "not a kubeconfig version"),
    ],
)
def test_malformed_kubeconfig_is_a_clear_error(tmp_path, text, message):
    path = tmp_path / "bad"
    path.write_text(text)
    with pytest.raises(k8s.InputError, match=message):
        Kubeconfig.load(path)


def test_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(k8s.InputError, match="kubeconfig file .*nope does not exist"):
        Kubeconfig.load(tmp_path / "nope")
    with pytest.raises(k8s.InputError, match="client certificate file .*missing.pem does not exist"):
        Kubeconfig().set_credentials("a", client_certificate=tmp_path / "missing.pem", embed=True)


def test_context_naming_a_missing_user_writes_nothing(tmp_path, pki):
    kc = Kubeconfig().set_cluster(
        "kubernetes", "https://127.0.0.1:6443", certificate_authority=tmp_path / "ca.crt", embed=True
    )
    kc.set_context("ghost@kubernetes", cluster="kubernetes", user="ghost").use_context("ghost@kubernetes")
    with pytest.raises(k8s.InputError, match='names user "ghost", which this kubeconfig does not define'):
        kc.write(tmp_path / "kc")
    with pytest.raises(k8s.InputError, match='user "ghost"'):
        kc.current_user()
    assert not (tmp_path / "kc").exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".kc")] == []


def test_mismatched_key_is_refused_and_nothing_is_written(tmp_path, pki):
    kc = Kubeconfig()
    with pytest.raises(k8s.KeyMismatchError, match="does not belong to the certificate"):
        kc.set_credentials(
            "alice", client_certificate=tmp_path / "alice.pem", client_key=tmp_path / "bob-key.pem", embed=True
        )
    assert kc.users == {}
    # A kubeconfig that already carries a mismatched pair (edited by hand) is refused on write
    # and on extraction, with no file left behind.
    _, alice, bob = pki
    text = go_yaml_dump(
        {
            "apiVersion": "v1",
            "kind": "Config",
            "current-context": "x",
            "clusters": [{"name": "c", "cluster": {"server": "https://h:1"}}],
            "contexts": [{"name": "x", "context": {"cluster": "c", "user": "u"}}],
            "users": [
                {"name": "u", "user": {"client-certificate-data": alice.cert_pem, "client-key-data": bob.key_pem}}
            ],
        }
    )
    bad = Kubeconfig.from_yaml(text)
    with pytest.raises(k8s.KeyMismatchError):
        bad.write(tmp_path / "out")
    with pytest.raises(k8s.KeyMismatchError):
        bad.client_files(tmp_path, "extracted")
    assert not (tmp_path / "out").exists() and not (tmp_path / "extracted.pem").exists()
    assert not (tmp_path / "extracted-key.pem").exists()


def test_use_context_needs_an_existing_context():
    with pytest.raises(k8s.InputError, match='no context exists with the name: "nope"'):
        Kubeconfig().use_context("nope")


# ------------------------------------------------------------------------------- extraction
def test_client_files_decode_the_embedded_data(tmp_path, pki):
    _, alice, _ = pki
    kc = Kubeconfig().set_cluster("c", "https://h:1")
    kc.set_credentials(
        "alice", client_certificate=tmp_path / "alice.pem", client_key=tmp_path / "alice-key.pem", embed=True
    )
    kc.set_context("alice@c", cluster="c", user="alice").use_context("alice@c")
    out = tmp_path / "out"
    out.mkdir()
    files = kc.client_files(out, "k8s-client")
    assert files.cert == out / "k8s-client.pem" and files.key == out / "k8s-client-key.pem"
    assert files.cert.read_bytes() == alice.cert_pem and files.key.read_bytes() == alice.key_pem
    assert stat.S_IMODE(files.key.stat().st_mode) == 0o600
    with pytest.raises(k8s.FileExistsRefusedError):
        kc.client_files(out, "k8s-client")


# --------------------------------------------------------------------- kubeadm kubeconfig user
def test_kubeconfig_for_user_is_kubeadm_shaped_and_signed_by_the_ca(tmp_path):
    ca = k8s.CA.create("kubernetes")
    ca.write_cert(tmp_path / "ca.crt")
    ca.write_key(tmp_path / "ca.key")
    kc = kubeconfig_for_user(tmp_path, "johndoe", ["appdevs"], "24h", server="https://10.0.0.1:6443")
    doc = yaml.safe_load(kc.to_yaml())
    assert doc["current-context"] == "johndoe@kubernetes"
    assert doc["contexts"] == [{"name": "johndoe@kubernetes", "context": {"cluster": "kubernetes", "user": "johndoe"}}]
    assert doc["clusters"][0]["cluster"]["server"] == "https://10.0.0.1:6443"
    assert base64.b64decode(doc["clusters"][0]["cluster"]["certificate-authority-data"]) == ca.cert_pem
    user = doc["users"][0]["user"]
    assert sorted(user) == ["client-certificate-data", "client-key-data"]
    cert = k8s.Cert.from_pem(
        base64.b64decode(user["client-certificate-data"]), base64.b64decode(user["client-key-data"])
    )
    assert cert.common_name == "johndoe" and cert.organizations == ["appdevs"]
    assert k8s.verify_chain(cert.cert, [ca.cert], purpose="client")
    life = cert.not_after - cert.not_before
    assert timedelta(hours=24) <= life <= timedelta(hours=24, minutes=6)


def test_kubeconfig_user_cli_prints_what_kubectl_reads(tmp_path, capsys):
    ca = k8s.CA.create("kubernetes", key="ecdsa-p256")
    ca.write_cert(tmp_path / "ca.crt")
    ca.write_key(tmp_path / "ca.key")
    rc = main(
        [
            "user",
            "--client-name",
            "alice",
            "--org",
            "developers",
            "--org",
            "qa",
            "--validity",
            "90m",
            "--cert-dir",
            str(tmp_path),
            "--server",
            "https://127.0.0.1:6443",
        ]
    )
    out = capsys.readouterr().out
    assert rc == 0
    assert out.endswith("\n\n")  # kubeadm prints clientcmd.Write's bytes with Fprintln
    (tmp_path / "alice.kubeconfig").write_text(out)
    view = kubectl(
        tmp_path,
        "--kubeconfig=alice.kubeconfig",
        "config",
        "view",
        "--raw",
        "-o",
        "jsonpath={.users[0].user.client-certificate-data}",
        cwd=tmp_path,
    ).stdout
    cert = k8s.load_cert(base64.b64decode(view))
    assert k8s.kubernetes_identity(cert).groups[:2] == ("developers", "qa")
    assert cert.not_valid_after_utc - cert.not_valid_before_utc <= timedelta(minutes=96)


def test_kubeconfig_user_cli_errors(tmp_path, capsys):
    assert (
        main(["kubeconfig", "user", "--client-name", "a", "--cert-dir", str(tmp_path), "--server", "https://h:1"]) == 1
    )
    assert "ca.crt does not exist" in capsys.readouterr().err
    ca = k8s.CA.create("kubernetes", key="ecdsa-p256")
    ca.write_cert(tmp_path / "ca.crt")
    ca.write_key(tmp_path / "ca.key")
    assert (
        main(["user", "--client-name", "a", "--validity", "1d", "--cert-dir", str(tmp_path), "--server", "https://h:1"])
        == 1
    )
    assert 'time: unknown unit "d" in duration "1d"' in capsys.readouterr().err
    assert main(["user"]) == 2


# -------------------------------------------------------------------------------- go details
def test_go_key_order():
    keys = ["b", "a10", "a2", "a", "-x", "B", "a-b", "_u", "a1"]
    import functools

    # Non-letters sort before letters, digits compare as numbers, letters by code point.
    assert sorted(keys, key=functools.cmp_to_key(go_key_cmp)) == ["-x", "_u", "B", "a", "a-b", "a1", "a2", "a10", "b"]
