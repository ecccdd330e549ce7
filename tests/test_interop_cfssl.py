"""Our cfssl replacement held against the real cfssl, cfssljson and openssl (Debian's packages).

- The article's four JSON inputs through both tools give the same subjects (byte for byte, RDN
  by RDN), SANs, key usages, extended key usages, basic constraints and lifetimes.
- Each half of ``gencert | cfssljson -bare`` can be the other tool.
- cfssl signs with a CA we made, we sign with a CA cfssl made, and ``openssl verify`` accepts
  the results for the purpose they were made for (and refuses them for another).
- ``cfssl certinfo`` reads our certificates the way our ``certinfo`` does.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import ExtensionOID
from test_cfssl import CFSSL_KEYS, CLIENT_CSR, ROOT_CA_CONFIG, ROOT_CA_CSR, SERVER_CSR, with_key

import k8sauthlib as k8s

for tool in ("cfssl", "cfssljson", "openssl"):
    if shutil.which(tool) is None:  # make test installs them (golang-cfssl, openssl)
        pytest.fail(f"{tool} is not installed; run 'make test', which installs it", pytrace=False)

KEY_TYPES = ["rsa-2048", "ecdsa-p256"]


def sh(*cmd, cwd, stdin: bytes | None = None, check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run(
        [str(c) for c in cmd], cwd=cwd, input=stdin if stdin is not None else b"", capture_output=True, timeout=60
    )
    if check:
        assert proc.returncode == 0, f"{cmd}: {proc.stderr.decode()}"
    return proc


def ours(*args, cwd, stdin=None, check=True):
    return sh(sys.executable, "-m", "k8sauthlib", *args, cwd=cwd, stdin=stdin, check=check)


def cfssl(*args, cwd, stdin=None, check=True):
    return sh("cfssl", *args, cwd=cwd, stdin=stdin, check=check)


def bare(json_output: bytes, name: str, cwd, *, tool: str) -> None:
    """The cfssljson step, by the real cfssljson or by ours."""
    if tool == "cfssljson":
        sh("cfssljson", "-bare", name, cwd=cwd, stdin=json_output)
    else:
        ours("json", "-bare", name, cwd=cwd, stdin=json_output)


def write_inputs(directory: Path, key_type: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for name, data in (
        ("rootCA-csr.json", with_key(ROOT_CA_CSR, key_type)),
        ("rootCA-config.json", ROOT_CA_CONFIG),
        ("server-csr.json", with_key(SERVER_CSR, key_type)),
        ("client-csr.json", with_key(CLIENT_CSR, key_type)),
    ):
        (directory / name).write_text(json.dumps(data))
    return directory


def article_steps(run, directory: Path, *, json_tool: str) -> None:
    """The article's three commands, with ``run`` as cfssl or as us."""
    bare(run("gencert", "-initca", "rootCA-csr.json", cwd=directory).stdout, "rootCA", directory, tool=json_tool)
    for name in ("server", "client"):
        out = run(
            "gencert",
            "-ca=rootCA.pem",
            "-ca-key=rootCA-key.pem",
            "-config=rootCA-config.json",
            "-profile=root-ca",
            f"{name}-csr.json",
            cwd=directory,
        ).stdout
        bare(out, name, directory, tool=json_tool)


def load(directory: Path, name: str) -> x509.Certificate:
    return x509.load_pem_x509_certificate((directory / f"{name}.pem").read_bytes())


def profile(cert: x509.Certificate) -> dict:
    """Everything that should be the same whichever tool issued the certificate."""
    exts = {e.oid: e for e in cert.extensions}

    def value(oid):
        e = exts.get(oid)
        return None if e is None else (e.critical, e.value)

    key = cert.public_key()
    return {
        "subject_der": cert.subject.public_bytes(),  # RDN order, multi-valued RDNs and string types
        "issuer_der": cert.issuer.public_bytes(),
        "extensions": sorted(oid.dotted_string for oid in exts),
        "key_usage": value(ExtensionOID.KEY_USAGE),
        "ext_key_usage": value(ExtensionOID.EXTENDED_KEY_USAGE),
        "basic_constraints": value(ExtensionOID.BASIC_CONSTRAINTS),
        "sans": value(ExtensionOID.SUBJECT_ALTERNATIVE_NAME),
        "lifetime": cert.not_valid_after_utc - cert.not_valid_before_utc,
        "key": (type(key).__name__.lstrip("_"), key.key_size),
        "signature_hash": cert.signature_hash_algorithm.name,
        "self_signed": cert.issuer == cert.subject,
    }


