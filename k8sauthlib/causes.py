"""The causes of TLS, mutual-TLS and certificate failures: one table, in English and Korean.

Each :class:`Cause` has a key: the one vocabulary of :attr:`k8sauthlib.errors.TLSProblem.key`,
:attr:`k8sauthlib.errors.VerificationError.reason` (derived from Go's message by :func:`go_key`, so
the same Go text gets the same key everywhere) and the diagnoses of :mod:`k8sauthlib.tls.diagnose`;
a title and a fix in both languages, and the :class:`Sign` s by which the tools show it: curl,
nginx's pages and log, Python, Go (kubectl, kube-apiserver). :data:`CAUSES` holds the TLS and
certificate rows written here and, in their place in the order, the API server's refusals of
:mod:`k8sauthlib.api_causes`. The book's troubleshooting appendix is rendered from
:data:`CAUSES` by :func:`k8sauthlib.cause_text.markdown_table`, so it cannot drift from what the
library says.
"""

from __future__ import annotations

from .api_causes import API_CAUSES, HTTP_CAUSES
from .cause_kinds import SOURCES, Cause, Sign

S = Sign  # brevity in the table below

#: What a TLS ``decrypt_error`` alert from the server (curl exit 35 ``tlsv1 alert decrypt error``,
#: Python ``TLSV1_ALERT_DECRYPT_ERROR``) and nginx's ``bad signature`` mean in mutual TLS: the
#: client's CertificateVerify signature does not verify with the certificate's public key. It
#: happens when the key file passes OpenSSL's pairing check (its public half is the
#: certificate's) but its private values come from another key.
SIGNATURE_REJECTED = (
    "the server could not verify the handshake signature: the private key does not belong to the certificate"
)

