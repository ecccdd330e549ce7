"""k8sauthlib.pki (identity, describe, verify): Kubernetes identity, describe/certinfo, and Go-semantics chain verification.

The Go error texts are held against a real Go verifier: kubectl (go1.23) connecting to a TLS
server on 127.0.0.1 that serves our certificates; ``cfssl certinfo`` (Go) is the reference for
``to_cfssl_certinfo``; ``openssl verify -purpose`` is compared where its rules agree with Go's
and the places where they differ are pinned down.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import os
import re
import shutil
import socket
import ssl
import subprocess
import threading
from datetime import timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

import k8sauthlib as k8s
from k8sauthlib.pki.identity import CREDENTIAL_ID_KEY, UID_OID, certificate_identifier
from k8sauthlib.pki.names import CA_USAGES, subject_name

needs_cfssl = pytest.mark.skipif(shutil.which("cfssl") is None, reason="cfssl is not installed (make test installs it)")
needs_kubectl = pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not installed")
needs_openssl = pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl is not installed")

UNKNOWN_AUTHORITY = "x509: certificate signed by unknown authority"
INCOMPATIBLE_USAGE = "x509: certificate specifies an incompatible key usage"


def name(*pairs) -> x509.Name:
    oids = {
        "CN": NameOID.COMMON_NAME,
        "O": NameOID.ORGANIZATION_NAME,
        "OU": NameOID.ORGANIZATIONAL_UNIT_NAME,
        "C": NameOID.COUNTRY_NAME,
        "ST": NameOID.STATE_OR_PROVINCE_NAME,
        "L": NameOID.LOCALITY_NAME,
    }
    return x509.Name([x509.NameAttribute(oids.get(k, k), v) for k, v in pairs])


def der(cert) -> bytes:
    return getattr(cert, "cert", cert).public_bytes(serialization.Encoding.DER)


# ----------------------------------------------------------------------------------- identity
def test_identity_cn_user_every_o_a_group(ca):
    alice = ca.issue_client_cert("alice", ["developers", "system:masters", "developers-2"])
    identity = k8s.kubernetes_identity(alice.cert)
    assert identity.user == "alice"
    assert identity.groups == ("developers", "system:masters", "developers-2", "system:authenticated")
    assert identity.anonymous is False
    assert identity.uid == ""
    assert identity.extra == {CREDENTIAL_ID_KEY: ["X509SHA256=" + hashlib.sha256(der(alice)).hexdigest()]}
    assert str(identity) == "user=alice groups=[developers, system:masters, developers-2, system:authenticated]"
    assert identity.as_user_info() == {
        "username": "alice",
        "groups": ["developers", "system:masters", "developers-2", "system:authenticated"],
        "extra": {CREDENTIAL_ID_KEY: ["X509SHA256=" + hashlib.sha256(der(alice)).hexdigest()]},
    }
    assert k8s.kubernetes_identity(alice) == identity  # a Cert works too
    assert alice.identity == identity
    assert hash(identity) == hash(k8s.kubernetes_identity(alice.cert))  # frozen, usable as a key


def test_identity_ignores_ou_c_l_st(ca):
    cert = ca.issue(
        subject=name(("C", "KR"), ("ST", "Seoul"), ("L", "Gangnam"), ("O", "devs"), ("OU", "platform"), ("CN", "bob"))
    )
    identity = k8s.kubernetes_identity(cert)
    assert identity.user == "bob"
    assert identity.groups == ("devs", "system:authenticated")


def test_identity_empty_cn_is_anonymous(ca):
    nobody = ca.issue_client_cert("", ["developers"])
    identity = k8s.kubernetes_identity(nobody)
    assert identity.anonymous is True
    assert identity.user == "system:anonymous"
    assert identity.groups == ("system:unauthenticated",)
    assert identity.extra == {}
    assert "anonymous" in str(identity)


def test_identity_uses_the_last_cn_like_go(ca):
    cert = ca.issue(subject=name(("CN", "first"), ("CN", "second")))
    assert k8s.kubernetes_identity(cert).user == "second"


def test_identity_group_adder_edge_cases(ca):
    # the authenticated-group adder adds nothing when the groups already say (un)authenticated,
    # or when the user calls itself system:anonymous
    odd = ca.issue_client_cert("eve", ["system:unauthenticated"])
    assert k8s.kubernetes_identity(odd).groups == ("system:unauthenticated",)
    already = ca.issue_client_cert("eve", ["system:authenticated", "x"])
    assert k8s.kubernetes_identity(already).groups == ("system:authenticated", "x")
    anon = ca.issue_client_cert("system:anonymous")
    assert k8s.kubernetes_identity(anon).groups == ()
    assert k8s.kubernetes_identity(anon).anonymous is False


def test_identity_uid_attribute(ca):
    cert = ca.issue(subject=name(("O", "devs"), ("CN", "alice"), (UID_OID, "1234-abcd")))
    identity = k8s.kubernetes_identity(cert)
    assert identity.uid == "1234-abcd"
    assert identity.as_user_info()["uid"] == "1234-abcd"
    two = ca.issue(subject=name(("CN", "alice"), (UID_OID, "a"), (UID_OID, "b")))
    with pytest.raises(k8s.InputError, match="multiple"):
        k8s.kubernetes_identity(two)
    # describe() still works and says why
    assert "rejected" in k8s.describe(two).kubernetes.user


def test_identity_from_pem_path_and_garbage(ca, pem_file):
    alice = ca.issue_client_cert("alice")
    assert k8s.kubernetes_identity(alice.cert_pem).user == "alice"
    assert k8s.kubernetes_identity(pem_file(alice.cert_pem)).user == "alice"
    assert k8s.kubernetes_identity(str(pem_file(alice.cert_pem))).user == "alice"
    with pytest.raises(k8s.InputError):
        k8s.kubernetes_identity(b"garbage")
    with pytest.raises(k8s.InputError, match="holds no certificate"):
        k8s.kubernetes_identity(alice.key_pem)


# ----------------------------------------------------------------------------------- describe
def test_describe_ca(ca, key_type):
    info = k8s.describe(ca)
    assert info.subject == "CN=kubernetes" and info.issuer == "CN=kubernetes"
    assert info.subject_attributes == [("CN", "kubernetes")]
    assert info.is_ca is True and info.path_length is None
    assert info.self_signed
    assert info.key_usage == ["keyCertSign", "cRLSign"]
    assert info.ext_key_usage == []
    assert info.aki is None
    assert (
        info.ski == ca.cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest.hex(":").upper()
    )
    assert info.public_key == info.key == {"rsa-2048": "RSA 2048", "ecdsa-p256": "ECDSA P-256"}[key_type]
    assert info.path_len is None
    assert info.signature_algorithm == {"rsa-2048": "SHA256WithRSA", "ecdsa-p256": "ECDSAWithSHA256"}[key_type]
    assert info.extensions == {"keyUsage": True, "basicConstraints": True, "subjectKeyIdentifier": False}
    assert info.fingerprint_sha256 == ca.fingerprint_sha256
    assert info.serial == ca.cert.serial_number
    assert int(info.serial_hex.replace(":", ""), 16) == info.serial
    assert re.fullmatch(r"([0-9A-F]{2}:)*[0-9A-F]{2}", info.serial_hex)
    assert info.serial_decimal == str(ca.cert.serial_number)
    assert info.not_before == ca.not_before and info.not_after == ca.not_after
    assert info.not_before.tzinfo is not None
    assert info.is_valid_at()
    assert not info.is_valid_at(ca.not_after + timedelta(seconds=1))
    assert info.is_valid_at(ca.not_after)  # the end is still valid, as in Go


def test_describe_server_and_client(ca):
    server = ca.issue_server_cert(
        "localhost", "kubernetes.default", "127.0.0.1", "ops@example.com", "spiffe://cluster.local/x"
    )
    info = k8s.describe(server)
    assert info.dns_names == ["localhost", "kubernetes.default"]
    assert info.ip_addresses == ["127.0.0.1"]
    assert info.email_addresses == ["ops@example.com"]
    assert info.uris == ["spiffe://cluster.local/x"]
    assert info.sans == ["localhost", "kubernetes.default", "127.0.0.1", "ops@example.com", "spiffe://cluster.local/x"]
    assert info.key_usage == ["digitalSignature", "keyEncipherment"]
    assert info.ext_key_usage == ["serverAuth"]
    assert info.is_ca is False
    assert info.aki == k8s.describe(ca).ski
    assert info.extensions["subjectAltName"] is False and info.extensions["keyUsage"] is True

    alice = k8s.describe(ca.issue_client_cert("alice", ["developers", "qa"]))
    assert alice.subject == "CN=alice,O=qa,O=developers"  # RFC 4514: last RDN first
    assert alice.subject_attributes == [("O", "developers"), ("O", "qa"), ("CN", "alice")]
    assert alice.ext_key_usage == ["clientAuth"]
    assert alice.sans == []
    assert alice.kubernetes.groups == ("developers", "qa", "system:authenticated")


def test_describe_accepts_many_inputs(ca, pem_file):
    alice = ca.issue_client_cert("alice")
    expected = k8s.describe(alice.cert).fingerprint_sha256
    for source in (
        alice,
        alice.cert,
        alice.cert_pem,
        alice.cert_pem.decode(),
        der(alice),
        pem_file(alice.cert_pem),
        str(pem_file(alice.chain_pem + ca.cert_pem)),
    ):
        assert k8s.describe(source).fingerprint_sha256 == expected


@pytest.mark.parametrize(
    "bad",
    [b"", b"garbage", b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", "/nonexistent/cert.pem", 42],
)
def test_describe_bad_input(bad):
    with pytest.raises(k8s.InputError):
        k8s.describe(bad)


def test_describe_text_and_pretty(ca):
    info = k8s.describe(ca.issue_client_cert("alice", ["developers"]))
    text = str(info)
    lines = text.splitlines()
    assert lines[0].startswith("Subject:") and "CN=alice,O=developers" in lines[0]
    for label in (
        "Issuer:",
        "Serial:",
        "Valid:",
        "Public key:",
        "Signature:",
        "CA:",
        "Key usage:",
        "Ext. key usage:",
        "SKI:",
        "AKI:",
        "SHA-256:",
        "Kubernetes:",
    ):
        assert any(line.startswith(label) for line in lines), label
    assert "user=alice groups=[developers, system:authenticated]" in text
    assert "PRIVATE" not in text
    from IPython.lib.pretty import pretty

    assert pretty(info) == text
    assert pretty(info.kubernetes) == str(info.kubernetes)


# ------------------------------------------------------------------------------ cfssl certinfo
def run_certinfo(path) -> dict:
    out = subprocess.run(
        ["cfssl", "certinfo", "-cert", str(path)], capture_output=True, text=True, timeout=60, check=True
    )
    return json.loads(out.stdout)


@needs_cfssl
def test_certinfo_matches_real_cfssl(ca, pem_file):
    certs = [
        ca,
        ca.issue_client_cert("alice", ["developers", "system:masters"]),
        ca.issue_server_cert("localhost", "10.0.0.1", "ops@example.com"),
        ca.issue_intermediate("inter").issue_client_cert("bob"),
    ]
    for cert in certs:
        ours = k8s.describe(cert).to_cfssl_certinfo(unpadded_key_ids=True)  # Debian's 2016 build
        assert ours.pop("kubernetes") == {"user": cert.identity.user, "groups": list(cert.identity.groups)}
        assert ours == run_certinfo(pem_file(cert.cert_pem))


@needs_cfssl
def test_certinfo_of_a_cfssl_made_certificate(tmp_path):
    (tmp_path / "ca-csr.json").write_text(
        json.dumps(
            {
                "CN": "kubernetes",
                "key": {"algo": "rsa", "size": 2048},
                "names": [{"C": "KR", "ST": "Seoul", "L": "Seoul", "O": "Kubernetes", "OU": "CA"}],
            }
        )
    )
    (tmp_path / "admin-csr.json").write_text(
        json.dumps(
            {
                "CN": "admin",
                "key": {"algo": "ecdsa", "size": 256},
                "hosts": ["admin.local", "10.1.2.3"],
                "names": [{"O": "system:masters"}, {"O": "developers", "OU": "ignored"}],
            }
        )
    )

    def cfssl(*args):
        out = subprocess.run(["cfssl", *args], capture_output=True, text=True, timeout=60, cwd=tmp_path, check=True)
        return json.loads(out.stdout)

    ca_json = cfssl("gencert", "-initca", "ca-csr.json")
    (tmp_path / "ca.pem").write_text(ca_json["cert"])
    (tmp_path / "ca-key.pem").write_text(ca_json["key"])
    admin_json = cfssl("gencert", "-ca=ca.pem", "-ca-key=ca-key.pem", "admin-csr.json")
    (tmp_path / "admin.pem").write_text(admin_json["cert"])
    for file in ("ca.pem", "admin.pem"):
        ours = k8s.describe(tmp_path / file).to_cfssl_certinfo(unpadded_key_ids=True)
        kube = ours.pop("kubernetes")
        theirs = run_certinfo(tmp_path / file)
        assert ours == theirs
    # Go writes all O values into one multi-valued RDN, a DER SET, whose members are sorted: the
    # groups come out in byte order, not in the order of the CSR's "names". Go reads them back in
    # that order, and so do we.
    assert theirs["subject"]["organization"] == "developers,system:masters"
    assert kube == {"user": "admin", "groups": ["developers", "system:masters", "system:authenticated"]}


def test_certinfo_shape_and_padding(ca):
    alice = ca.issue_client_cert("alice", ["developers", "qa"])
    info = k8s.describe(alice).to_cfssl_certinfo()
    assert list(info) == [
        "subject",
        "issuer",
        "serial_number",
        "not_before",
        "not_after",
        "sigalg",
        "authority_key_id",
        "subject_key_id",
        "pem",
        "kubernetes",
    ]  # no SANs: no "sans"
    assert info["subject"] == {
        "common_name": "alice",
        "organization": "developers,qa",
        "names": ["developers", "qa", "alice"],
    }
    assert info["serial_number"] == str(alice.cert.serial_number)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", info["not_after"])
    assert re.fullmatch(r"([0-9A-F]{2}:){19}[0-9A-F]{2}", info["subject_key_id"])  # upstream pads each byte
    assert info["pem"] == alice.cert_pem.decode()
    assert info["kubernetes"] == {"user": "alice", "groups": ["developers", "qa", "system:authenticated"]}
    json.dumps(info)
    assert k8s.describe(ca).to_cfssl_certinfo()["authority_key_id"] == ""


# ------------------------------------------------------------------------------- verify_chain
def test_verify_client_ok(ca, key_type):
    alice = ca.issue_client_cert("alice", ["developers"], key=key_type)
    chain = k8s.verify_chain(alice, ca)
    assert [der(c) for c in chain] == [der(alice), der(ca)]
    assert k8s.verify_chain(alice.cert_pem, ca.cert_pem, purpose="client")[0] == alice.cert
    assert k8s.verify_chain(alice, [ca.cert], purpose="any")[-1] == ca.cert


def test_verify_server_ok_by_name_and_ip(ca):
    server = ca.issue_server_cert("localhost", "*.apps.example.com", "127.0.0.1", "::1")
    for host in ("localhost", "LOCALHOST", "localhost.", "x.apps.example.com", "127.0.0.1", "::1", "[::1]"):
        assert k8s.verify_chain(server, ca, hostname=host)[-1] == ca.cert, host
    assert k8s.verify_chain(server, ca, purpose="server")  # no hostname: chain and usage only


def test_verify_unknown_issuer(ca, other_ca):
    alice = ca.issue_client_cert("alice")
    with pytest.raises(k8s.VerificationError) as err:
        k8s.verify_chain(alice, other_ca)
    assert err.value.reason == "unknown-authority"
    assert err.value.go_message == UNKNOWN_AUTHORITY
    assert "CN=kubernetes" in str(err.value) and "CN=some-other-ca" in str(err.value)
    assert err.value.certificate == alice.cert
    with pytest.raises(k8s.VerificationError, match="not among the trusted CAs"):
        k8s.verify_chain(alice, [])


def test_verify_same_name_different_key_root(ca, key_type):
    """A regenerated CA: same CN, new key. Go hints at the failed candidate."""
    alice = ca.issue_client_cert("alice")
    regenerated = k8s.CA.create("kubernetes", key=key_type)
    with pytest.raises(k8s.VerificationError) as err:
        k8s.verify_chain(alice, regenerated)
    hint = {"rsa-2048": "crypto/rsa: verification error", "ecdsa-p256": "x509: ECDSA verification failure"}[key_type]
    assert err.value.go_message == (
        f'{UNKNOWN_AUTHORITY} (possibly because of "{hint}" while trying to verify '
        f'candidate authority certificate "kubernetes")'
    )
    assert err.value.reason == "unknown-authority"  # Go: signed by unknown authority (possibly because of ...)
    assert "regenerated" in str(err.value)
    # the old CA next to the new one in a bundle: Go finds it
    assert k8s.verify_chain(alice, [regenerated, ca])[-1] == ca.cert


def test_verify_same_name_other_key_type():
    rsa_ca = k8s.CA.create("kubernetes", key="rsa-2048")
    ec_ca = k8s.CA.create("kubernetes", key="ecdsa-p256")
    alice = ec_ca.issue_client_cert("alice")
    with pytest.raises(k8s.VerificationError) as err:
        k8s.verify_chain(alice, rsa_ca)
    assert err.value.go_message == (
        f'{UNKNOWN_AUTHORITY} (possibly because of "x509: signature algorithm specifies an ECDSA public key, '
        f'but have public key of type *rsa.PublicKey" while trying to verify candidate authority certificate '
        f'"kubernetes")'
    )


def test_verify_expired_and_not_yet_valid(ca, now):
    alice = ca.issue_client_cert("alice", validity=timedelta(days=1))
    later = alice.not_after + timedelta(seconds=1)
    with pytest.raises(k8s.VerificationError) as err:
        k8s.verify_chain(alice, ca, at=later)
    assert err.value.reason == "cert-expired"
    assert err.value.go_message == (
        "x509: certificate has expired or is not yet valid: current time "
        f"{later:%Y-%m-%dT%H:%M:%SZ} is after {alice.not_after:%Y-%m-%dT%H:%M:%SZ}"
    )
    assert k8s.verify_chain(alice, ca, at=alice.not_after)  # the last second still counts
    earlier = alice.not_before - timedelta(hours=1)
    with pytest.raises(k8s.VerificationError) as err:
        k8s.verify_chain(alice, ca, at=earlier)
    assert err.value.reason == "cert-expired"  # one Go text for both
    assert err.value.go_message.endswith(
        f"current time {earlier:%Y-%m-%dT%H:%M:%SZ} is before {alice.not_before:%Y-%m-%dT%H:%M:%SZ}"
    )
    future = ca.issue_client_cert("bob", not_before=now + timedelta(days=1), not_after=now + timedelta(days=2))
    with pytest.raises(k8s.VerificationError, match="not valid yet"):
        k8s.verify_chain(future, ca)
    # a naive datetime is read as UTC
    assert k8s.verify_chain(alice, ca, at=(alice.not_before + timedelta(minutes=1)).replace(tzinfo=None))


def test_verify_expired_root_is_reported_for_the_root(key_type, now):
    old_root = k8s.CA.create(
        "old-root", key=key_type, not_before=now - timedelta(days=10), not_after=now - timedelta(days=1)
    )
    alice = old_root.issue_client_cert("alice", not_before=now - timedelta(days=5), not_after=now + timedelta(days=5))
    with pytest.raises(k8s.VerificationError) as err:
        k8s.verify_chain(alice, old_root)
    assert err.value.reason == "cert-expired"
    assert err.value.certificate == old_root.cert
    assert "root CA" in str(err.value)


def test_verify_wrong_usage(ca):
    server = ca.issue_server_cert("localhost")
    alice = ca.issue_client_cert("alice")
    with pytest.raises(k8s.VerificationError) as err:
        k8s.verify_chain(server, ca, purpose="client")
    assert err.value.reason == "wrong-key-usage"
    assert err.value.go_message == INCOMPATIBLE_USAGE
    assert "client auth" in str(err.value) and "serverAuth" in str(err.value)
    with pytest.raises(k8s.VerificationError, match="server auth"):
        k8s.verify_chain(alice, ca, purpose="server")
    # hostname given: purpose defaults to server
    with pytest.raises(k8s.VerificationError) as err:
        k8s.verify_chain(ca.issue_client_cert("localhost", hosts=["localhost"]), ca, hostname="localhost")
    assert err.value.reason == "wrong-key-usage"
    assert k8s.verify_chain(server, ca, purpose="any")


def test_verify_leaf_without_eku_passes_every_purpose(ca):
    plain = ca.issue_client_cert("alice", usages=["digital signature", "key encipherment"], hosts=["localhost"])
    assert plain.cert.extensions.get_extension_for_class(x509.KeyUsage)
    with pytest.raises(x509.ExtensionNotFound):
        plain.cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage)
    assert k8s.verify_chain(plain, ca, purpose="client")
    assert k8s.verify_chain(plain, ca, purpose="server", hostname="localhost")
    any_eku = ca.issue_client_cert("bob", usages=["digital signature", "any"])
    assert k8s.verify_chain(any_eku, ca, purpose="client")
    assert k8s.verify_chain(any_eku, ca, purpose="server")


def test_verify_both_ekus(ca):
    kubelet = ca.issue_client_cert(
        "system:node:n1",
        ["system:nodes"],
        hosts=["n1"],
        usages=["signing", "key encipherment", "server auth", "client auth"],
    )
    assert k8s.verify_chain(kubelet, ca, purpose="client")
    assert k8s.verify_chain(kubelet, ca, hostname="n1")


def test_verify_hostname_mismatch_texts(ca):
    server = ca.issue_server_cert("localhost", "kubernetes.default.svc", "10.0.0.1", "10.96.0.1")
    cases = {
        "kubernetes": "x509: certificate is valid for localhost, kubernetes.default.svc, not kubernetes",
        "127.0.0.2": "x509: certificate is valid for 10.0.0.1, 10.96.0.1, not 127.0.0.2",
        "[::2]": "x509: certificate is valid for 10.0.0.1, 10.96.0.1, not ::2",
    }
    for host, go in cases.items():
        with pytest.raises(k8s.VerificationError) as err:
            k8s.verify_chain(server, ca, hostname=host)
        assert err.value.reason == "hostname-mismatch"
        assert err.value.go_message == go
    dns_only = ca.issue_server_cert("localhost")
    with pytest.raises(k8s.VerificationError) as err:
        k8s.verify_chain(dns_only, ca, hostname="127.0.0.1")
    assert (
        err.value.go_message == "x509: cannot validate certificate for 127.0.0.1 because it doesn't contain any IP SANs"
    )
    ip_only = ca.issue_server_cert("127.0.0.1")
    with pytest.raises(k8s.VerificationError) as err:
        k8s.verify_chain(ip_only, ca, hostname="localhost")
    assert err.value.go_message == "x509: certificate is not valid for any names, but wanted to match localhost"
    # CN only, no SAN extension at all: Go names the legacy CN field
    cn_only = ca.issue(subject=name(("CN", "localhost")), usages=["digital signature", "server auth"])
    with pytest.raises(k8s.VerificationError) as err:
        k8s.verify_chain(cn_only, ca, hostname="localhost")
    assert err.value.go_message == "x509: certificate relies on legacy Common Name field, use SANs instead"
    # a wildcard covers exactly one label
    wild = ca.issue_server_cert("*.example.com")
    with pytest.raises(k8s.VerificationError) as err:
        k8s.verify_chain(wild, ca, hostname="a.b.example.com")
    assert err.value.go_message == "x509: certificate is valid for *.example.com, not a.b.example.com"
    with pytest.raises(k8s.VerificationError):
        k8s.verify_chain(wild, ca, hostname="example.com")


def test_verify_hostname_is_checked_before_the_chain(ca, other_ca):
    """Go checks the leaf (time, then host name) before it looks for an issuer."""
    server = ca.issue_server_cert("localhost")
    with pytest.raises(k8s.VerificationError) as err:
        k8s.verify_chain(server, other_ca, hostname="kubernetes")
    assert err.value.reason == "hostname-mismatch"


def test_verify_intermediate_chain(ca, key_type):
    inter = ca.issue_intermediate("intermediate", key=key_type)
    alice = inter.issue_client_cert("alice", key=key_type)
    chain = k8s.verify_chain(alice, ca)  # a Cert brings its own chain, like a TLS peer
    assert [der(c) for c in chain] == [der(alice), der(inter), der(ca)]
    assert len(k8s.verify_chain(alice.cert, ca, intermediates=[inter])) == 3
    assert len(k8s.verify_chain(alice.cert, ca, intermediates=alice.chain_pem)) == 3
    with pytest.raises(k8s.VerificationError) as err:
        k8s.verify_chain(alice.cert, ca)  # intermediate missing
    assert err.value.go_message == UNKNOWN_AUTHORITY
    assert "CN=intermediate" in str(err.value)
    # trusting the intermediate alone is enough
    assert len(k8s.verify_chain(alice.cert, inter)) == 2


def test_verify_intermediate_restricting_eku(ca):
    """Go applies EKUs down the chain: a CA that lists only serverAuth cannot vouch for a client."""
    subject = name(("CN", "servers-only"))
    restricted = ca.issue(subject=subject, usages=["cert sign", "crl sign", "server auth"], is_ca=True)
    assert isinstance(restricted, k8s.CA)
    alice = restricted.issue_client_cert("alice")
    with pytest.raises(k8s.VerificationError) as err:
        k8s.verify_chain(alice, ca, purpose="client")
    assert err.value.go_message == INCOMPATIBLE_USAGE
    assert err.value.certificate == restricted.cert
    assert k8s.verify_chain(restricted.issue_server_cert("localhost"), ca, hostname="localhost")


def test_verify_path_length(key_type):
    root = k8s.CA.create("root", key=key_type, path_length=0)
    # issue(), not issue_intermediate(): the helper refuses a CA under pathlen 0 on purpose
    inter = root.issue(subject=subject_name("inter"), usages=CA_USAGES, is_ca=True, key=key_type)
    alice = inter.issue_client_cert("alice", key=key_type)
    with pytest.raises(k8s.VerificationError) as err:
        k8s.verify_chain(alice, root)
    assert err.value.reason == "path-length"
    assert err.value.go_message == "x509: too many intermediates for path length constraint"
    assert k8s.verify_chain(root.issue_client_cert("bob"), root)


def test_verify_issuer_that_is_not_a_ca(ca):
    leaf = ca.issue_client_cert("fake-ca")
    fake = k8s.CA(leaf.cert, leaf.key)  # a leaf's key used to sign: what a confused script does
    victim = fake.issue_client_cert("alice")
    with pytest.raises(k8s.VerificationError) as err:
        k8s.verify_chain(victim, leaf)
    assert err.value.reason == "unknown-authority"  # Go reports it as an unknown authority, with a hint
    assert err.value.go_message == (
        f'{UNKNOWN_AUTHORITY} (possibly because of "x509: invalid signature: parent certificate cannot sign this '
        f'kind of certificate" while trying to verify candidate authority certificate "fake-ca")'
    )


def test_verify_self_signed_leaf_in_roots(key_type):
    """A trusted certificate is its own chain (Go's Roots.contains), whatever its CA flag."""
    ca = k8s.CA.create(
        "localhost", key=key_type, usages=["digital signature", "cert sign", "server auth"], hosts=["localhost"]
    )
    assert k8s.verify_chain(ca, ca, hostname="localhost") == [ca.cert]


def test_verify_bad_arguments(ca):
    alice = ca.issue_client_cert("alice")
    with pytest.raises(k8s.InputError, match="purpose"):
        k8s.verify_chain(alice, ca, purpose="web")
    with pytest.raises(k8s.InputError):
        k8s.verify_chain(b"garbage", ca)
    with pytest.raises(k8s.InputError):
        k8s.verify_chain(alice, "/nonexistent/ca.pem")


def test_certificate_identifier(ca):
    alice = ca.issue_client_cert("alice")
    ski = alice.cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest
    aki = alice.cert.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value.key_identifier
    assert certificate_identifier(alice) == (
        f"SN={alice.cert.serial_number}, SKID={ski.hex(':').upper()}, AKID={aki.hex(':').upper()}"
    )
    assert certificate_identifier(ca).endswith(", AKID=")  # a root has no AKI


# --------------------------------------------------------------------- Go itself: kubectl
class TLSServer:
    """A TLS server on 127.0.0.1:0 answering every request with ``200 ok``, for kubectl to dial."""

    def __init__(self, cert, tmp_path, *, allow_weak_signatures=False):
        cert_file = tmp_path / "serving.pem"
        key_file = tmp_path / "serving-key.pem"
        cert_file.write_bytes(cert.chain_pem)
        key_file.write_bytes(cert.key_pem)
        key_file.chmod(0o600)
        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        if allow_weak_signatures:  # OpenSSL won't even load a SHA-1-signed certificate at its default level
            self.ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
        self.ctx.load_cert_chain(cert_file, key_file)
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except (TimeoutError, OSError):
                continue
            conn.settimeout(5)
            try:
                with self.ctx.wrap_socket(conn, server_side=True) as tls:
                    tls.recv(4096)
                    tls.sendall(
                        b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n"
                        b"Connection: close\r\n\r\nok"
                    )
            except (ssl.SSLError, OSError):
                conn.close()

    def close(self):
        self.stop.set()
        self.thread.join(5)
        self.sock.close()


@pytest.fixture
def serve(tmp_path):
    servers = []

    def start(cert, **kwargs):
        server = TLSServer(cert, tmp_path, **kwargs)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.close()


@pytest.fixture
def kubectl(tmp_path):
    """``kubectl(port, trust, tls_server_name=None) -> CompletedProcess`` for ``get --raw /``."""
    counter = iter(range(1000))

    def run(port, trust, tls_server_name=None):
        n = next(counter)
        ca_file = tmp_path / f"trust{n}.pem"
        ca_file.write_bytes(b"".join(c.cert_pem for c in (trust if isinstance(trust, list) else [trust])))
        args = [
            "kubectl",
            f"--server=https://127.0.0.1:{port}",
            f"--certificate-authority={ca_file}",
            "--token=not-used",
            f"--cache-dir={tmp_path / f'cache{n}'}",
            "--request-timeout=10s",
        ]
        if tls_server_name:
            args.append(f"--tls-server-name={tls_server_name}")
        env = dict(os.environ, KUBECONFIG=str(tmp_path / "no-kubeconfig"), HOME=str(tmp_path))
        return subprocess.run(
            args + ["get", "--raw", "/"], capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL, env=env
        )

    return run


def go_error(result) -> str:
    """The x509 error kubectl printed: ``Unable to connect to the server: tls: failed to verify certificate: <err>``."""
    assert result.returncode != 0, result.stdout
    match = re.search(r"tls: failed to verify certificate: (x509: .*)$", result.stderr.strip(), re.M)
    assert match, result.stderr
    return match.group(1)


def with_unknown_critical_extension(ca, host: str, now) -> k8s.Cert:
    """A server certificate carrying a private extension marked critical (signed with the CA's key)."""
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(name(("CN", host)))
        .issuer_name(ca.cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(host))]), critical=False)
        .add_extension(
            x509.UnrecognizedExtension(x509.ObjectIdentifier("1.3.6.1.4.1.99999.1"), b"\x05\x00"), critical=True
        )
        .sign(ca.key, hashes.SHA256())
    )
    return k8s.Cert(cert, key)


