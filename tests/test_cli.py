"""The ``k8sauthlib`` command line, run as a real subprocess.

The article's steps with our tool in cfssl's place, every error a reader can cause (one sentence
on stderr, non-zero exit, no files left behind), and the start-up promise: ``json -bare`` and
``--help`` never import ``cryptography``.
"""

from __future__ import annotations

import base64
import json
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID
from test_cfssl import CLIENT_CSR, ROOT_CA_CONFIG, ROOT_CA_CSR, SERVER_CSR

import k8sauthlib as k8s

CONSOLE_SCRIPT = Path(sys.executable).with_name("k8sauthlib")


def run(*args, cwd, stdin: bytes | str | None = None, script: bool = False) -> subprocess.CompletedProcess:
    """Run ``python -m k8sauthlib ARGS`` (or the console script) in ``cwd``."""
    cmd = [str(CONSOLE_SCRIPT)] if script else [sys.executable, "-m", "k8sauthlib"]
    if isinstance(stdin, str):
        stdin = stdin.encode()
    return subprocess.run(
        cmd + [str(a) for a in args],
        cwd=cwd,
        input=stdin if stdin is not None else b"",
        capture_output=True,
        timeout=60,
    )


def error_line(proc) -> str:
    """The one error sentence on stderr (log lines aside)."""
    lines = [ln for ln in proc.stderr.decode().splitlines() if "] " not in ln[:30]]
    assert len(lines) == 1, proc.stderr.decode()
    assert lines[0].startswith("k8sauthlib: error: ")
    return lines[0]


@pytest.fixture
def workdir(tmp_path):
    """A directory with the article's four JSON inputs."""
    for name, data in (
        ("rootCA-csr.json", ROOT_CA_CSR),
        ("rootCA-config.json", ROOT_CA_CONFIG),
        ("server-csr.json", SERVER_CSR),
        ("client-csr.json", CLIENT_CSR),
    ):
        (tmp_path / name).write_text(json.dumps(data, indent=2) + "\n")
    return tmp_path


@pytest.fixture
def with_ca(workdir):
    """``workdir`` plus rootCA.pem / rootCA-key.pem made by our CLI."""
    gen = run("gencert", "-initca", "rootCA-csr.json", cwd=workdir)
    assert gen.returncode == 0, gen.stderr
    bare = run("json", "-bare", "rootCA", cwd=workdir, stdin=gen.stdout)
    assert bare.returncode == 0, bare.stderr
    return workdir


def files_in(path: Path) -> set[str]:
    return {p.name for p in path.iterdir()}


