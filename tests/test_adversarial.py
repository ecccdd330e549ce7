"""Adversarial inputs and faults, one test case each (issue 12), kept closed.

What every case asserts, whatever it feeds in:

* no traceback: the command returns exit status 1 or 2 with one line on standard error that
  says what is wrong (``k8sauthlib: error: ...``, ``error: ...`` or argparse's usage error);
* no silent success: a bad input never exits 0;
* no half-written file: the working directory holds exactly what it held before (a refused
  command writes nothing, and leaves no hidden temp file);
* no wider file mode: files that were there keep their modes (keys 0600).

The faults (concurrent writers, a writer that fails or is killed at every step of a
multi-file write, hostile environment variables for the client) assert the same things in
their own terms. The cases run in-process through :func:`k8sauthlib.cli.main` (the same code
the ``k8sauthlib`` entry point runs); a few run the real entry point as a subprocess too.
"""

from __future__ import annotations

import http.server
import io
import json
import os
import re
import signal
import ssl
import stat
import subprocess
import sys
import threading
from pathlib import Path

import pytest

import k8sauthlib as k8s
from k8sauthlib import cli, files
from k8sauthlib.errors import FileExistsRefusedError
from k8sauthlib.tls.trust import system_trust_store

EC = {"algo": "ecdsa", "size": 256}
BIG = 10**30
ENTRY = [sys.executable, "-m", "k8sauthlib"]


# ------------------------------------------------------------------------------ the harness
def _snapshot(directory: Path) -> dict:
    """name -> (mode, bytes) for everything under ``directory`` (hidden files included)."""
    out = {}
    for p in sorted(directory.rglob("*")):
        if p.is_file() and not p.is_symlink():
            out[str(p.relative_to(directory))] = (stat.S_IMODE(p.stat().st_mode), p.read_bytes())
    return out


def _run_cli(argv, cwd: Path, monkeypatch, capsys, stdin: bytes | None = None):
    monkeypatch.chdir(cwd)
    if stdin is not None:
        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(stdin)))
    try:
        rc = cli.main(list(argv))
    except SystemExit as exc:  # argparse's usage errors in the delegated commands
        rc = exc.code
    out, err = capsys.readouterr()
    return rc, out, err


def _assert_refused(rc, err, before, after):
    assert rc in (1, 2), f"exit {rc}: a bad input must not succeed\nstderr: {err}"
    assert "Traceback" not in err, err
    # cfssl-style progress lines ("2026/01/01 10:00:00 [INFO] ...") may precede the error, and
    # argparse prints its usage block (first line "usage:", the rest indented) before it
    lines = [
        l
        for l in err.splitlines()
        if l.strip()
        and not l.startswith(("usage:", " "))
        and not re.match(r"\d{4}/\d\d/\d\d \d\d:\d\d:\d\d \[(INFO|WARNING)\]", l)
    ]
    assert len(lines) == 1, f"expected one line of error, got:\n{err}"
    assert "error" in lines[0], lines[0]
    assert after == before, "a refused command changed the directory: " + ", ".join(
        sorted(set(after) ^ set(before)) or [k for k in after if after[k] != before.get(k)]
    )


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    """A CA, its signing config, a CSR and a kubeadm-style cert dir, shared read-only."""
    d = tmp_path_factory.mktemp("adv-pki")
    ca = k8s.CA.create("rootCA", org="Kubernetes", key="ecdsa-p256")
    ca.write("rootCA", d)
    leaf = ca.issue_client_cert("alice", ["dev"], key="ecdsa-p256")
    (d / "alice.csr").write_bytes(leaf.csr_pem if getattr(leaf, "csr_pem", None) else b"")
    kube = d / "kpki"
    kube.mkdir()
    (kube / "ca.crt").write_bytes(ca.cert_pem)
    (kube / "ca.key").write_bytes(ca.key_pem)
    (kube / "ca.key").chmod(0o600)
    return d


@pytest.fixture
def work(tmp_path, pki):
    """A working directory holding an existing key pair (to prove nothing touches it)."""
    w = tmp_path / "w"
    w.mkdir()
    ca = k8s.CA.create("existing", key="ecdsa-p256")
    ca.write("existing", w)
    return w


def _csr(**fields):
    body = {"CN": "x", "key": EC}
    body.update(fields)
    return json.dumps(body)


# ------------------------------------------------------------- gencert -initca: request JSON
REQUEST_CASES = {
    # types
    "CN is a number": '{"CN": 5, "key": {"algo": "ecdsa", "size": 256}}',
    "names is an object": _csr(names={"O": "x"}),
    "names entry is a string": _csr(names=["O=x"]),
    "hosts is a string": _csr(hosts="localhost"),
    "hosts entry is a number": _csr(hosts=[1]),
    "key is a string": _csr(key="ecdsa"),
    "key.size is a string": _csr(key={"algo": "ecdsa", "size": "256"}),
    "key.size is a float": _csr(key={"algo": "ecdsa", "size": 256.0}),
    "key.size is true": _csr(key={"algo": "ecdsa", "size": True}),
    "ca is a list": _csr(ca=[]),
    "ca.pathlen is a string": _csr(ca={"pathlen": "1"}),
    "ca.pathlenzero is a string": _csr(ca={"pathlenzero": "yes"}),
    "ca.expiry is a number": _csr(ca={"expiry": 8760}),
    "top level is a list": '[{"CN": "x"}]',
    "top level is a string": '"CN"',
    "top level is null": "null",
    # ranges
    "ca.expiry 100000000h": _csr(ca={"expiry": "100000000h"}),
    "ca.backdate 100000000h": _csr(ca={"backdate": "100000000h"}),
    "ca.expiry and backdate at Go's limit": _csr(ca={"expiry": "2562047h", "backdate": "2562047h"}),
    "ca.expiry 2562048h": _csr(ca={"expiry": "2562048h"}),
    "ca.expiry negative": _csr(ca={"expiry": "-1h"}),
    "ca.expiry zero": _csr(ca={"expiry": "0s"}),
    "ca.expiry in days": _csr(ca={"expiry": "365d"}),
    "ca.expiry 1e3h": _csr(ca={"expiry": "1e3h"}),
    "ca.pathlen negative": _csr(ca={"pathlen": -1}),
    "ca.pathlen 2**64": _csr(ca={"pathlen": 2**64}),
    "ca.pathlen 10**30": _csr(ca={"pathlen": BIG}),
    "ca.pathlen float": _csr(ca={"pathlen": 1.5}),
    "key.size 1024": _csr(key={"algo": "rsa", "size": 1024}),
    "key.size 10**30": _csr(key={"algo": "rsa", "size": BIG}),
    "key.size negative": _csr(key={"algo": "rsa", "size": -2048}),
    "ecdsa 521": _csr(key={"algo": "ecdsa", "size": 521}),
    "unknown algo": _csr(key={"algo": "dsa", "size": 2048}),
    "country of three letters": _csr(names=[{"C": "KOR"}]),
    # sizes
    "CN of 65 characters": _csr(CN="a" * 65),
    "CN of 1 MB": _csr(CN="a" * 1_000_000),
    "host of 300 characters": _csr(hosts=["a" * 300 + ".example"]),
    "host with a port": _csr(hosts=["localhost:8443"]),
    "empty object": "{}",
    "empty names entry": '{"names": [{}], "key": {"algo": "ecdsa", "size": 256}}',
    # encodings
    "UTF-16 text": _csr().encode("utf-16"),
    "Latin-1 byte": b'{"CN": "caf\xe9", "key": {"algo": "ecdsa", "size": 256}}',
    "UTF-8 BOM": b"\xef\xbb\xbf" + _csr().encode(),
    "NUL bytes": b"\x00" * 64,
    "binary garbage": bytes(range(256)) * 4,
    "empty file": b"",
    "whitespace only": b"  \n\t\n",
    "truncated JSON": _csr()[:-5],
    "JSON with a trailing comma": '{"CN": "x",}',
    "duplicate CN": '{"CN": "x", "CN": "y", "key": {"algo": "ecdsa", "size": 256}}',
    "unknown field": _csr(CNN="x"),
    "lone surrogate escape": '{"CN": "\\ud800", "key": {"algo": "ecdsa", "size": 256}}',
    "NaN number": '{"CN": "x", "ca": {"pathlen": NaN}, "key": {"algo": "ecdsa", "size": 256}}',
    "Infinity number": '{"CN": "x", "ca": {"pathlen": Infinity}, "key": {"algo": "ecdsa", "size": 256}}',
    # nesting
    "100000 nested arrays": "[" * 100_000,
    "100000 nested objects": '{"a":' * 100_000,
    "nested in a field": '{"CN": "x", "names": ' + "[" * 50_000 + "]" * 50_000 + "}",
    "a 5000-digit number": '{"CN": "x", "ca": {"pathlen": ' + "9" * 5000 + "}}",
}


