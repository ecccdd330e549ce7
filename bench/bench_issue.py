#!/usr/bin/env python
"""Issue the article's certificate set four ways and compare the times.

The set: a root CA (``rootCA-csr.json``), a server certificate and a client certificate signed
with the ``root-ca`` profile of ``rootCA-config.json``, written as cfssljson's bare files.

Ways, each run once per round, in turn, so that machine noise hits them alike:

- ``floor``: key generation and signing with ``cryptography`` directly: the same certificates,
  keys and CSRs (cfssl prints all three), PEM out, with no input to read and nothing checked;
  what no Python tool can beat;
- ``library``: ``k8sauthlib.cfssl.gencert_initca`` / ``gencert`` in-process from the JSON files,
  PEM out (CSRs included, as cfssl makes them);
- ``our CLI``: ``k8sauthlib gencert ... | k8sauthlib json -bare NAME``, three times, as the
  article types it (six process starts);
- ``CLI -write``: ``k8sauthlib gencert ... -write NAME``, three times: the same files from one
  process per certificate;
- ``cfssl``: ``cfssl gencert ... | cfssljson -bare NAME``, three times;
- ``openssl``: ``openssl req -x509 -newkey`` for the CA, ``openssl req -newkey`` plus
  ``openssl x509 -req`` for each leaf.

RSA key generation takes a random time (it searches for primes), so each way runs many rounds
and the report gives the median with the quartiles and the minimum. Usage::

    python bench/bench_issue.py               # RSA-2048 and ECDSA P-256, default rounds
    python bench/bench_issue.py --rounds 31 --keys rsa-2048
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from k8sauthlib import cfssl as kcfssl

CFSSL_KEYS = {"rsa-2048": {"algo": "rsa", "size": 2048}, "ecdsa-p256": {"algo": "ecdsa", "size": 256}}
CONFIG = {
    "signing": {
        "default": {"expiry": "8760h"},
        "profiles": {
            "root-ca": {"usages": ["signing", "key encipherment", "server auth", "client auth"], "expiry": "8760h"}
        },
    }
}


def inputs(key: str) -> dict[str, dict]:
    k = CFSSL_KEYS[key]
    return {
        "rootCA-csr.json": {"CN": "rootCA", "key": k, "names": [{"O": "Kubernetes"}]},
        "rootCA-config.json": CONFIG,
        "server-csr.json": {
            "CN": "localhost",
            "hosts": ["localhost", "127.0.0.1"],
            "key": k,
            "names": [{"O": "server-group"}],
        },
        "client-csr.json": {"CN": "localhost", "key": k, "names": [{"O": "client-group"}]},
    }


def fresh_dir(base: Path, key: str) -> Path:
    d = Path(tempfile.mkdtemp(dir=base))
    for name, data in inputs(key).items():
        (d / name).write_text(json.dumps(data))
    return d


# ------------------------------------------------------------------------------------- ways
def way_floor(d: Path, key: str) -> None:
    def new_key():
        if key == "rsa-2048":
            return rsa.generate_private_key(65537, 2048)
        return ec.generate_private_key(ec.SECP256R1())

    def name(cn, o):
        return x509.Name(
            [x509.NameAttribute(NameOID.ORGANIZATION_NAME, o), x509.NameAttribute(NameOID.COMMON_NAME, cn)]
        )

    def csr(subject, sans, key):
        b = x509.CertificateSigningRequestBuilder().subject_name(subject)
        if sans:
            b = b.add_extension(x509.SubjectAlternativeName(sans), critical=False)
        return b.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM)

    now = datetime.now(timezone.utc)
    ca_key = new_key()
    ca_name = name("rootCA", "Kubernetes")
    ca_ski = x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key())
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(hours=43800))
        .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(ca_ski, critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    pems = [
        ca.public_bytes(serialization.Encoding.PEM),
        ca_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
        ),
        csr(ca_name, [], ca_key),
    ]
    for cn, o, sans in (
        (
            "localhost",
            "server-group",
            [x509.DNSName("localhost"), x509.IPAddress(__import__("ipaddress").ip_address("127.0.0.1"))],
        ),
        ("localhost", "client-group", []),
    ):
        leaf_key = new_key()
        b = (
            x509.CertificateBuilder()
            .subject_name(name(cn, o))
            .issuer_name(ca_name)
            .public_key(leaf_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(minutes=5))
            .not_valid_after(now + timedelta(hours=8760))
            .add_extension(x509.KeyUsage(True, False, True, False, False, False, False, False, False), critical=True)
            .add_extension(
                x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]),
                critical=False,
            )
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(leaf_key.public_key()), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), critical=False)
        )
        if sans:
            b = b.add_extension(x509.SubjectAlternativeName(sans), critical=False)
        cert = b.sign(ca_key, hashes.SHA256())
        pems += [
            cert.public_bytes(serialization.Encoding.PEM),
            leaf_key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
            ),
            csr(name(cn, o), sans, leaf_key),
        ]
    assert all(pems)


def way_library(d: Path, key: str) -> None:
    ca = kcfssl.gencert_initca(d / "rootCA-csr.json")
    config = kcfssl.SigningConfig.from_json(d / "rootCA-config.json")
    out = [kcfssl.to_cfssl_json(ca)]
    for name in ("server", "client"):
        out.append(kcfssl.to_cfssl_json(kcfssl.gencert(ca, d / f"{name}-csr.json", config, "root-ca")))
    assert all(len(o) == 3 for o in out)


def _pipe(gen: list[str], bare: list[str], cwd: Path) -> None:
    producer = subprocess.Popen(gen, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    consumer = subprocess.run(bare, cwd=cwd, stdin=producer.stdout, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    producer.stdout.close()
    if producer.wait() != 0 or consumer.returncode != 0:
        raise RuntimeError(f"{' '.join(gen)} | {' '.join(bare)} failed: {consumer.stderr.decode()}")


def _article(d: Path, gencert: list[str], bare: list[str]) -> None:
    _pipe(gencert + ["-initca", "rootCA-csr.json"], bare + ["rootCA"], d)
    for name in ("server", "client"):
        _pipe(
            gencert
            + [
                "-ca=rootCA.pem",
                "-ca-key=rootCA-key.pem",
                "-config=rootCA-config.json",
                "-profile=root-ca",
                f"{name}-csr.json",
            ],
            bare + [name],
            d,
        )
    assert (d / "client.pem").exists()


OUR_CLI = [str(Path(sys.executable).with_name("k8sauthlib"))]
# Measure the command line as a user runs it: with bytecode caches. Some sandboxes set
# PYTHONDONTWRITEBYTECODE, which makes every start recompile k8sauthlib from source.
os.environ.pop("PYTHONDONTWRITEBYTECODE", None)


def way_our_cli(d: Path, key: str) -> None:
    _article(d, OUR_CLI + ["gencert"], OUR_CLI + ["json", "-bare"])


def way_our_cli_write(d: Path, key: str) -> None:
    def run(*args):
        subprocess.run(
            OUR_CLI + ["gencert", *args], cwd=d, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )

    run("-initca", "-write=rootCA", "rootCA-csr.json")
    for name in ("server", "client"):
        run(
            "-ca=rootCA.pem",
            "-ca-key=rootCA-key.pem",
            "-config=rootCA-config.json",
            "-profile=root-ca",
            f"-write={name}",
            f"{name}-csr.json",
        )
    assert (d / "client.pem").exists()


def way_cfssl(d: Path, key: str) -> None:
    _article(d, ["cfssl", "gencert"], ["cfssljson", "-bare"])


def way_openssl(d: Path, key: str) -> None:
    newkey = ["-newkey", "rsa:2048"] if key == "rsa-2048" else ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"]
    (d / "leaf.ext").write_text(
        "keyUsage=critical,digitalSignature,keyEncipherment\n"
        "extendedKeyUsage=serverAuth,clientAuth\nbasicConstraints=critical,CA:FALSE\n"
        "subjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n"
    )
    (d / "server.ext").write_text((d / "leaf.ext").read_text() + "subjectAltName=DNS:localhost,IP:127.0.0.1\n")
    (d / "client.ext").write_text((d / "leaf.ext").read_text())

    def run(*args):
        subprocess.run(["openssl", *args], cwd=d, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    run(
        "req",
        "-x509",
        *newkey,
        "-nodes",
        "-keyout",
        "rootCA-key.pem",
        "-out",
        "rootCA.pem",
        "-subj",
        "/O=Kubernetes/CN=rootCA",
        "-days",
        "1825",
        "-addext",
        "keyUsage=critical,keyCertSign,cRLSign",
        "-addext",
        "basicConstraints=critical,CA:TRUE",
    )
    for name, group in (("server", "server-group"), ("client", "client-group")):
        run(
            "req",
            *newkey,
            "-nodes",
            "-keyout",
            f"{name}-key.pem",
            "-out",
            f"{name}.csr",
            "-subj",
            f"/O={group}/CN=localhost",
        )
        run(
            "x509",
            "-req",
            "-in",
            f"{name}.csr",
            "-CA",
            "rootCA.pem",
            "-CAkey",
            "rootCA-key.pem",
            "-CAcreateserial",
            "-days",
            "365",
            "-extfile",
            f"{name}.ext",
            "-out",
            f"{name}.pem",
        )


WAYS = {
    "floor": way_floor,
    "library": way_library,
    "our CLI": way_our_cli,
    "CLI -write": way_our_cli_write,
    "cfssl": way_cfssl,
    "openssl": way_openssl,
}


# ---------------------------------------------------------------------------------- running
def measure(key: str, rounds: int, base: Path, ways: dict) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {name: [] for name in ways}
    for _ in range(2):  # warm-up: page cache, bytecode caches, first-import costs
        for way in ways.values():
            way(fresh_dir(base, key), key)
    for _ in range(rounds):
        for name, way in ways.items():
            d = fresh_dir(base, key)
            start = time.perf_counter()
            way(d, key)
            times[name].append(time.perf_counter() - start)
            shutil.rmtree(d)
    return times


def quartiles(values: list[float]) -> tuple[float, float, float]:
    q = statistics.quantiles(values, n=4, method="inclusive")
    return q[0], statistics.median(values), q[2]


def report(key: str, times: dict[str, list[float]]) -> None:
    med = {name: statistics.median(v) for name, v in times.items()}
    lib = med["library"]
    print(f"\n{key}: the article's set (root CA, server, client), {len(times['library'])} rounds")
    print(f"  {'way':<10} {'median':>9} {'q1..q3':>19} {'min':>9}   {'÷ library':>9}")
    for name, values in times.items():
        q1, m, q3 = quartiles(values)
        print(
            f"  {name:<10} {m * 1000:7.1f}ms {q1 * 1000:8.1f}..{q3 * 1000:7.1f}ms {min(values) * 1000:7.1f}ms"
            f"   {m / lib:8.2f}×"
        )
    print(f"  library ÷ floor = {lib / med['floor']:.2f}× (target ≤ 1.2×)")
    for name in ("our CLI", "CLI -write"):
        if "cfssl" in med and name in med:
            print(f"  {name} ÷ cfssl = {med[name] / med['cfssl']:.2f}× (target ≤ 1.0× for RSA-2048)")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--keys", nargs="+", default=["rsa-2048", "ecdsa-p256"], choices=list(CFSSL_KEYS))
    parser.add_argument("--rounds", type=int, default=0, help="rounds per key type (default: 21 RSA, 15 ECDSA)")
    parser.add_argument("--ways", nargs="+", default=list(WAYS), choices=list(WAYS))
    args = parser.parse_args(argv)
    missing = [t for t in ("cfssl", "cfssljson", "openssl") if shutil.which(t) is None]
    ways = {n: WAYS[n] for n in args.ways}
    for tool in missing:
        print(f"note: {tool} is not installed; skipping the ways that need it", file=sys.stderr)
        ways.pop("cfssl" if tool.startswith("cfssl") else "openssl", None)
    ways.setdefault("library", way_library)
    ways.setdefault("floor", way_floor)
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs; times per whole set, files written by the CLIs")
    with tempfile.TemporaryDirectory() as tmp:
        for key in args.keys:
            rounds = args.rounds or (21 if key.startswith("rsa") else 15)
            report(key, measure(key, rounds, Path(tmp), ways))
    return 0


if __name__ == "__main__":
    sys.exit(main())