def test_verify_unhandled_critical_extension(ca, now):
    odd = with_unknown_critical_extension(ca, "127.0.0.1", now)
    with pytest.raises(k8s.VerificationError) as err:
        k8s.verify_chain(odd, ca, hostname="127.0.0.1")
    assert err.value.reason == "unhandled-critical-extension"
    assert err.value.go_message == "x509: unhandled critical extension"
    assert "1.3.6.1.4.1.99999.1" in str(err.value)


def our_go_message(cert, roots, **kwargs) -> str:
    with pytest.raises(k8s.VerificationError) as err:
        k8s.verify_chain(cert, roots, purpose="server", **kwargs)
    return err.value.go_message


@needs_kubectl
def test_go_agrees_positive_and_unknown_authority(ca, other_ca, serve, kubectl):
    cert = ca.issue_server_cert("localhost", "127.0.0.1")
    server = serve(cert)
    ok = kubectl(server.port, ca)
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.strip() == "ok"
    assert k8s.verify_chain(cert, ca, hostname="127.0.0.1")
    bad = kubectl(server.port, other_ca)
    assert go_error(bad) == UNKNOWN_AUTHORITY == our_go_message(cert, other_ca, hostname="127.0.0.1")


@needs_kubectl
def test_go_agrees_on_every_failure(ca, key_type, serve, kubectl, now):
    cases = []
    # 1. regenerated CA: same name, different key
    regenerated = k8s.CA.create("kubernetes", key=key_type)
    srv = ca.issue_server_cert("127.0.0.1", key=key_type)
    cases.append((srv, regenerated, {}))
    # 2. IP not in the SANs / no IP SANs / DNS name not in the SANs
    cases.append((ca.issue_server_cert("10.0.0.1", key=key_type), ca, {}))
    cases.append((ca.issue_server_cert("localhost", key=key_type), ca, {}))
    cases.append(
        (
            ca.issue_server_cert("localhost", "127.0.0.1", key=key_type),
            ca,
            {"tls_server_name": "kubernetes.default.svc"},
        )
    )
    # 3. a client certificate served as a server certificate
    cases.append((ca.issue_client_cert("127.0.0.1", hosts=["127.0.0.1"], key=key_type), ca, {}))
    # 4. an issuer that is not a CA
    fake_leaf = ca.issue_client_cert("fake-ca", key=key_type)
    cases.append((k8s.CA(fake_leaf.cert, fake_leaf.key).issue_server_cert("127.0.0.1", key=key_type), fake_leaf, {}))
    # 5. a CA whose EKU list excludes serverAuth
    restricted = ca.issue(
        subject=name(("CN", "clients-only")), usages=["cert sign", "client auth"], is_ca=True, key=key_type
    )
    cases.append((restricted.issue_server_cert("127.0.0.1", key=key_type), ca, {}))
    # 6. a root that allows no intermediate (pathlen 0) above an intermediate
    strict_root = k8s.CA.create("strict-root", key=key_type, path_length=0)
    cases.append(
        (
            strict_root.issue(
                subject=subject_name("inter"), usages=CA_USAGES, is_ca=True, key=key_type
            ).issue_server_cert("127.0.0.1"),
            strict_root,
            {},
        )
    )
    # 7. a critical extension Go does not know
    cases.append((with_unknown_critical_extension(ca, "127.0.0.1", now), ca, {}))
    for cert, trust, opts in cases:
        server = serve(cert)
        go = go_error(kubectl(server.port, trust, **opts))
        # the Cert brings its chain, as the server sends it
        ours = our_go_message(cert, trust, hostname=opts.get("tls_server_name", "127.0.0.1"))
        assert ours == go, (cert, opts)


