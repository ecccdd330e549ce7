"""Figures render to SVG with the real `dot`, with Korean labels and the certificates' own fields."""

import base64
import html
import re
import shutil
import subprocess
from datetime import datetime, timedelta, timezone

import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

import k8sauthlib as k8s
from k8sauthlib.book.figures import draw_chain, draw_mtls_handshake
from k8sauthlib.book.kube_figures import draw_kubeconfig, draw_request_path

NOW = datetime.now(timezone.utc)


def svg(graph):
    """Render with dot and return the SVG text with XML entities decoded (dot writes - as &#45;)."""
    return html.unescape(graph.pipe(format="svg").decode("utf-8"))


def edges(svg_text):
    """Edge titles of a dot SVG, e.g. {("c0", "c1"), ...}."""
    return {
        tuple(t.split("->")) for t in re.findall(r'<g id="edge\d+" class="edge">\s*<title>([^<]+)</title>', svg_text)
    }


def make_cert(cn, *, orgs=(), issuer=None, issuer_key=None, ca=False, eku=(), sans=(), key=None):
    """A certificate made with the cryptography builder (EC P-256: fast)."""
    key = key or ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name(
        [x509.NameAttribute(NameOID.ORGANIZATION_NAME, o) for o in orgs] + [x509.NameAttribute(NameOID.COMMON_NAME, cn)]
    )
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer.subject if issuer else subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - timedelta(minutes=5))
        .not_valid_after(NOW + timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )
    if issuer is not None:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.public_key()), critical=False
        )
    if ca:
        builder = builder.add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
    else:
        builder = builder.add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=True,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
    if eku:
        builder = builder.add_extension(x509.ExtendedKeyUsage(list(eku)), critical=False)
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName([x509.DNSName(s) for s in sans]), critical=False)
    cert = builder.sign(issuer_key or key, hashes.SHA256())
    return cert, key


@pytest.fixture(scope="module")
def pki():
    root, root_key = make_cert("Test Root CA", orgs=["Kubernetes"], ca=True)
    mid, mid_key = make_cert("Test Intermediate", issuer=root, issuer_key=root_key, ca=True)
    server, _ = make_cert(
        "localhost",
        orgs=["server-group"],
        issuer=root,
        issuer_key=root_key,
        eku=[ExtendedKeyUsageOID.SERVER_AUTH],
        sans=["localhost"],
    )
    alice, alice_key = make_cert(
        "alice",
        orgs=["developers", "system:masters"],
        issuer=mid,
        issuer_key=mid_key,
        eku=[ExtendedKeyUsageOID.CLIENT_AUTH],
    )
    return dict(root=root, root_key=root_key, mid=mid, mid_key=mid_key, server=server, alice=alice, alice_key=alice_key)


def test_chain_shows_each_certificate_and_who_signed_it(pki):
    certs = [pki["alice"], pki["server"], pki["mid"], pki["root"]]  # any order
    out = svg(draw_chain(certs, title="인증서 체인"))
    for text in (
        "O=Kubernetes, CN=Test Root CA",
        "CN=Test Intermediate",
        "O=developers, O=system:masters, CN=alice",
        "O=server-group, CN=localhost",
        "DNS:localhost",
        "serverAuth",
        "clientAuth",
        "Certificate Sign, CRL Sign",
        "Digital Signature, Key Encipherment",
        "루트 CA",
        "중간 CA",
        "서버 인증서",
        "클라이언트 인증서",
        "주체(subject)",
        "발급자(issuer)",
        "유효 기간",
        "인증서 체인",
        "사용자 alice",
        "그룹 developers, system:masters",
        NOW.strftime("%Y-%m-%d"),
    ):
        assert text in out, text
    # nodes are numbered in the given order: c0 alice, c1 server, c2 mid, c3 root
    assert edges(out) == {("c3", "c2"), ("c3", "c1"), ("c2", "c0"), ("c3", "c3")}
    assert out.count(">서명<") == 3
    assert "자체 서명" in out
    assert 'font-family="NanumGothic,Noto Sans CJK KR,Malgun Gothic,Apple SD Gothic Neo,sans-serif"' in out


