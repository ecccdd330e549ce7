"""cfssl's ``hosts`` rule, once (k8sauthlib.pki.names), for cfssl JSON and for ``CA.issue_*`` alike.

The two old copies disagreed on ``Alice <a@example.com>`` (email for one, DNS for the other) and
``urn:x`` (refused by one, a URI for the other). cfssl decides: ``mail.ParseAddress`` accepts a
display name, and ``url.ParseRequestURI`` accepts an opaque URI.
"""

import json
import shutil
import subprocess

import pytest
from cryptography import x509

import k8sauthlib as k8s
from k8sauthlib import cfssl
from k8sauthlib.pki.names import classify_host, parse_hosts


@pytest.mark.parametrize(
    "host, kind, value",
    [
        ("Alice <a@example.com>", "email", "a@example.com"),
        ("urn:x", "uri", "urn:x"),
        ("mailto:x", "uri", "mailto:x"),
        ("spiffe://cluster.local/ns/a", "uri", "spiffe://cluster.local/ns/a"),
    ],
)
def test_the_old_disagreements_are_settled_by_cfssl(host, kind, value):
    assert classify_host(host) == (kind, value)


def test_library_and_cfssl_json_give_the_same_sans():
    hosts = ["Alice <a@example.com>", "urn:x", "10.0.0.1", "node1", "::ffff:10.0.0.2"]
    ca = k8s.CA.create("c", key="ecdsa-p256")
    issued = ca.issue_server_cert(*hosts, key="ecdsa-p256")
    from_json = cfssl.gencert(
        ca,
        {"CN": "s", "hosts": hosts, "key": {"algo": "ecdsa", "size": 256}},
        {"signing": {"default": {"usages": ["server auth"], "expiry": "1h"}}},
    )
    sans = [c.cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value for c in (issued, from_json)]
    assert list(sans[0]) == list(sans[1]) == parse_hosts(hosts)
    assert [type(g).__name__ for g in sans[0]] == [
        "DNSName",
        "RFC822Name",
        "IPAddress",
        "IPAddress",
        "UniformResourceIdentifier",
    ]


@pytest.mark.parametrize("host, words", [("localhost:8443", "port"), ("127.0.0.1:6443", "port"), ("", "empty")])
def test_hosts_no_client_can_match_are_refused_everywhere(host, words):
    with pytest.raises(k8s.InputError, match=words):
        parse_hosts([host])
    with pytest.raises(k8s.InputError, match=words):
        k8s.CA.create("c", key="ecdsa-p256").issue_server_cert(host, key="ecdsa-p256")


@pytest.mark.skipif(shutil.which("cfssl") is None, reason="cfssl is not installed")
def test_the_real_cfssl_classifies_ip_email_and_dns_as_we_do(tmp_path):
    """cfssl 1.2 (Debian's) has the IP, email and DNS steps; the URI step came with cfssl 1.3."""
    hosts = [
        "127.0.0.1",
        "::ffff:10.0.0.1",
        "Alice <a@example.com>",
        "b@example.org",
        "localhost",
        "*.example.com",
        "kubernetes.default.svc",
    ]
    subprocess.run(
        "cfssl gencert -initca ca.json | cfssljson -bare ca",
        shell=True,
        cwd=tmp_path,
        check=True,
        input=None,
        capture_output=True,
        timeout=60,
        env=None,
    ) if (tmp_path / "ca.json").write_text(json.dumps({"CN": "ca", "key": {"algo": "ecdsa", "size": 256}})) else None
    (tmp_path / "leaf.json").write_text(json.dumps({"CN": "x", "hosts": hosts, "key": {"algo": "ecdsa", "size": 256}}))
    out = subprocess.run(
        ["cfssl", "gencert", "-ca", "ca.pem", "-ca-key", "ca-key.pem", "leaf.json"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    cert = x509.load_pem_x509_certificate(json.loads(out)["cert"].encode())
    theirs = list(cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value)
    assert theirs == parse_hosts(hosts)
    # the negative: a host cfssl reads as DNS is not what we produce for an email
    assert x509.DNSName("Alice <a@example.com>") not in theirs