@needs_kubectl
def test_go_agrees_on_expiry_and_missing_intermediate(ca, key_type, serve, kubectl, now):
    expired = ca.issue_server_cert(
        "127.0.0.1", key=key_type, not_before=now - timedelta(days=10), not_after=now - timedelta(days=1)
    )
    go = go_error(kubectl(serve(expired).port, ca))
    ours = our_go_message(expired, ca, hostname="127.0.0.1")
    pattern = r"x509: certificate has expired or is not yet valid: current time \S+Z is after (\S+Z)"
    assert re.fullmatch(pattern, go) and re.fullmatch(pattern, ours)
    assert re.fullmatch(pattern, go).group(1) == re.fullmatch(pattern, ours).group(1)

    future = ca.issue_server_cert(
        "127.0.0.1", key=key_type, not_before=now + timedelta(days=1), not_after=now + timedelta(days=10)
    )
    go = go_error(kubectl(serve(future).port, ca))
    ours = our_go_message(future, ca, hostname="127.0.0.1")
    pattern = r"x509: certificate has expired or is not yet valid: current time \S+Z is before (\S+Z)"
    assert re.fullmatch(pattern, go).group(1) == re.fullmatch(pattern, ours).group(1)

    inter = ca.issue_intermediate("intermediate", key=key_type)
    full = inter.issue_server_cert("127.0.0.1", key=key_type)
    assert kubectl(serve(full).port, ca).returncode == 0  # the chain is sent: fine
    alone = k8s.Cert(full.cert, full.key)  # chain left out
    go = go_error(kubectl(serve(alone).port, ca))
    assert go == our_go_message(alone, ca, hostname="127.0.0.1") == UNKNOWN_AUTHORITY


