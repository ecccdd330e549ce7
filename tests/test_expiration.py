"""check-expiration over the lab's kubeadm tree: kubeadm's rows, its dates, its refusals."""

import subprocess
import sys
from datetime import datetime, timedelta, timezone

import pytest

from k8sauthlib import KubeadmTree, check_expiration, format_expiration, load_cert, short_human_duration

KUBEADM_CERTS = [
    "admin.conf",
    "apiserver",
    "apiserver-etcd-client",
    "apiserver-kubelet-client",
    "controller-manager.conf",
    "etcd-healthcheck-client",
    "etcd-peer",
    "etcd-server",
    "front-proxy-client",
    "scheduler.conf",
    "super-admin.conf",
]


@pytest.fixture(scope="module")
def full_tree(tmp_path_factory):
    return KubeadmTree.create_lab(tmp_path_factory.mktemp("full") / "etc-kubernetes", full_pki=True)


def _openssl_enddate(path) -> datetime:
    out = subprocess.run(
        ["openssl", "x509", "-noout", "-enddate", "-in", str(path)], capture_output=True, text=True, check=True
    ).stdout.strip()
    return datetime.strptime(out.split("=", 1)[1], "%b %d %H:%M:%S %Y GMT").replace(tzinfo=timezone.utc)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (-5, "<invalid>"),
        (-1, "0s"),
        (0, "0s"),
        (59, "59s"),
        (60, "1m"),
        (3599, "59m"),
        (3600, "1h"),
        (86399, "23h"),
        (86400, "1d"),
        (364 * 86400 + 3600, "364d"),
        (365 * 86400, "1y"),
        (3650 * 86400, "10y"),
    ],
)
def test_short_human_duration_is_apimachinerys(seconds, text):
    assert short_human_duration(timedelta(seconds=seconds)) == text


def test_full_tree_lists_kubeadms_rows_with_their_cas(full_tree):
    certs, cas = check_expiration(full_tree)
    assert [r.name for r in certs] == KUBEADM_CERTS
    assert [r.name for r in cas] == ["ca", "etcd-ca", "front-proxy-ca"]
    by_name = {r.name: r for r in certs}
    assert by_name["apiserver-etcd-client"].ca_name == "etcd-ca"
    assert by_name["front-proxy-client"].ca_name == "front-proxy-ca"
    assert all(by_name[n].ca_name == "ca" for n in ("admin.conf", "apiserver", "scheduler.conf"))
    assert not any(r.problem or r.externally_managed for r in certs + cas)


def test_dates_are_the_files_notafter_as_openssl_reads_them(full_tree):
    certs, cas = check_expiration(full_tree)
    rows = {r.name: r for r in certs + cas}
    assert rows["apiserver"].not_after == _openssl_enddate(full_tree.pki_dir / "apiserver.crt")
    assert rows["etcd-peer"].not_after == _openssl_enddate(full_tree.pki_dir / "etcd" / "peer.crt")
    assert rows["ca"].not_after == _openssl_enddate(full_tree.ca_crt)
    admin = full_tree.admin_kubeconfig()
    embedded = load_cert(admin.users[admin.current_user()]["client-certificate-data"])
    assert rows["admin.conf"].not_after == embedded.not_valid_after_utc


def test_table_is_kubeadms_layout(full_tree):
    certs, cas = check_expiration(full_tree)
    now = datetime.now(timezone.utc)
    text = format_expiration(certs, cas, now=now)
    first, second = text.split("\n\n")
    lines = first.splitlines()
    assert lines[0].split("   ")[0] == "CERTIFICATE" and lines[0].endswith("EXTERNALLY MANAGED")
    header = lines[0]
    for line, row in zip(lines[1:], certs, strict=False):
        assert line.startswith(row.name)
        # columns line up under the header, as Go's tabwriter aligns them
        assert line[header.index("EXPIRES") :].startswith(row.not_after.strftime("%b %d, %Y %H:%M UTC"))
        assert line[header.index("RESIDUAL TIME") :].split()[0] in ("364d", "365d")
        assert line[header.index("CERTIFICATE AUTHORITY") :].split()[0] == row.ca_name
        assert line[header.index("EXTERNALLY MANAGED") :] == "no      "
    ca_lines = second.splitlines()
    assert ca_lines[0].startswith("CERTIFICATE AUTHORITY   EXPIRES")
    assert [line.split()[-2] for line in ca_lines[1:]] == ["9y", "9y", "9y"]