#: Cases whose one-line error must name the field (the issue's tracebacks among them).
NAMES_THE_FIELD = {
    "ca.expiry 100000000h": "ca.expiry",
    "ca.backdate 100000000h": "ca.backdate",
    "ca.expiry 2562048h": "ca.expiry",
    "ca.pathlen 2**64": "ca.pathlen",
    "ca.pathlen 10**30": "ca.pathlen",
    "a 5000-digit number": "ca.pathlen",
    "key.size 10**30": "key.size",
    "CN of 65 characters": "CN",
    "ca.expiry and backdate at Go's limit": "backdate",
    "host of 300 characters": "hosts[0]",
}


@pytest.mark.parametrize("name", list(REQUEST_CASES))
def test_gencert_initca_bad_request(name, work, monkeypatch, capsys):
    data = REQUEST_CASES[name]
    (work / "req.json").write_bytes(data if isinstance(data, bytes) else data.encode("utf-8", "surrogatepass"))
    before = _snapshot(work)
    rc, out, err = _run_cli(["gencert", "-initca", "-write", "new", "req.json"], work, monkeypatch, capsys)
    after = _snapshot(work)
    _assert_refused(rc, err, before, after)
    assert out == ""
    if name in NAMES_THE_FIELD:
        assert NAMES_THE_FIELD[name] in err.splitlines()[-1], err


@pytest.mark.parametrize("name", ["UTF-16 text", "100000 nested arrays", "a 5000-digit number", "ca.expiry 100000000h"])
def test_gencert_request_from_stdin(name, work, monkeypatch, capsys):
    data = REQUEST_CASES[name]
    before = _snapshot(work)
    rc, out, err = _run_cli(
        ["gencert", "-initca", "-"], work, monkeypatch, capsys, stdin=data if isinstance(data, bytes) else data.encode()
    )
    _assert_refused(rc, err, before, _snapshot(work))


# ------------------------------------------------------------------- signing configuration
def _config(profile=None, default=None):
    signing = {"default": default or {"expiry": "8760h"}}
    if profile is not None:
        signing["profiles"] = {"p": profile}
    return json.dumps({"signing": signing})


CONFIG_CASES = {
    "profile expiry 100000000h": _config({"usages": ["client auth"], "expiry": "100000000h"}),
    "profile backdate 100000000h": _config({"usages": ["client auth"], "expiry": "1h", "backdate": "100000000h"}),
    "profile backdate 2562047h": _config({"usages": ["client auth"], "expiry": "1h", "backdate": "2562047h"}),
    "profile max_path_len 10**30": _config(
        {"usages": ["cert sign"], "expiry": "1h", "ca_constraint": {"is_ca": True, "max_path_len": BIG}}
    ),
    "profile usages is a string": _config({"usages": "client auth", "expiry": "1h"}),
    "profile unknown usage": _config({"usages": ["client auht"], "expiry": "1h"}),
    "profile is a list": _config(["x"]),
    "profiles nested 50000 deep": '{"signing": {"profiles": ' + '{"a":' * 50_000 + "}",
    "default expiry is a number": _config(default={"expiry": 8760}),
    "signing is null": '{"signing": null}',
    "config is not UTF-8": b"\xff\xfe{",
}


@pytest.mark.parametrize("name", list(CONFIG_CASES))
def test_gencert_bad_signing_config(name, work, pki, monkeypatch, capsys):
    data = CONFIG_CASES[name]
    (work / "config.json").write_bytes(data if isinstance(data, bytes) else data.encode())
    (work / "req.json").write_text(_csr(CN="alice"))
    before = _snapshot(work)
    rc, out, err = _run_cli(
        [
            "gencert",
            f"-ca={pki / 'rootCA.pem'}",
            f"-ca-key={pki / 'rootCA-key.pem'}",
            "-config=config.json",
            "-profile=p",
            "-write",
            "new",
            "req.json",
        ],
        work,
        monkeypatch,
        capsys,
    )
    _assert_refused(rc, err, before, _snapshot(work))


