"""The Korean readings the chapters print beside long tool lines (k8sauthlib.book.readings): each
known format is read from its parts, and a format the readers do not know fails loudly."""

import pytest

from k8sauthlib.book import gloss
from k8sauthlib.book.readings import LONG, read
from k8sauthlib.lab.apierrors import forbidden_message
from k8sauthlib.lab.attributes import RequestAttributes

MASTERS = (
    'Error from server (Forbidden): error when creating "mallory-csr.yaml": certificatesigningrequests.certificates.k8s.io '
    '"k8sauth-masters-1" is forbidden: use of kubernetes.io/kube-apiserver-client signer with system:masters group is '
    "not allowed"
)


def test_csr_admission_refusal():
    assert read(MASTERS) == [
        'API 서버가 certificatesigningrequests "k8sauth-masters-1"의 생성 요청을 거절했습니다(403 Forbidden, mallory-csr.yaml).',
        "이유: kubernetes.io/kube-apiserver-client 서명자로는 system:masters 그룹의 인증서를 요청할 수 없습니다.",
    ]


def test_signer_approval_refusal():
    line = (
        'Error from server (Forbidden): certificatesigningrequests.certificates.k8s.io "pending" is forbidden: user not '
        'permitted to approve requests with signerName "kubernetes.io/kube-apiserver-client"'
    )
    assert read(line) == [
        'API 서버가 certificatesigningrequests "pending"에 대한 요청을 거절했습니다(403 Forbidden).',
        '이유: 이 사용자에게는 서명자 "kubernetes.io/kube-apiserver-client"의 요청에 대한 approve 권한이 없습니다.',
    ]


def test_escalation_refusal_keeps_the_rule_lines_after_it():
    out = (
        'error: failed to create rolebinding: rolebindings.rbac.authorization.k8s.io "grab" is forbidden: user "jane" '
        '(groups=["devs" "system:authenticated"]) is attempting to grant RBAC permissions not currently held:\n'
        '{APIGroups:["*"], Resources:["*"], Verbs:["*"]}'
    )
    assert gloss(out).splitlines() == [
        out.splitlines()[0],
        '→ API 서버가 rolebindings "grab"의 생성 요청을 거절했습니다(403 Forbidden).',
        '→ 이유: 사용자 "jane"(그룹 devs, system:authenticated)에게 없는 RBAC 권한을 남에게 주려는 요청입니다(권한 상승 방지). '
        "없는 권한은 다음 줄부터 나옵니다.",
        out.splitlines()[1],
    ]


@pytest.mark.parametrize(
    "attrs, reason",
    [
        (
            RequestAttributes("list", is_resource_request=True, resource="pods", namespace="default"),
            '사용자 "jane"에게는 네임스페이스 "default"에서 pods(코어 API 그룹)에 대한 list 권한이 없습니다.',
        ),
        (
            RequestAttributes(
                "create", is_resource_request=True, api_group="rbac.authorization.k8s.io", resource="clusterroles"
            ),
            '사용자 "jane"에게는 클러스터 범위에서 clusterroles(API 그룹 rbac.authorization.k8s.io)에 대한 create 권한이 없습니다.',
        ),
        (RequestAttributes("get", path="/healthz"), '사용자 "jane"에게는 경로 "/healthz"에 대한 get 권한이 없습니다.'),
    ],
)
def test_rbac_refusals_as_the_lab_writes_them(attrs, reason):
    message, _ = forbidden_message(attrs, "jane")
    assert read(f"Error from server (Forbidden): {message}")[-1] == "이유: " + reason


def test_host_name_mismatch():
    line = (
        "Unable to connect to the server: tls: failed to verify certificate: x509: certificate is valid for "
        "kubernetes, kubernetes.default, node-1, not localhost"
    )
    assert read(line) == [
        '서버 인증서를 검증하지 못해 연결하지 않았습니다. 접속한 이름("localhost")이 인증서의 이름(SAN) 3개 중에 없습니다.'
    ]


KLOG = (
    'E1207 02:36:05.{}   10337 memcache.go:265] "Unhandled Error" err="couldn\'t get current server API group list: '
    'Get \\"https://127.0.0.1:6443/api?timeout=32s\\": tls: failed to verify certificate: x509: certificate signed by '
    'unknown authority"'
)


def test_repeated_klog_lines_are_shown_once_with_their_count():
    last = "Unable to connect to the server: tls: failed to verify certificate: x509: certificate signed by unknown authority"
    out = [KLOG.format(f"82756{i}") for i in range(5)] + [last]
    assert gloss(out).splitlines() == [
        out[0],
        "→ kubectl의 로그(오류, memcache.go:265): API 그룹 목록을 가져오지 못했습니다"
        "(GET https://127.0.0.1:6443/api?timeout=32s). 원인: 클라이언트가 신뢰하지 않는 인증 기관(CA)이 서버 인증서에 서명했습니다",
        "→ 같은 줄이 4번 더 나옵니다(시각만 다릅니다).",
        last,
    ]