@needs_kubectl
@needs_openssl
def test_go_agrees_on_a_sha1_signature(serve, kubectl, tmp_path):
    """cryptography refuses to sign with SHA-1, so openssl signs the CSR, as an old script would."""
    ca = k8s.CA.create("kubernetes", key="rsa-2048")
    request = k8s.make_csr("127.0.0.1", hosts=["127.0.0.1"])
    (tmp_path / "ca.pem").write_bytes(ca.cert_pem)
    (tmp_path / "ca-key.pem").write_bytes(ca.key_pem)
    (tmp_path / "ca-key.pem").chmod(0o600)
    (tmp_path / "s.csr").write_bytes(request.csr_pem)
    (tmp_path / "ext.cnf").write_text(
        "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\nbasicConstraints=critical,CA:FALSE\n"
    )
    subprocess.run(
        [
            "openssl",
            "x509",
            "-req",
            "-in",
            "s.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca-key.pem",
            "-sha1",
            "-days",
            "2",
            "-extfile",
            "ext.cnf",
            "-out",
            "s.pem",
        ],
        cwd=tmp_path,
        check=True,
        capture_output=True,
        timeout=60,
    )
    sha1 = k8s.Cert(k8s.load_cert(tmp_path / "s.pem"), request.key)
    assert sha1.cert.signature_hash_algorithm.name == "sha1"
    go = go_error(kubectl(serve(sha1, allow_weak_signatures=True).port, ca))
    assert (
        go
        == our_go_message(sha1, ca, hostname="127.0.0.1")
        == (
            f'{UNKNOWN_AUTHORITY} (possibly because of "x509: cannot verify signature: insecure algorithm SHA1-RSA '
            f'(temporarily override with GODEBUG=x509sha1=1)" while trying to verify candidate authority certificate '
            f'"kubernetes")'
        )
    )
    with pytest.raises(k8s.VerificationError, match="SHA-256"):
        k8s.verify_chain(sha1, ca, hostname="127.0.0.1")