def test_chain_accepts_k8sauthlib_certs_and_pem():
    ca = k8s.CA.create("rootCA", org="Kubernetes", key="ecdsa-p256")
    bob = ca.issue_client_cert("bob", groups=["client-group"], key="ecdsa-p256")
    out = svg(draw_chain([ca, bob.cert_pem, ca.cert]))  # CA object, PEM bytes, duplicate
    assert "CN=rootCA" in out and "CN=bob" in out and "O=client-group" in out
    assert edges(out) == {("c0", "c1"), ("c0", "c0")}


def test_chain_marks_a_signature_that_does_not_verify(pki):
    # Same issuer name and AKI as the root, but signed with another key: a forgery.
    forged, _ = make_cert(
        "mallory",
        issuer=pki["root"],
        issuer_key=ec.generate_private_key(ec.SECP256R1()),
        eku=[ExtendedKeyUsageOID.CLIENT_AUTH],
    )
    out = svg(draw_chain([pki["root"], forged]))
    assert "서명 검증 실패" in out
    assert ("c0", "c1") in edges(out)
    assert out.count(">서명<") == 0
    # kube-apiserver would answer 401: the forged box names no user, the genuine chain still does
    assert "401 Unauthorized" in out and "사용자 없음(서명 불일치)" in out and "사용자 mallory" not in out


def test_chain_names_the_user_of_a_certificate_whose_signature_verifies(pki):
    out = svg(draw_chain([pki["root"], pki["mid"], pki["alice"]]))
    assert "401 Unauthorized" not in out and "사용자 alice" in out


def test_chain_shows_an_issuer_that_is_not_given(pki):
    out = svg(draw_chain([pki["alice"]]))
    assert "목록에 없는 발급자" in out
    assert "CN=Test Intermediate" in out
    # a CA with the same name but another key is not the issuer
    impostor, _ = make_cert("Test Intermediate", ca=True)
    out = svg(draw_chain([impostor, pki["alice"]]))
    assert "목록에 없는 발급자" in out
    assert ("c0", "c1") not in edges(out)


def test_chain_rejects_things_that_are_not_certificates(pki):
    with pytest.raises(k8s.InputError, match="rootCA.pem does not exist"):
        draw_chain([pki["root"], "rootCA.pem"])
    with pytest.raises(k8s.InputError, match="cannot read a certificate from a int"):
        draw_chain([pki["root"], 42])
    with pytest.raises(ValueError):
        draw_chain([])


def test_mtls_handshake_has_both_lanes_and_messages_in_order():
    graph = draw_mtls_handshake()
    out = svg(graph)
    for text in (
        "상호 TLS(mTLS) 핸드셰이크",
        "클라이언트",
        "서버",
        "ClientHello",
        "ServerHello",
        "CertificateRequest",
        "CertificateVerify",
        "Finished",
        "클라이언트 개인 키로 핸드셰이크 내용에 서명",
        "클라이언트 인증서 체인",
        "서버가 클라이언트 인증서 검증",
        "CN은 사용자, O는 그룹이 됨",
    ):
        assert text in out, text
    src = graph.source
    order = [
        src.index(m)
        for m in ("ClientHello", "ServerHello", "CertificateRequest", "클라이언트 인증서 체인", "클라이언트 개인 키로")
    ]
    assert order == sorted(order)
    # server-to-client messages are drawn pointing back at the client
    assert re.search(r"c1 -> s1 \[[^\]]*dir=back", src)
    assert not re.search(r"c0 -> s0 \[[^\]]*dir=back", src)


def test_mtls_handshake_tls12_and_bad_version():
    out = svg(draw_mtls_handshake(tls_version="1.2"))
    assert "ServerHelloDone" in out and "ClientKeyExchange" in out and "TLS 1.2" in out
    with pytest.raises(ValueError, match="tls_version"):
        draw_mtls_handshake(tls_version="1.1")


