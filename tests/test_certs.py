"""The certificate core (k8sauthlib.pki.certs, files): every kind of certificate read back.

trustme's style: each kind of certificate is issued, its extensions are read back with
``cryptography`` and checked one by one, and real TLS handshakes on 127.0.0.1 use it, each with
a deliberate failure next to it. Parametrized over RSA-2048 and ECDSA P-256 (``key_type``).
"""

from __future__ import annotations

import ipaddress
import os
import re
import ssl
import stat
from datetime import datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

import k8sauthlib as k8s
import k8sauthlib.files

SERVER_AUTH = [ExtendedKeyUsageOID.SERVER_AUTH]
CLIENT_AUTH = [ExtendedKeyUsageOID.CLIENT_AUTH]


def ext(cert, cls):
    return getattr(cert, "cert", cert).extensions.get_extension_for_class(cls)


def name_attrs(name: x509.Name):
    return [(a.oid, a.value) for a in name]


def hash_name(cert):
    return cert.signature_hash_algorithm.name


# ----------------------------------------------------------------------------------------- CA
def test_ca_profile(ca, key_type, assert_is_ca, check_key_type, now):
    assert_is_ca(ca, self_signed=True)
    check_key_type(ca.cert, key_type)
    assert name_attrs(ca.cert.subject) == [(NameOID.COMMON_NAME, "kubernetes")]
    assert hash_name(ca.cert) == "sha256"
    # kubeadm and cfssl backdate by five minutes; the library's CA default is ten years.
    assert now - timedelta(minutes=6) <= ca.not_before <= now - timedelta(minutes=4)
    assert ca.not_after - ca.not_before == timedelta(days=3650, minutes=5)
    assert ca.not_before.tzinfo is not None
    assert ca.cert.serial_number > 0
    assert ca.cert.serial_number.bit_length() <= 160


def test_ca_with_org_and_path_length(key_type, assert_is_ca):
    ca = k8s.CA.create("rootCA", org="Kubernetes", key=key_type, path_length=0)
    assert_is_ca(ca, path_length=0, self_signed=True)
    assert name_attrs(ca.cert.subject) == [(NameOID.ORGANIZATION_NAME, "Kubernetes"), (NameOID.COMMON_NAME, "rootCA")]


def test_ca_subject_override_and_hosts(key_type):
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "KR"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Kubernetes"),
            x509.NameAttribute(NameOID.COMMON_NAME, "kubernetes"),
        ]
    )
    ca = k8s.CA.create(subject=subject, key=key_type, hosts=["kubernetes"])
    assert ca.cert.subject == subject
    # kubeadm puts DNS:kubernetes on its CA
    assert ext(ca, x509.SubjectAlternativeName).value.get_values_for_type(x509.DNSName) == ["kubernetes"]


def test_ca_serials_are_random(key_type):
    serials = {k8s.CA.create("x", key=key_type).cert.serial_number for _ in range(3)}
    assert len(serials) == 3


def test_p384_signs_with_sha384(assert_is_ca, check_key_type):
    ca = k8s.CA.create("p384", key="ecdsa-p384")
    assert_is_ca(ca, self_signed=True)
    check_key_type(ca.cert, "ecdsa-p384")
    assert hash_name(ca.cert) == "sha384"
    leaf = ca.issue_client_cert("alice")
    assert hash_name(leaf.cert) == "sha384"


def test_rsa_3072(check_key_type, assert_is_leaf):
    ca = k8s.CA.create("rsa3072", key="rsa-3072")
    check_key_type(ca.cert, "rsa-3072")
    leaf = ca.issue_client_cert("alice", key="rsa-3072")
    check_key_type(leaf.cert, "rsa-3072")
    assert_is_leaf(leaf, issuer=ca, eku=CLIENT_AUTH)