# -------------------------------------------------------------------------------- flags
FLAG_CASES = {
    "unknown flag": ["gencert", "-initca", "-bogus", "req.json"],
    "flag without value": ["gencert", "-initca", "req.json", "-loglevel"],
    "loglevel of 10**30 digits": ["gencert", "-initca", "-loglevel", "1" * 5000, "req.json"],
    "loglevel not a number": ["gencert", "-initca", "-loglevel=lots", "req.json"],
    "bool flag with a word": ["gencert", "-initca=maybe", "req.json"],
    "two request files": ["gencert", "-initca", "req.json", "req.json"],
    "no request file": ["gencert", "-initca"],
    "missing request file": ["gencert", "-initca", "nope.json"],
    "request is a directory": ["gencert", "-initca", "."],
    "-write to a directory": ["gencert", "-initca", "-write", ".", "req.json"],
    "-write into a missing directory": ["gencert", "-initca", "-write", "no/such/dir/x", "req.json"],
    "-write over an existing key": ["gencert", "-initca", "-write", "existing", "req.json"],
    "-overwrite without -write": ["gencert", "-initca", "-overwrite", "req.json"],
    "-initca with -ca": ["gencert", "-initca", "-ca=existing.pem", "req.json"],
    "ca key is a certificate": ["gencert", "-ca=existing.pem", "-ca-key=existing.pem", "req.json"],
    "ca is a key": ["gencert", "-ca=existing-key.pem", "-ca-key=existing-key.pem", "req.json"],
    "ca is garbage": ["gencert", "-ca=req.json", "-ca-key=existing-key.pem", "req.json"],
    "unknown profile": ["gencert", "-ca=existing.pem", "-ca-key=existing-key.pem", "-profile=nope", "req.json"],
    "hostname with a port": ["gencert", "-initca", "-hostname=localhost:8443", "req.json"],
    "sign without a CSR": ["sign", "-ca=existing.pem", "-ca-key=existing-key.pem", "req.json"],
    "sign a missing file": ["sign", "-ca=existing.pem", "-ca-key=existing-key.pem", "nope.csr"],
    "certinfo of a key": ["certinfo", "-cert", "existing-key.pem"],
    "certinfo of JSON": ["certinfo", "-cert", "req.json"],
    "certinfo of a directory": ["certinfo", "-cert", "."],
    "certinfo without -cert": ["certinfo", "existing.pem"],
    "json base name '..'": ["json", "-bare", "..", "-f", "req.json"],
    "json of a request, not cfssl output": ["json", "-bare", "x", "-f", "req.json"],
    "json with three positionals": ["json", "-bare", "a", "b", "c"],
    "unknown command": ["gencrt"],
    "kubeconfig with no subcommand": ["kubeconfig"],
    "kubeconfig user without --server": ["kubeconfig", "user", "--client-name", "x"],
    "client-files --name ..": ["kubeconfig", "client-files", "good.kc", "--name", ".."],
    "client-files --name a/b": ["kubeconfig", "client-files", "good.kc", "--name", "a/b"],
    "client-files --dir a file": ["kubeconfig", "client-files", "good.kc", "--dir", "req.json"],
    "client-files --name of 300 characters": ["kubeconfig", "client-files", "good.kc", "--name", "a" * 300],
    "client-files --user unknown": ["kubeconfig", "client-files", "good.kc", "--user", "nobody"],
    "client-files over an existing key": ["kubeconfig", "client-files", "good.kc", "--name", "existing"],
    "view a missing file": ["kubeconfig", "view", "nope.kc"],
    "view a directory": ["kubeconfig", "view", "."],
    "lab up --dir a file": ["lab", "up", "--dir", "req.json", "--port", "0"],
    "lab up --host not an address": ["lab", "up", "--dir", "lab", "--port", "0", "--host", "999.1.1.1"],
    "lab up --port 99999": ["lab", "up", "--dir", "lab", "--port", "99999"],
    "lab up --port -1": ["lab", "up", "--dir", "lab", "--port", "-1"],
    "lab up --port abc": ["lab", "up", "--dir", "lab", "--port", "abc"],
    "lab up --port 10**30": ["lab", "up", "--dir", "lab", "--port", str(BIG)],
    "lab up --kubernetes-version 1.99": ["lab", "up", "--dir", "lab", "--kubernetes-version", "1.99"],
    "lab without a subcommand": ["lab"],
    "version with an argument": ["version", "extra"],
    "version with an unknown flag": ["version", "-bogus"],
    "check-expiration with an argument": ["check-expiration", "extra"],
    "check-expiration --dir missing": ["check-expiration", "--dir", "nowhere"],
    "check-expiration --dir a file": ["check-expiration", "--dir", "req.json"],
    "json -f a missing file": ["json", "-bare", "x", "-f", "nope.json"],
    "json -f a directory": ["json", "-bare", "x", "-f", "."],
    "json into a missing directory": ["json", "-bare", "no/such/x", "-f", "req.json"],
    "sign -config missing": ["sign", "-ca=existing.pem", "-ca-key=existing-key.pem", "-config=nope.json", "req.json"],
    "sign -hostname of 300 characters": [
        "sign",
        "-ca=existing.pem",
        "-ca-key=existing-key.pem",
        "-hostname=" + "a" * 300,
        "x.csr",
    ],
    "certinfo -cert of a missing file": ["certinfo", "-cert", "nope.pem"],
    "view --minify without current-context": ["kubeconfig", "view", "--minify", "nocurrent.kc"],
    "client-files --dir missing": ["kubeconfig", "client-files", "good.kc", "--dir", "no/such"],
}


@pytest.mark.parametrize("name", list(FLAG_CASES))
def test_bad_command_line(name, work, monkeypatch, capsys):
    (work / "req.json").write_text(_csr())
    if "good.kc" in FLAG_CASES[name]:
        ca = k8s.CA.create("kc-ca", key="ecdsa-p256")
        user = ca.issue_client_cert("u", key="ecdsa-p256")
        kc = k8s.Kubeconfig()
        kc.set_cluster("c", "https://127.0.0.1:6443", certificate_authority_data=ca.cert_pem)
        kc.set_credentials("u", client_certificate_data=user.cert_pem, client_key_data=user.key_pem)
        kc.set_context("x", cluster="c", user="u")
        kc.use_context("x")
        kc.write(work / "good.kc")
    if "nocurrent.kc" in FLAG_CASES[name]:
        (work / "nocurrent.kc").write_text("apiVersion: v1\nkind: Config\nclusters: []\n")
    if "x.csr" in FLAG_CASES[name]:
        (work / "x.csr").write_bytes(_a_csr())
    before = _snapshot(work)
    rc, out, err = _run_cli(FLAG_CASES[name], work, monkeypatch, capsys)
    _assert_refused(rc, err, before, _snapshot(work))


def _a_csr(cn="alice"):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    csr = x509.CertificateSigningRequestBuilder().subject_name(subject).sign(key, hashes.SHA256())
    return csr.public_bytes(serialization.Encoding.PEM)


# ------------------------------------------------------- PEM inputs: sign, certinfo, -ca, -ca-key
def _pem(label, body):
    return f"-----BEGIN {label}-----\n{body}\n-----END {label}-----\n".encode()


def _pem_cases(label):
    import base64

    random_body = base64.encodebytes(os.urandom(3 << 20)).decode().strip()
    return {
        "damaged base64": _pem(label, "!!!!"),
        "too short to be DER": _pem(label, "AAAA"),
        "BEGIN line only": f"-----BEGIN {label}-----\n".encode(),
        "3 MB of random DER": _pem(label, random_body),
        "empty": b"",
        "binary": bytes(range(256)),
        "UTF-16": _pem(label, "AAAA").decode().encode("utf-16"),
        "another PEM kind": _pem("PUBLIC KEY", "AAAA"),
    }


PEM_CASE_NAMES = list(_pem_cases("X"))


@pytest.fixture(scope="module")
def pem_inputs():
    return {label: _pem_cases(label) for label in ("CERTIFICATE REQUEST", "CERTIFICATE", "EC PRIVATE KEY")}


@pytest.mark.parametrize("case", PEM_CASE_NAMES)
@pytest.mark.parametrize("command", ["sign CSR", "certinfo", "gencert -ca", "gencert -ca-key", "sign -ca-key"])
def test_bad_pem_inputs(command, case, work, pem_inputs, monkeypatch, capsys):
    label = {
        "sign CSR": "CERTIFICATE REQUEST",
        "certinfo": "CERTIFICATE",
        "gencert -ca": "CERTIFICATE",
        "gencert -ca-key": "EC PRIVATE KEY",
        "sign -ca-key": "EC PRIVATE KEY",
    }[command]
    (work / "input.pem").write_bytes(pem_inputs[label][case])
    (work / "req.json").write_text(_csr())
    good = k8s.CA.create("good", key="ecdsa-p256")
    good.write("good", work)
    leaf = good.issue_client_cert("alice", key="ecdsa-p256")
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1())
    csr = x509.CertificateSigningRequestBuilder().subject_name(leaf.cert.subject).sign(key, hashes.SHA256())
    (work / "good.csr").write_bytes(csr.public_bytes(serialization.Encoding.PEM))
    argv = {
        "sign CSR": ["sign", "-ca=good.pem", "-ca-key=good-key.pem", "input.pem"],
        "certinfo": ["certinfo", "-cert", "input.pem"],
        "gencert -ca": ["gencert", "-ca=input.pem", "-ca-key=good-key.pem", "-write", "new", "req.json"],
        "gencert -ca-key": ["gencert", "-ca=good.pem", "-ca-key=input.pem", "-write", "new", "req.json"],
        "sign -ca-key": ["sign", "-ca=good.pem", "-ca-key=input.pem", "good.csr"],
    }[command]
    before = _snapshot(work)
    rc, out, err = _run_cli(argv, work, monkeypatch, capsys)
    _assert_refused(rc, err, before, _snapshot(work))
    assert out == ""