def test_klog_lines_of_different_files_are_not_folded():
    other = KLOG.replace("memcache.go:265", "memcache.go:120")
    text = gloss([KLOG.format("000001"), other.format("000002")])
    assert "번 더" not in text and text.count("→ ") == 2


def test_nginx_verify_error():
    line = (
        "2026/12/06 23:19:11 [info] 21970#21970: *22 client SSL certificate verify error: (10:certificate has expired) "
        'while reading client request headers, client: 127.0.0.1, server: localhost, request: "GET / HTTP/1.1", '
        'host: "localhost:34361"'
    )
    assert read(line) == [
        'nginx 연결 *22(클라이언트 127.0.0.1, 요청 "GET / HTTP/1.1"), 클라이언트 인증서 검증 오류 10(OpenSSL). '
        "원인: 클라이언트 인증서가 만료되어 서버가 거부했습니다"
    ]


def test_nginx_no_client_certificate():
    line = (
        "2026/12/06 23:19:06 [info] 21970#21970: *2 client sent no required SSL certificate while reading client "
        'request headers, client: 127.0.0.1, server: localhost, request: "GET / HTTP/1.1", host: "localhost:8443"'
    )
    assert read(line) == [
        'nginx 연결 *2(클라이언트 127.0.0.1, 요청 "GET / HTTP/1.1"). '
        "원인: 서버는 클라이언트 인증서를 요구하는데 클라이언트가 보내지 않았습니다"
    ]


def test_nginx_readings_compare_equal_under_nbval_whatever_the_connection_number():
    """nginx numbers every connection since start, and that count is not the same on every run
    (04 read *22 and *23 for the same line on a busy machine): book/sanitize.cfg masks it in the
    log line and in its Korean reading, and nothing else of either."""
    import re
    from pathlib import Path

    from nbval.plugin import get_sanitize_patterns

    cfg = Path(__file__).resolve().parent.parent / "book" / "sanitize.cfg"
    patterns = get_sanitize_patterns(cfg.read_text(encoding="utf-8"))

    def as_nbval_sees(number, reason="(10:certificate has expired)"):
        line = (
            f"2026/12/06 23:19:11 [info] 21970#21970: *{number} client SSL certificate verify error: {reason} "
            'while reading client request headers, client: 127.0.0.1, server: localhost, request: "GET / HTTP/1.1", '
            'host: "localhost:8443"'
        )
        text = gloss([line])
        for regex, replace in patterns:
            text = re.sub(regex, replace, text)
        return text

    assert as_nbval_sees(22) == as_nbval_sees(23)
    assert "*22" not in as_nbval_sees(22) and "nginx 연결 *N(" in as_nbval_sees(22)
    assert as_nbval_sees(22) != as_nbval_sees(22, "(21:unable to verify the first certificate)")


def test_short_unknown_lines_pass_unchanged():
    assert gloss("rolebinding.rbac.authorization.k8s.io/devs-admin created\n") == (
        "rolebinding.rbac.authorization.k8s.io/devs-admin created"
    )
    assert read("certificatesigningrequest.certificates.k8s.io/x created") is None


@pytest.mark.parametrize(
    "line",
    [
        # a Forbidden reason the readers do not know
        'Error from server (Forbidden): pods "p" is forbidden: exceeded quota: compute, requested: pods=1',
        # a kubectl error reason without a reading
        'Error from server (NotFound): pods "p" not found',
        # a known prefix over a message that is not NewForbidden's
        'error: failed to create rolebinding: rolebindings.rbac.authorization.k8s.io "grab" already exists',
        "x509: certificate is valid for ",
        "E1207 02:36:05.827564   10337 reflector.go:10] something else entirely",
        "2026/12/06 23:19:11 [notice] 1#1: signal process started",
    ],
)
def test_unknown_formats_fail_loudly(line):
    with pytest.raises(ValueError, match="no Korean reading|teach"):
        gloss(line)


def test_a_long_line_without_a_reader_fails():
    with pytest.raises(ValueError, match=f"{LONG + 1}-character line has no Korean reading"):
        gloss("x" * (LONG + 1))
    assert gloss("x" * LONG) == "x" * LONG


def test_a_go_error_the_cause_table_does_not_know_fails():
    with pytest.raises(ValueError, match="no cause in the cause table"):
        gloss(
            KLOG.replace(
                "tls: failed to verify certificate: x509: certificate signed by unknown authority", "EOF"
            ).format("000001")
        )
