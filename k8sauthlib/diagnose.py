"""What went wrong with a TLS or mutual-TLS request, and what to do about it.

This module is the one place that maps what the tools print to a cause and a fix:

* curl's exit codes and stderr (``curl: (60) SSL certificate problem: ...``),
* nginx's 400 pages (``<title>400 No required SSL certificate was sent</title>``) and its
  error-log lines (``client SSL certificate verify error: (18:self-signed certificate)``),
* Python's ``ssl`` / ``urllib3`` / ``requests`` exceptions,
* Go's (kubectl's, kube-apiserver's) messages (``x509: certificate signed by unknown authority``,
  ``error: You must be logged in to the server (Unauthorized)``).

Every :class:`Cause` carries English and Korean text, so the book's troubleshooting appendix is
rendered from :data:`CAUSES` (see :func:`table`) and cannot drift from what the library says.
:class:`k8sauthlib.client.MTLSClient` turns a :class:`Diagnosis` into an exception; notebooks
and tests run the real curl through :func:`run_curl` and get the mapped cause with the result.
"""

from __future__ import annotations

import re
import shlex
import ssl
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

__all__ = [
    "Sign", "Cause", "Diagnosis", "CurlResult", "CAUSES", "SOURCES", "SIGNATURE_REJECTED",
    "cause", "diagnose_curl", "diagnose_exception", "diagnose_response", "diagnose_text",
    "diagnose_nginx_log", "nginx_page_title", "run_curl", "table", "markdown_table",
]

#: Where a sign is seen: the keys of :attr:`Sign.source`.
SOURCES = {
    "curl": ("curl (exit code, stderr)", "curl (종료 코드, stderr)"),
    "nginx-page": ("nginx 400 page", "nginx 400 응답 페이지"),
    "nginx-log": ("nginx error.log", "nginx error.log"),
    "python": ("Python ssl / requests", "Python ssl / requests"),
    "go": ("kubectl / Go (x509, tls)", "kubectl / Go (x509, tls)"),
    "http": ("HTTP status", "HTTP 상태 코드"),
}


@dataclass(frozen=True)
class Sign:
    """One thing a tool prints for a cause.

    Attributes:
        source: a key of :data:`SOURCES`.
        text: the text as the tool prints it (shown in the book's table; matched
            case-insensitively as a substring unless ``pattern`` is given).
        exit_code: for curl, the exit code that goes with the text (``None``: any).
        pattern: a regular expression to match instead of ``text``.
        meaning: what this particular sign says beyond the cause's title (English), e.g.
            :data:`SIGNATURE_REJECTED`; shown in :class:`Diagnosis` messages.
    """

    source: str
    text: str
    exit_code: int | None = None
    pattern: str | None = None
    meaning: str | None = None

    def matches(self, output):
        if self.pattern is not None:
            return re.search(self.pattern, output, re.IGNORECASE) is not None
        return self.text.lower() in output.lower()


@dataclass(frozen=True)
class Cause:
    """A reason a (mutual) TLS request fails, with the fix, in English and Korean.

    Attributes:
        key: a stable identifier, e.g. ``"unknown-server-ca"``.
        title: one English line naming the cause.
        fix: what to do, in English.
        title_ko: the same in Korean.
        fix_ko: the same in Korean.
        signs: what the tools print when this is the cause.
        severity: ``"error"``, or ``"warning"`` for a request that worked in an unsafe way.
    """

    key: str
    title: str
    fix: str
    title_ko: str
    fix_ko: str
    signs: tuple = ()
    severity: str = "error"

    def text(self, lang="en"):
        """``"<title>. <fix>"`` in ``lang`` (``"en"`` or ``"ko"``)."""
        if lang == "ko":
            return f"{self.title_ko}. {self.fix_ko}"
        return f"{self.title}. {self.fix}"


S = Sign  # brevity in the table below

#: What a TLS ``decrypt_error`` alert from the server (curl exit 35 ``tlsv1 alert decrypt error``,
#: Python ``TLSV1_ALERT_DECRYPT_ERROR``) and nginx's ``bad signature`` mean in mutual TLS: the
#: client's CertificateVerify signature does not verify with the certificate's public key. It
#: happens when the key file passes OpenSSL's pairing check (its public half is the
#: certificate's) but its private values come from another key.
SIGNATURE_REJECTED = ("the server could not verify the handshake signature: "
                      "the private key does not belong to the certificate")