# --------------------------------------------------------------- kubeconfig view, client-files
def _laughs(levels=9):
    lines = ['a0: &a0 ["x","x","x","x","x","x","x","x","x"]']
    for i in range(1, levels):
        lines.append(f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 9) + "]")
    return ("\n".join(lines) + "\n").encode()


KUBECONFIG_CASES = {
    "billion laughs": _laughs(),
    "100000 nested lists": b"[" * 100_000,
    "3000 nested mappings": ("a:\n" + "".join(" " * i + "b:\n" for i in range(1, 3000))).encode(),
    "binary": bytes(range(256)),
    "UTF-16": "apiVersion: v1\nkind: Config\n".encode("utf-16"),
    "a list": b"- a\n- b\n",
    "a user named by a number": b"apiVersion: v1\nkind: Config\nusers:\n- name: 5\n  user: {}\n",
    "a 5000-digit number": b"apiVersion: v1\nkind: Config\npreferences: {x: " + b"9" * 5000 + b"}\n",
    "users is a mapping": b"apiVersion: v1\nkind: Config\nusers: {a: b}\n",
    "wrong kind": b"apiVersion: v1\nkind: Pod\n",
    "tab indentation": b"apiVersion: v1\nusers:\n\t- name: a\n",
    "client-key-data not base64": (
        b"apiVersion: v1\nkind: Config\ncurrent-context: c\ncontexts:\n- name: c\n"
        b"  context: {cluster: k, user: u}\nclusters:\n- name: k\n  cluster: "
        b"{server: 'https://x'}\nusers:\n- name: u\n  user: {client-certificate-data: "
        b"'!!', client-key-data: '!!'}\n"
    ),
}


@pytest.mark.parametrize("case", list(KUBECONFIG_CASES))
@pytest.mark.parametrize("command", ["view", "client-files"])
def test_bad_kubeconfig_files(command, case, work, monkeypatch, capsys):
    (work / "kc.yaml").write_bytes(KUBECONFIG_CASES[case])
    before = _snapshot(work)
    rc, out, err = _run_cli(["kubeconfig", command, "kc.yaml"], work, monkeypatch, capsys)
    _assert_refused(rc, err, before, _snapshot(work))


# ------------------------------------------------------------------ json -bare: its input
def _cfssl_out(**over):
    ca = k8s.CA.create("x", key="ecdsa-p256")
    body = {"cert": ca.cert_pem.decode(), "key": ca.key_pem.decode(), "csr": ""}
    body.update(over)
    return json.dumps(body)


JSON_INPUT_CASES = {
    "empty": b"",
    "not UTF-8": b"\xff\xfe\x00",
    "UTF-16": '{"cert": "x"}'.encode("utf-16"),
    "nested 100000 deep": b"[" * 100_000,
    "a 5000-digit number": b'{"cert": ' + b"9" * 5000 + b"}",
    "a list": b"[]",
    "cert is a number": b'{"cert": 5}',
    "cert is a list": b'{"cert": ["-----BEGIN CERTIFICATE-----"]}',
    "cert is not PEM": b'{"cert": "hello"}',
    "cert has a damaged body": b'{"cert": "-----BEGIN CERTIFICATE-----\\n!!!!\\n-----END CERTIFICATE-----\\n"}',
    "key is a certificate": "KEY_IS_CERT",
    "cfssl API failure": b'{"success": false, "result": null, "errors": [{"code": 1, "message": "boom"}]}',
    "cfssl API result not an object": b'{"success": true, "result": "x"}',
    "cfssl error object": b'{"code": 1000, "message": "bad"}',
    "no known field": b'{"certificate": "x"}',
    "truncated": b'{"cert": "-----BEGIN CERT',
}


@pytest.mark.parametrize("name", list(JSON_INPUT_CASES))
def test_json_bare_bad_input(name, work, monkeypatch, capsys):
    data = JSON_INPUT_CASES[name]
    if data == "KEY_IS_CERT":
        ca = k8s.CA.create("x", key="ecdsa-p256")
        data = json.dumps({"cert": ca.cert_pem.decode(), "key": ca.cert_pem.decode()}).encode()
    before = _snapshot(work)
    rc, out, err = _run_cli(["json", "-bare", "new"], work, monkeypatch, capsys, stdin=data)
    _assert_refused(rc, err, before, _snapshot(work))


def test_json_bare_over_an_existing_key_says_what_to_do(work, monkeypatch, capsys):
    before = _snapshot(work)
    rc, out, err = _run_cli(["json", "-bare", "existing"], work, monkeypatch, capsys, stdin=_cfssl_out().encode())
    _assert_refused(rc, err, before, _snapshot(work))
    assert "existing-key.pem already exists" in err and "-overwrite" in err


# ------------------------------------------------------------------------ kubeconfig user
def test_kubeconfig_user_bad_inputs(pki, work, monkeypatch, capsys):
    base = ["kubeconfig", "user", "--server", "https://127.0.0.1:6443", "--cert-dir", str(pki / "kpki")]
    cases = {
        "65-character client name": ["--client-name", "a" * 65],
        "empty client name": ["--client-name", ""],
        "-o an existing directory": ["--client-name", "x", "-o", "."],
        "-o in a missing directory": ["--client-name", "x", "-o", "no/such/kubeconfig"],
        "-o over a directory named like a file": ["--client-name", "x", "-o", "subdir"],
        "negative validity": ["--client-name", "x", "--validity=-1h"],
        "validity in days": ["--client-name", "x", "--validity", "30d"],
        "unknown key type": ["--client-name", "x", "--key", "dsa-1024"],
        "missing cert dir": ["--client-name", "x", "--cert-dir", "nowhere"],
        "--server not a URL": ["--client-name", "x", "--server", "not a url"],
        "--server plain http": ["--client-name", "x", "--server", "http://127.0.0.1:6443"],
        "--server empty": ["--client-name", "x", "--server", ""],
        "--server without a host": ["--client-name", "x", "--server", "https://"],
        "--server port 99999": ["--client-name", "x", "--server", "https://127.0.0.1:99999"],
        "--server with a newline": ["--client-name", "x", "--server", "https://a\nb:6443"],
        "--validity 100000000h": ["--client-name", "x", "--validity", "100000000h"],
        "ca.key of another CA": ["--client-name", "x", "--cert-dir", "mismatch"],
        "ca.crt not a certificate": ["--client-name", "x", "--cert-dir", "garbage"],
        "ca.key in UTF-16": ["--client-name", "x", "--cert-dir", "utf16"],
    }
    other = k8s.CA.create("other", key="ecdsa-p256")
    for name, crt, key in (
        ("mismatch", None, other.key_pem),
        ("garbage", b"hello", None),
        ("utf16", None, (pki / "kpki" / "ca.key").read_text().encode("utf-16")),
    ):
        (work / name).mkdir()
        (work / name / "ca.crt").write_bytes(crt or (pki / "kpki" / "ca.crt").read_bytes())
        (work / name / "ca.key").write_bytes(key or (pki / "kpki" / "ca.key").read_bytes())
        (work / name / "ca.key").chmod(0o600)
    (work / "subdir").mkdir()
    for name, extra in cases.items():
        before = _snapshot(work)
        rc, out, err = _run_cli([*base, *extra], work, monkeypatch, capsys)
        try:
            _assert_refused(rc, err, before, _snapshot(work))
        except AssertionError as exc:
            raise AssertionError(f"{name}: {exc}") from None
        assert not [p for p in work.rglob(".*") if p.is_file()], name  # no hidden temp kubeconfig
        for key_pem in (other.key_pem, (pki / "kpki" / "ca.key").read_bytes()):  # a key is never echoed
            assert key_pem.decode().splitlines()[1] not in err and "b'-----BEGIN" not in err, name
        if name.startswith("ca."):
            assert f"{name.split()[0].replace('ca.', f'{extra[-1]}/ca.')}" in err, (name, err)  # names the file
        if name.startswith("--server"):
            assert "--server" in err, err
    assert len(cases) == KUBECONFIG_USER_CASES
    # Negative: a good --server and CA are accepted (an IPv6 literal too)
    for server in ("https://127.0.0.1:6443", "https://[::1]:6443", "https://kube.example"):
        rc, out, err = _run_cli(
            [*base, "--client-name", "x", "--server", server, "--key", "ecdsa-p256"], work, monkeypatch, capsys
        )
        assert rc == 0 and f"server: {server}" in out, (server, err)