# ------------------------------------------------------------------------------------- server
def test_server_cert_profile(ca, key_type, assert_is_leaf, check_key_type, now):
    server = ca.issue_server_cert("localhost", "kubernetes.default.svc", "127.0.0.1", "::1", key=key_type)
    assert_is_leaf(server, issuer=ca, eku=SERVER_AUTH)
    check_key_type(server.cert, key_type)
    san = ext(server, x509.SubjectAlternativeName)
    assert not san.critical
    assert san.value.get_values_for_type(x509.DNSName) == ["localhost", "kubernetes.default.svc"]
    assert san.value.get_values_for_type(x509.IPAddress) == [
        ipaddress.ip_address("127.0.0.1"),
        ipaddress.ip_address("::1"),
    ]
    # CN defaults to the first host; no O unless asked
    assert name_attrs(server.cert.subject) == [(NameOID.COMMON_NAME, "localhost")]
    assert server.chain == []
    assert server.key is not None
    assert server.not_after - server.not_before == timedelta(days=365, minutes=5)
    assert now - timedelta(minutes=6) <= server.not_before <= now - timedelta(minutes=4)


def test_server_cert_with_common_name_orgs_and_other_san_types(ca):
    server = ca.issue_server_cert(
        "api.example.com",
        "10.96.0.1",
        "admin@example.com",
        "spiffe://cluster.local/ns/x",
        common_name="kube-apiserver",
        orgs=["servers"],
    )
    assert name_attrs(server.cert.subject) == [
        (NameOID.ORGANIZATION_NAME, "servers"),
        (NameOID.COMMON_NAME, "kube-apiserver"),
    ]
    san = ext(server, x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["api.example.com"]
    assert san.get_values_for_type(x509.IPAddress) == [ipaddress.ip_address("10.96.0.1")]
    assert san.get_values_for_type(x509.RFC822Name) == ["admin@example.com"]
    assert san.get_values_for_type(x509.UniformResourceIdentifier) == ["spiffe://cluster.local/ns/x"]


def test_server_cert_needs_a_host(ca):
    with pytest.raises(k8s.InputError, match="at least one host"):
        ca.issue_server_cert()


# ------------------------------------------------------------------------------------- client
def test_client_cert_profile(ca, key_type, assert_is_leaf, check_key_type):
    alice = ca.issue_client_cert("alice", ["developers", "system:masters", "qa"], key=key_type)
    assert_is_leaf(alice, issuer=ca, eku=CLIENT_AUTH)
    check_key_type(alice.cert, key_type)
    # one O per group, in order, then the CN; nothing else Kubernetes could read as a group
    assert name_attrs(alice.cert.subject) == [
        (NameOID.ORGANIZATION_NAME, "developers"),
        (NameOID.ORGANIZATION_NAME, "system:masters"),
        (NameOID.ORGANIZATION_NAME, "qa"),
        (NameOID.COMMON_NAME, "alice"),
    ]
    with pytest.raises(x509.ExtensionNotFound):
        ext(alice, x509.SubjectAlternativeName)
    assert alice.common_name == "alice"
    assert alice.organizations == ["developers", "system:masters", "qa"]
    identity = alice.identity
    assert identity.user == "alice"
    assert identity.groups == ("developers", "system:masters", "qa", "system:authenticated")


def test_client_cert_without_groups_has_no_o(ca):
    bob = ca.issue_client_cert("bob")
    assert name_attrs(bob.cert.subject) == [(NameOID.COMMON_NAME, "bob")]
    assert bob.organizations == []
    assert bob.identity.groups == ("system:authenticated",)


def test_client_cert_single_group_string_is_one_group(ca):
    carol = ca.issue_client_cert("carol", "developers")
    assert carol.organizations == ["developers"]


def test_client_cert_with_empty_user_has_no_cn_and_is_anonymous(ca):
    nobody = ca.issue_client_cert("", ["developers"])
    assert nobody.cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME) == []
    assert nobody.common_name is None
    assert nobody.identity.anonymous
    assert nobody.identity.user == "system:anonymous"


def test_client_cert_repr(ca):
    alice = ca.issue_client_cert("alice", ["developers"])
    text = repr(alice)
    assert text.startswith("<Cert CN=alice O=developers serial=")
    assert f"expires {alice.not_after:%Y-%m-%d}>" in text
    assert alice.serial_hex[:6] in text
    assert "PRIVATE" not in text


def test_fingerprint_and_serial_formats(ca):
    alice = ca.issue_client_cert("alice")
    assert alice.fingerprint_sha256 == alice.cert.fingerprint(hashes.SHA256()).hex(":").upper()
    assert int(alice.serial_hex, 16) == alice.cert.serial_number