#: Every cause the library knows, most specific first (the first match wins).
CAUSES = (
    Cause(
        "plain-http-to-https-port",
        "Plain HTTP was sent to an HTTPS port",
        "Use an https:// URL for this port.",
        "HTTPS 포트에 평문 HTTP 요청을 보냈습니다",
        "이 포트에는 https:// URL로 요청합니다.",
        (S("nginx-page", "400 The plain HTTP request was sent to HTTPS port"),
         S("nginx-log", "client sent plain HTTP request to HTTPS port"),
         S("go", "Client sent an HTTP request to an HTTPS server")),
    ),
    Cause(
        "https-to-plain-http-port",
        "TLS was attempted against a port that speaks plain HTTP",
        "Use an http:// URL, or point the client at the TLS port.",
        "평문 HTTP 포트에 TLS로 접속했습니다",
        "http:// URL로 요청하거나, TLS를 받는 포트로 접속합니다.",
        (S("curl", "wrong version number", 35),
         S("python", "WRONG_VERSION_NUMBER"),
         S("go", "http: server gave HTTP response to HTTPS client")),
    ),
    Cause(
        "hostname-mismatch",
        "The host name in the URL is not among the server certificate's subject alternative names",
        "Call the server by a name its certificate carries (see the SAN list), or re-issue the "
        "server certificate with this name in its hosts/SANs. The CN is not used for this check.",
        "URL의 호스트 이름이 서버 인증서의 주체 대체 이름(SAN)에 없습니다",
        "인증서의 SAN에 있는 이름으로 접속합니다. 또는 이 이름을 hosts(SAN)에 넣어 서버 인증서를 "
        "다시 발급합니다. 이 검사는 CN을 보지 않습니다.",
        (S("curl", "no alternative certificate subject name matches target host", 60),
         S("curl", "does not match target host name", 60),
         S("python", "Hostname mismatch, certificate is not valid for"),
         S("python", "IP address mismatch, certificate is not valid for"),
         S("python", "CertificateError: hostname 'H' doesn't match", pattern=r"hostname '.*' doesn't match"),
         S("go", "x509: certificate is valid for X, not Y", pattern=r"x509: certificate is valid for .+, not "),
         S("go", "x509: certificate is not valid for any names")),
    ),
    Cause(
        "server-cert-expired",
        "The server's certificate has expired (or is not valid yet)",
        "Renew the server certificate (check the clocks of both machines too).",
        "서버 인증서가 만료되었거나 아직 유효하지 않습니다",
        "서버 인증서를 갱신합니다. 두 컴퓨터의 시계가 맞는지도 확인합니다.",
        (S("curl", "SSL certificate problem: certificate has expired", 60),
         S("curl", "SSL certificate problem: certificate is not yet valid", 60),
         S("python", "certificate verify failed: certificate has expired"),
         S("python", "certificate verify failed: certificate is not yet valid"),
         S("go", "x509: certificate has expired or is not yet valid")),
    ),
    Cause(
        "wrong-key-usage",
        "A certificate is used for a purpose its extended key usage does not allow",
        "Issue server certificates with 'server auth' and client certificates with 'client auth'.",
        "확장 키 용도(EKU)가 허용하지 않는 일에 인증서를 썼습니다",
        "서버 인증서는 'server auth' 용도로, 클라이언트 인증서는 'client auth' 용도로 발급합니다.",
        (S("curl", "SSL certificate problem: unsuitable certificate purpose", 60),
         S("curl", "SSL certificate problem: unsupported certificate purpose", 60),
         S("python", "certificate verify failed: unsuitable certificate purpose"),
         S("python", "certificate verify failed: unsupported certificate purpose"),
         S("nginx-log", "client SSL certificate verify error: (26:unsuitable certificate purpose)"),
         S("go", "x509: certificate specifies an incompatible key usage")),
    ),
    Cause(
        "unknown-server-ca",
        "The server's certificate was signed by a CA the client does not trust",
        "Give the client the CA that signed the server certificate: curl --cacert ca.pem, "
        "requests verify='ca.pem', MTLSClient(ca='ca.pem'), kubeconfig certificate-authority(-data).",
        "클라이언트가 신뢰하지 않는 인증 기관(CA)이 서버 인증서에 서명했습니다",
        "서버 인증서에 서명한 CA를 클라이언트에 알려 줍니다. curl은 --cacert ca.pem, requests는 "
        "verify='ca.pem', MTLSClient는 ca='ca.pem', kubeconfig는 certificate-authority(-data)로 "
        "지정합니다.",
        (S("curl", "SSL certificate problem: unable to get local issuer certificate", 60),
         S("curl", "SSL certificate problem: self-signed certificate in certificate chain", 60),
         S("curl", "SSL certificate problem: self-signed certificate", 60),
         S("curl", "SSL certificate problem: self signed certificate", 60),
         S("python", "certificate verify failed: unable to get local issuer certificate"),
         S("python", "certificate verify failed: self-signed certificate"),
         S("python", "certificate verify failed: unable to verify the first certificate"),
         S("go", "x509: certificate signed by unknown authority")),
    ),
    Cause(
        "client-cert-required",
        "The server requires a client certificate and none was sent",
        "Send a client certificate and its key: curl --cert client.pem --key client-key.pem, "
        "MTLSClient(cert=..., key=...), kubeconfig client-certificate/client-key.",
        "서버는 클라이언트 인증서를 요구하는데 클라이언트가 보내지 않았습니다",
        "클라이언트 인증서와 개인 키를 함께 보냅니다. curl은 --cert client.pem --key client-key.pem, "
        "MTLSClient는 cert=...와 key=..., kubeconfig는 client-certificate와 client-key로 지정합니다.",
        (S("nginx-page", "400 No required SSL certificate was sent"),
         S("nginx-log", "client sent no required SSL certificate"),
         S("curl", "alert certificate required"),
         S("python", "TLSV13_ALERT_CERTIFICATE_REQUIRED"),
         S("python", "PEER_DID_NOT_RETURN_A_CERTIFICATE"),
         S("go", "remote error: tls: certificate required")),
    ),
    Cause(
        "client-cert-expired",
        "The server rejected the client certificate because it has expired",
        "Issue a new client certificate (and check the clocks).",
        "클라이언트 인증서가 만료되어 서버가 거부했습니다",
        "클라이언트 인증서를 새로 발급합니다. 시계가 맞는지도 확인합니다.",
        (S("nginx-log", "client SSL certificate verify error: (10:certificate has expired)"),
         S("curl", "alert certificate expired"),
         S("python", "SSLV3_ALERT_CERTIFICATE_EXPIRED"),
         S("go", "remote error: tls: expired certificate")),
    ),
    Cause(
        "client-cert-rejected",
        "The server rejected the client certificate (not signed by a CA it trusts for clients)",
        "Use a client certificate signed by the CA the server trusts (nginx ssl_client_certificate, "
        "kube-apiserver --client-ca-file); the server's error log names the exact reason.",
        "서버가 클라이언트 인증서를 거부했습니다(서버가 신뢰하는 CA의 서명이 없습니다)",
        "클라이언트 인증서를 서버가 신뢰하는 CA로 발급합니다. 그 CA는 nginx의 ssl_client_certificate나 "
        "kube-apiserver의 --client-ca-file이 가리키는 파일에 있습니다. 정확한 이유는 서버의 오류 "
        "로그에 남습니다.",
        (S("nginx-page", "400 The SSL certificate error"),
         S("nginx-log", "client SSL certificate verify error: (18:self-signed certificate)"),
         S("nginx-log", "client SSL certificate verify error: (21:unable to verify the first certificate)"),
         S("nginx-log", "client SSL certificate verify error: (20:unable to get local issuer certificate)"),
         S("nginx-log", "client SSL certificate verify error", pattern=r"client SSL certificate verify error"),
         S("curl", "alert unknown ca"),
         S("curl", "alert bad certificate"),
         S("python", "TLSV1_ALERT_UNKNOWN_CA"),
         S("python", "SSLV3_ALERT_BAD_CERTIFICATE"),
         S("go", "remote error: tls: unknown certificate authority"),
         S("go", "remote error: tls: bad certificate")),
    ),
    Cause(
        "client-key-mismatch",
        "The client private key does not belong to the client certificate",
        "Pass the key file that was generated with this certificate (cfssljson writes NAME.pem "
        "and NAME-key.pem as a pair). The key proves you own the certificate; a certificate "
        "alone, or with another key, proves nothing.",
        "클라이언트 개인 키가 클라이언트 인증서의 짝이 아닙니다",
        "이 인증서와 함께 만든 키 파일을 씁니다. cfssljson은 NAME.pem과 NAME-key.pem을 한 쌍으로 "
        "만듭니다. 개인 키가 있어야 인증서의 주인임을 증명할 수 있습니다. 인증서만 있거나 다른 키와 "
        "짝지으면 아무것도 증명하지 못합니다.",
        (S("curl", "unable to set private key file", 58),
         S("curl", "tlsv1 alert decrypt error", 35, meaning=SIGNATURE_REJECTED),
         S("python", "KEY_VALUES_MISMATCH"),
         S("python", "TLSV1_ALERT_DECRYPT_ERROR", meaning=SIGNATURE_REJECTED),
         S("go", "tls: private key does not match public key"),
         # the server's side of the same handshake; "decrypt error" in nginx's log would be
         # the alert the *client* sent (it could not verify the server), so it is not a sign
         S("nginx-log", "bad signature", meaning=SIGNATURE_REJECTED)),
    ),
    Cause(
        "client-cert-unreadable",
        "The client certificate or key file cannot be read",
        "Check the paths and that the files are PEM (NAME.pem, NAME-key.pem).",
        "클라이언트 인증서나 키 파일을 읽을 수 없습니다",
        "경로가 맞는지, 파일이 PEM 형식(NAME.pem, NAME-key.pem)인지 확인합니다.",
        (S("curl", "could not load PEM client certificate", 58),
         S("python", "Could not find the TLS certificate file"),
         S("python", "Could not find the TLS key file"),
         S("python", "[SSL] PEM lib"),
         S("go", "unable to read client-cert"),
         S("go", "unable to read client-key")),
    ),
    Cause(
        "ca-file-unreadable",
        "The CA file to trust cannot be read",
        "Check the path of the CA bundle (curl --cacert, verify=..., certificate-authority).",
        "신뢰할 CA 파일을 읽을 수 없습니다",
        "CA 번들의 경로(curl --cacert, verify=..., certificate-authority)를 확인합니다.",
        (S("curl", "error setting certificate file", 77),
         S("curl", "error setting certificate verify locations", 77),
         S("python", "Could not find a suitable TLS CA certificate bundle"),
         S("go", "unable to read certificate-authority")),
    ),
    Cause(
        "connection-refused",
        "Nothing listens on that address and port",
        "Start the server (nginx, kube-apiserver) or fix the host/port in the URL.",
        "그 주소와 포트에서 연결을 기다리는 서버가 없습니다",
        "서버(nginx, kube-apiserver)를 시작하거나 URL의 호스트와 포트를 고칩니다.",
        (S("curl", "Failed to connect", 7),
         S("python", "Connection refused"),
         S("go", "connect: connection refused"),
         S("go", "did you specify the right host or port?")),
    ),
    Cause(
        "name-not-resolved",
        "The host name does not resolve",
        "Use a name that resolves, or map it to an address for this request only "
        "(curl --resolve kubernetes:8443:127.0.0.1, MTLSClient(resolve=...)).",
        "호스트 이름의 주소를 찾을 수 없습니다",
        "주소를 찾을 수 있는 이름을 씁니다. 또는 이 요청에서만 이름을 주소에 연결합니다"
        "(curl --resolve kubernetes:8443:127.0.0.1, MTLSClient(resolve=...)).",
        (S("curl", "Could not resolve host", 6),
         S("python", "Name or service not known"),
         S("python", "Failed to resolve"),
         S("go", "no such host")),
    ),
    Cause(
        "unauthorized",
        "The API server did not authenticate the request (401 Unauthorized)",
        "Present a client certificate signed by the cluster CA (/etc/kubernetes/pki/ca.crt, "
        "--client-ca-file), not expired, with 'client auth' usage; the API server log says "
        "'Unable to authenticate the request' with the x509 reason.",
        "API 서버가 요청을 인증하지 못했습니다(401 Unauthorized)",
        "클러스터 CA(/etc/kubernetes/pki/ca.crt, --client-ca-file)가 서명한 클라이언트 인증서를 "
        "보냅니다. 인증서는 만료되지 않았고 'client auth' 용도가 있어야 합니다. 거부한 이유는 API "
        "서버 로그의 'Unable to authenticate the request' 줄에 x509 오류로 남습니다.",
        (S("go", "error: You must be logged in to the server"),
         S("http", "401 Unauthorized")),
    ),
    Cause(
        # before "forbidden": its signs would match this message too
        "anonymous-forbidden",
        "No credential reached the API server: the request ran as system:anonymous and RBAC "
        "refused it (403 Forbidden)",
        "Send a client certificate signed by the cluster CA (curl --cert/--key; kubectl: the "
        "user's client-certificate and client-key in the kubeconfig). A certificate without CN "
        "does not help: it names no user.",
        "자격 증명이 API 서버에 닿지 않아 요청이 system:anonymous로 처리되었고, RBAC가 거절했습니다"
        "(403 Forbidden)",
        "클러스터 CA가 서명한 클라이언트 인증서를 보냅니다. curl은 --cert와 --key, kubectl은 "
        "kubeconfig 사용자의 client-certificate와 client-key로 지정합니다. CN이 없는 인증서는 "
        "사용자를 나타내지 않으므로 소용이 없습니다.",
        (S("go", 'User "system:anonymous" cannot'),
         S("http", '403 Forbidden: User "system:anonymous"')),
    ),
    Cause(
        "forbidden",
        "Authenticated, but RBAC does not allow the request (403 Forbidden)",
        "Bind a Role/ClusterRole to the user (CN) or to one of its groups (O) with a "
        "RoleBinding/ClusterRoleBinding; check with kubectl auth can-i.",
        "인증은 성공했지만 RBAC가 요청을 허용하지 않습니다(403 Forbidden)",
        "롤바인딩(RoleBinding)이나 클러스터롤바인딩(ClusterRoleBinding)으로 사용자(CN)나 그룹(O)에 "
        "롤을 연결합니다. 허용되는지는 kubectl auth can-i로 확인합니다.",
        (S("go", "Error from server (Forbidden)"),
         S("go", "is forbidden: User"),
         S("http", "403 Forbidden")),
    ),
    Cause(
        "not-kubernetes",
        "The server answered, but it is not a Kubernetes API server (no such resource)",
        "Point kubectl at the API server (kubeconfig server:); a web server such as nginx only "
        "answers kubectl get --raw /.",
        "응답한 서버가 쿠버네티스 API 서버가 아닙니다(요청한 리소스가 없습니다)",
        "kubeconfig의 server:에 API 서버 주소를 지정합니다. nginx 같은 웹 서버는 kubectl get --raw / "
        "정도에만 응답합니다.",
        (S("go", "the server could not find the requested resource"),),
    ),
    Cause(
        "bad-request-from-proxy",
        "The server answered 400 Bad Request without saying why (to kubectl, nginx's TLS error "
        "pages look like this)",
        "Look at the page itself (curl, or kubectl get --raw / -v=8): 'No required SSL "
        "certificate was sent' means pass client-certificate/client-key; 'The SSL certificate "
        "error' means use a certificate signed by the server's client CA.",
        "서버가 이유를 밝히지 않고 400 Bad Request로 응답했습니다(kubectl에는 nginx의 TLS 오류 "
        "페이지가 이렇게 보입니다)",
        "curl이나 kubectl get --raw / -v=8로 페이지 내용을 봅니다. 'No required SSL certificate "
        "was sent'라면 client-certificate와 client-key를 지정합니다. 'The SSL certificate error'라면 "
        "서버가 클라이언트용으로 신뢰하는 CA가 서명한 인증서를 씁니다.",
        (S("go", "Error from server (BadRequest): the server rejected our request for an unknown reason"),),
    ),
    Cause(
        "verification-disabled",
        "The request worked only because server verification was turned off",
        "Drop -k/--insecure (verify=False, insecure-skip-tls-verify) and pass the CA instead; "
        "without verification anyone on the path can impersonate the server.",
        "서버 인증서 검증을 꺼서 요청이 성공했을 뿐입니다",
        "-k/--insecure(verify=False, insecure-skip-tls-verify)를 빼고 CA를 지정합니다. 검증하지 "
        "않으면 통신 경로에 있는 누구나 서버인 척할 수 있습니다.",
        (S("curl", "curl -k / --insecure", 0),
         S("python", "InsecureRequestWarning"),
         S("go", "insecure-skip-tls-verify")),
        severity="warning",
    ),
    Cause(
        "tls-handshake-failed",
        "The TLS handshake failed",
        "Run curl -v (or openssl s_client) to see which step fails; check the server's error log.",
        "TLS 핸드셰이크에 실패했습니다",
        "curl -v나 openssl s_client로 어느 단계에서 실패하는지 봅니다. 서버의 오류 로그도 확인합니다.",
        (S("curl", "SSL connect error", 35),
         S("curl", "OpenSSL SSL_connect", 35),
         S("python", "[SSL"),
         S("python", "EOF occurred in violation of protocol"),
         S("go", "tls: ")),
    ),
)