KUBECONFIG_USER_CASES = 19


# ------------------------------------------------- kubeadm trees: check-expiration, lab up
TREE_CERT_CASES = {
    "ca.crt not PEM": b"hello",
    "ca.crt with a damaged body": b"-----BEGIN CERTIFICATE-----\n!!\n-----END CERTIFICATE-----\n",
    "ca.crt binary": bytes(range(256)),
    "ca.crt UTF-16": "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n".encode("utf-16"),
    "ca.crt empty": b"",
}


@pytest.fixture(scope="module")
def lab_tree(tmp_path_factory):
    """A complete lab tree (kubeadm layout) to copy and damage."""
    return k8s.KubeadmTree.create_lab(tmp_path_factory.mktemp("adv-tree") / "t", key="ecdsa-p256").root


@pytest.mark.parametrize("case", list(TREE_CERT_CASES))
def test_check_expiration_of_an_unreadable_ca_fails(case, lab_tree, work, monkeypatch, capsys):
    import shutil

    shutil.copytree(lab_tree, work / "t")
    (work / "t" / "pki" / "ca.crt").write_bytes(TREE_CERT_CASES[case])
    before = _snapshot(work)
    rc, out, err = _run_cli(["check-expiration", "--dir", "t"], work, monkeypatch, capsys)
    _assert_refused(rc, err, before, _snapshot(work))
    assert "!UNREADABLE! ca " in out and "cannot read ca in " in err  # the tables, then the failure
    # Negative: the intact tree is read, exit 0
    rc, out, err = _run_cli(["check-expiration", "--dir", str(lab_tree)], work, monkeypatch, capsys)
    assert rc == 0 and err == "" and "!UNREADABLE!" not in out


@pytest.fixture
def never_serve(monkeypatch):
    """``lab up`` must refuse; should it serve instead, it stops at once and the test fails (not hangs)."""
    from k8sauthlib.lab.server import LabServer

    real_start = LabServer.start

    def start(self):
        real_start(self)
        self.stop()
        raise AssertionError(f"lab up served on {self.url} instead of refusing")

    monkeypatch.setattr(LabServer, "start", start)


def _manifest_with(text, port_value):
    return text.replace("--secure-port=6443", f"--secure-port={port_value}").encode()


MANIFEST_CASES = {
    "secure-port 99999": lambda t: _manifest_with(t, 99999),
    "secure-port 0": lambda t: _manifest_with(t, 0),
    "secure-port -1": lambda t: _manifest_with(t, -1),
    "secure-port abc": lambda t: _manifest_with(t, "abc"),
    "secure-port of 5000 digits": lambda t: _manifest_with(t, "9" * 5000),
    "secure-port in Unicode digits": lambda t: _manifest_with(t, "６４４３"),
    "100000 nested lists": lambda t: b"[" * 100_000,
    "binary": lambda t: bytes(range(256)),
    "billion laughs": lambda t: _laughs(),
    "a list": lambda t: b"- a\n",
    "no containers": lambda t: b"apiVersion: v1\nkind: Pod\nspec: {containers: []}\n",
}


@pytest.mark.parametrize("case", list(MANIFEST_CASES))
def test_lab_up_with_a_bad_manifest(case, lab_tree, work, monkeypatch, capsys, never_serve):
    import shutil

    shutil.copytree(lab_tree, work / "t")
    manifest = work / "t" / "manifests" / "kube-apiserver.yaml"
    manifest.write_bytes(MANIFEST_CASES[case](manifest.read_text()))
    before = _snapshot(work)
    rc, out, err = _run_cli(["lab", "up", "--dir", "t", "--quiet"], work, monkeypatch, capsys)
    _assert_refused(rc, err, before, _snapshot(work))
    assert "kube-apiserver.yaml" in err, err
    if case.startswith("secure-port"):
        assert "--secure-port" in err, err


@pytest.mark.parametrize("case", list(TREE_CERT_CASES))
def test_lab_up_with_an_unreadable_ca_makes_nothing(case, work, monkeypatch, capsys, never_serve):
    # only pki/ca.crt and ca.key: lab up would complete the tree, but refuses before making anything
    (work / "t" / "pki").mkdir(parents=True)
    ca = k8s.CA.create("kubernetes", key="ecdsa-p256")
    (work / "t" / "pki" / "ca.crt").write_bytes(TREE_CERT_CASES[case])
    (work / "t" / "pki" / "ca.key").write_bytes(ca.key_pem)
    (work / "t" / "pki" / "ca.key").chmod(0o600)
    before = _snapshot(work)
    dirs = sorted(p for p in work.rglob("*") if p.is_dir())
    rc, out, err = _run_cli(["lab", "up", "--dir", "t", "--port", "0", "--quiet"], work, monkeypatch, capsys)
    _assert_refused(rc, err, before, _snapshot(work))
    assert sorted(p for p in work.rglob("*") if p.is_dir()) == dirs
    assert "t/pki/ca.crt" in err, err


# ---------------------------------------------------------------------- file readers
READER_CASES = {
    "missing": None,
    "directory": "DIR",
    "empty": b"",
    "binary": bytes(range(256)),
    "UTF-16 PEM": "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n".encode("utf-16"),
    "PEM with a damaged body": b"-----BEGIN CERTIFICATE-----\n!!notbase64!!\n-----END CERTIFICATE-----\n",
    "PEM header only": b"-----BEGIN CERTIFICATE-----\n",
    "8 MB of As": b"A" * (8 << 20),
}


def _reader_file(tmp_path, name):
    data = READER_CASES[name]
    p = tmp_path / "input.pem"
    if data == "DIR":
        p.mkdir()
    elif data is not None:
        p.write_bytes(data)
    return p


