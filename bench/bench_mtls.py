"""What one mutual-TLS request costs, four ways, against a real nginx on 127.0.0.1.

    .venv/bin/python bench/bench_mtls.py [-n 100] [--keys rsa-2048,ecdsa-p256] [--json out.json]

For each key type (server, client and CA keys all of that type) it measures, per request:

* ``curl process``   one ``curl --cacert --cert --key`` process per request (what a shell loop does)
* ``new session``    a new ``requests.Session`` per request: a full TCP + TLS handshake each time
* ``reused session`` one :class:`k8sauthlib.MTLSClient` for all requests: the connection is reused
* ``bare handshake`` TCP connect + TLS handshake with the client certificate, no HTTP (``ssl``)

and prints milliseconds per request and each way's ratio to the reused session. The target of
the project: the reused session is at least 10x cheaper per request than a curl process.
Timings are printed, never asserted (tests make no timing claims).
"""

from __future__ import annotations

import argparse
import json
import shutil
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

import k8sauthlib as k8s
from k8sauthlib.tls.client import MTLSClient
from k8sauthlib.tls.nginx import Nginx


def _time_per_call(fn, n, warmup=2):
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t0)
    return statistics.median(samples) * 1000, statistics.mean(samples) * 1000


def bench_key(key, n, root):
    d = root / key
    d.mkdir()
    ca = k8s.CA.create("rootCA", org="Kubernetes", key=key)
    ca.write("rootCA", d)
    ca.issue_server_cert("localhost", "127.0.0.1", key=key).write("server", d)
    ca.issue_client_cert("bench", groups=["bench"], key=key).write("client", d)
    ca_pem, cert, cli_key = str(d / "rootCA.pem"), str(d / "client.pem"), str(d / "client-key.pem")
    results = {}
    with Nginx(
        d / "nginx",
        server_cert=d / "server.pem",
        server_key=d / "server-key.pem",
        client_ca=d / "rootCA.pem",
        verify_client="on",
    ) as web:
        url = web.url

        def curl_once():
            r = subprocess.run(
                [
                    "curl",
                    "-sS",
                    "-o",
                    "/dev/null",
                    "-w",
                    "%{http_code}",
                    "--cacert",
                    ca_pem,
                    "--cert",
                    cert,
                    "--key",
                    cli_key,
                    url,
                ],
                capture_output=True,
                check=True,
            )
            assert r.stdout == b"200", r

        def new_session_once():
            with requests.Session() as s:
                assert s.get(url, verify=ca_pem, cert=(cert, cli_key), timeout=10).status_code == 200

        client = MTLSClient(url, ca=ca_pem, cert=cert, key=cli_key)

        def reused_once():
            assert client.get("/").status_code == 200

        ctx = ssl.create_default_context(cafile=ca_pem)
        ctx.load_cert_chain(cert, cli_key)

        def handshake_once():
            with socket.create_connection(("127.0.0.1", web.port), timeout=10) as raw:
                with ctx.wrap_socket(raw, server_hostname="localhost") as tls:
                    assert tls.version()

        for name, fn in (
            ("curl process", curl_once),
            ("new session", new_session_once),
            ("reused session", reused_once),
            ("bare handshake", handshake_once),
        ):
            results[name] = _time_per_call(fn, n)
        client.close()
    return results


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("-n", type=int, default=100, help="requests per way (default 100)")
    p.add_argument("--keys", default="rsa-2048,ecdsa-p256")
    p.add_argument("--json", help="also write the numbers to this file")
    args = p.parse_args(argv)
    if shutil.which("curl") is None:
        sys.exit("curl is needed: apt-get install curl")
    root = Path(tempfile.mkdtemp(prefix="k8sauth-bench-mtls-"))
    root.chmod(0o755)
    report = {}
    try:
        for key in args.keys.split(","):
            results = bench_key(key, args.n, root)
            base = results["reused session"][0]
            print(
                f"\n{key}: one mutual-TLS GET of the index page, n={args.n} "
                "(median ms per request; ratio to the reused session)"
            )
            print(f"  {'way':<16}{'median ms':>11}{'mean ms':>10}{'ratio':>9}")
            for name, (median, mean) in results.items():
                print(f"  {name:<16}{median:>11.3f}{mean:>10.3f}{median / base:>8.1f}x")
            ratio = results["curl process"][0] / base
            verdict = "meets" if ratio >= 10 else "MISSES"
            print(f"  reused session vs curl process: {ratio:.1f}x cheaper ({verdict} the 10x target)")
            report[key] = {name: {"median_ms": m, "mean_ms": a} for name, (m, a) in results.items()}
    finally:
        shutil.rmtree(root, ignore_errors=True)
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