_BY_KEY = {c.key: c for c in CAUSES}


def cause(key):
    """The :class:`Cause` with this key.

    Raises:
        KeyError: no such cause (the message lists the known keys).
    """
    try:
        return _BY_KEY[key]
    except KeyError:
        raise KeyError(f"unknown cause {key!r}; known: {', '.join(_BY_KEY)}") from None


@dataclass(frozen=True)
class Diagnosis:
    """A cause found in some output, with the evidence that points to it.

    Attributes:
        cause: the :class:`Cause`.
        source: where it was seen (a key of :data:`SOURCES`).
        evidence: the line of output that matched (a curl stderr line, a page title, ...).
        sign: the :class:`Sign` that matched (``None`` when the diagnosis was made otherwise).
    """

    cause: Cause
    source: str
    evidence: str
    sign: Sign | None = None

    @property
    def key(self):
        return self.cause.key

    @property
    def detail(self):
        """What the matched sign says beyond the cause's title (:attr:`Sign.meaning`), or ``None``."""
        return self.sign.meaning if self.sign is not None else None

    @property
    def headline(self):
        """One line naming what went wrong: the sign's :attr:`detail` when it has one (more
        precise), else the cause's title."""
        if self.detail:
            return self.detail[0].upper() + self.detail[1:]
        return self.cause.title

    def __str__(self):
        # curl's lines already start with "curl: "; do not print "curl: curl: (60) ..."
        evidence = self.evidence
        if not evidence.lower().startswith(self.source.lower() + ":"):
            evidence = f"{self.source}: {evidence}"
        return f"{self.headline} [{evidence}]. {self.cause.fix}"