def test_lab_tree_without_full_pki_shows_missing_rows(tmp_path):
    tree = KubeadmTree.create_lab(tmp_path / "etc-kubernetes")
    certs, _ = check_expiration(tree)
    missing = sorted(r.name for r in certs if r.problem == "missing")
    assert missing == [
        "apiserver-etcd-client",
        "apiserver-kubelet-client",
        "controller-manager.conf",
        "etcd-healthcheck-client",
        "etcd-peer",
        "etcd-server",
        "scheduler.conf",
    ]
    text = format_expiration(*check_expiration(tree))
    assert "!MISSING! etcd-peer" in text and "!MISSING! scheduler.conf" in text
    # without manifests/etcd.yaml etcd is external: kubeadm does not list the etcd certificates
    tree.manifest("etcd").unlink()
    names = [r.name for r in check_expiration(tree)[0]]
    assert "etcd-peer" not in names and "apiserver-etcd-client" not in names and "apiserver" in names


def test_expired_certificate_reads_invalid(tmp_path):
    tree = KubeadmTree.create_lab(tmp_path / "etc-kubernetes")
    ca = tree.ca()
    past = datetime.now(timezone.utc) - timedelta(days=2)
    old = ca.issue_server_cert(
        "kubernetes", common_name="kube-apiserver", not_before=past - timedelta(days=1), not_after=past
    )
    tree.apiserver_crt.write_bytes(old.cert_pem)
    certs, _ = check_expiration(tree)
    row = next(r for r in certs if r.name == "apiserver")
    assert row.residual() < timedelta(0)
    line = next(l for l in format_expiration(*check_expiration(tree)).splitlines() if l.startswith("apiserver "))
    assert "<invalid>" in line


def test_ca_without_its_key_is_externally_managed(tmp_path):
    tree = KubeadmTree.create_lab(tmp_path / "etc-kubernetes")
    (tree.pki_dir / "front-proxy-ca.key").unlink()
    certs, cas = check_expiration(tree)
    assert {r.name: r.externally_managed for r in cas} == {"ca": False, "etcd-ca": False, "front-proxy-ca": True}
    assert next(r for r in certs if r.name == "front-proxy-client").externally_managed
    assert not next(r for r in certs if r.name == "apiserver").externally_managed


def test_unreadable_file_is_one_row_not_a_traceback(tmp_path):
    tree = KubeadmTree.create_lab(tmp_path / "etc-kubernetes")
    (tree.root / "admin.conf").write_text("apiVersion: v1\nkind: Config\nusers: []\n")
    (tree.root / "super-admin.conf").write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: c\ncontexts:\n- name: c\n  context: {cluster: k, user: u}\n"
        "clusters:\n- name: k\n  cluster: {server: 'https://127.0.0.1:6443'}\nusers:\n- name: u\n  user: {token: abc}\n"
    )
    tree.apiserver_crt.write_text("not a certificate\n")
    certs, _ = check_expiration(tree)
    rows = {r.name: r for r in certs}
    assert rows["apiserver"].not_after is None and rows["apiserver"].problem
    assert rows["admin.conf"].not_after is None and "admin.conf: " in rows["admin.conf"].problem
    assert rows["super-admin.conf"].not_after is None and "client-certificate-data" in rows["super-admin.conf"].problem
    assert "!UNREADABLE! apiserver" in format_expiration(certs, [])


def test_cli_prints_the_tables(full_tree):
    r = subprocess.run(
        [sys.executable, "-m", "k8sauthlib", "check-expiration", "--dir", str(full_tree.root)],
        capture_output=True,
        text=True,
    )
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines()[0].startswith("CERTIFICATE ")
    assert [l.split()[0] for l in r.stdout.split("\n\n")[0].splitlines()[1:]] == KUBEADM_CERTS


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (
            ["--dir", "/nonexistent/kubernetes"],
            1,
            "/nonexistent/kubernetes/pki is not a directory: give the kubeadm directory with --dir",
        ),
        (["--bogus"], 2, "check-expiration: unexpected argument '--bogus'"),
    ],
)
def test_cli_refuses_bad_input_in_one_line(args, code, message):
    r = subprocess.run([sys.executable, "-m", "k8sauthlib", "check-expiration", *args], capture_output=True, text=True)
    assert r.returncode == code and r.stdout == ""
    assert r.stderr.startswith("k8sauthlib: error: ") and message in r.stderr and r.stderr.count("\n") == 1, r.stderr