@pytest.fixture(scope="module", params=KEY_TYPES)
def both_tools(request, tmp_path_factory):
    """The article's certificates made twice: by cfssl + cfssljson, and by our CLI + our json step."""
    key_type = request.param
    base = tmp_path_factory.mktemp(f"article-{key_type}")
    theirs = write_inputs(base / "cfssl", key_type)
    mine = write_inputs(base / "ours", key_type)
    article_steps(cfssl, theirs, json_tool="cfssljson")
    article_steps(ours, mine, json_tool="ours")
    return key_type, theirs, mine


@pytest.mark.parametrize("name", ["rootCA", "server", "client"])
def test_article_inputs_give_the_same_certificates(both_tools, name):
    key_type, theirs, mine = both_tools
    cfssl_cert, our_cert = load(theirs, name), load(mine, name)
    assert profile(our_cert) == profile(cfssl_cert)
    # Both start at "now rounded to the minute, minus five minutes".
    assert abs(our_cert.not_valid_before_utc - cfssl_cert.not_valid_before_utc) <= timedelta(minutes=2)
    assert our_cert.not_valid_before_utc.second == 0
    expected = timedelta(hours=43800) if name == "rootCA" else timedelta(hours=8760)
    assert profile(our_cert)["lifetime"] == expected


def test_article_files_have_cfssljsons_names_and_modes(both_tools):
    _, theirs, mine = both_tools
    produced = {p.name: p.stat().st_mode & 0o777 for p in mine.iterdir() if not p.name.endswith(".json")}
    reference = {p.name: p.stat().st_mode & 0o777 for p in theirs.iterdir() if not p.name.endswith(".json")}
    assert produced == reference
    assert produced["server-key.pem"] == 0o600
    # Key files carry the same PEM kind (PKCS#1 "RSA PRIVATE KEY" / SEC 1 "EC PRIVATE KEY").
    for name in ("rootCA", "server", "client"):
        assert (mine / f"{name}-key.pem").read_text().splitlines()[0] == (
            theirs / f"{name}-key.pem"
        ).read_text().splitlines()[0]


@pytest.mark.parametrize(
    "purpose, name, ok",
    [
        ("sslserver", "server", True),
        ("sslclient", "client", True),
        ("sslclient", "server", True),
        ("sslserver", "rootCA", False),
    ],
)
def test_openssl_verifies_our_article_certificates(both_tools, purpose, name, ok):
    _, _, mine = both_tools
    proc = sh("openssl", "verify", "-CAfile", "rootCA.pem", "-purpose", purpose, f"{name}.pem", cwd=mine, check=False)
    if ok:
        assert proc.returncode == 0 and proc.stdout.strip().endswith(b": OK"), proc.stderr
    else:
        assert proc.returncode != 0


def test_openssl_refuses_the_wrong_purpose_and_a_foreign_ca(tmp_path):
    cfg = {
        "signing": {
            "profiles": {
                "server": {"usages": ["signing", "key encipherment", "server auth"], "expiry": "1h"},
                "client": {"usages": ["signing", "key encipherment", "client auth"], "expiry": "1h"},
            }
        }
    }
    (tmp_path / "config.json").write_text(json.dumps(cfg))
    (tmp_path / "ca.json").write_text(json.dumps({"CN": "ca"}))
    (tmp_path / "other.json").write_text(json.dumps({"CN": "other"}))
    (tmp_path / "server.json").write_text(json.dumps({"CN": "localhost", "hosts": ["localhost"]}))
    (tmp_path / "client.json").write_text(json.dumps({"CN": "alice", "names": [{"O": "dev"}]}))
    for name in ("ca", "other"):
        ours("json", "-bare", name, cwd=tmp_path, stdin=ours("gencert", "-initca", f"{name}.json", cwd=tmp_path).stdout)
    for name in ("server", "client"):
        out = ours(
            "gencert",
            "-ca=ca.pem",
            "-ca-key=ca-key.pem",
            "-config=config.json",
            f"-profile={name}",
            f"{name}.json",
            cwd=tmp_path,
        ).stdout
        ours("json", "-bare", name, cwd=tmp_path, stdin=out)

    def verify(ca, purpose, name):
        return sh("openssl", "verify", "-CAfile", ca, "-purpose", purpose, f"{name}.pem", cwd=tmp_path, check=False)

    assert verify("ca.pem", "sslserver", "server").returncode == 0
    assert verify("ca.pem", "sslclient", "client").returncode == 0
    wrong = verify("ca.pem", "sslclient", "server")
    assert wrong.returncode != 0 and b"unsuitable certificate purpose" in wrong.stdout + wrong.stderr
    assert verify("ca.pem", "sslserver", "client").returncode != 0
    foreign = verify("other.pem", "sslclient", "client")
    assert foreign.returncode != 0 and b"unable to get local issuer certificate" in foreign.stdout + foreign.stderr