def _match(source, output, exit_code=None):
    for c in CAUSES:
        for sign in c.signs:
            if sign.source != source:
                continue
            if source == "curl" and sign.exit_code is not None and exit_code is not None \
                    and sign.exit_code != exit_code:
                continue
            if sign.matches(output):
                return Diagnosis(c, source, _evidence_line(output, sign), sign)
    return None


def _evidence_line(output, sign):
    needle = sign.pattern or re.escape(sign.text)
    for line in output.splitlines():
        if re.search(needle, line, re.IGNORECASE):
            return line.strip()
    return output.strip().splitlines()[0] if output.strip() else ""


_TITLE = re.compile(r"<title>\s*(.*?)\s*</title>", re.IGNORECASE | re.DOTALL)


def nginx_page_title(body):
    """The ``<title>`` of an HTML page (nginx's error pages say the cause there), or ``None``."""
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    m = _TITLE.search(body or "")
    return m.group(1) if m else None


def diagnose_nginx_log(lines):
    """Map nginx error-log lines to a cause (the last line that matches wins: it is the newest).

    Args:
        lines: lines of nginx's ``error.log`` (e.g. :meth:`Nginx.error_log_lines`).

    Returns:
        A :class:`Diagnosis`, or ``None``.
    """
    found = None
    for line in lines:
        d = _match("nginx-log", line)
        if d is not None:
            found = d
    return found