# ------------------------------------------------------------------------------ intermediates
def test_intermediate_chain(ca, key_type, assert_is_ca, assert_is_leaf):
    inter = ca.issue_intermediate("kubernetes-intermediate", key=key_type, path_length=0)
    assert isinstance(inter, k8s.CA)
    assert_is_ca(inter, path_length=0, self_signed=False)
    assert (
        ext(inter, x509.AuthorityKeyIdentifier).value.key_identifier == ext(ca, x509.SubjectKeyIdentifier).value.digest
    )
    inter.cert.verify_directly_issued_by(ca.cert)
    assert inter.chain == []  # the root is never part of the chain

    alice = inter.issue_client_cert("alice", ["developers"], key=key_type)
    assert_is_leaf(alice, issuer=inter, eku=CLIENT_AUTH)
    assert alice.chain == [inter.cert]
    assert alice.chain_pem == alice.cert_pem + inter.cert_pem

    # pathlen 0 forbids another CA below: refused up front instead of a chain Go would reject
    with pytest.raises(k8s.InputError, match="pathlen 0"):
        inter.issue_intermediate("second-level")
    open_inter = ca.issue_intermediate("open-intermediate", key=key_type)
    inter2 = open_inter.issue_intermediate("second-level")
    bob = inter2.issue_server_cert("localhost")
    assert bob.chain == [inter2.cert, open_inter.cert]


def test_intermediate_serves_tls_with_root_only_trusted(ca, key_type, server_context, client_context, tls_handshake):
    inter = ca.issue_intermediate("intermediate", key=key_type)
    server = inter.issue_server_cert("localhost", key=key_type)
    result = tls_handshake(server_context(server), client_context(ca), "localhost")
    assert result.reply == b"pong:ping"
    # negative: the server sends only its own certificate, not the intermediate
    leaf_only = k8s.Cert(server.cert, server.key)
    with pytest.raises(ssl.SSLCertVerificationError, match="unable to get local issuer certificate"):
        tls_handshake(server_context(leaf_only), client_context(ca), "localhost")


# ---------------------------------------------------------------------------------------- CSR
def test_make_csr_and_sign_keeps_the_users_key(ca, key_type, assert_is_leaf):
    request = k8s.make_csr("jane", orgs=["app1", "app2"], key=key_type)
    assert request.csr.is_signature_valid
    assert name_attrs(request.csr.subject) == [
        (NameOID.ORGANIZATION_NAME, "app1"),
        (NameOID.ORGANIZATION_NAME, "app2"),
        (NameOID.COMMON_NAME, "jane"),
    ]
    signed = ca.sign_csr(request.csr)
    assert signed.key is None
    assert signed.csr is request.csr
    assert signed.cert.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    ) == request.key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    assert signed.cert.subject == request.csr.subject
    assert_is_leaf(signed, issuer=ca, eku=CLIENT_AUTH)
    with pytest.raises(k8s.InputError, match="no private key"):
        signed.key_pem  # noqa: B018 (the property raises)
    # the owner puts their own key next to it
    paired = k8s.Cert(signed.cert, request.key)
    assert paired.identity.groups == ("app1", "app2", "system:authenticated")


def test_sign_csr_from_pem_and_path_keeps_or_overrides_sans(ca, tmp_path):
    request = k8s.make_csr("node1", hosts=["node1.example", "10.0.0.5"])
    csr_path, key_path = request.write("node1", tmp_path)
    assert csr_path.read_bytes().startswith(b"-----BEGIN CERTIFICATE REQUEST-----")
    assert stat.S_IMODE(key_path.stat().st_mode) == 0o600
    kept = ca.sign_csr(csr_path, usages=["digital signature", "key encipherment", "server auth"])
    san = ext(kept, x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["node1.example"]
    assert san.get_values_for_type(x509.IPAddress) == [ipaddress.ip_address("10.0.0.5")]
    assert list(ext(kept, x509.ExtendedKeyUsage).value) == SERVER_AUTH
    replaced = ca.sign_csr(request.csr_pem, hosts=["other.example"])
    assert ext(replaced, x509.SubjectAlternativeName).value.get_values_for_type(x509.DNSName) == ["other.example"]
    renamed = ca.sign_csr(request.csr, subject=x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "x")]))
    assert name_attrs(renamed.cert.subject) == [(NameOID.COMMON_NAME, "x")]