# ------------------------------------------------------------------- subjects and SANs in depth
MANY_NAMES = {
    "CN": "multi",
    "hosts": ["b@x.org", "10.0.0.1", "zz.example", "::1", "a.example"],
    "names": [
        {"O": "zeta", "C": "US"},
        {"O": "alpha", "OU": "u1", "ST": "CA"},
        {"OU": "u0", "L": "SF"},
        {"O": "a*b&c"},
        {"O": "개발자"},
    ],
    "key": {"algo": "ecdsa", "size": 256},
}


@pytest.mark.parametrize("mode", ["initca", "gencert"])
def test_repeated_names_and_mixed_hosts_match_cfssl_byte_for_byte(tmp_path, mode):
    # Debian's cfssl (2016) has no URI SANs, so none here; see test_cfssl.py for ours.
    (tmp_path / "ca.json").write_text(json.dumps({"CN": "ca", "key": {"algo": "ecdsa", "size": 256}}))
    request = dict(MANY_NAMES, ca={"expiry": "1h30m", "pathlen": 1}) if mode == "initca" else MANY_NAMES
    (tmp_path / "req.json").write_text(json.dumps(request))
    ours("json", "-bare", "ca", cwd=tmp_path, stdin=ours("gencert", "-initca", "ca.json", cwd=tmp_path).stdout)
    args = ["-initca"] if mode == "initca" else ["-ca=ca.pem", "-ca-key=ca-key.pem"]
    theirs = json.loads(cfssl("gencert", *args, "req.json", cwd=tmp_path).stdout)
    mine = json.loads(ours("gencert", *args, "req.json", cwd=tmp_path).stdout)
    their_cert = x509.load_pem_x509_certificate(theirs["cert"].encode())
    our_cert = x509.load_pem_x509_certificate(mine["cert"].encode())
    assert profile(our_cert) == profile(their_cert)
    their_csr = x509.load_pem_x509_csr(theirs["csr"].encode())
    our_csr = x509.load_pem_x509_csr(mine["csr"].encode())
    assert our_csr.subject.public_bytes() == their_csr.subject.public_bytes()
    assert [(e.oid, e.critical, e.value) for e in our_csr.extensions] == [
        (e.oid, e.critical, e.value) for e in their_csr.extensions
    ]
    # Kubernetes reads the groups in certificate order: the same from both tools.
    assert k8s.kubernetes_identity(our_cert).groups == k8s.kubernetes_identity(their_cert).groups


# ------------------------------------------------------------------------------ mixed pipelines
@pytest.mark.parametrize("key_type", KEY_TYPES)
def test_cfssljson_reads_our_output_and_we_read_cfssls(tmp_path, key_type):
    write_inputs(tmp_path, key_type)
    ours_json = ours("gencert", "-initca", "rootCA-csr.json", cwd=tmp_path).stdout
    bare(ours_json, "from-ours", tmp_path, tool="cfssljson")
    parsed = json.loads(ours_json)
    assert (tmp_path / "from-ours.pem").read_text() == parsed["cert"]
    assert (tmp_path / "from-ours-key.pem").read_text() == parsed["key"]
    assert (tmp_path / "from-ours.csr").read_text() == parsed["csr"]
    cfssl_json = cfssl("gencert", "-initca", "rootCA-csr.json", cwd=tmp_path).stdout
    bare(cfssl_json, "from-cfssl", tmp_path, tool="ours")
    parsed = json.loads(cfssl_json)
    assert (tmp_path / "from-cfssl.pem").read_text() == parsed["cert"]
    assert (tmp_path / "from-cfssl-key.pem").read_text() == parsed["key"]
    assert (tmp_path / "from-cfssl.csr").read_text() == parsed["csr"]
    assert (tmp_path / "from-cfssl-key.pem").stat().st_mode & 0o777 == 0o600
    k8s.CA.load(tmp_path / "from-cfssl.pem", tmp_path / "from-cfssl-key.pem")  # key matches cert


