"""Pictures of certificates for the book, drawn with graphviz: the chain of trust, the mTLS handshake.

Every function returns a :class:`graphviz.Digraph`. A bare ``Digraph`` at the end of a notebook
cell renders as inline SVG through the local ``dot`` binary, so the book needs no network and no
image files. Labels are Korean; the font is NanumGothic (Debian package ``fonts-nanum``), which
graphviz needs to measure and render Hangul.

The chain picture is drawn from real certificates: what it shows is read from the certificates'
fields and the "서명" edges are drawn only after checking the signature, so a tampered or foreign
certificate shows up in the picture too. Nothing here reads private keys; kubeconfig key data is
shown as ``(비공개)``.
"""

from __future__ import annotations

from collections.abc import Iterable

import graphviz
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from ..errors import InputError
from ..pki.describe import EKU_NAMES
from ..pki.fields import load_cert
from .graph import (
    BAD_COLOR,
    CLIENT_COLOR,
    INTERMEDIATE_COLOR,
    LEAF_COLOR,
    ROOT_COLOR,
    SERVER_COLOR,
    digraph,
    dn_text,
    esc,
)

_KEY_USAGES = [  # (attribute of x509.KeyUsage, name as openssl prints it)
    ("digital_signature", "Digital Signature"),
    ("content_commitment", "Non Repudiation"),
    ("key_encipherment", "Key Encipherment"),
    ("data_encipherment", "Data Encipherment"),
    ("key_agreement", "Key Agreement"),
    ("key_cert_sign", "Certificate Sign"),
    ("crl_sign", "CRL Sign"),
]


# ---------------------------------------------------------------------------------------------
# chain of trust
# ---------------------------------------------------------------------------------------------


def _ext(cert: x509.Certificate, kind):
    try:
        return cert.extensions.get_extension_for_class(kind).value
    except x509.ExtensionNotFound:
        return None


def _is_ca(cert: x509.Certificate) -> bool:
    bc = _ext(cert, x509.BasicConstraints)
    return bool(bc and bc.ca)


def _sans(cert: x509.Certificate) -> list[str]:
    san = _ext(cert, x509.SubjectAlternativeName)
    if san is None:
        return []
    out = []
    for gn in san:
        if isinstance(gn, x509.DNSName):
            out.append(f"DNS:{gn.value}")
        elif isinstance(gn, x509.IPAddress):
            out.append(f"IP:{gn.value}")
        elif isinstance(gn, x509.RFC822Name):
            out.append(f"email:{gn.value}")
        elif isinstance(gn, x509.UniformResourceIdentifier):
            out.append(f"URI:{gn.value}")
        else:
            out.append(str(gn.value))
    return out


def _key_usages(cert: x509.Certificate) -> list[str]:
    ku = _ext(cert, x509.KeyUsage)
    if ku is None:
        return []
    return [label for attr, label in _KEY_USAGES if getattr(ku, attr)]


def _ekus(cert: x509.Certificate) -> list[x509.ObjectIdentifier]:
    eku = _ext(cert, x509.ExtendedKeyUsage)
    return list(eku) if eku is not None else []


def _issued_by(child: x509.Certificate, parent: x509.Certificate) -> bool | None:
    """True if ``parent`` signed ``child``; None if ``parent`` cannot be its issuer at all.

    The issuer is found the way verifiers find it: issuer name equal to the parent's subject,
    and when both certificates carry key identifiers, AKI equal to the parent's SKI. Then the
    signature is checked; False means "looks like the issuer but the signature is wrong"
    (a tampered certificate, or a CA that was re-created with a new key).
    """
    if child.issuer != parent.subject:
        return None
    aki = _ext(child, x509.AuthorityKeyIdentifier)
    ski = _ext(parent, x509.SubjectKeyIdentifier)
    if aki is not None and aki.key_identifier is not None and ski is not None:
        if aki.key_identifier != ski.digest:
            return None
    try:
        child.verify_directly_issued_by(parent)
    except Exception:  # InvalidSignature, ValueError (name/algorithm), TypeError (key type)
        return False
    return True


def _role(cert: x509.Certificate, self_signed: bool) -> tuple[str, str]:
    if _is_ca(cert):
        return ("루트 CA" if self_signed else "중간 CA"), (ROOT_COLOR if self_signed else INTERMEDIATE_COLOR)
    ekus = set(_ekus(cert))
    server = ExtendedKeyUsageOID.SERVER_AUTH in ekus
    client = ExtendedKeyUsageOID.CLIENT_AUTH in ekus
    if server and client:
        return "서버·클라이언트 인증서", SERVER_COLOR
    if server:
        return "서버 인증서", SERVER_COLOR
    if client:
        return "클라이언트 인증서", CLIENT_COLOR
    return ("자체 서명 인증서" if self_signed else "인증서"), LEAF_COLOR