def test_signed_csr_write_has_no_key_file(ca, tmp_path):
    request = k8s.make_csr("jane")
    files = ca.sign_csr(request.csr).write("jane", tmp_path)
    assert files.key is None
    assert not (tmp_path / "jane-key.pem").exists()
    assert files.cert.read_bytes().startswith(b"-----BEGIN CERTIFICATE-----")
    assert files.csr.read_bytes() == request.csr_pem


def test_sign_csr_refuses_garbage_and_tampered(ca, pem_file):
    with pytest.raises(k8s.InputError, match="CSR"):
        ca.sign_csr(b"-----BEGIN CERTIFICATE REQUEST-----\nbm90IGEgY3Ny\n-----END CERTIFICATE REQUEST-----\n")
    with pytest.raises(k8s.InputError):
        ca.sign_csr(pem_file(b"hello"))
    # a CSR whose signature does not match its content
    good = k8s.make_csr("jane", key="ecdsa-p256")
    other = k8s.make_csr("mallory", key="ecdsa-p256")
    der = bytearray(good.csr.public_bytes(serialization.Encoding.DER))
    idx = der.find(b"jane")
    der[idx : idx + 4] = b"joan"
    tampered = x509.load_der_x509_csr(bytes(der))
    with pytest.raises(k8s.InputError, match="signature"):
        ca.sign_csr(tampered)
    assert other.csr.is_signature_valid


# ------------------------------------------------------------------------------------ keys
@pytest.mark.parametrize(
    "key_type, header",
    [("rsa-2048", b"-----BEGIN RSA PRIVATE KEY-----"), ("ecdsa-p256", b"-----BEGIN EC PRIVATE KEY-----")],
)
def test_key_pem_is_pkcs1_or_sec1(key_type, header):
    ca = k8s.CA.create("k", key=key_type)
    alice = ca.issue_client_cert("alice", key=key_type)
    for obj in (ca, alice, k8s.make_csr("x", key=key_type)):
        assert obj.key_pem.startswith(header)
        loaded = k8s.load_private_key(obj.key_pem)
        assert loaded.public_key().public_numbers() == obj.key.public_key().public_numbers()


@pytest.mark.parametrize(
    "text, algo, size",
    [
        ("rsa-2048", "rsa", 2048),
        ("RSA-2048", "rsa", 2048),
        ("rsa", "rsa", 2048),
        ("RSA-4096", "rsa", 4096),
        ("rsa-3072", "rsa", 3072),
        ("ecdsa-p256", "ecdsa", 256),
        ("ECDSA-P256", "ecdsa", 256),
        ("ecdsa-p384", "ecdsa", 384),
        (("rsa", 3072), "rsa", 3072),
        ({"algo": "ecdsa", "size": 384}, "ecdsa", 384),
    ],
)
def test_keyspec_parse(text, algo, size):
    spec = k8s.KeySpec.parse(text)
    assert (spec.algo, spec.size) == (algo, size)
    assert k8s.KeySpec.parse(spec) is spec
    assert k8s.KeySpec.parse(str(spec)) == spec


def test_keyspec_str():
    assert str(k8s.KeySpec.parse("RSA-2048")) == "rsa-2048"
    assert str(k8s.KeySpec.parse("ECDSA-P256")) == "ecdsa-p256"


@pytest.mark.parametrize("bad", [("rsa", "big"), {"algo": "rsa", "size": "x"}])
def test_keyspec_rejects_non_numeric_sizes(bad):
    with pytest.raises(k8s.InputError):
        k8s.KeySpec.parse(bad)


@pytest.mark.parametrize(
    "bad",
    [
        "rsa-1024",
        "rsa-1000",
        "ecdsa-p521",
        "ecdsa-p224",
        "dsa-2048",
        "ed25519",
        "",
        "2048",
        ("rsa", 512),
        ("ecdsa", 2048),
        ("foo", 2048),
    ],
)
def test_keyspec_rejects_bad_specs(bad):
    with pytest.raises(k8s.InputError):
        k8s.KeySpec.parse(bad)