@needs_kubectl
def test_go_accepts_a_leaf_without_eku(ca, serve, kubectl):
    plain = ca.issue_server_cert("127.0.0.1", usages=["digital signature", "key encipherment"])
    result = kubectl(serve(plain).port, ca)
    assert result.returncode == 0, result.stderr
    assert k8s.verify_chain(plain, ca, hostname="127.0.0.1")


# ------------------------------------------------------------------ openssl verify compared
def openssl_verify(tmp_path, leaf, roots, purpose, intermediates=(), attime=None) -> tuple[bool, str]:
    ca_file = tmp_path / "roots.pem"
    ca_file.write_bytes(b"".join(r.cert_pem for r in roots))
    leaf_file = tmp_path / "leaf.pem"
    leaf_file.write_bytes(leaf.cert_pem)
    args = ["openssl", "verify", "-CAfile", str(ca_file), "-purpose", purpose]
    if intermediates:
        inter_file = tmp_path / "untrusted.pem"
        inter_file.write_bytes(b"".join(i.cert_pem for i in intermediates))
        args += ["-untrusted", str(inter_file)]
    if attime is not None:
        args += ["-attime", str(int(attime.timestamp()))]
    out = subprocess.run(args + [str(leaf_file)], capture_output=True, text=True, timeout=60)
    return out.returncode == 0 and out.stdout.strip().endswith(": OK"), out.stdout + out.stderr