def _row(label: str, value: str) -> str:
    return (
        f'<TR><TD ALIGN="LEFT" VALIGN="TOP"><FONT COLOR="#555555">{esc(label)}</FONT></TD>'
        f'<TD ALIGN="LEFT" BALIGN="LEFT">{value}</TD></TR>'
    )


def _cert_label(cert: x509.Certificate, role: str, color: str, *, forged: bool = False) -> str:
    rows = [
        f'<TR><TD COLSPAN="2" BGCOLOR="{color}"><B>{esc(role)}</B></TD></TR>',
        _row("주체(subject)", esc(dn_text(cert.subject))),
        _row("발급자(issuer)", esc(dn_text(cert.issuer))),
    ]
    sans = _sans(cert)
    if sans:
        rows.append(_row("SAN", "<BR/>".join(esc(s) for s in sans)))
    usages = _key_usages(cert)
    if usages:
        rows.append(_row("키 용도", esc(", ".join(usages))))
    ekus = _ekus(cert)
    if ekus:
        rows.append(_row("확장 키 용도", esc(", ".join(EKU_NAMES.get(o, o.dotted_string) for o in ekus))))
    bc = _ext(cert, x509.BasicConstraints)
    if bc is not None and bc.ca:
        rows.append(_row("CA", "예" + ("" if bc.path_length is None else f" (pathlen {bc.path_length})")))
    ekus_set = set(ekus)
    # what kube-apiserver reads from a certificate it accepts for clients: any leaf with
    # clientAuth, or with no EKU extension at all (Go's rule lets those through)
    if forged:
        # kube-apiserver rejects a certificate whose signature does not verify before reading
        # its subject: a 401 and no user (x509.go's Verify error ends authentication)
        rows.append(_row("쿠버네티스", esc("401 Unauthorized") + "<BR/>" + esc("사용자 없음(서명 불일치)")))
    elif not _is_ca(cert) and (ExtendedKeyUsageOID.CLIENT_AUTH in ekus_set or not ekus_set):
        user = [a.value for a in cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)]
        groups = [a.value for a in cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)]
        who = f"사용자 {user[0]}" if user and user[0] else "사용자 없음(익명)"
        rows.append(_row("쿠버네티스", esc(who) + "<BR/>" + esc("그룹 " + (", ".join(groups) or "없음"))))
    nb = cert.not_valid_before_utc.strftime("%Y-%m-%d")
    na = cert.not_valid_after_utc.strftime("%Y-%m-%d")
    rows.append(_row("유효 기간", esc(f"{nb} ~ {na} (UTC)")))
    return (
        '<<TABLE BORDER="1" CELLBORDER="0" CELLSPACING="0" CELLPADDING="4" COLOR="#888888">'
        + "".join(rows)
        + "</TABLE>>"
    )


def draw_chain(certs: Iterable, *, title: str | None = None) -> graphviz.Digraph:
    """Draw the chain of trust of the given certificates.

    One box per certificate with its subject, issuer, SANs, key usages, extended key usages,
    validity and (for client certificates) the Kubernetes user and groups read from CN and O.
    An edge labelled "서명" goes from each issuer to the certificates it signed; issuers are
    matched by issuer name and AKI/SKI and the signature is verified. A certificate whose
    signature does not verify gets a red "서명 검증 실패" edge; an issuer that is not among
    ``certs`` is drawn as a dashed box ("목록에 없는 발급자").

    Args:
        certs: ``cryptography`` certificates, objects with a ``.cert`` attribute (k8sauthlib
            ``Cert``/``CA``) or PEM bytes, in any order. Duplicates are drawn once.
        title: Optional caption drawn above the picture.

    Returns:
        A ``graphviz.Digraph``; it displays as SVG in a notebook.

    Raises:
        InputError: an item is not a certificate (any input :func:`k8sauthlib.load_cert` takes is one).
        ValueError: ``certs`` is empty.
    """
    unique: list[x509.Certificate] = []
    seen = set()
    for item in certs:
        cert = load_cert(item)
        fp = cert.fingerprint(hashes.SHA256())
        if fp not in seen:
            seen.add(fp)
            unique.append(cert)
    if not unique:
        raise InputError("draw_chain() needs at least one certificate")

    g = digraph("chain", rankdir="TB", nodesep="0.4", ranksep="0.5")
    if title:
        g.attr(label=title, labelloc="t", fontsize="14")
    g.attr("node", shape="plain")

    external: dict[str, str] = {}
    for i, cert in enumerate(unique):
        self_signed = bool(_issued_by(cert, cert))
        role, color = _role(cert, self_signed)
        verdicts = {_issued_by(cert, parent) for parent in unique} - {None}
        g.node(f"c{i}", _cert_label(cert, role, color, forged=verdicts == {False}))

    for i, cert in enumerate(unique):
        issuers = [(j, _issued_by(cert, parent)) for j, parent in enumerate(unique)]
        issuers = [(j, ok) for j, ok in issuers if ok is not None]
        for j, ok in issuers:
            if j == i:
                if ok:
                    g.edge(f"c{i}", f"c{i}", label="자체 서명", color="#888888", fontcolor="#555555")
                continue
            if ok:
                g.edge(f"c{j}", f"c{i}", label="서명", penwidth="1.5")
            else:
                g.edge(f"c{j}", f"c{i}", label="서명 검증 실패", color=BAD_COLOR, fontcolor=BAD_COLOR, style="dashed")
        if not issuers:
            issuer = dn_text(cert.issuer)
            if issuer not in external:
                external[issuer] = f"x{len(external)}"
                g.node(
                    external[issuer],
                    f"목록에 없는 발급자\n{issuer}",
                    shape="box",
                    style="dashed,rounded",
                    color="#888888",
                )
            g.edge(external[issuer], f"c{i}", label="서명?", style="dashed", color="#888888")
    return g