# ---------------------------------------------------------------------------------- the article
def test_article_steps_with_our_tool(with_ca, assert_is_ca, assert_is_leaf):
    wd = with_ca
    assert {"rootCA.pem", "rootCA-key.pem", "rootCA.csr"} <= files_in(wd)
    for name, flags in (
        ("server", ["-ca=rootCA.pem", "-ca-key=rootCA-key.pem", "-config=rootCA-config.json", "-profile=root-ca"]),
        # Go's other spelling: "-flag value", and double dashes.
        (
            "client",
            ["-ca", "rootCA.pem", "--ca-key", "rootCA-key.pem", "-config", "rootCA-config.json", "--profile=root-ca"],
        ),
    ):
        gen = run("gencert", *flags, f"{name}-csr.json", cwd=wd)
        assert gen.returncode == 0, gen.stderr
        assert list(json.loads(gen.stdout)) == ["cert", "csr", "key"]
        assert b"[INFO] signed certificate with serial number " in gen.stderr
        assert run("json", "-bare", name, cwd=wd, stdin=gen.stdout).returncode == 0
    ca = k8s.CA.load(wd / "rootCA.pem", wd / "rootCA-key.pem")
    assert_is_ca(ca, self_signed=True)
    both = [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
    server = k8s.Cert.load(wd / "server.pem", wd / "server-key.pem")
    client = k8s.Cert.load(wd / "client.pem", wd / "client-key.pem")
    assert_is_leaf(server, issuer=ca, eku=both)
    assert_is_leaf(client, issuer=ca, eku=both)
    assert server.cert.subject.rfc4514_string() == "CN=localhost,O=server-group"
    assert client.identity.user == "localhost" and "client-group" in client.identity.groups
    for name in ("rootCA", "server", "client"):
        assert stat.S_IMODE((wd / f"{name}-key.pem").stat().st_mode) == 0o600
        assert stat.S_IMODE((wd / f"{name}.pem").stat().st_mode) == 0o644
        assert x509.load_pem_x509_csr((wd / f"{name}.csr").read_bytes()).is_signature_valid
    # Files the json step writes are exactly the PEM blocks gencert printed; nothing else is left.
    assert not [n for n in files_in(wd) if n.startswith(".")]
    # The client warning cfssl prints, shortened.
    gen = run("gencert", "-ca=rootCA.pem", "-ca-key=rootCA-key.pem", "client-csr.json", cwd=wd)
    assert b'[WARNING] This certificate lacks a "hosts" field' in gen.stderr


def test_console_script_and_help(tmp_path):
    proc = run("--help", cwd=tmp_path, script=True)
    assert proc.returncode == 0
    out = proc.stdout.decode()
    for word in ("gencert -initca", "json -bare", "certinfo -cert", "kubeconfig", "lab"):
        assert word in out
    assert run("gencert", "-h", cwd=tmp_path).stdout.decode().startswith("usage: k8sauthlib gencert")
    assert b"-overwrite" in run("json", "--help", cwd=tmp_path).stdout
    assert run(cwd=tmp_path).returncode == 2  # no command: usage on stderr
    assert run("version", cwd=tmp_path).stdout.decode().startswith("k8sauthlib ")


def test_hostname_replaces_the_requests_hosts(with_ca):
    gen = run(
        "gencert",
        "-ca=rootCA.pem",
        "-ca-key=rootCA-key.pem",
        "-hostname=api.example,10.0.0.7",
        "server-csr.json",
        cwd=with_ca,
    )
    assert gen.returncode == 0, gen.stderr
    cert = x509.load_pem_x509_certificate(json.loads(gen.stdout)["cert"].encode())
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert [str(g.value) for g in san] == ["api.example", "10.0.0.7"]


def test_csr_request_from_stdin(workdir):
    gen = run("gencert", "-initca", "-", cwd=workdir, stdin=json.dumps({"CN": "stdin-ca"}))
    assert gen.returncode == 0, gen.stderr
    cert = x509.load_pem_x509_certificate(json.loads(gen.stdout)["cert"].encode())
    assert cert.subject.rfc4514_string() == "CN=stdin-ca"
    assert json.loads(gen.stdout)["key"].startswith("-----BEGIN EC PRIVATE KEY-----")  # cfssl's default key


def test_json_reads_a_file_too(with_ca):
    gen = run("gencert", "-ca=rootCA.pem", "-ca-key=rootCA-key.pem", "client-csr.json", cwd=with_ca)
    (with_ca / "out.json").write_bytes(gen.stdout)
    assert run("json", "-bare", "alice", "-f", "out.json", cwd=with_ca).returncode == 0
    assert run("json", "-bare", "bob", "out.json", cwd=with_ca).returncode == 0
    assert (with_ca / "alice.pem").read_bytes() == (with_ca / "bob.pem").read_bytes()
    # cfssljson's default base name is "cert"; -stdout prints the PEM blocks instead.
    assert run("json", "-bare", "-f=out.json", cwd=with_ca).returncode == 0
    assert (with_ca / "cert.pem").exists() and (with_ca / "cert-key.pem").exists()
    printed = run("json", "-bare", "-stdout", "-f", "out.json", cwd=with_ca).stdout.decode()
    assert printed.count("-----BEGIN") == 3


def test_json_refuses_to_replace_a_key_unless_told(with_ca):
    key_before = (with_ca / "rootCA-key.pem").read_bytes()
    gen = run("gencert", "-initca", "rootCA-csr.json", cwd=with_ca)
    refused = run("json", "-bare", "rootCA", cwd=with_ca, stdin=gen.stdout)
    assert refused.returncode == 1
    assert "rootCA-key.pem already exists; refusing to replace a private key" in error_line(refused)
    assert (with_ca / "rootCA-key.pem").read_bytes() == key_before
    (with_ca / "rootCA-key.pem").chmod(0o644)  # a key someone left world-readable
    forced = run("json", "-bare", "rootCA", "-overwrite", cwd=with_ca, stdin=gen.stdout)
    assert forced.returncode == 0, forced.stderr
    assert (with_ca / "rootCA-key.pem").read_bytes() == json.loads(gen.stdout)["key"].encode()
    assert stat.S_IMODE((with_ca / "rootCA-key.pem").stat().st_mode) == 0o600


def test_gencert_write_is_the_pipe_in_one_process(with_ca):
    proc = run(
        "gencert",
        "-ca=rootCA.pem",
        "-ca-key=rootCA-key.pem",
        "-config=rootCA-config.json",
        "-profile=root-ca",
        "-write=server",
        "server-csr.json",
        cwd=with_ca,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == b""
    assert stat.S_IMODE((with_ca / "server-key.pem").stat().st_mode) == 0o600
    cert = k8s.Cert.load(with_ca / "server.pem", with_ca / "server-key.pem")  # key matches
    assert x509.load_pem_x509_csr((with_ca / "server.csr").read_bytes()).subject == cert.cert.subject
    before = (with_ca / "server-key.pem").read_bytes()
    again = run(
        "gencert", "-ca=rootCA.pem", "-ca-key=rootCA-key.pem", "-write", "server", "server-csr.json", cwd=with_ca
    )
    assert again.returncode == 1 and "refusing to replace a private key" in error_line(again)
    assert b"signed certificate" not in again.stderr  # refused before any work
    assert (with_ca / "server-key.pem").read_bytes() == before
    assert (
        run(
            "gencert",
            "-ca=rootCA.pem",
            "-ca-key=rootCA-key.pem",
            "-write",
            "server",
            "-overwrite",
            "server-csr.json",
            cwd=with_ca,
        ).returncode
        == 0
    )
    assert (with_ca / "server-key.pem").read_bytes() != before
    assert run("gencert", "-initca", "-overwrite", "rootCA-csr.json", cwd=with_ca).returncode == 2


def test_json_writes_key_and_csr_without_a_certificate(tmp_path):
    csr = k8s.make_csr("dave", key="ecdsa-p256")
    payload = json.dumps({"csr": csr.csr_pem.decode(), "key": csr.key_pem.decode()})  # cfssl genkey's shape
    assert run("json", "-bare", "dave", cwd=tmp_path, stdin=payload).returncode == 0
    assert files_in(tmp_path) == {"dave-key.pem", "dave.csr"}
    assert stat.S_IMODE((tmp_path / "dave-key.pem").stat().st_mode) == 0o600


def test_json_accepts_the_wrapped_api_response(tmp_path):
    ca = k8s.CA.create("wrapped", key="ecdsa-p256")
    payload = json.dumps({"success": True, "result": {"cert": ca.cert_pem.decode()}, "errors": [], "messages": []})
    assert run("json", "-bare", "w", cwd=tmp_path, stdin=payload).returncode == 0
    assert (tmp_path / "w.pem").read_bytes() == ca.cert_pem


def test_sign_a_csr_whose_key_stays_home(with_ca):
    csr = k8s.make_csr("alice", orgs=["developers"], key="ecdsa-p256")
    (with_ca / "alice.csr").write_bytes(csr.csr_pem)
    cfg = {
        "signing": {"profiles": {"client": {"usages": ["signing", "key encipherment", "client auth"], "expiry": "24h"}}}
    }
    (with_ca / "client-config.json").write_text(json.dumps(cfg))
    proc = run(
        "sign",
        "-ca=rootCA.pem",
        "-ca-key=rootCA-key.pem",
        "-config=client-config.json",
        "-profile=client",
        "alice.csr",
        cwd=with_ca,
    )
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert list(out) == ["cert"]  # cfssl sign prints the certificate only
    cert = x509.load_pem_x509_certificate(out["cert"].encode())
    assert cert.subject == csr.csr.subject
    assert cert.not_valid_after_utc - cert.not_valid_before_utc == __import__("datetime").timedelta(hours=24)
    assert k8s.kubernetes_identity(cert).groups[0] == "developers"
    k8s.verify_chain(cert, [k8s.load_cert(with_ca / "rootCA.pem")], purpose="client")


def test_certinfo_adds_the_kubernetes_identity(with_ca):
    gen = run(
        "gencert",
        "-ca=rootCA.pem",
        "-ca-key=rootCA-key.pem",
        "-config=rootCA-config.json",
        "-profile=root-ca",
        "client-csr.json",
        cwd=with_ca,
    )
    run("json", "-bare", "client", cwd=with_ca, stdin=gen.stdout)
    proc = run("certinfo", "-cert", "client.pem", cwd=with_ca)
    assert proc.returncode == 0, proc.stderr
    info = json.loads(proc.stdout)
    assert info["subject"]["common_name"] == "localhost"
    assert info["subject"]["organization"] == "client-group"
    assert info["issuer"]["common_name"] == "rootCA"
    assert info["kubernetes"]["user"] == "localhost"
    assert "client-group" in info["kubernetes"]["groups"]
    cert = k8s.load_cert(with_ca / "client.pem")
    assert info["serial_number"] == str(cert.serial_number)
    assert proc.stdout.decode().startswith('{\n  "subject"')  # indented like cfssl's
    stdin = run("certinfo", "-cert", "-", cwd=with_ca, stdin=(with_ca / "client.pem").read_bytes())
    assert json.loads(stdin.stdout) == info


# -------------------------------------------------------------------------------------- errors
BAD_CSR = '{"CN": "x",\n  "hosts": ["a"'
ERROR_CASES = [
    # (name, argv, stdin, words in the message, exit status)
    ("malformed CSR JSON", ["gencert", "-initca", "bad.json"], None, "bad.json: incomplete JSON", 1),
    (
        "malformed JSON with a position",
        ["gencert", "-initca", "typo.json"],
        None,
        "malformed JSON at line 1, column 11",
        1,
    ),
    ("unknown field", ["gencert", "-initca", "host.json"], None, "did you mean 'hosts'", 1),
    ("bad key size", ["gencert", "-initca", "weak.json"], None, "RSA key is too weak", 1),
    (
        "unknown profile",
        [
            "gencert",
            "-ca=rootCA.pem",
            "-ca-key=rootCA-key.pem",
            "-config=rootCA-config.json",
            "-profile=kubernetes",
            "server-csr.json",
        ],
        None,
        "no signing profile 'kubernetes'",
        1,
    ),
    (
        "unknown usage",
        ["gencert", "-ca=rootCA.pem", "-ca-key=rootCA-key.pem", "-config=usage.json", "server-csr.json"],
        None,
        "unknown usage 'server-auth'",
        1,
    ),
    (
        "mismatched CA key",
        ["gencert", "-ca=rootCA.pem", "-ca-key=other-key.pem", "server-csr.json"],
        None,
        "does not belong to the certificate",
        1,
    ),
    ("missing CA key", ["gencert", "-ca=rootCA.pem", "-ca-key=nope.pem", "server-csr.json"], None, "does not exist", 1),
    (
        "CA key that is not a key",
        ["gencert", "-ca=rootCA.pem", "-ca-key=rootCA.pem", "server-csr.json"],
        None,
        "no PEM private key found",
        1,
    ),
    ("unreadable CA key", ["gencert", "-ca=rootCA.pem", "-ca-key=locked", "server-csr.json"], None, "locked", 1),
    ("no CA", ["gencert", "server-csr.json"], None, "need a CA certificate", 2),
    ("no CA key", ["gencert", "-ca=rootCA.pem", "server-csr.json"], None, "need a CA key", 2),
    ("no CSR file", ["gencert", "-initca"], None, "give the CSR request JSON file", 2),
    (
        "unknown flag",
        ["gencert", "-initca", "-foo=1", "rootCA-csr.json"],
        None,
        "flag provided but not defined: -foo",
        2,
    ),
    (
        "flag without value",
        ["gencert", "-initca", "rootCA-csr.json", "-hostname"],
        None,
        "flag needs an argument: -hostname",
        2,
    ),
    (
        "ca section outside initca",
        ["gencert", "-ca=rootCA.pem", "-ca-key=rootCA-key.pem", "ca-section.json"],
        None,
        "only allowed with -initca",
        1,
    ),
    ("garbage on stdin", ["json", "-bare", "x"], b"garbage\n", "standard input is not JSON", 1),
    ("binary on stdin", ["json", "-bare", "x"], b"\xff\xfe\x00", "not UTF-8", 1),
    ("empty stdin", ["json", "-bare", "x"], b"", "standard input is empty", 1),
    ("incomplete JSON on stdin", ["json", "-bare", "x"], b'{"cert": "-----BEGIN', "incomplete JSON", 1),
    ("JSON without PEM fields", ["json", "-bare", "x"], b'{"foo": 1}', 'none of "cert", "key", "csr"', 1),
    (
        "a cfssl error on stdin",
        ["json", "-bare", "x"],
        b'{"code":2400,"message":"RSA key is too weak"}',
        "an error from cfssl (code 2400): RSA key is too weak",
        1,
    ),
    ("a key where the cert goes", ["json", "-bare", "x"], "KEY_AS_CERT", "is not a PEM certificate", 1),
    ("damaged base64", ["json", "-bare", "x"], "DAMAGED", "damaged PEM certificate", 1),
    (
        "sign a certificate, not a CSR",
        ["sign", "-ca=rootCA.pem", "-ca-key=rootCA-key.pem", "rootCA.pem"],
        None,
        "holds no PEM CSR",
        1,
    ),
    (
        "sign with an unknown profile",
        ["sign", "-ca=rootCA.pem", "-ca-key=rootCA-key.pem", "-profile=client", "rootCA.pem"],
        None,
        "no signing configuration",
        1,
    ),
    ("certinfo on a key", ["certinfo", "-cert", "rootCA-key.pem"], None, "holds no PEM certificate", 1),
    ("certinfo without -cert", ["certinfo", "rootCA.pem"], None, "certinfo -cert rootCA.pem", 2),
    ("unknown command", ["gencrt"], None, "did you mean 'gencert'", 2),
]


@pytest.fixture(scope="module")
def error_dir(tmp_path_factory):
    """One directory with a CA and every bad input, shared by the error cases."""
    wd = tmp_path_factory.mktemp("errors")
    ca = k8s.CA.create("rootCA", key="ecdsa-p256")
    ca.write("rootCA", wd)
    other = k8s.CA.create("other", key="ecdsa-p256")
    (wd / "other-key.pem").write_bytes(other.key_pem)
    (wd / "locked").mkdir()
    for name, data in (
        ("rootCA-config.json", ROOT_CA_CONFIG),
        ("server-csr.json", SERVER_CSR),
        ("rootCA-csr.json", ROOT_CA_CSR),
        ("usage.json", {"signing": {"default": {"usages": ["server-auth"], "expiry": "1h"}}}),
        ("host.json", {"CN": "x", "host": ["a.example"]}),
        ("weak.json", {"CN": "x", "key": {"algo": "rsa", "size": 1024}}),
        ("ca-section.json", {"CN": "x", "ca": {"expiry": "1h"}}),
    ):
        (wd / name).write_text(json.dumps(data))
    (wd / "bad.json").write_text(BAD_CSR)
    (wd / "typo.json").write_text('{"CN": "x"; "hosts": []}')
    return wd, ca


@pytest.mark.parametrize("name, argv, stdin, words, status", ERROR_CASES, ids=[c[0] for c in ERROR_CASES])
def test_errors_are_one_sentence_with_no_files_left(error_dir, name, argv, stdin, words, status):
    wd, ca = error_dir
    if stdin == "KEY_AS_CERT":
        stdin = json.dumps({"cert": ca.key_pem.decode()})
    elif stdin == "DAMAGED":
        pem = ca.cert_pem.decode()
        stdin = json.dumps({"cert": pem.replace(pem.splitlines()[3], "!!!!" + pem.splitlines()[3][4:])})
    before = {p: p.stat().st_mtime_ns for p in wd.rglob("*")}
    proc = run(*argv, cwd=wd, stdin=stdin)
    assert proc.returncode == status
    line = error_line(proc)
    assert words in line
    assert proc.stdout == b""
    assert {p: p.stat().st_mtime_ns for p in wd.rglob("*")} == before  # nothing written, nothing touched


def test_startup_never_imports_cryptography_for_json_and_help(with_ca):
    gen = run("gencert", "-initca", "rootCA-csr.json", cwd=with_ca)
    for argv, stdin in (
        (["json", "-bare", "fresh"], gen.stdout),
        (["--help"], b""),
        (["json", "-h"], b""),
        (["gencert", "--help"], b""),
        (["json", "-bare", "bad"], b"garbage"),
    ):
        proc = subprocess.run(
            [sys.executable, "-X", "importtime", "-m", "k8sauthlib", *argv],
            cwd=with_ca,
            input=stdin,
            capture_output=True,
            timeout=60,
        )
        imported = [
            ln.split("|")[-1].strip() for ln in proc.stderr.decode().splitlines() if ln.startswith("import time:")
        ]
        assert "k8sauthlib.cli" in imported, argv  # the measurement itself works
        assert not [m for m in imported if m.split(".")[0] in ("cryptography", "OpenSSL", "_cffi_backend")], argv
    assert (with_ca / "fresh-key.pem").exists()


def test_lab_and_kubeconfig_are_dispatched(tmp_path):
    """``k8sauthlib kubeconfig ...`` and ``k8sauthlib lab ...`` reach the real modules' main()."""
    import yaml

    tree = k8s.KubeadmTree.create_lab(tmp_path / "kubernetes", key="ecdsa-p256")
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "k8sauthlib",
            "kubeconfig",
            "user",
            "--client-name",
            "jane",
            "--org",
            "dev",
            "--validity",
            "24h",
            "--cert-dir",
            str(tree.pki_dir),
            "--server",
            "https://127.0.0.1:6443",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    config = yaml.safe_load(proc.stdout)
    assert config["current-context"] == "jane@kubernetes"
    pem = base64.b64decode(config["users"][0]["user"]["client-certificate-data"])
    jane = k8s.Cert.load(pem)
    assert (jane.common_name, jane.organizations) == ("jane", ["dev"])
    assert k8s.verify_chain(jane, [tree.ca_cert().cert], purpose="client")

    proc = subprocess.run(
        [sys.executable, "-m", "k8sauthlib", "lab", "up", "--help"], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0 and "--dir" in proc.stdout
    proc = subprocess.run(
        [sys.executable, "-m", "k8sauthlib", "lab", "nonsense"], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode != 0 and proc.stderr.strip()