def diagnose_response(status, body, *, nginx_log=()):
    """Map an HTTP response (nginx's 400 pages, Kubernetes 401/403) to a cause.

    Args:
        status: the HTTP status code.
        body: the response body (str or bytes).
        nginx_log: nginx error-log lines that refine "400 The SSL certificate error" into the
            exact reason (expired, wrong usage, ...).

    Returns:
        A :class:`Diagnosis`, or ``None`` for a response that is not a known failure.
    """
    title = nginx_page_title(body)
    if title:
        d = _match("nginx-page", title)
        if d is not None:
            if d.key == "client-cert-rejected" and nginx_log:
                refined = diagnose_nginx_log(nginx_log)
                if refined is not None:
                    return refined
            return d
    if status == 400:
        # Go's net/http (kube-apiserver, the lab) answers a plain-HTTP request on its TLS port
        # with a bare 400 whose body is this sentence (net/http/server.go, conn.serve)
        text = body.decode("utf-8", "replace") if isinstance(body, bytes) else (body or "")
        if "Client sent an HTTP request to an HTTPS server" in text:
            return _match("go", text)
    if status in (401, 403):
        text = body.decode("utf-8", "replace") if isinstance(body, bytes) else (body or "")
        # any 401 is a failed authentication; a 403 only when it is Kubernetes' Status object
        # (other servers answer 403 for reasons that have nothing to do with RBAC)
        if status == 401 or ('"kind"' in text and "Status" in text):
            # the Status message is JSON-escaped in the body: User \"system:anonymous\"
            if status == 403 and re.search(r'User \\?"system:anonymous\\?"', text):
                return _match("http", '403 Forbidden: User "system:anonymous"')
            return _match("http", "401 Unauthorized" if status == 401 else "403 Forbidden")
    return None