# ---------------------------------------------------------------------------------------------
# mutual TLS handshake
# ---------------------------------------------------------------------------------------------

# (direction, message, explanation); ">" client to server, "<" server to client
_TLS13 = [
    (">", "ClientHello", "지원하는 TLS 버전·암호 스위트, 키 공유 값"),
    ("<", "ServerHello", "고른 암호 스위트, 키 공유 값 (이후 메시지는 암호화)"),
    ("<", "CertificateRequest", "클라이언트 인증서를 요구 (신뢰하는 CA 이름 목록)"),
    ("<", "Certificate", "서버 인증서 체인"),
    ("<", "CertificateVerify", "서버 개인 키로 핸드셰이크 내용에 서명"),
    ("<", "Finished", "핸드셰이크 무결성 확인 값"),
    (">", "Certificate", "클라이언트 인증서 체인"),
    (">", "CertificateVerify", "클라이언트 개인 키로 핸드셰이크 내용에 서명"),
    (">", "Finished", "핸드셰이크 무결성 확인 값"),
    (">", "HTTP 요청", "GET /api/v1/namespaces/default/pods"),
    ("<", "HTTP 응답", "200 OK / 401 / 403"),
]
_TLS12 = [
    (">", "ClientHello", "지원하는 TLS 버전·암호 스위트"),
    ("<", "ServerHello", "고른 암호 스위트"),
    ("<", "Certificate", "서버 인증서 체인"),
    ("<", "ServerKeyExchange", "서버 개인 키로 서명한 키 교환 값"),
    ("<", "CertificateRequest", "클라이언트 인증서를 요구 (신뢰하는 CA 이름 목록)"),
    ("<", "ServerHelloDone", ""),
    (">", "Certificate", "클라이언트 인증서 체인"),
    (">", "ClientKeyExchange", "키 교환 값"),
    (">", "CertificateVerify", "클라이언트 개인 키로 핸드셰이크 내용에 서명"),
    (">", "ChangeCipherSpec, Finished", ""),
    ("<", "ChangeCipherSpec, Finished", ""),
    (">", "HTTP 요청", "GET /api/v1/namespaces/default/pods"),
    ("<", "HTTP 응답", "200 OK / 401 / 403"),
]
_CLIENT_CHECK = (
    "클라이언트가 서버 인증서 검증:\nCA 서명, 유효 기간, SAN의 호스트 이름,\nserverAuth, CertificateVerify 서명"
)
_SERVER_CHECK = (
    "서버가 클라이언트 인증서 검증:\n--client-ca-file의 CA 서명, 유효 기간,\n"
    "clientAuth, CertificateVerify 서명\nCN은 사용자, O는 그룹이 됨"
)
# nginx (ssl_verify_client on) checks the same signature, dates and purpose, but knows no users:
# it records the subject in $ssl_client_s_dn and answers a failed check with a 400 page.
_NGINX_CHECK = (
    "nginx가 클라이언트 인증서 검증:\nssl_client_certificate의 CA 서명, 유효 기간,\n"
    "clientAuth, CertificateVerify 서명\n주체는 $ssl_client_s_dn에 기록"
)
_HTTP = {
    "kube-apiserver": ("GET /api/v1/namespaces/default/pods", "200 OK / 401 / 403", _SERVER_CHECK),
    "nginx": ("GET /", "200 OK / 400 (인증서 없음·검증 실패)", _NGINX_CHECK),
}