@pytest.mark.parametrize("key_type", KEY_TYPES)
def test_cfssl_signs_with_our_ca_and_we_sign_with_cfssls(tmp_path, key_type, assert_is_leaf):
    write_inputs(tmp_path, key_type)
    bare(ours("gencert", "-initca", "rootCA-csr.json", cwd=tmp_path).stdout, "ourCA", tmp_path, tool="ours")
    bare(cfssl("gencert", "-initca", "rootCA-csr.json", cwd=tmp_path).stdout, "cfsslCA", tmp_path, tool="cfssljson")
    signing = ["-config=rootCA-config.json", "-profile=root-ca", "server-csr.json"]
    bare(
        cfssl("gencert", "-ca=ourCA.pem", "-ca-key=ourCA-key.pem", *signing, cwd=tmp_path).stdout,
        "by-cfssl",
        tmp_path,
        tool="cfssljson",
    )
    bare(
        ours("gencert", "-ca=cfsslCA.pem", "-ca-key=cfsslCA-key.pem", *signing, cwd=tmp_path).stdout,
        "by-us",
        tmp_path,
        tool="ours",
    )
    for leaf, ca in (("by-cfssl", "ourCA"), ("by-us", "cfsslCA")):
        proc = sh("openssl", "verify", "-CAfile", f"{ca}.pem", "-purpose", "sslserver", f"{leaf}.pem", cwd=tmp_path)
        assert proc.stdout.strip().endswith(b": OK")
        cert, root = load(tmp_path, leaf), load(tmp_path, ca)
        k8s.verify_chain(cert, [root], purpose="server", hostname="localhost")
        assert_is_leaf(
            cert, issuer=root, eku=list(cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value)
        )
    assert profile(load(tmp_path, "by-us"))["subject_der"] == profile(load(tmp_path, "by-cfssl"))["subject_der"]


def test_cfssl_certinfo_reads_our_certificates_like_our_certinfo(both_tools):
    _, _, mine = both_tools
    for name in ("rootCA", "server", "client"):
        theirs = json.loads(cfssl("certinfo", "-cert", f"{name}.pem", cwd=mine).stdout)
        # Debian's 2016 cfssl prints key IDs without zero padding; -unpadded does the same.
        our = json.loads(ours("certinfo", "-cert", f"{name}.pem", "-unpadded", cwd=mine).stdout)
        kubernetes = our.pop("kubernetes")
        assert our == theirs, name
        assert kubernetes["user"] == {"rootCA": "rootCA", "server": "localhost", "client": "localhost"}[name]


def test_cfssl_signs_with_a_pkcs8_key_we_wrote(tmp_path):
    # kubeadm-style CA key formats: cfssl and we both accept PKCS#8 as well as PKCS#1/SEC 1.
    ca = k8s.CA.create("kubernetes", key="rsa-2048")
    (tmp_path / "ca.crt").write_bytes(ca.cert_pem)
    (tmp_path / "ca.key").write_bytes(
        ca.key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    (tmp_path / "alice.json").write_text(json.dumps({"CN": "alice", "names": [{"O": "dev"}]}))
    for run in (cfssl, ours):
        out = json.loads(run("gencert", "-ca=ca.crt", "-ca-key=ca.key", "alice.json", cwd=tmp_path).stdout)
        cert = x509.load_pem_x509_certificate(out["cert"].encode())
        k8s.verify_chain(cert, [ca.cert], purpose="client")


@pytest.mark.parametrize("key_type", KEY_TYPES)
def test_sign_a_cfssl_genkey_csr_like_cfssl_sign(tmp_path, key_type):
    # The user's side with cfssl (genkey: key + CSR, the key never leaves), our json step
    # writing those two files, then the CA's side signed by both tools.
    write_inputs(tmp_path, key_type)
    (tmp_path / "carol.json").write_text(
        json.dumps(
            {
                "CN": "carol",
                "hosts": ["carol.example"],
                "names": [{"O": "dev"}, {"O": "ops"}],
                "key": CFSSL_KEYS[key_type],
            }
        )
    )
    bare(cfssl("genkey", "carol.json", cwd=tmp_path).stdout, "carol", tmp_path, tool="ours")
    assert {"carol-key.pem", "carol.csr"} <= {p.name for p in tmp_path.iterdir()}
    bare(ours("gencert", "-initca", "rootCA-csr.json", cwd=tmp_path).stdout, "rootCA", tmp_path, tool="ours")
    signing = [
        "-ca=rootCA.pem",
        "-ca-key=rootCA-key.pem",
        "-config=rootCA-config.json",
        "-profile=root-ca",
        "carol.csr",
    ]
    theirs = json.loads(cfssl("sign", *signing, cwd=tmp_path).stdout)
    mine = json.loads(ours("sign", *signing, cwd=tmp_path).stdout)
    their_cert = x509.load_pem_x509_certificate(theirs["cert"].encode())
    our_cert = x509.load_pem_x509_certificate(mine["cert"].encode())
    assert profile(our_cert) == profile(their_cert)
    k8s.Cert.load(our_cert.public_bytes(serialization.Encoding.PEM), tmp_path / "carol-key.pem")  # key matches
    assert k8s.kubernetes_identity(our_cert).groups[:2] == k8s.kubernetes_identity(their_cert).groups[:2]