def diagnose_text(text, source="go"):
    """Map a tool's message (kubectl/Go by default) to a cause.

    Args:
        text: the message, e.g. ``Unable to connect to the server: tls: failed to verify
            certificate: x509: certificate signed by unknown authority``.
        source: a key of :data:`SOURCES`.

    Returns:
        A :class:`Diagnosis`, or ``None``.
    """
    if source == "nginx-log":
        return diagnose_nginx_log(text.splitlines())
    return _match(source, text)


_INSECURE_FLAGS = ("-k", "--insecure")


def diagnose_curl(returncode, stderr, body=None, *, args=()):
    """Map a curl run to a cause.

    Args:
        returncode: curl's exit code (0 also for HTTP errors unless ``--fail``).
        stderr: curl's standard error (use ``-sS`` so it holds only errors).
        body: the response body, for nginx's 400 pages when curl exited 0.
        args: curl's arguments; ``-k``/``--insecure`` on a success gives the
            ``verification-disabled`` warning.

    Returns:
        A :class:`Diagnosis`, or ``None`` when nothing is wrong.
    """
    if returncode != 0:
        stderr = stderr or ""
        d = _match("curl", stderr, returncode)
        if d is not None and d.key == "client-key-mismatch":
            if d.detail == SIGNATURE_REJECTED:
                # only a client that sent a certificate signed the handshake; without one the
                # server's decrypt_error alert is about something else
                if args and _option_value(args, "--cert", "-E") is None:
                    return Diagnosis(cause("tls-handshake-failed"), "curl", d.evidence)
            else:
                # curl says "unable to set private key file" for a missing key file too
                key_file = _option_value(args, "--key")
                if key_file is not None and not Path(key_file).is_file():
                    return Diagnosis(cause("client-cert-unreadable"), "curl", d.evidence)
        if d is None and returncode in (35, 56):
            first = stderr.strip().splitlines()[0] if stderr.strip() else f"exit code {returncode}"
            d = Diagnosis(cause("tls-handshake-failed"), "curl", first)
        return d
    if body is not None:
        d = diagnose_response(None, body)
        if d is not None:
            return d
    if any(a in _INSECURE_FLAGS or (a.startswith("-") and not a.startswith("--") and "k" in a[1:])
           for a in args):
        return Diagnosis(cause("verification-disabled"), "curl", "curl -k / --insecure")
    return None