def test_bad_key_spec_when_issuing(ca):
    with pytest.raises(k8s.InputError):
        ca.issue_client_cert("alice", key="rsa-1024")
    with pytest.raises(k8s.InputError):
        k8s.CA.create("x", key="ecdsa-p999")


# ----------------------------------------------------------------------------------- usages
def test_resolve_usages_cfssl_names():
    ku, ekus = k8s.resolve_usages(["signing", "key encipherment", "server auth", "client auth"])
    assert ku.digital_signature and ku.key_encipherment
    assert not ku.key_cert_sign
    assert ekus == [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
    ku, ekus = k8s.resolve_usages(["cert sign", "crl sign"])
    assert ku.key_cert_sign and ku.crl_sign and ekus == []
    ku, ekus = k8s.resolve_usages(["client auth"])
    assert ku is None and ekus == [ExtendedKeyUsageOID.CLIENT_AUTH]


@pytest.mark.parametrize("bad", ["server-auth", "serverAuth", "clientauth", "sign", "ssh"])
def test_unknown_usage_is_an_error_naming_it(bad, ca):
    with pytest.raises(k8s.UnknownUsageError, match=re.escape(repr(bad))):
        k8s.resolve_usages(["signing", bad])
    with pytest.raises(k8s.UnknownUsageError):
        ca.issue_client_cert("alice", usages=["digital signature", bad])


def test_profile_with_both_eku_and_no_eku(ca, assert_is_leaf):
    both = ca.issue(
        subject=x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kubelet")]),
        hosts=["node1"],
        usages=["signing", "key encipherment", "server auth", "client auth"],
    )
    assert_is_leaf(both, issuer=ca, eku=[ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH])
    plain = ca.issue_client_cert("alice", usages=["digital signature", "key encipherment"])
    assert_is_leaf(plain, issuer=ca, eku=None)


# --------------------------------------------------------------------------------- validity
def test_explicit_validity_bounds(ca, now):
    start = now + timedelta(days=1)
    end = now + timedelta(days=2)
    cert = ca.issue_client_cert("later", not_before=start, not_after=end)
    assert cert.not_before == start and cert.not_after == end
    short = ca.issue_client_cert("short", validity=timedelta(hours=1))
    assert short.not_after - short.not_before == timedelta(hours=1, minutes=5)


def test_bad_validity(ca, now):
    with pytest.raises(k8s.InputError, match="time zone"):
        ca.issue_client_cert("x", not_before=datetime(2030, 1, 1))
    with pytest.raises(k8s.InputError, match="before it starts"):
        ca.issue_client_cert("x", not_before=now, not_after=now - timedelta(days=1))
    with pytest.raises(k8s.InputError):
        ca.issue_client_cert("x", validity=365)


# ------------------------------------------------------------------------------------ files
def test_write_bare_files_and_modes(ca, tmp_path):
    alice = ca.issue_client_cert("alice", ["developers"])
    files = alice.write("alice", tmp_path)
    assert files.cert == tmp_path / "alice.pem"
    assert files.key == tmp_path / "alice-key.pem"
    assert files.csr is None  # issued directly: no CSR
    assert files.cert.read_bytes() == alice.cert_pem
    assert files.key.read_bytes() == alice.key_pem
    assert stat.S_IMODE(files.key.stat().st_mode) == 0o600
    assert stat.S_IMODE(files.cert.stat().st_mode) == 0o644
    assert sorted(p.name for p in tmp_path.iterdir()) == ["alice-key.pem", "alice.pem"]  # no temp files left
    assert k8s.load_cert(files.cert) == alice.cert


def test_write_refuses_to_overwrite_an_existing_key(ca, tmp_path):
    first = ca.issue_client_cert("alice")
    first.write("alice", tmp_path)
    second = ca.issue_client_cert("alice")
    with pytest.raises(k8s.FileExistsRefusedError, match="already exists"):
        second.write("alice", tmp_path)
    with pytest.raises(FileExistsError):
        second.write_key(tmp_path / "alice-key.pem")
    assert (tmp_path / "alice-key.pem").read_bytes() == first.key_pem
    assert (tmp_path / "alice.pem").read_bytes() == first.cert_pem
    second.write("alice", tmp_path, overwrite=True)
    assert (tmp_path / "alice-key.pem").read_bytes() == second.key_pem
    assert stat.S_IMODE((tmp_path / "alice-key.pem").stat().st_mode) == 0o600


def test_existing_csr_blocks_the_whole_write(tmp_path):
    request = k8s.make_csr("jane")
    (tmp_path / "jane.csr").write_bytes(b"someone else's")
    with pytest.raises(k8s.FileExistsRefusedError):
        request.write("jane", tmp_path)
    assert not (tmp_path / "jane-key.pem").exists()
    assert (tmp_path / "jane.csr").read_bytes() == b"someone else's"


def test_write_key_and_cert_single_files(ca, tmp_path):
    alice = ca.issue_client_cert("alice")
    key = alice.write_key(tmp_path / "k.pem")
    assert stat.S_IMODE(os.stat(key).st_mode) == 0o600
    alice.write_cert(tmp_path / "c.pem")
    assert (tmp_path / "c.pem").read_bytes() == alice.cert_pem


def test_write_into_missing_directory_fails_cleanly(ca, tmp_path):
    alice = ca.issue_client_cert("alice")
    with pytest.raises(k8s.InputError, match="does not exist"):
        alice.write("alice", tmp_path / "nope")
    assert not (tmp_path / "nope").exists()


def test_failed_bare_write_leaves_nothing(ca, tmp_path, monkeypatch):
    request = k8s.make_csr("alice")
    alice = ca.sign_csr(request.csr)
    full = ca.issue_client_cert("bob")
    real_link = os.link
    calls = {"n": 0}

    def flaky_link(src, dst, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise OSError(28, "No space left on device")
        return real_link(src, dst, *args, **kwargs)

    monkeypatch.setattr(k8sauthlib.files.os, "link", flaky_link)
    with pytest.raises(OSError, match="No space left"):
        k8s.write_bare("bob", tmp_path, cert_pem=full.cert_pem, key_pem=full.key_pem, csr_pem=request.csr_pem)
    assert list(tmp_path.iterdir()) == []  # neither the files nor their temporary copies remain
    monkeypatch.undo()
    files = alice.write("alice", tmp_path)
    assert files.key is None and files.csr.read_bytes() == request.csr_pem


def test_atomic_write_failure_keeps_the_old_file(tmp_path, monkeypatch):
    target = tmp_path / "ca.pem"
    target.write_bytes(b"old")

    def broken_fsync(fd):
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(k8sauthlib.files.os, "fsync", broken_fsync)
    with pytest.raises(OSError, match="Input/output"):
        k8s.atomic_write(target, b"new")
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["ca.pem"]


def test_atomic_write_modes_and_overwrite(tmp_path):
    key = k8s.atomic_write(tmp_path / "x-key.pem", b"k", mode=0o600)
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    with pytest.raises(k8s.FileExistsRefusedError):
        k8s.atomic_write(key, b"k2", mode=0o600, overwrite=False)
    assert key.read_bytes() == b"k"
    k8s.atomic_write(key, b"k3", mode=0o600)
    assert key.read_bytes() == b"k3"


# ----------------------------------------------------------------------------------- CA.load
def _key_bytes(key, fmt):
    if fmt == "pkcs8":
        f = serialization.PrivateFormat.PKCS8
    else:  # PKCS#1 for RSA, SEC 1 for EC: OpenSSL's "traditional" format
        f = serialization.PrivateFormat.TraditionalOpenSSL
    return key.private_bytes(serialization.Encoding.PEM, f, serialization.NoEncryption())


@pytest.mark.parametrize(
    "key_type, fmt, header",
    [
        ("rsa-2048", "traditional", b"RSA PRIVATE KEY"),
        ("rsa-2048", "pkcs8", b"BEGIN PRIVATE KEY"),
        ("ecdsa-p256", "traditional", b"EC PRIVATE KEY"),
        ("ecdsa-p256", "pkcs8", b"BEGIN PRIVATE KEY"),
    ],
)
def test_ca_load_key_formats(key_type, fmt, header, pem_file, assert_is_leaf):
    original = k8s.CA.create("kubernetes", key=key_type)
    key_bytes = _key_bytes(original.key, fmt)
    assert header in key_bytes
    cert_path = pem_file(original.cert_pem, "ca.crt")
    key_path = pem_file(key_bytes, "ca.key", mode=0o600)
    loaded = k8s.CA.load(cert_path, key_path)
    assert isinstance(loaded, k8s.CA)
    assert loaded.cert == original.cert
    alice = loaded.issue_client_cert("alice")
    assert_is_leaf(alice, issuer=original, eku=CLIENT_AUTH)
    from_pem = k8s.CA.from_pem(original.cert_pem, key_bytes)
    assert from_pem.cert == original.cert


def test_ca_load_refuses_a_key_that_does_not_match(ca, other_ca, pem_file):
    with pytest.raises(k8s.KeyMismatchError, match="does not belong"):
        k8s.CA.load(pem_file(ca.cert_pem), pem_file(other_ca.key_pem, mode=0o600))
    with pytest.raises(k8s.KeyMismatchError):
        k8s.CA.from_pem(ca.cert_pem, other_ca.key_pem)
    with pytest.raises(k8s.KeyMismatchError):
        k8s.Cert(ca.cert, other_ca.key)


def test_ca_load_bad_inputs(ca, tmp_path, pem_file):
    cert_path = pem_file(ca.cert_pem, "ca.crt")
    with pytest.raises(k8s.InputError, match="does not exist"):
        k8s.CA.load(cert_path, tmp_path / "missing.key")
    with pytest.raises(k8s.InputError, match="directory"):
        k8s.CA.load(cert_path, tmp_path)
    with pytest.raises(k8s.InputError, match="no PEM private key"):
        k8s.CA.load(cert_path, pem_file(b"garbage\n"))
    with pytest.raises(k8s.InputError, match="cannot parse"):
        k8s.CA.load(
            cert_path, pem_file(b"-----BEGIN RSA PRIVATE KEY-----\nZ2FyYmFnZQ==\n-----END RSA PRIVATE KEY-----\n")
        )
    encrypted = ca.key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.BestAvailableEncryption(b"secret")
    )
    with pytest.raises(k8s.InputError, match="encrypted"):
        k8s.CA.load(cert_path, pem_file(encrypted))
    with pytest.raises(k8s.InputError, match="not a certificate|no certificate|cannot parse"):
        k8s.CA.load(pem_file(b"not a certificate"), pem_file(ca.key_pem))
    leaf = ca.issue_client_cert("alice")
    with pytest.raises(k8s.InputError, match="not a CA"):
        k8s.CA.load(pem_file(leaf.cert_pem), pem_file(leaf.key_pem))


def test_unreadable_key_file(ca, pem_file, monkeypatch):
    """A root-only ca.key read by a normal user: we run as root, so simulate the EACCES."""
    cert_path = pem_file(ca.cert_pem, "ca.crt")
    key_path = pem_file(ca.key_pem, "ca.key", mode=0o600)
    real_read_bytes = type(key_path).read_bytes

    def read_bytes(self):
        if self == key_path:
            raise PermissionError(13, "Permission denied", str(self))
        return real_read_bytes(self)

    monkeypatch.setattr(type(key_path), "read_bytes", read_bytes)
    with pytest.raises(k8s.InputError, match="permission denied"):
        k8s.CA.load(cert_path, key_path)


def test_load_cert_bad_inputs(tmp_path, pem_file):
    with pytest.raises(k8s.InputError, match="does not exist"):
        k8s.load_cert(tmp_path / "nope.pem")
    with pytest.raises(k8s.InputError):
        k8s.load_cert(pem_file(b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"))
    with pytest.raises(k8s.InputError):
        k8s.load_cert(b"hello")


def test_load_private_key_rejects_unsupported_types(pem_file):
    from cryptography.hazmat.primitives.asymmetric import ed25519

    key = ed25519.Ed25519PrivateKey.generate()
    data = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    with pytest.raises(k8s.InputError, match="unsupported"):
        k8s.load_private_key(pem_file(data))


# ------------------------------------------------------------------------------------- TLS
def test_mtls_handshake(ca, key_type, server_context, client_context, tls_handshake):
    server = ca.issue_server_cert("localhost", "127.0.0.1", key=key_type)
    alice = ca.issue_client_cert("alice", ["developers"], key=key_type)
    result = tls_handshake(server_context(server, client_ca=ca), client_context(ca, alice), "localhost")
    assert result.reply == b"pong:ping"
    assert result.server_saw == alice.cert.public_bytes(serialization.Encoding.DER)
    assert result.client_saw == server.cert.public_bytes(serialization.Encoding.DER)
    by_ip = tls_handshake(server_context(server, client_ca=ca), client_context(ca, alice), "127.0.0.1")
    assert by_ip.reply == b"pong:ping"


def test_bad_hostname_fails(ca, server_context, client_context, tls_handshake):
    server = ca.issue_server_cert("localhost", "127.0.0.1")
    with pytest.raises(ssl.SSLCertVerificationError, match="Hostname mismatch|IP address mismatch"):
        tls_handshake(server_context(server), client_context(ca), "kubernetes")
    with pytest.raises(ssl.SSLCertVerificationError, match="IP address mismatch"):
        tls_handshake(server_context(server), client_context(ca), "127.0.0.2")


def test_foreign_ca_server_fails(ca, other_ca, server_context, client_context, tls_handshake):
    server = ca.issue_server_cert("localhost")
    assert tls_handshake(server_context(server), client_context(ca), "localhost").reply == b"pong:ping"
    with pytest.raises(ssl.SSLCertVerificationError, match="unable to get local issuer certificate"):
        tls_handshake(server_context(server), client_context(other_ca), "localhost")


def test_foreign_ca_client_cert_is_refused(ca, other_ca, server_context, client_context, tls_handshake):
    server = ca.issue_server_cert("localhost")
    alice = ca.issue_client_cert("alice")
    assert tls_handshake(server_context(server, client_ca=ca), client_context(ca, alice), "localhost").server_saw
    intruder = other_ca.issue_client_cert("intruder")
    with pytest.raises((ssl.SSLError, OSError)) as refused:
        tls_handshake(server_context(server, client_ca=ca), client_context(ca, intruder), "localhost")
    assert "unable to get local issuer certificate" in str(refused.value.server_error)


def test_missing_client_cert_is_refused(ca, server_context, client_context, tls_handshake):
    server = ca.issue_server_cert("localhost")
    with pytest.raises((ssl.SSLError, OSError)) as refused:
        tls_handshake(server_context(server, client_ca=ca), client_context(ca), "localhost")
    # the client sees either the TLS 1.3 "certificate required" alert or a bare EOF (a race)
    assert "peer did not return a certificate" in str(refused.value.server_error)


def test_server_cert_is_refused_as_client_cert(ca, server_context, client_context, tls_handshake):
    """OpenSSL's server checks the client certificate's purpose: serverAuth only is not enough."""
    server = ca.issue_server_cert("localhost")
    impostor = ca.issue_server_cert("alice")
    with pytest.raises((ssl.SSLError, OSError)) as refused:
        tls_handshake(server_context(server, client_ca=ca), client_context(ca, impostor), "localhost")
    assert re.search("(unsuitable|unsupported) certificate purpose", str(refused.value.server_error))


def test_client_cert_is_refused_as_server_cert(ca, server_context, client_context, tls_handshake):
    wrong = ca.issue_client_cert("localhost", hosts=["localhost"])
    with pytest.raises(ssl.SSLCertVerificationError, match="(unsuitable|unsupported) certificate purpose"):
        tls_handshake(server_context(wrong), client_context(ca), "localhost")


def test_ecdsa_leaf_under_rsa_ca_and_back(server_context, client_context, tls_handshake):
    rsa_ca = k8s.CA.create("rsa-root", key="rsa-2048")
    ec_ca = k8s.CA.create("ec-root", key="ecdsa-p256")
    server = rsa_ca.issue_server_cert("localhost", key="ecdsa-p256")
    alice = ec_ca.issue_client_cert("alice", key="rsa-2048")
    assert isinstance(server.cert.public_key(), ec.EllipticCurvePublicKey)
    assert isinstance(alice.cert.public_key(), rsa.RSAPublicKey)
    result = tls_handshake(server_context(server, client_ca=ec_ca), client_context(rsa_ca, alice), "localhost")
    assert result.reply == b"pong:ping"
