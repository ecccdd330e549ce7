"""Pictures of the Kubernetes side for the book: a kubeconfig's structure, a request's path.

Nothing here reads private keys; kubeconfig key data is shown as ``(비공개)``.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from os import PathLike
from pathlib import Path

import graphviz
import yaml
from cryptography import x509

from ..errors import InputError
from .graph import BAD_COLOR, CLIENT_COLOR, FONT, INTERMEDIATE_COLOR, SERVER_COLOR, digraph, dn_text, esc

# ---------------------------------------------------------------------------------------------
# kubeconfig
# ---------------------------------------------------------------------------------------------

_SECRET_FIELDS = ("client-key-data", "token", "password")


def _load_kubeconfig(path_or_dict) -> Mapping:
    if isinstance(path_or_dict, Mapping):
        return path_or_dict
    if isinstance(path_or_dict, (str, PathLike)):
        data = yaml.safe_load(Path(path_or_dict).read_text(encoding="utf-8"))
        if not isinstance(data, Mapping):
            raise InputError(f"{path_or_dict} is not a kubeconfig (expected a YAML mapping)")
        return data
    raise TypeError(f"draw_kubeconfig() needs a path or a dict, not {type(path_or_dict).__name__}")


def _cert_data_summary(b64: str) -> str:
    """Subject of an embedded certificate (certificate data only; key data is never decoded)."""
    try:
        pem = base64.b64decode(b64, validate=False)
        cert = x509.load_pem_x509_certificate(pem)
    except (binascii.Error, ValueError):
        return "(인증서 데이터)"
    return f"(인증서: {dn_text(cert.subject)})"


def _kv_label(title: str, rows: list[tuple[str, str]], color: str, bold: bool = False) -> str:
    head = f"<B>{esc(title)}</B>" if bold else esc(title)
    cells = [f'<TR><TD COLSPAN="2" BGCOLOR="{color}">{head}</TD></TR>']
    for key, value in rows:
        cells.append(
            f'<TR><TD ALIGN="LEFT"><FONT COLOR="#555555">{esc(key)}</FONT></TD><TD ALIGN="LEFT">{esc(value)}</TD></TR>'
        )
    return (
        '<<TABLE BORDER="1" CELLBORDER="0" CELLSPACING="0" CELLPADDING="3" COLOR="#888888">'
        + "".join(cells)
        + "</TABLE>>"
    )


# how a field of a kubeconfig user or cluster is shown; other scalars as they are, the rest "…"
_USER_FIELDS = {
    **{key: (lambda value: "(비공개)") for key in _SECRET_FIELDS},  # never decoded
    "client-certificate-data": _cert_data_summary,
    "client-key": lambda value: f"{value} (개인 키 파일)",
    "exec": lambda value: str((value or {}).get("command", "")),
    "auth-provider": lambda value: str((value or {}).get("name", "")),
}
_CLUSTER_FIELDS = {"certificate-authority-data": _cert_data_summary}


def _field_rows(section: Mapping, shown: Mapping) -> list[tuple[str, str]]:
    rows = []
    for key, value in (section or {}).items():
        if key in shown:
            rows.append((key, shown[key](value)))
        elif isinstance(value, (str, int, bool)):
            rows.append((key, str(value)))
        else:
            rows.append((key, "…"))
    return rows


def draw_kubeconfig(path_or_dict) -> graphviz.Digraph:
    """Draw the structure of a kubeconfig: clusters, users, contexts and current-context.

    Each context points to its cluster and its user; the current context is highlighted.
    Embedded certificates are summarised by their subject (``CN=alice, O=developers``), so the
    picture shows who the user is; private key data, tokens and passwords are shown as
    ``(비공개)`` and never decoded.

    Args:
        path_or_dict: Path of a kubeconfig file, or the parsed kubeconfig as a dict.

    Returns:
        A ``graphviz.Digraph``.

    Raises:
        TypeError: Neither a path nor a mapping.
        ValueError: The file is not a YAML mapping.
    """
    config = _load_kubeconfig(path_or_dict)
    g = digraph("kubeconfig", rankdir="LR", nodesep="0.3", ranksep="0.8", compound="true")
    g.attr("node", shape="plain")
    current = config.get("current-context")

    g.node(
        "current", f"current-context\n{current or '(없음)'}", shape="box", style="rounded,filled", fillcolor="#ffe7a3"
    )

    def section(name, caption, items, rows_of, color, prefix):
        with g.subgraph(name=f"cluster_{name}") as s:
            s.attr(label=caption, style="rounded", color="#bbbbbb", fontname=FONT)
            if not items:
                s.node(f"{prefix}_none", "(없음)", shape="box", style="dashed")
            for i, item in enumerate(items or []):
                s.node(
                    f"{prefix}{i}",
                    _kv_label(
                        str(item.get("name", "")),
                        rows_of(item),
                        color,
                        bold=(prefix == "ctx" and item.get("name") == current),
                    ),
                )

    contexts = config.get("contexts") or []
    clusters = config.get("clusters") or []
    users = config.get("users") or []
    section(
        "contexts",
        "컨텍스트(contexts)",
        contexts,
        lambda c: [(k, str(v)) for k, v in (c.get("context") or {}).items()],
        "#fff3d6",
        "ctx",
    )
    section(
        "clusters",
        "클러스터(clusters)",
        clusters,
        lambda c: _field_rows(c.get("cluster"), _CLUSTER_FIELDS),
        SERVER_COLOR,
        "cl",
    )
    section("users", "사용자(users)", users, lambda u: _field_rows(u.get("user"), _USER_FIELDS), CLIENT_COLOR, "us")

    cluster_ids = {c.get("name"): f"cl{i}" for i, c in enumerate(clusters)}
    user_ids = {u.get("name"): f"us{i}" for i, u in enumerate(users)}
    for i, ctx in enumerate(contexts):
        body = ctx.get("context") or {}
        if ctx.get("name") == current:
            g.edge("current", f"ctx{i}", penwidth="2")
        for key, ids in (("cluster", cluster_ids), ("user", user_ids)):
            target = body.get(key)
            if target in ids:
                g.edge(f"ctx{i}", ids[target], label=key)
            elif target:
                missing = f"missing_{key}_{i}"
                g.node(
                    missing, f"{key} '{target}' 없음", shape="box", style="dashed", color=BAD_COLOR, fontcolor=BAD_COLOR
                )
                g.edge(f"ctx{i}", missing, label=key, color=BAD_COLOR, style="dashed")
    if current and current not in {c.get("name") for c in contexts}:
        g.node(
            "missing_current",
            f"컨텍스트 '{current}' 없음",
            shape="box",
            style="dashed",
            color=BAD_COLOR,
            fontcolor=BAD_COLOR,
        )
        g.edge("current", "missing_current", color=BAD_COLOR, style="dashed")
    return g


# ---------------------------------------------------------------------------------------------
# path of an API request
# ---------------------------------------------------------------------------------------------


def draw_request_path() -> graphviz.Digraph:
    """Draw the path of a request through kube-apiserver.

    Request → 인증(authentication: x509 client certificates, bearer tokens, OIDC, webhook,
    authenticating proxy) → 인가(authorization: Node, RBAC, webhook) → 어드미션 제어(admission
    control: mutating, then validating) → etcd. Failed authentication leaves with 401
    Unauthorized, a denied request with 403 Forbidden; a request without any credential goes on
    as ``system:anonymous``.

    Returns:
        A ``graphviz.Digraph``.
    """
    # top to bottom, each refusal beside its stage: a left-to-right chain is too wide to read
    # at the book's page width
    g = digraph(
        "request",
        rankdir="TB",
        nodesep="0.6",
        ranksep="0.35",
        label="kube-apiserver가 요청을 처리하는 순서",
        labelloc="t",
        fontsize="14",
    )
    g.attr("node", shape="box", style="rounded,filled", fillcolor="#ffffff", color="#777777")

    g.node("req", "요청\n(kubectl, curl,\nclient-go)", fillcolor="#f0f0f0")
    g.node(
        "authn",
        "인증\n(authentication)\n\nx509 클라이언트 인증서\n베어러 토큰, OIDC\n웹훅, 인증 프록시",
        fillcolor=CLIENT_COLOR,
    )
    g.node("authz", "인가\n(authorization)\n\nNode, RBAC\n웹훅", fillcolor=SERVER_COLOR)
    g.node(
        "admission",
        "어드미션 제어\n(admission control)\n\n변경(mutating) 다음\n검증(validating)",
        fillcolor=INTERMEDIATE_COLOR,
    )
    g.node("etcd", "etcd\n(저장)", shape="cylinder", fillcolor="#e8e8e8")

    g.node(
        "e401",
        "401 Unauthorized\n자격 증명이 잘못됨\n(모르는 CA, 만료, clientAuth 없음)",
        color=BAD_COLOR,
        fontcolor=BAD_COLOR,
        style="rounded",
    )
    g.node("e403", "403 Forbidden\n허용하는 규칙이 없음", color=BAD_COLOR, fontcolor=BAD_COLOR, style="rounded")
    g.node("eadm", "요청 거부\n(예: 403, 정책 위반)", color=BAD_COLOR, fontcolor=BAD_COLOR, style="rounded")

    g.edge("req", "authn", label="TLS\n(클라이언트 인증서)")
    g.edge("authn", "authz", label="사용자, 그룹\n(CN, O +\nsystem:authenticated)", penwidth="1.5")
    g.edge("authn", "authz", label="자격 증명 없음:\nsystem:anonymous", style="dashed", color="#888888")
    g.edge("authz", "admission", label="허용", penwidth="1.5")
    g.edge("admission", "etcd", label="생성·변경·삭제", penwidth="1.5")
    g.edge("authn", "e401", color=BAD_COLOR)
    g.edge("authz", "e403", color=BAD_COLOR)
    g.edge("admission", "eadm", color=BAD_COLOR)
    for stage, refusal in (("authn", "e401"), ("authz", "e403"), ("admission", "eadm")):
        with g.subgraph() as s:
            s.attr(rank="same")
            s.node(stage)
            s.node(refusal)
    return g


__all__ = ["draw_kubeconfig", "draw_request_path"]