def _option_value(args, *options):
    """The value of the first of ``options`` found in ``args`` (``--key k.pem``,
    ``--key=k.pem``, ``-Ek.pem`` for a short option), or ``None``."""
    args = list(args)
    for i, a in enumerate(args):
        for option in options:
            if a == option and i + 1 < len(args):
                return args[i + 1]
            if option.startswith("--") and a.startswith(option + "="):
                return a.split("=", 1)[1]
            if not option.startswith("--") and a.startswith(option) and len(a) > len(option):
                return a[len(option):]
    return None


def _exception_chain(exc):
    """The exception and everything it wraps (cause, context, urllib3's ``reason``, args)."""
    seen, todo, out = set(), [exc], []
    while todo:
        e = todo.pop(0)
        if e is None or id(e) in seen:
            continue
        seen.add(id(e))
        out.append(e)
        reason = getattr(e, "reason", None)  # urllib3's MaxRetryError keeps the real error here
        if isinstance(reason, BaseException):
            todo.append(reason)
        todo.append(e.__cause__)
        todo.append(e.__context__)
        todo.extend(a for a in getattr(e, "args", ()) if isinstance(a, BaseException))
    return out


# OpenSSL X509_V_ERR_* codes on ssl.SSLCertVerificationError.verify_code
_VERIFY_CODES = {
    2: "unknown-server-ca", 18: "unknown-server-ca", 19: "unknown-server-ca",
    20: "unknown-server-ca", 21: "unknown-server-ca",
    9: "server-cert-expired", 10: "server-cert-expired",
    26: "wrong-key-usage",
    62: "hostname-mismatch", 64: "hostname-mismatch",
}


def diagnose_exception(exc):
    """Map a Python exception (``ssl``, ``urllib3``, ``requests``, ``OSError``) to a cause.

    Looks through the whole chain of wrapped exceptions (``requests`` wraps ``urllib3`` wraps
    ``ssl``) and prefers the most specific information: OpenSSL's verify code, then the texts.

    Returns:
        A :class:`Diagnosis`, or ``None``.
    """
    chain = _exception_chain(exc)
    for e in chain:
        if isinstance(e, ssl.SSLCertVerificationError) and e.verify_code in _VERIFY_CODES:
            return Diagnosis(cause(_VERIFY_CODES[e.verify_code]), "python",
                             f"{e.verify_message} (OpenSSL verify code {e.verify_code})")
    for e in chain:
        if isinstance(e, ConnectionRefusedError):
            return _match("python", "Connection refused")
    # the innermost texts are the most precise; the generic catch-all only when nothing else
    generic = None
    for e in reversed(chain):
        d = _match("python", f"{type(e).__name__}: {e}")
        if d is not None and d.key != "tls-handshake-failed":
            return d
        generic = generic or d
    return generic