def go_verdict(leaf, roots, purpose, intermediates=(), at=None) -> bool:
    try:
        k8s.verify_chain(leaf, roots, purpose=purpose, intermediates=intermediates, at=at)
        return True
    except k8s.VerificationError:
        return False


@needs_openssl
def test_openssl_and_go_agree(ca, other_ca, tmp_path, now):
    alice = ca.issue_client_cert("alice", ["developers"])
    server = ca.issue_server_cert("localhost")
    plain = ca.issue_client_cert("plain", usages=["digital signature", "key encipherment"])
    inter = ca.issue_intermediate("inter")
    bob = inter.issue_client_cert("bob")
    servers_only = ca.issue(subject=name(("CN", "servers-only")), usages=["cert sign", "server auth"], is_ca=True)
    carol = servers_only.issue_client_cert("carol")
    servers_root = k8s.CA.create("servers-root", usages=["cert sign", "crl sign", "server auth"])
    dave = servers_root.issue_client_cert("dave")
    cases = [
        (alice, [ca], "client", (), None, True),
        (alice, [ca], "server", (), None, False),
        (server, [ca], "server", (), None, True),
        (server, [ca], "client", (), None, False),
        (plain, [ca], "client", (), None, True),  # no EKU: both accept, for either purpose
        (plain, [ca], "server", (), None, True),
        (alice, [other_ca], "client", (), None, False),
        (bob, [ca], "client", [inter], None, True),
        (bob, [ca], "client", (), None, False),
        (alice, [ca], "client", (), alice.not_after + timedelta(days=1), False),
        (carol, [ca], "client", [servers_only], None, False),  # EKUs apply down the chain, in both
        (dave, [servers_root], "client", (), None, False),  # ... including the trust anchor's
    ]
    for leaf, roots, purpose, inters, at, expected in cases:
        ossl, output = openssl_verify(
            tmp_path, leaf, roots, "sslclient" if purpose == "client" else "sslserver", inters, at
        )
        ours = go_verdict(leaf.cert, roots, purpose, inters, at)
        assert ours == expected, (leaf, purpose)
        assert ossl == expected, output