@pytest.mark.parametrize("name", list(READER_CASES))
def test_file_readers_refuse_in_one_line(name, tmp_path, pki):
    from k8sauthlib.errors import K8sAuthError
    from k8sauthlib.tls.nginx import Nginx

    p = _reader_file(tmp_path, name)
    good_cert, good_key = pki / "rootCA.pem", pki / "rootCA-key.pem"
    readers = {
        "cfssl.load_ca(cert)": lambda: k8s.cfssl.load_ca(p, good_key),
        "cfssl.load_ca(key)": lambda: k8s.cfssl.load_ca(good_cert, p),
        "CsrRequest.from_json": lambda: k8s.cfssl.CsrRequest.from_json(p),
        "SigningConfig.from_json": lambda: k8s.cfssl.SigningConfig.from_json(p),
        "MTLSClient(ca=)": lambda: k8s.MTLSClient("https://127.0.0.1:1", ca=p),
        "MTLSClient(cert=)": lambda: k8s.MTLSClient("https://127.0.0.1:1", cert=p, key=good_key),
        "Nginx(server_cert=)": lambda: Nginx(tmp_path / "ngx", server_cert=p, server_key=good_key),
    }
    if READER_CASES[name] in (None, "DIR"):
        readers["files.read_file"] = lambda: files.read_file(p, "certificate")
    else:  # a reader of bytes: any content is fine
        assert files.read_file(p, "certificate") == p.read_bytes()
    for reader, call in readers.items():
        try:
            call()
        except K8sAuthError as exc:
            message = str(exc)
        else:
            raise AssertionError(f"{reader} accepted a {name} file")
        assert "\n" not in message and message, (reader, message)
        assert len(message) < 2000, (reader, len(message))