@dataclass
class CurlResult:
    """What one run of the real curl gave.

    Attributes:
        args: the arguments as given (without the ones :func:`run_curl` adds).
        returncode: curl's exit code.
        stdout: the response body, decoded as UTF-8.
        stderr: curl's error output.
        http_code: the HTTP status (``0`` when no response came back).
        cause: the :class:`Diagnosis` (``None`` when nothing went wrong).
    """

    args: list
    returncode: int
    stdout: str
    stderr: str
    http_code: int
    cause: Diagnosis | None = None
    _command: str = field(default="", repr=False)

    @property
    def ok(self):
        """True for exit code 0 and a 2xx response."""
        return self.returncode == 0 and 200 <= self.http_code < 300

    @property
    def command(self):
        """The command line as a reader would type it."""
        return self._command

    @property
    def title(self):
        """The HTML ``<title>`` of the body (nginx's error pages), or ``None``."""
        return nginx_page_title(self.stdout)

    def __str__(self):
        head = f"$ {self.command}\nexit {self.returncode}, HTTP {self.http_code or '-'}"
        if self.cause is not None:
            head += f"\ncause: {self.cause}"
        return head


def run_curl(args, *, curl="curl", timeout=30):
    """Run the real curl and map its outcome to a cause.

    ``-sS`` is added (no progress meter, errors still shown) and the body is written to a
    temporary file so the HTTP status can be read from ``--write-out`` without mixing.

    Args:
        args: curl's arguments, e.g. ``["--cacert", "ca.pem", "https://localhost:8443/"]``.
        curl: the curl executable.
        timeout: seconds before the run is abandoned.

    Returns:
        A :class:`CurlResult`.
    """
    args = [str(a) for a in args]
    with tempfile.TemporaryDirectory(prefix="k8sauth-curl-") as tmp:
        body_path = Path(tmp) / "body"
        proc = subprocess.run([curl, "-sS", "-o", str(body_path), "-w", "%{http_code}", *args],
                              capture_output=True, timeout=timeout, stdin=subprocess.DEVNULL)
        body = body_path.read_bytes().decode("utf-8", "replace") if body_path.exists() else ""
    out = proc.stdout.decode("utf-8", "replace").strip()
    stderr = proc.stderr.decode("utf-8", "replace")
    http_code = int(out) if out.isdigit() else 0
    diagnosis = diagnose_curl(proc.returncode, stderr, body, args=args)
    return CurlResult(args, proc.returncode, body, stderr, http_code, diagnosis,
                      _command=shlex.join(["curl", *args]))


def table(lang="en"):
    """The cause table for the book: one dict per cause.

    Args:
        lang: ``"en"`` or ``"ko"``.

    Returns:
        A list of ``{"key", "cause", "fix", "signs": [(source label, text), ...], "severity"}``.
    """
    rows = []
    for c in CAUSES:
        signs = []
        for s in c.signs:
            label = SOURCES[s.source][1 if lang == "ko" else 0]
            text = s.text if s.exit_code in (None, 0) or s.source != "curl" else f"({s.exit_code}) {s.text}"
            if (label, text) not in signs:
                signs.append((label, text))
        rows.append({"key": c.key, "cause": c.title_ko if lang == "ko" else c.title,
                     "fix": c.fix_ko if lang == "ko" else c.fix, "signs": signs,
                     "severity": c.severity})
    return rows


#: What must be a code span in the Markdown table: Sphinx's smart quotes would turn ``--cacert``
#: into an en dash and ``verify='ca.pem'`` into curly quotes everywhere else. Options with two
#: dashes with their file or address argument (``--cacert ca.pem``), ``name='value'`` /
#: ``name=...`` arguments, and 'quoted' phrases. ASCII only: a Korean particle stays outside.
_CODE_IN_PROSE = re.compile(r"\w+=(?:'[^']*'|\.\.\.)|'[^']*'|[\w./:-]*--[\w-]+(?: (?!-)[\w./:-]*[\w/])?",
                            re.ASCII)


def _code_spans(text):
    return _CODE_IN_PROSE.sub(lambda m: f"`{m.group(0)}`", text)


def markdown_table(lang="ko"):
    """:func:`table` as a Markdown table (symptoms | cause | fix) for the troubleshooting appendix.

    Command-line options and arguments in the cause and fix texts become code spans, so the
    rendered book shows them exactly as typed.
    """
    head = ("| 증상 | 원인 | 해결 |", "|---|---|---|") if lang == "ko" else \
        ("| Symptom | Cause | Fix |", "|---|---|---|")
    lines = list(head)
    for row in table(lang):
        signs = "<br>".join(f"{label}: `{text}`" for label, text in row["signs"])
        lines.append(f"| {signs} | {_code_spans(row['cause'])} | {_code_spans(row['fix'])} |".replace("\n", " "))
    return "\n".join(lines) + "\n"