@needs_openssl
def test_openssl_and_go_differ_on_key_usage_bits(ca, tmp_path):
    """Go ignores a leaf's key usage bits; OpenSSL's sslclient purpose wants digitalSignature.

    A client certificate with keyEncipherment alone (no digitalSignature) works against
    kube-apiserver but fails ``openssl verify -purpose sslclient``.
    """
    odd = ca.issue_client_cert("alice", usages=["key encipherment", "client auth"])
    ok, output = openssl_verify(tmp_path, odd, [ca], "sslclient")
    assert not ok
    assert "error 26 " in output  # X509_V_ERR_INVALID_PURPOSE: "unsuitable certificate purpose"
    assert go_verdict(odd.cert, [ca], "client") is True


def test_identity_text_in_korean_carries_the_anonymous_note_and_english_stays_default():
    ca = k8s.CA.create("identity-text-ca")
    nobody = ca.issue_client_cert("", ["dev"]).identity
    assert str(nobody) == nobody.text("en") and nobody.text().startswith(
        "user=system:anonymous groups=[system:unauthenticated] (no CN"
    )
    assert nobody.text("ko") == (
        "user=system:anonymous groups=[system:unauthenticated] (CN 없음: 인증서가 사용자를 정하지 "
        "않습니다. 다른 인증기가 오류를 내지 않으면 익명 요청, kubeadm 클러스터에서는 401)"
    )
    jane = ca.issue_client_cert("jane", ["dev"]).identity
    assert jane.text("ko") == jane.text("en") == "user=jane groups=[dev, system:authenticated]"