@pytest.fixture
def kubeconfig(pki):
    key_pem = pki["alice_key"].private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
    )
    b64 = lambda data: base64.b64encode(data).decode()  # noqa: E731
    pem = lambda cert: cert.public_bytes(serialization.Encoding.PEM)  # noqa: E731
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "current-context": "alice@lab",
        "preferences": {},
        "clusters": [
            {
                "name": "lab",
                "cluster": {"server": "https://127.0.0.1:6443", "certificate-authority-data": b64(pem(pki["root"]))},
            }
        ],
        "users": [
            {
                "name": "alice",
                "user": {"client-certificate-data": b64(pem(pki["alice"])), "client-key-data": b64(key_pem)},
            },
            {"name": "robot", "user": {"token": "s3cr3t-t0ken-value"}},
        ],
        "contexts": [
            {"name": "alice@lab", "context": {"cluster": "lab", "user": "alice", "namespace": "default"}},
            {"name": "broken", "context": {"cluster": "nowhere", "user": "robot"}},
        ],
    }
    return config, key_pem


def test_kubeconfig_structure_without_secrets(kubeconfig, tmp_path):
    config, key_pem = kubeconfig
    path = tmp_path / "config"
    path.write_text(yaml.safe_dump(config))
    for source in (config, path, str(path)):
        graph = draw_kubeconfig(source)
        out = svg(graph)
        for text in (
            "current-context",
            "alice@lab",
            "컨텍스트(contexts)",
            "클러스터(clusters)",
            "사용자(users)",
            "https://127.0.0.1:6443",
            "CN=Test Root CA",
            "O=developers, O=system:masters, CN=alice",
            "client-key-data",
            "(비공개)",
            "cluster 'nowhere' 없음",
            "namespace",
        ):
            assert text in out, text
        # contexts point at their cluster and user; current-context at its context
        assert {("ctx0", "cl0"), ("ctx0", "us0"), ("ctx1", "us1"), ("current", "ctx0")} <= edges(out)
        for secret in (
            config["users"][0]["user"]["client-key-data"],
            "s3cr3t-t0ken-value",
            key_pem.decode().splitlines()[1],
        ):
            assert secret not in out and secret not in graph.source


def test_kubeconfig_bad_inputs(tmp_path):
    with pytest.raises(TypeError):
        draw_kubeconfig(42)
    bad = tmp_path / "list.yaml"
    bad.write_text("- a\n- b\n")
    with pytest.raises(ValueError, match="not a kubeconfig"):
        draw_kubeconfig(bad)


def test_request_path_stages_and_exits():
    out = svg(draw_request_path())
    for text in (
        "인증",
        "(authentication)",
        "인가",
        "(authorization)",
        "어드미션 제어",
        "(admission control)",
        "etcd",
        "401 Unauthorized",
        "403 Forbidden",
        "RBAC",
        "x509 클라이언트 인증서",
        "system:anonymous",
        "system:authenticated",
    ):
        assert text in out, text
    assert {
        ("req", "authn"),
        ("authn", "authz"),
        ("authz", "admission"),
        ("admission", "etcd"),
        ("authn", "e401"),
        ("authz", "e403"),
    } <= edges(out)


def test_korean_font_is_installed_for_dot():
    fc_match = shutil.which("fc-match")
    assert fc_match, "fontconfig's fc-match is missing (graphviz depends on it)"
    family = subprocess.run(
        [fc_match, "-f", "%{family}", "NanumGothic"], capture_output=True, text=True, check=True
    ).stdout
    assert "NanumGothic" in family, f"fonts-nanum is not installed: NanumGothic -> {family!r}"


def test_mtls_handshake_for_nginx_says_nginxs_behaviour():
    out = svg(draw_mtls_handshake(tls_version="1.2", server_kind="nginx"))
    for text in ("ssl_client_certificate", "ssl_client_s_dn", "GET /", "400"):
        assert text in out, text
    for text in ("--client-ca-file", "401 / 403", "CN은 사용자", "/api/v1/"):
        assert text not in out, text
    default = svg(draw_mtls_handshake(tls_version="1.2"))
    assert "--client-ca-file" in default and "401 / 403" in default
    with pytest.raises(ValueError, match="server_kind"):
        draw_mtls_handshake(server_kind="apache")