def draw_mtls_handshake(
    *,
    client: str = "클라이언트\n(kubectl, curl)",
    server: str = "서버\n(kube-apiserver, nginx)",
    tls_version: str = "1.3",
    server_kind: str = "kube-apiserver",
) -> graphviz.Digraph:
    """Draw the mutual-TLS handshake as a sequence diagram.

    Two lanes, client on the left and server on the right, one arrow per handshake message in
    order, with a short Korean explanation on each. The server asks for a certificate
    (CertificateRequest); the client answers with its certificate chain and a CertificateVerify
    signed with its private key, which proves it holds the key and not just a copy of the public
    certificate. Notes say what each side checks.

    Args:
        client: Label of the client lane.
        server: Label of the server lane.
        tls_version: ``"1.3"`` (default: what kubectl and kube-apiserver negotiate; both are Go
            programs whose TLS stack offers 1.3) or ``"1.2"``: what chapter 04 pins with
            ``curl --tls-max 1.2`` so that nginx 1.22 (TLS 1.2 only by default) and nginx
            >= 1.23.4 (TLS 1.3 by default) show the same handshake. In TLS 1.2 the server
            proves its key by signing ServerKeyExchange (RFC 5246 §7.4.3) and sends no
            CertificateVerify; only a client with a certificate does (§7.4.8). In TLS 1.3
            both sides send CertificateVerify (RFC 8446 §4.4.3).
        server_kind: ``"kube-apiserver"`` (the request, the 401/403 answers and the
            ``--client-ca-file`` check of the API server) or ``"nginx"`` (``GET /``, nginx's 400
            page for a missing or failed certificate, ``ssl_client_certificate``; nginx reads no
            user or group, it records the subject in ``$ssl_client_s_dn``).

    Returns:
        A ``graphviz.Digraph``.

    Raises:
        ValueError: Unknown ``tls_version`` or ``server_kind``.
    """
    if tls_version not in ("1.2", "1.3"):
        raise InputError(f"tls_version must be '1.2' or '1.3', not {tls_version!r}")
    if server_kind not in _HTTP:
        raise InputError(f"server_kind must be 'kube-apiserver' or 'nginx', not {server_kind!r}")
    request, response, server_check = _HTTP[server_kind]
    steps = [
        (d, m, request if m == "HTTP 요청" else response if m == "HTTP 응답" else note)
        for d, m, note in (_TLS13 if tls_version == "1.3" else _TLS12)
    ]
    # What the client checks of the server's proof: CertificateVerify in TLS 1.3, the signed
    # ServerKeyExchange in TLS 1.2 (the TLS 1.2 server sends no CertificateVerify).
    client_check = (
        _CLIENT_CHECK
        if tls_version == "1.3"
        else _CLIENT_CHECK.replace("CertificateVerify 서명", "ServerKeyExchange 서명")
    )
    g = digraph(
        "mtls",
        rankdir="TB",
        nodesep="0.2",
        ranksep="0.42",
        newrank="true",
        label=f"상호 TLS(mTLS) 핸드셰이크 (TLS {tls_version})",
        labelloc="t",
        fontsize="14",
    )
    g.attr("node", shape="point", width="0.06", color="#666666")

    g.node("client_head", client, shape="box", style="rounded,filled", fillcolor=CLIENT_COLOR, width="2")
    g.node("server_head", server, shape="box", style="rounded,filled", fillcolor=SERVER_COLOR, width="2")
    with g.subgraph() as s:
        s.attr(rank="same")
        s.edge("client_head", "server_head", style="invis", minlen="6")

    client_done = next(i for i, (d, m, _) in enumerate(steps) if d == "<" and "Finished" in m)
    server_done = next(i for i, (d, m, _) in enumerate(steps) if d == ">" and "Finished" in m)

    prev_c, prev_s = "client_head", "server_head"
    for i, (direction, message, note) in enumerate(steps):
        c, s_ = f"c{i}", f"s{i}"
        label = f"{message}\n{note}" if note else message
        with g.subgraph() as row:
            row.attr(rank="same")
            if i == client_done:
                row.node(
                    f"n{i}",
                    client_check,
                    shape="note",
                    fontsize="9",
                    style="filled",
                    fillcolor="#f7f7f7",
                    color="#999999",
                )
                row.edge(f"n{i}", c, style="dotted", arrowhead="none", color="#999999")
            row.node(c)
            row.node(s_)
            if direction == ">":
                row.edge(c, s_, label=label, minlen="6")
            else:
                row.edge(c, s_, label=label, dir="back", minlen="6")
            if i == server_done:
                row.node(
                    f"n{i}",
                    server_check,
                    shape="note",
                    fontsize="9",
                    style="filled",
                    fillcolor="#f7f7f7",
                    color="#999999",
                )
                row.edge(s_, f"n{i}", style="dotted", arrowhead="none", color="#999999")
        g.edge(prev_c, c, style="dashed", arrowhead="none", color="#aaaaaa", weight="100")
        g.edge(prev_s, s_, style="dashed", arrowhead="none", color="#aaaaaa", weight="100")
        prev_c, prev_s = c, s_
    return g


__all__ = ["draw_chain", "draw_mtls_handshake"]