# ----------------------------------------------------------------------- concurrent writers
def test_concurrent_bare_writers_with_overwrite_leave_one_runs_set(tmp_path):
    # with overwrite both succeed, one after the other: the files on disk are all one run's
    pairs = [k8s.CA.create(f"run{i}", key="ecdsa-p256") for i in range(4)]
    for rnd in range(20):
        d = tmp_path / f"r{rnd}"
        d.mkdir()
        barrier = threading.Barrier(len(pairs))

        def writer(i, d=d, barrier=barrier):
            barrier.wait()
            files.write_bare(
                "same",
                d,
                cert_pem=pairs[i].cert_pem,
                key_pem=pairs[i].key_pem,
                csr_pem=pairs[i].cert_pem,
                overwrite=True,
            )

        threads = [threading.Thread(target=writer, args=(i,)) for i in range(len(pairs))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        cert = (d / "same.pem").read_bytes()
        winner = [p for p in pairs if p.cert_pem == cert]
        assert len(winner) == 1
        assert (d / "same-key.pem").read_bytes() == winner[0].key_pem
        assert (d / "same.csr").read_bytes() == winner[0].cert_pem
        assert stat.S_IMODE((d / "same-key.pem").stat().st_mode) == 0o600
        assert sorted(p.name for p in d.iterdir()) == ["same-key.pem", "same.csr", "same.pem"]


def test_concurrent_bare_writers_never_both_succeed_nor_mix(tmp_path):
    # 40 rounds of two threads writing the same bare name without overwrite: exactly one wins,
    # and the pair on disk is that one's (the key matches the certificate)
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    pairs = [k8s.CA.create(f"run{i}", key="ecdsa-p256") for i in range(2)]
    for rnd in range(40):
        d = tmp_path / f"r{rnd}"
        d.mkdir()
        results = [None, None]
        barrier = threading.Barrier(2)

        def writer(i, d=d, barrier=barrier, results=results):
            barrier.wait()
            try:
                files.write_bare("same", d, cert_pem=pairs[i].cert_pem, key_pem=pairs[i].key_pem)
                results[i] = "ok"
            except FileExistsRefusedError:
                results[i] = "refused"

        threads = [threading.Thread(target=writer, args=(i,)) for i in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(results) == ["ok", "refused"], (rnd, results)
        winner = pairs[results.index("ok")]
        assert (d / "same.pem").read_bytes() == winner.cert_pem
        assert (d / "same-key.pem").read_bytes() == winner.key_pem
        key = serialization.load_pem_private_key((d / "same-key.pem").read_bytes(), None)
        assert x509.load_pem_x509_certificate((d / "same.pem").read_bytes()).public_key() == key.public_key()
        assert stat.S_IMODE((d / "same-key.pem").stat().st_mode) == 0o600
        assert sorted(p.name for p in d.iterdir()) == ["same-key.pem", "same.pem"]


def test_concurrent_cli_json_bare_processes(tmp_path):
    # the real command, two processes at once per round: one writes, the other refuses
    outputs = []
    for i in range(2):
        ca = k8s.CA.create(f"run{i}", key="ecdsa-p256")
        outputs.append(json.dumps({"cert": ca.cert_pem.decode(), "key": ca.key_pem.decode()}).encode())
    for rnd in range(8):
        d = tmp_path / f"r{rnd}"
        d.mkdir()
        procs = [
            subprocess.Popen(
                [*ENTRY, "json", "-bare", "same"],
                cwd=d,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            )
            for _ in range(2)
        ]
        for p, data in zip(procs, outputs, strict=True):  # both are started before either gets its input
            p.stdin.write(data)
        for p in procs:
            p.stdin.close()
        codes = [p.wait(60) for p in procs]
        errs = [p.stderr.read().decode() for p in procs]
        for p in procs:
            p.stdout.close()
            p.stderr.close()
        assert sorted(codes) == [0, 1], (codes, errs)
        loser = errs[codes.index(1)]
        assert "same-key.pem already exists" in loser and "Traceback" not in loser
        winner = json.loads(outputs[codes.index(0)])
        assert (d / "same.pem").read_text() == winner["cert"]
        assert (d / "same-key.pem").read_text() == winner["key"]
        assert sorted(p.name for p in d.iterdir()) == ["same-key.pem", "same.pem"]


# ------------------------------------------------- crashes at every step of a multi-file write
# The steps of write_bare for a certificate, a key and a CSR: three files staged (open, fchmod,
# write+fsync), then three moved into place (link or replace). A failure injected at each call
# of those primitives must leave the directory as it was (or, for replaced public files, with
# whole files), and no temp file.
_STEP_FUNCS = ("open", "fchmod", "fsync", "link", "replace")


def _count_steps(tmp_path, overwrite):
    d = tmp_path / "count"
    d.mkdir()
    calls = []
    real = {name: getattr(os, name) for name in _STEP_FUNCS}

    def counting(name):
        def f(*a, **kw):
            calls.append(name)
            return real[name](*a, **kw)

        return f

    pair = k8s.CA.create("c", key="ecdsa-p256")
    with pytest.MonkeyPatch.context() as mp:
        for name in _STEP_FUNCS:
            mp.setattr(files.os, name, counting(name))
        files.write_bare(
            "n", d, cert_pem=pair.cert_pem, key_pem=pair.key_pem, csr_pem=pair.cert_pem, overwrite=overwrite
        )
    return calls


@pytest.mark.parametrize("overwrite", [False, True])
def test_a_failure_at_every_step_leaves_no_half_write(tmp_path, overwrite):
    steps = _count_steps(tmp_path, overwrite)
    assert len(steps) >= 9, steps
    old = k8s.CA.create("old", key="ecdsa-p256")
    new = k8s.CA.create("new", key="ecdsa-p256")
    for k in range(len(steps)):
        d = tmp_path / f"step{k}"
        d.mkdir()
        if overwrite:  # an earlier set that a failed overwrite must not corrupt
            files.write_bare("n", d, cert_pem=old.cert_pem, key_pem=old.key_pem, csr_pem=old.cert_pem)
        before = _snapshot(d)
        seen = []
        real = {name: getattr(os, name) for name in _STEP_FUNCS}

        def failing(name, seen=seen, k=k, real=real):
            def f(*a, **kw):
                seen.append(name)
                if len(seen) == k + 1:
                    raise OSError(28, "No space left on device (injected)")
                return real[name](*a, **kw)

            return f

        with pytest.MonkeyPatch.context() as mp:
            for name in _STEP_FUNCS:
                mp.setattr(files.os, name, failing(name))
            with pytest.raises(OSError, match="injected"):
                files.write_bare(
                    "n", d, cert_pem=new.cert_pem, key_pem=new.key_pem, csr_pem=new.cert_pem, overwrite=overwrite
                )
        after = _snapshot(d)
        assert not [n for n in after if n.startswith(".")], (k, steps[k], list(after))
        if not overwrite:
            assert after == before, (k, steps[k], list(after))
        else:
            for name, (mode, data) in after.items():  # whole files, old or new, modes kept
                assert mode == before[name][0], (k, name, oct(mode))
                assert data in (
                    before[name][1],
                    {"n.pem": new.cert_pem, "n.csr": new.cert_pem, "n-key.pem": new.key_pem}[name],
                ), (k, name)
            assert after["n-key.pem"][1] == before["n-key.pem"][1]  # the key moves last: still the old one
        # and a rerun goes through
        files.write_bare("n", d, cert_pem=new.cert_pem, key_pem=new.key_pem, csr_pem=new.cert_pem, overwrite=True)


_KILLER = r"""
import os, signal, sys
from k8sauthlib import files
k = int(sys.argv[1])
seen = []
for name in ("open", "fchmod", "fsync", "link", "replace"):
    real = getattr(os, name)
    def wrap(*a, _real=real, **kw):
        seen.append(1)
        if len(seen) == k + 1:
            os.kill(os.getpid(), signal.SIGKILL)  # a crash: no cleanup, no finally
        return _real(*a, **kw)
    setattr(files.os, name, wrap)
from k8sauthlib.cli import main
sys.exit(main(["json", "-bare", "same"]))
"""


def test_a_writer_killed_at_every_step_leaves_nothing_a_rerun_trips_over(tmp_path):
    pair = k8s.CA.create("k", key="ecdsa-p256")
    data = json.dumps(
        {
            "cert": pair.cert_pem.decode(),
            "key": pair.key_pem.decode(),
            "csr": pair.cert_pem.decode().replace("CERTIFICATE", "CERTIFICATE REQUEST"),
        }
    ).encode()
    killed = 0
    for k in range(30):  # until the write completes: every step is killed once
        d = tmp_path / f"kill{k}"
        d.mkdir()
        r = subprocess.run([sys.executable, "-c", _KILLER, str(k)], cwd=d, input=data, capture_output=True)
        if r.returncode == 0:
            break  # fewer steps than k: the write completed
        assert r.returncode == -signal.SIGKILL, r.stderr.decode()
        killed += 1
        for p in d.iterdir():  # whatever the crash left is whole, with its mode
            if p.name.endswith("-key.pem") or "-key.pem." in p.name:
                assert stat.S_IMODE(p.stat().st_mode) == 0o600, p
        rerun = subprocess.run([*ENTRY, "json", "-bare", "same"], cwd=d, input=data, capture_output=True)
        assert rerun.returncode == 0, (k, rerun.stderr.decode())
        assert sorted(p.name for p in d.iterdir()) == ["same-key.pem", "same.csr", "same.pem"], (k, list(d.iterdir()))
        assert (d / "same-key.pem").read_bytes() == pair.key_pem
    assert 9 <= killed < 30, killed


def test_atomic_write_killed_midway_leaves_its_temp_for_the_next_write_only(tmp_path):
    # a hidden temp file of a killed writer (it may hold a key) is removed by the next write
    # of that name, not left forever
    stale = tmp_path / ".kubeconfig.0123456789ab.tmp"
    stale.write_bytes(b"client-key-data: secret")
    stale.chmod(0o600)
    other = tmp_path / ".unrelated.0123456789ab.tmp"
    other.write_bytes(b"x")
    files.atomic_write(tmp_path / "kubeconfig", b"new", mode=0o600)
    assert not stale.exists() and other.exists()
    assert (tmp_path / "kubeconfig").read_bytes() == b"new"


# ------------------------------------------------------- the client in a hostile environment
class _TLSServer:
    """A tiny HTTPS server (Python's http.server + ssl) answering with a fixed status/headers."""

    def __init__(self, cert_file, key_file, status=200, headers=None, body=b"ok"):
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                self.send_response(status)
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                outer.requests.append(self.path)

            def log_message(self, *a):
                pass

        self.requests = []
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert_file, key_file)
        self.httpd.socket = ctx.wrap_socket(self.httpd.socket, server_side=True)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture(scope="module")
def tls_site(tmp_path_factory):
    d = tmp_path_factory.mktemp("adv-tls")
    ca = k8s.CA.create("private-root", key="ecdsa-p256")
    ca.write("ca", d)
    server = ca.issue_server_cert("localhost", "127.0.0.1", key="ecdsa-p256")
    server.write("server", d)
    other = k8s.CA.create("other-root", key="ecdsa-p256")
    other.write("other", d)
    with _TLSServer(d / "server.pem", d / "server-key.pem") as site:
        site.dir = d
        yield site


HOSTILE_ENV = ("REQUESTS_CA_BUNDLE", "SSL_CERT_FILE", "CURL_CA_BUNDLE", "SSL_CERT_DIR")


@pytest.mark.parametrize("var", HOSTILE_ENV)
def test_ca_bundle_variables_cannot_add_trust(var, tls_site, monkeypatch):
    # the variable points at the private CA that signed the server: honoured, it would make an
    # unconfigured client trust it. The client trusts the system bundle only.
    monkeypatch.setenv(var, str(tls_site.dir if var == "SSL_CERT_DIR" else tls_site.dir / "ca.pem"))
    with pytest.raises(k8s.errors.UnknownServerCA) as info:
        k8s.MTLSClient(f"https://127.0.0.1:{tls_site.port}").get("/")
    assert "\n" not in str(info.value) and "system CA bundle" in str(info.value)


@pytest.mark.parametrize("var", HOSTILE_ENV)
def test_ca_bundle_variables_cannot_replace_the_given_ca(var, tls_site, monkeypatch):
    # ... nor replace the CA the caller gave (a missing file, another CA)
    monkeypatch.setenv(var, str(tls_site.dir / "other.pem"))
    r = k8s.MTLSClient(f"https://127.0.0.1:{tls_site.port}", ca=tls_site.dir / "ca.pem").get("/")
    assert r.status_code == 200 and r.text == "ok"
    monkeypatch.setenv(var, "/nonexistent/bundle.pem")
    r = k8s.MTLSClient(f"https://127.0.0.1:{tls_site.port}", ca=tls_site.dir / "ca.pem").get("/")
    assert r.status_code == 200


@pytest.mark.parametrize("var", ["HTTPS_PROXY", "https_proxy", "ALL_PROXY", "HTTP_PROXY"])
def test_proxy_variables_are_not_used(var, tls_site, monkeypatch):
    # a proxy on a closed port: honoured, every request would fail to connect
    monkeypatch.setenv(var, "http://127.0.0.1:9")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    r = k8s.MTLSClient(f"https://127.0.0.1:{tls_site.port}", ca=tls_site.dir / "ca.pem").get("/")
    assert r.status_code == 200


def test_default_trust_is_the_system_bundle_not_certifi(tls_site):
    import certifi

    c = k8s.MTLSClient(f"https://127.0.0.1:{tls_site.port}")
    assert c.trust_store != certifi.where()
    assert c.session.verify == c.trust_store
    assert Path(c.trust_store).exists()
    assert c.trust_store == system_trust_store()


def test_redirect_from_https_to_http_is_refused(tls_site):
    d = tls_site.dir
    with _TLSServer(
        d / "server.pem", d / "server-key.pem", status=302, headers={"Location": "http://127.0.0.1:9/elsewhere"}
    ) as site:
        api = k8s.MTLSClient(
            f"https://127.0.0.1:{site.port}", ca=d / "ca.pem", cert=d / "server.pem", key=d / "server-key.pem"
        )
        with pytest.raises(k8s.errors.TLSProblem, match="not HTTPS; refusing to leave TLS") as info:
            api.get("/")
        assert "\n" not in str(info.value)
        # asked not to follow, the redirect itself is returned
        r = api.get("/", allow_redirects=False)
        assert r.status_code == 302
    with _TLSServer(
        d / "server.pem",
        d / "server-key.pem",
        status=302,
        headers={"Location": f"https://127.0.0.1:{tls_site.port}/there"},
    ) as site:
        r = k8s.MTLSClient(f"https://127.0.0.1:{site.port}", ca=d / "ca.pem").get("/")
        assert r.status_code == 200 and r.text == "ok"  # https to https is followed


def test_plain_http_to_the_lab_is_diagnosed(tmp_path):
    with k8s.LabServer(tmp_path / "lab", port=0) as lab:
        url = lab.url.replace("https://", "http://")
        with pytest.raises(k8s.errors.PlainHTTPToHTTPS) as info:
            k8s.MTLSClient(url).get("/version")
        message = str(info.value)
        assert "Client sent an HTTP request to an HTTPS server" not in message or "https://" in message
        assert f"Use {lab.url.rstrip('/')}" in message and "\n" not in message
        r = k8s.MTLSClient(url, raise_for_tls=False).get("/version")
        assert r.status_code == 400 and r.diagnosis.key == "plain-http-to-https-port"


# ------------------------------------------------------------- the lab's RBAC files reloaded
def test_an_rbac_reload_that_fails_unexpectedly_is_answered_and_logged(tmp_path, monkeypatch):
    # per-object skipping covers malformed objects; an unexpected failure of the reload itself
    # must still answer (the previous policy) and say so in the log, on every request while it lasts
    from k8sauthlib.lab import bootstrap
    from k8sauthlib.lab.rbac import PolicyFiles, RBACPolicy

    messages = []
    files_ = PolicyFiles(tmp_path, on_error=messages.append, base=bootstrap.policy_objects)
    before = files_.current()
    (tmp_path / "new.yaml").write_text(
        "kind: ClusterRole\napiVersion: rbac.authorization.k8s.io/v1\nmetadata: {name: x}\n"
    )

    def broken(*a, **kw):
        raise RuntimeError("injected")

    monkeypatch.setattr(RBACPolicy, "load", broken)
    assert files_.current() is before and files_.current() is before  # answered, twice
    assert messages == ["RBAC files not reloaded, previous policy still in force: injected"] * 2
    monkeypatch.undo()
    assert files_.current() is not before  # the next reload that works takes effect
    assert messages[2:] == []


# ------------------------------------------------------- client-files: users it cannot extract
def test_client_files_of_users_without_a_matching_pair(work, monkeypatch, capsys):
    import base64

    ca = k8s.CA.create("c", key="ecdsa-p256")
    u, v = (ca.issue_client_cert(n, key="ecdsa-p256") for n in ("u", "v"))

    def b64(data):
        return base64.b64encode(data).decode()

    users = {
        "a certificate without its key": f"{{client-certificate-data: {b64(u.cert_pem)}}}",
        "another certificate's key": f"{{client-certificate-data: {b64(u.cert_pem)}, client-key-data: {b64(v.key_pem)}}}",
        "a token only": "{token: abc}",
    }
    for name, user in users.items():
        (work / "kc").write_text(
            "apiVersion: v1\nkind: Config\ncurrent-context: c\ncontexts:\n- name: c\n  context: {cluster: k, user: u}\n"
            "clusters:\n- name: k\n  cluster: {server: 'https://127.0.0.1:6443'}\nusers:\n- name: u\n"
            f"  user: {user}\n"
        )
        before = _snapshot(work)
        rc, out, err = _run_cli(["kubeconfig", "client-files", "kc", "--name", "out"], work, monkeypatch, capsys)
        _assert_refused(rc, err, before, _snapshot(work))
        assert v.key_pem.decode().splitlines()[1] not in err, name
    # Negative: the matching pair is extracted, the key 0600
    (work / "kc").write_text(
        (work / "kc")
        .read_text()
        .replace("{token: abc}", users["another certificate's key"].replace(b64(v.key_pem), b64(u.key_pem)))
    )
    rc, out, err = _run_cli(["kubeconfig", "client-files", "kc", "--name", "out"], work, monkeypatch, capsys)
    assert rc == 0 and stat.S_IMODE((work / "out-key.pem").stat().st_mode) == 0o600, err


@pytest.mark.parametrize(
    "bad, logged",
    [
        ("[" * 100_000, "not valid YAML: nested too deeply to be read"),
        ("kind: [unclosed\n  : : :\n", "not valid YAML at line 2, column 3: expected ',' or ']', but got ':'"),
        ("kind: Role\n".encode("utf-16"), "bad.yaml: "),
        (bytes(range(256)), "bad.yaml: "),
    ],
    ids=["100000 nested lists", "a YAML syntax error", "UTF-16", "binary"],
)
def test_a_bad_rbac_file_is_skipped_alone_in_one_log_line(bad, logged, tmp_path):
    # beside it, another file's revocation still takes effect (the directory's reload goes on)
    from k8sauthlib.lab import bootstrap
    from k8sauthlib.lab.attributes import RequestAttributes
    from k8sauthlib.lab.rbac import PolicyFiles

    grant = (
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata: {name: g}\n"
        "subjects: [{kind: User, name: alice}]\nroleRef: {kind: ClusterRole, name: view, apiGroup: rbac.authorization.k8s.io}\n"
    )
    (tmp_path / "grant.yaml").write_text(grant)
    messages = []
    policy_files = PolicyFiles(tmp_path, on_error=messages.append, base=bootstrap.policy_objects)
    attrs = RequestAttributes(verb="list", resource="pods", namespace="default", is_resource_request=True)
    assert policy_files.current().authorize("alice", ["system:authenticated"], attrs).allowed
    (tmp_path / "bad.yaml").write_bytes(bad if isinstance(bad, bytes) else bad.encode())
    (tmp_path / "grant.yaml").write_text(grant.replace("[{kind: User, name: alice}]", "[]"))  # the revocation
    assert not policy_files.current().authorize("alice", ["system:authenticated"], attrs).allowed
    assert len(messages) == 1 and "\n" not in messages[0], messages
    assert messages[0].startswith(f"RBAC object skipped: {tmp_path / 'bad.yaml'}") and logged in messages[0], messages