#: Every cause the library knows, most specific first (the first match wins).
CAUSES = (
    Cause(
        "plain-http-to-https-port",
        "Plain HTTP was sent to an HTTPS port",
        "Use an https:// URL for this port.",
        "HTTPS 포트에 평문 HTTP 요청을 보냈습니다",
        "이 포트에는 https:// URL로 요청합니다.",
        (
            S("nginx-page", "400 The plain HTTP request was sent to HTTPS port"),
            S("nginx-log", "client sent plain HTTP request to HTTPS port"),
            S("go", "Client sent an HTTP request to an HTTPS server"),
        ),
    ),
    Cause(
        "https-to-plain-http-port",
        "TLS was attempted against a port that speaks plain HTTP",
        "Use an http:// URL, or point the client at the TLS port.",
        "평문 HTTP 포트에 TLS로 접속했습니다",
        "http:// URL로 요청하거나, TLS를 받는 포트로 접속합니다.",
        (
            S("curl", "wrong version number", 35),
            S("python", "WRONG_VERSION_NUMBER"),
            S("go", "http: server gave HTTP response to HTTPS client"),
        ),
    ),
    Cause(
        "hostname-mismatch",
        "The host name in the URL is not among the server certificate's subject alternative names",
        "Call the server by a name its certificate carries (see the SAN list), or re-issue the "
        "server certificate with this name in its hosts/SANs. The CN is not used for this check.",
        "URL의 호스트 이름이 서버 인증서의 주체 대체 이름(SAN)에 없습니다",
        "인증서의 SAN에 있는 이름으로 접속합니다. 또는 이 이름을 hosts(SAN)에 넣어 서버 인증서를 "
        "다시 발급합니다. 이 검사는 CN을 보지 않습니다.",
        (
            S(
                "curl",
                "no alternative certificate subject name matches target host",
                60,
                shown="SSL: no alternative certificate subject name matches target host name 'kubernetes'",
            ),
            S(
                "curl",
                "does not match target host name",
                60,
                shown="SSL: certificate subject name 'localhost' does not match target host name 'kubernetes'",
            ),
            S(
                "python",
                "Hostname mismatch, certificate is not valid for",
                shown="certificate verify failed: Hostname mismatch, certificate is not valid for 'kubernetes'",
            ),
            S(
                "python",
                "IP address mismatch, certificate is not valid for",
                shown="certificate verify failed: IP address mismatch, certificate is not valid for '10.0.0.1'",
            ),
            S(
                "python",
                "CertificateError: hostname 'H' doesn't match",
                pattern=r"hostname '.*' doesn't match",
                shown="CertificateError: hostname 'kubernetes' doesn't match 'localhost'",
            ),
            S(
                "go",
                "x509: certificate is valid for X, not Y",
                pattern=r"x509: certificate is valid for .+, not ",
                shown="x509: certificate is valid for localhost, 127.0.0.1, not kubernetes",
            ),
            S("go", "x509: certificate is not valid for any names"),
        ),
    ),
    Cause(
        "cert-expired",
        "The server's certificate has expired (or is not valid yet)",
        "Renew the server certificate (check the clocks of both machines too).",
        "서버 인증서가 만료되었거나 아직 유효하지 않습니다",
        "서버 인증서를 갱신합니다. 두 컴퓨터의 시계가 맞는지도 확인합니다.",
        (
            S("curl", "SSL certificate problem: certificate has expired", 60),
            S("curl", "SSL certificate problem: certificate is not yet valid", 60),
            S("python", "certificate verify failed: certificate has expired"),
            S("python", "certificate verify failed: certificate is not yet valid"),
            S(
                "go",
                "x509: certificate has expired or is not yet valid",
                shown=(
                    "tls: failed to verify certificate: x509: certificate has expired or is not yet valid: "
                    "current time … is after …"
                ),
            ),
        ),
    ),
    Cause(
        "wrong-key-usage",
        "A certificate is used for a purpose its extended key usage does not allow",
        "Issue server certificates with 'server auth' and client certificates with 'client auth'.",
        "확장 키 용도(EKU)가 허용하지 않는 일에 인증서를 썼습니다",
        "서버 인증서는 'server auth' 용도로, 클라이언트 인증서는 'client auth' 용도로 발급합니다.",
        (
            S("curl", "SSL certificate problem: unsuitable certificate purpose", 60),
            S("curl", "SSL certificate problem: unsupported certificate purpose", 60),
            S("python", "certificate verify failed: unsuitable certificate purpose"),
            S("python", "certificate verify failed: unsupported certificate purpose"),
            S("nginx-log", "client SSL certificate verify error: (26:unsuitable certificate purpose)"),
            S("go", "x509: certificate specifies an incompatible key usage"),
            # kube-apiserver's log for a client certificate without 'client auth' (the client sees a 401)
            S(
                "apiserver-log",
                "Unable to authenticate the request: incompatible key usage",
                pattern=r"Unable to authenticate the request.*x509: certificate specifies an incompatible key usage",
                shown=(
                    '"Unable to authenticate the request" err="[x509: certificate specifies an incompatible '
                    'key usage, …]"'
                ),
            ),
        ),
    ),
    Cause(
        "unknown-authority",
        "The server's certificate was signed by a CA the client does not trust",
        "Give the client the CA that signed the server certificate: curl --cacert ca.pem, "
        "requests verify='ca.pem', MTLSClient(ca='ca.pem'), kubeconfig certificate-authority(-data).",
        "클라이언트가 신뢰하지 않는 인증 기관(CA)이 서버 인증서에 서명했습니다",
        "서버 인증서에 서명한 CA를 클라이언트에 알려 줍니다. curl은 --cacert ca.pem, requests는 "
        "verify='ca.pem', MTLSClient는 ca='ca.pem', kubeconfig는 certificate-authority(-data)로 "
        "지정합니다.",
        (
            S("curl", "SSL certificate problem: unable to get local issuer certificate", 60),
            S("curl", "SSL certificate problem: self-signed certificate in certificate chain", 60),
            S("curl", "SSL certificate problem: self-signed certificate", 60),
            S("curl", "SSL certificate problem: self signed certificate", 60),
            S("python", "certificate verify failed: unable to get local issuer certificate"),
            S("python", "certificate verify failed: self-signed certificate"),
            S("python", "certificate verify failed: unable to verify the first certificate"),
            S("go", "x509: certificate signed by unknown authority"),
        ),
    ),
    Cause(
        "client-cert-required",
        "The server requires a client certificate and none was sent",
        "Send a client certificate and its key: curl --cert client.pem --key client-key.pem, "
        "MTLSClient(cert=..., key=...), kubeconfig client-certificate/client-key.",
        "서버는 클라이언트 인증서를 요구하는데 클라이언트가 보내지 않았습니다",
        "클라이언트 인증서와 개인 키를 함께 보냅니다. curl은 --cert client.pem --key client-key.pem, "
        "MTLSClient는 cert=...와 key=..., kubeconfig는 client-certificate와 client-key로 지정합니다.",
        (
            S("nginx-page", "400 No required SSL certificate was sent"),
            S("nginx-log", "client sent no required SSL certificate"),
            S("curl", "alert certificate required"),
            S("python", "TLSV13_ALERT_CERTIFICATE_REQUIRED"),
            S("python", "PEER_DID_NOT_RETURN_A_CERTIFICATE"),
            S("go", "remote error: tls: certificate required"),
        ),
    ),
    Cause(
        "client-cert-expired",
        "The server rejected the client certificate because it has expired",
        "Issue a new client certificate (and check the clocks).",
        "클라이언트 인증서가 만료되어 서버가 거부했습니다",
        "클라이언트 인증서를 새로 발급합니다. 시계가 맞는지도 확인합니다.",
        (
            S("nginx-log", "client SSL certificate verify error: (10:certificate has expired)"),
            S("curl", "alert certificate expired"),
            S("python", "SSLV3_ALERT_CERTIFICATE_EXPIRED"),
            S("go", "remote error: tls: expired certificate"),
            # kube-apiserver lets the handshake finish and answers 401; the reason is only in its log
            S(
                "apiserver-log",
                "Unable to authenticate the request: certificate has expired",
                pattern=r"Unable to authenticate the request.*x509: certificate has expired or is not yet valid",
                shown=(
                    '"Unable to authenticate the request" err="[x509: certificate has expired or is not yet '
                    'valid: current time … is after …, …]"'
                ),
            ),
        ),
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
        (
            S("nginx-page", "400 The SSL certificate error"),
            S("nginx-log", "client SSL certificate verify error: (18:self-signed certificate)"),
            S("nginx-log", "client SSL certificate verify error: (21:unable to verify the first certificate)"),
            S("nginx-log", "client SSL certificate verify error: (20:unable to get local issuer certificate)"),
            S(
                "nginx-log",
                "client SSL certificate verify error",
                pattern=r"client SSL certificate verify error",
                shown="",
            ),
            S("curl", "alert unknown ca"),
            S("curl", "alert bad certificate"),
            S("python", "TLSV1_ALERT_UNKNOWN_CA"),
            S("python", "SSLV3_ALERT_BAD_CERTIFICATE"),
            S("go", "remote error: tls: unknown certificate authority"),
            S("go", "remote error: tls: bad certificate"),
            S(
                "apiserver-log",
                "Unable to authenticate the request: unknown authority",
                pattern=r"Unable to authenticate the request.*x509: certificate signed by unknown authority",
                shown='"Unable to authenticate the request" err="[x509: certificate signed by unknown authority, …]"',
            ),
        ),
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
        (
            S("curl", "unable to set private key file", 58),
            S("curl", "tlsv1 alert decrypt error", 35, meaning=SIGNATURE_REJECTED),
            S("python", "KEY_VALUES_MISMATCH"),
            S("python", "TLSV1_ALERT_DECRYPT_ERROR", meaning=SIGNATURE_REJECTED),
            S("go", "tls: private key does not match public key"),
            # the server's side of the same handshake; "decrypt error" in nginx's log would be
            # the alert the *client* sent (it could not verify the server), so it is not a sign
            S("nginx-log", "bad signature", meaning=SIGNATURE_REJECTED),
        ),
    ),
    Cause(
        "client-cert-unreadable",
        "The client certificate or key file cannot be read",
        "Check the paths and that the files are PEM (NAME.pem, NAME-key.pem).",
        "클라이언트 인증서나 키 파일을 읽을 수 없습니다",
        "경로가 맞는지, 파일이 PEM 형식(NAME.pem, NAME-key.pem)인지 확인합니다.",
        (
            S("curl", "could not load PEM client certificate", 58),
            S("python", "Could not find the TLS certificate file"),
            S("python", "Could not find the TLS key file"),
            S("python", "[SSL] PEM lib", shown="[SSL] PEM lib (_ssl.c:…)"),
            S("go", "unable to read client-cert"),
            S("go", "unable to read client-key"),
        ),
    ),
    Cause(
        "ca-file-unreadable",
        "The CA file to trust cannot be read",
        "Check the path of the CA bundle (curl --cacert, verify=..., certificate-authority).",
        "신뢰할 CA 파일을 읽을 수 없습니다",
        "CA 번들의 경로(curl --cacert, verify=..., certificate-authority)를 확인합니다.",
        (
            S("curl", "error setting certificate file", 77),
            S("curl", "error setting certificate verify locations", 77),
            S("python", "Could not find a suitable TLS CA certificate bundle"),
            S("go", "unable to read certificate-authority"),
        ),
    ),
    Cause(
        # before "connection-refused": its signs match this message too
        "no-kubeconfig",
        "kubectl found no kubeconfig and fell back to its built-in default, http://localhost:8080",
        "Tell kubectl which kubeconfig to use: --kubeconfig FILE, the KUBECONFIG variable, or "
        "~/.kube/config (on a kubeadm node: copy /etc/kubernetes/admin.conf there, mode 0600).",
        "kubectl이 kubeconfig를 찾지 못해 기본값 http://localhost:8080으로 접속했습니다",
        "사용할 kubeconfig를 알려 줍니다. --kubeconfig FILE, KUBECONFIG 환경 변수, ~/.kube/config 중 "
        "하나입니다. kubeadm 노드라면 /etc/kubernetes/admin.conf를 ~/.kube/config로 복사합니다(권한 0600).",
        (
            S(
                "go",
                "The connection to the server localhost:8080 was refused",
                shown=(
                    "The connection to the server localhost:8080 was refused - did you specify the right host or port?"
                ),
            ),
        ),
    ),
    Cause(
        "connection-refused",
        "Nothing listens on that address and port",
        "Start the server (nginx, kube-apiserver) or fix the host/port in the URL.",
        "그 주소와 포트에서 연결을 기다리는 서버가 없습니다",
        "서버(nginx, kube-apiserver)를 시작하거나 URL의 호스트와 포트를 고칩니다.",
        (
            S(
                "curl",
                "Failed to connect",
                7,
                shown="Failed to connect to localhost port 8443 after 0 ms: Couldn't connect to server",
            ),
            S("python", "Connection refused"),
            S("go", "connect: connection refused"),
            S(
                "go",
                "did you specify the right host or port?",
                shown="The connection to the server 127.0.0.1:6443 was refused - did you specify the right host or port?",
            ),
        ),
    ),
    Cause(
        "name-not-resolved",
        "The host name does not resolve",
        "Use a name that resolves, or map it to an address for this request only "
        "(curl --resolve kubernetes:8443:127.0.0.1, MTLSClient(resolve=...)).",
        "호스트 이름의 주소를 찾을 수 없습니다",
        "주소를 찾을 수 있는 이름을 씁니다. 또는 이 요청에서만 이름을 주소에 연결합니다"
        "(curl --resolve kubernetes:8443:127.0.0.1, MTLSClient(resolve=...)).",
        (
            S("curl", "Could not resolve host", 6),
            S("python", "Name or service not known"),
            S("python", "Failed to resolve"),
            S("go", "no such host"),
        ),
    ),
    *API_CAUSES,  # the API's own refusals before the generic 401/403 rows, whose signs match them too
    *HTTP_CAUSES,
    Cause(
        "verification-disabled",
        "The request worked only because server verification was turned off",
        "Drop -k/--insecure (verify=False, insecure-skip-tls-verify) and pass the CA instead; "
        "without verification anyone on the path can impersonate the server.",
        "서버 인증서 검증을 꺼서 요청이 성공했을 뿐입니다",
        "-k/--insecure(verify=False, insecure-skip-tls-verify)를 빼고 CA를 지정합니다. 검증하지 "
        "않으면 통신 경로에 있는 누구나 서버인 척할 수 있습니다.",
        (
            S("curl", "curl -k / --insecure", 0),
            S("python", "InsecureRequestWarning"),
            S("go", "insecure-skip-tls-verify"),
        ),
        severity="warning",
    ),
    Cause(
        "not-a-ca",
        "A certificate used as a CA is not a CA",
        "Chain through a real CA certificate (basicConstraints CA:TRUE, 'cert sign' usage): re-issue the "
        "intermediate with cfssl's ca_constraint or CA.issue_intermediate.",
        "CA 자리에 쓰인 인증서가 CA가 아닙니다",
        "진짜 CA 인증서(basicConstraints CA:TRUE, 'cert sign' 용도)로 체인을 잇습니다. 중간 CA는 cfssl의 "
        "ca_constraint나 CA.issue_intermediate로 다시 발급합니다.",
        (S("go", "x509: certificate is not authorized to sign other certificates"),),
    ),
    Cause(
        "path-length",
        "The chain has more intermediate CAs than a CA's pathlen allows",
        "Issue from a CA higher up, or re-create the CA with a larger pathlen (cfssl: ca.pathlen).",
        "CA의 pathlen이 허용하는 것보다 중간 CA가 많습니다",
        "더 위의 CA에서 발급하거나, pathlen을 늘려 CA를 다시 만듭니다(cfssl: ca.pathlen).",
        (S("go", "x509: too many intermediates for path length constraint"),),
    ),
    Cause(
        "unhandled-critical-extension",
        "A certificate has a critical extension that Go does not understand",
        "Re-issue it without that extension, or with the extension marked non-critical.",
        "Go가 모르는 중요(critical) 확장이 인증서에 있습니다",
        "그 확장을 빼거나 중요(critical) 표시 없이 다시 발급합니다.",
        (S("go", "x509: unhandled critical extension"),),
    ),
    Cause(
        "tls-handshake-failed",
        "The TLS handshake failed",
        "Run curl -v (or openssl s_client) to see which step fails; check the server's error log.",
        "TLS 핸드셰이크에 실패했습니다",
        "curl -v나 openssl s_client로 어느 단계에서 실패하는지 봅니다. 서버의 오류 로그도 확인합니다.",
        (
            S("curl", "SSL connect error", 35),
            S("curl", "OpenSSL SSL_connect", 35),
            S("python", "[SSL", shown=""),
            S("python", "EOF occurred in violation of protocol"),
            S("go", "tls: ", shown="remote error: tls: handshake failure"),
        ),
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


def go_key(message: str) -> str | None:
    """The key of the first cause one of whose Go signs matches ``message`` (a Go error text), or None."""
    for c in CAUSES:
        if any(s.source == "go" and s.matches(message) for s in c.signs):
            return c.key
    return None


__all__ = ["go_key", "CAUSES", "SIGNATURE_REJECTED", "SOURCES", "Cause", "Sign", "cause"]
