"""The cause table in k8sauthlib.causes: complete, bilingual, and self-consistent; plus kubectl and Go
messages (Go 1.22 src/crypto/x509/verify.go error strings, kubectl 1.32 output) and real ssl exceptions mapped to their causes."""

import re
import socket
import ssl
import threading

import pytest

import k8sauthlib as k8s
from k8sauthlib import cause_text, causes
from k8sauthlib.errors import CAUSE_CLASSES, TLSProblem
from k8sauthlib.tls import diagnose

HANGUL = re.compile(r"[가-힣]")


def test_every_cause_is_bilingual_and_has_signs():
    keys = [c.key for c in causes.CAUSES]
    assert len(keys) == len(set(keys))
    for c in causes.CAUSES:
        assert c.title and c.fix and c.signs, c.key
        assert HANGUL.search(c.title_ko) and HANGUL.search(c.fix_ko), c.key
        assert not HANGUL.search(c.title + c.fix), c.key  # English columns stay English
        assert c.severity in ("error", "warning")
        for s in c.signs:
            assert s.source in causes.SOURCES, (c.key, s)


def test_each_sign_maps_back_to_its_cause():
    # the table is ordered most specific first; a sign shadowed by an earlier cause would
    # make its own row in the book a lie
    for c in causes.CAUSES:
        for s in c.signs:
            if s.pattern is not None or s.source == "curl" and s.exit_code == 0:
                continue
            if s.source == "curl":
                d = diagnose.diagnose_curl(s.exit_code or 1, f"curl: ({s.exit_code}) {s.text}")
            elif s.source == "nginx-page":
                d = diagnose.diagnose_response(400, f"<html><head><title>{s.text}</title></head></html>")
            elif s.source == "nginx-log":
                d = diagnose.diagnose_nginx_log([f"2026/11/29 10:00:00 [info] 1#1: *1 {s.text}"])
            elif s.source == "http":
                # "403 Forbidden: User \"system:anonymous\"": the part after the colon is the Status message
                message = s.text.partition(": ")[2].replace('"', '\\"')
                d = diagnose.diagnose_response(int(s.text[:3]), '{"kind":"Status","message":"' + message + '"}')
            else:
                d = diagnose.diagnose_text(s.text, s.source)
            assert d is not None and d.key == c.key, (c.key, s, d and d.key)


def test_every_error_cause_the_client_raises_has_an_exception_class():
    for c in causes.CAUSES:
        if c.key in CAUSE_CLASSES:
            assert issubclass(CAUSE_CLASSES[c.key], TLSProblem)
    assert issubclass(CAUSE_CLASSES["client-key-mismatch"], k8s.KeyMismatchError)


@pytest.mark.parametrize(
    "message, key",
    [
        ("Unable to connect to the server: x509: certificate signed by unknown authority", "unknown-authority"),
        (
            "Unable to connect to the server: tls: failed to verify certificate: x509: certificate signed by "
            'unknown authority (possibly because of "crypto/rsa: verification error" while trying to verify '
            'candidate authority certificate "kubernetes")',
            "unknown-authority",
        ),
        (
            "Unable to connect to the server: x509: certificate is valid for 10.240.0.2, 10.200.100.1, "
            "not 146.148.119.50",
            "hostname-mismatch",
        ),
        (
            "x509: certificate is valid for kubernetes.default.svc, kubernetes.default, kubernetes, "
            "localhost, not server.kubernetes.local",
            "hostname-mismatch",
        ),
        (
            "x509: certificate has expired or is not yet valid: current time 2026-11-29T10:00:00Z is after "
            "2026-11-28T10:00:00Z",
            "cert-expired",
        ),
        ("error: You must be logged in to the server (Unauthorized)", "unauthorized"),
        (
            'Error from server (Forbidden): pods is forbidden: User "alice" cannot list resource "pods" '
            'in API group "" in the namespace "default"',
            "forbidden",
        ),
        (
            'Error from server (Forbidden): forbidden: User "system:anonymous" cannot get path "/api"',
            "anonymous-forbidden",
        ),
        ("Error from server (NotFound): the server could not find the requested resource", "resource-not-found"),
        (
            "The connection to the server localhost:8443 was refused - did you specify the right host or port?",
            "connection-refused",
        ),
        (
            "Unable to connect to the server: dial tcp: lookup kubernetes on 10.0.0.2:53: no such host",
            "name-not-resolved",
        ),
        ("Unable to connect to the server: remote error: tls: bad certificate", "client-cert-rejected"),
        ("error: tls: private key does not match public key", "client-key-mismatch"),
        ("x509: certificate specifies an incompatible key usage", "wrong-key-usage"),
    ],
)
def test_kubectl_and_go_messages(message, key):
    d = diagnose.diagnose_text(message)
    assert d is not None and d.key == key
    assert d.evidence  # the line that matched, for the message


def test_unknown_text_gives_none():
    assert diagnose.diagnose_text("everything is fine") is None
    assert diagnose.diagnose_curl(0, "", "<html><title>200 OK</title></html>") is None
    assert diagnose.diagnose_response(200, "ok") is None


def test_insecure_flag_detection():
    assert diagnose.diagnose_curl(0, "", "hi", args=["-k", "https://x/"]).key == "verification-disabled"
    assert diagnose.diagnose_curl(0, "", "hi", args=["-sSk", "https://x/"]).key == "verification-disabled"
    assert diagnose.diagnose_curl(0, "", "hi", args=["--insecure", "https://x/"]).key == "verification-disabled"
    assert diagnose.diagnose_curl(0, "", "hi", args=["--cacert", "k.pem", "https://x/"]) is None


def test_unmatched_curl_failure_is_generic_or_none():
    assert diagnose.diagnose_curl(35, "curl: (35) something new").key == "tls-handshake-failed"
    assert diagnose.diagnose_curl(3, "curl: (3) URL using bad/illegal format") is None


def test_table_and_markdown():
    rows_ko = cause_text.table("ko")
    rows_en = cause_text.table("en")
    assert [r["key"] for r in rows_ko] == [c.key for c in causes.CAUSES]
    assert rows_ko[0]["cause"] == causes.CAUSES[0].title_ko
    assert rows_en[0]["cause"] == causes.CAUSES[0].title
    md = cause_text.markdown_table("ko")
    assert md.startswith("| 증상 | 원인 | 해결 |")
    assert md.count("\n") == len(causes.CAUSES) + 2
    assert "`(60) SSL certificate problem: unable to get local issuer certificate`" in md
    assert "`400 No required SSL certificate was sent`" in md
    with pytest.raises(KeyError, match="known"):
        causes.cause("no-such-cause")


def _tls_server(ctx):
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen()
    errors = []

    def serve():
        conn, _ = srv.accept()
        try:
            with ctx.wrap_socket(conn, server_side=True) as tls:
                tls.recv(1)
        except (ssl.SSLError, OSError) as exc:
            errors.append(exc)

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    t.errors = errors
    return srv, t


def test_real_ssl_exceptions(tmp_path):
    """Python's own TLS server that requires a client certificate (TLS-level alerts, unlike
    nginx's 400 pages), and a client that trusts nothing: both mapped from real exceptions."""
    ca = k8s.CA.create("py-ca")
    server = ca.issue_server_cert("localhost", "127.0.0.1")
    server.write("server", tmp_path)
    ca.write("ca", tmp_path)
    sctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    sctx.load_cert_chain(tmp_path / "server.pem", tmp_path / "server-key.pem")
    sctx.load_verify_locations(tmp_path / "ca.pem")
    sctx.verify_mode = ssl.CERT_REQUIRED

    # 1. no client certificate: the server's reason is certain; the client sees the TLS 1.3
    #    "certificate required" alert or, when the close wins the race, a bare EOF
    srv, t = _tls_server(sctx)
    cctx = ssl.create_default_context(cafile=str(tmp_path / "ca.pem"))
    with pytest.raises(ssl.SSLError) as info:
        with socket.create_connection(srv.getsockname()) as raw:
            with cctx.wrap_socket(raw, server_hostname="localhost") as tls:
                tls.sendall(b"x")
                tls.recv(1)
    t.join(5)
    srv.close()
    assert t.errors and diagnose.diagnose_exception(t.errors[0]).key == "client-cert-required"
    assert diagnose.diagnose_exception(info.value).key in ("client-cert-required", "tls-handshake-failed")

    # 2. the client does not trust the server's CA
    srv, t = _tls_server(sctx)
    with pytest.raises(ssl.SSLCertVerificationError) as info:
        with socket.create_connection(srv.getsockname()) as raw:
            ssl.create_default_context().wrap_socket(raw, server_hostname="localhost")
    t.join(5)
    srv.close()
    d = diagnose.diagnose_exception(info.value)
    assert d.key == "unknown-authority" and "verify code" in d.evidence

    # 3. the name checked is not in the SANs (ssl's own check: IP address mismatch, code 64)
    other = ca.issue_server_cert("only.example.test")
    other.write("other", tmp_path)
    sctx2 = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    sctx2.load_cert_chain(tmp_path / "other.pem", tmp_path / "other-key.pem")
    srv, t = _tls_server(sctx2)
    with pytest.raises(ssl.SSLCertVerificationError) as info:
        with socket.create_connection(srv.getsockname()) as raw:
            cctx.wrap_socket(raw, server_hostname="127.0.0.1")
    t.join(5)
    srv.close()
    assert info.value.verify_code == 64
    assert diagnose.diagnose_exception(info.value).key == "hostname-mismatch"


def test_decrypt_error_alert_is_a_rejected_signature_only_when_a_certificate_was_sent():
    line = "curl: (35) OpenSSL/3.0.19: error:0A00041B:SSL routines::tlsv1 alert decrypt error\n"
    for cert_args in (["--cert", "client.pem", "--key", "forged-key.pem"], ["-Eclient.pem"]):
        d = diagnose.diagnose_curl(35, line, args=[*cert_args, "https://localhost:8443/"])
        assert d.key == "client-key-mismatch" and d.detail == causes.SIGNATURE_REJECTED
        assert str(d).startswith(
            "The server could not verify the handshake signature: the "
            "private key does not belong to the certificate [curl: (35) "
        )
    # nothing was signed without a client certificate: the alert is about something else
    d = diagnose.diagnose_curl(35, line, args=["--cacert", "ca.pem", "https://localhost:8443/"])
    assert d.key == "tls-handshake-failed" and d.detail is None
    # Python's words for the same alert
    exc = ssl.SSLError(1, "[SSL: TLSV1_ALERT_DECRYPT_ERROR] tlsv1 alert decrypt error (_ssl.c:1006)")
    assert diagnose.diagnose_exception(exc).detail == causes.SIGNATURE_REJECTED
    # in nginx's log, "decrypt error" is the alert the client sent (it could not verify the
    # server): not a sign of the client's key
    client_alert = (
        "2026/11/29 10:00:00 [info] 1#1: *3 SSL_do_handshake() failed (SSL: "
        "error:0A000419:SSL routines::tlsv1 alert decrypt error:SSL alert number 51) "
        "while SSL handshaking, client: 127.0.0.1, server: 127.0.0.1:8443"
    )
    assert diagnose.diagnose_nginx_log([client_alert]) is None


def test_evidence_is_not_prefixed_twice():
    d = diagnose.diagnose_curl(
        60,
        "curl: (60) SSL certificate problem: unable to get local issuer certificate\n",
        args=["https://localhost:8443/"],
    )
    assert "[curl: (60) SSL certificate problem" in str(d) and "curl: curl:" not in str(d)
    d = diagnose.diagnose_text("remote error: tls: bad certificate")
    assert "[go: remote error: tls: bad certificate]" in str(d)


def test_anonymous_403_is_not_an_rbac_problem_of_an_authenticated_user():
    anonymous = (
        '{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"forbidden: '
        'User \\"system:anonymous\\" cannot get path \\"/api\\"","reason":"Forbidden","details":{},"code":403}'
    )
    jane = (
        '{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"pods is forbidden: '
        'User \\"jane\\" cannot list resource \\"pods\\" in API group \\"\\" in the namespace '
        '\\"default\\"","reason":"Forbidden","details":{"kind":"pods"},"code":403}'
    )
    assert diagnose.diagnose_response(403, anonymous).key == "anonymous-forbidden"
    assert diagnose.diagnose_response(403, jane).key == "forbidden"
    assert "system:anonymous" in causes.cause("anonymous-forbidden").title_ko


def test_one_vocabulary_from_verification_error_to_troubleshooting_table():
    """The same Go text gets the same key: VerificationError.reason, diagnose_text() of kubectl's
    line with that text, and a cause of the troubleshooting table."""
    from datetime import datetime, timedelta, timezone

    now = datetime.now(timezone.utc)
    ca = k8s.CA.create("vocab", key="ecdsa-p256")
    other = k8s.CA.create("other", key="ecdsa-p256")
    server = ca.issue_server_cert("localhost", key="ecdsa-p256")
    cases = {
        "unknown-authority": dict(leaf=server, roots=other, purpose="server"),
        "cert-expired": dict(
            leaf=ca.issue_server_cert(
                "localhost", key="ecdsa-p256", not_before=now - timedelta(days=3), not_after=now - timedelta(days=1)
            ),
            roots=ca,
            purpose="server",
        ),
        "wrong-key-usage": dict(leaf=ca.issue_client_cert("alice", key="ecdsa-p256"), roots=ca, purpose="server"),
        "hostname-mismatch": dict(leaf=server, roots=ca, purpose="server", hostname="kubernetes"),
    }
    keys = {c.key for c in causes.CAUSES}
    for expected, kw in cases.items():
        with pytest.raises(k8s.VerificationError) as info:
            k8s.verify_chain(kw.pop("leaf"), kw.pop("roots"), **kw)
        err = info.value
        assert err.reason == expected, err.go_message
        assert err.reason in keys
        kubectl_line = f"Unable to connect to the server: tls: failed to verify certificate: {err.go_message}"
        assert k8s.diagnose_text(kubectl_line).key == err.reason
        assert causes.go_key(err.go_message) == err.reason
    # the negative: a text Go never prints has no key
    assert causes.go_key("x509: something else entirely") is None


def test_shown_messages_map_back_to_their_cause():
    # the table shows whole messages where a sign matches a fragment: each must lead to its own row
    for c in causes.CAUSES:
        for s in c.signs:
            if not s.shown or s.source not in ("go", "python", "shell", "cfssl", "apiserver-log"):
                continue
            d = diagnose.diagnose_text(s.shown, s.source)
            assert d is not None and d.key == c.key, (c.key, s.shown, d and d.key)


def test_table_shows_no_catch_all_fragments():
    shown = [text for row in cause_text.table("en") for _, text in row["signs"]]
    assert "[SSL" not in shown and "tls: " not in shown and "is forbidden: User" not in shown
    assert "x509: certificate is valid for localhost, 127.0.0.1, not kubernetes" in shown


@pytest.mark.parametrize(
    "message, source, key",
    [
        # kube-apiserver 1.32 answers NotFound for an API group it does not serve (a real API server)
        ("Error from server (NotFound): the server could not find the requested resource", "go", "resource-not-found"),
        (
            "The connection to the server localhost:8080 was refused - did you specify the right host or port?",
            "go",
            "no-kubeconfig",
        ),
        (
            "The connection to the server 127.0.0.1:6443 was refused - did you specify the right host or port?",
            "go",
            "connection-refused",
        ),
        (
            'Error from server (Forbidden): error when creating "csr.yaml": certificatesigningrequests.certificates.k8s.io '
            '"root" is forbidden: use of kubernetes.io/kube-apiserver-client signer with system:masters group is not '
            "allowed",
            "go",
            "csr-subject-restricted",
        ),
        (
            'Error from server (Forbidden): certificatesigningrequests.certificates.k8s.io "jane" is forbidden: user not '
            'permitted to approve requests with signerName "kubernetes.io/kube-apiserver-client"',
            "go",
            "csr-approve-forbidden",
        ),
        ('error: certificate signing request "jane" is already Denied', "go", "csr-already-decided"),
        (
            'The CertificateSigningRequest "short" is invalid: spec.expirationSeconds: Invalid value: 300: may not specify '
            "a duration less than 600 seconds (10 minutes)",
            "go",
            "csr-expiration-too-short",
        ),
        (
            'Error from server (Forbidden): rolebindings.rbac.authorization.k8s.io "x" is forbidden: user "jane" '
            '(groups=["dev" "system:authenticated"]) is attempting to grant RBAC permissions not currently held:',
            "go",
            "rbac-escalation",
        ),
        (
            "error: Error in configuration: \n* client-cert-data and client-cert are both specified for kubernetes-admin. "
            "client-cert-data will override.",
            "go",
            "both-specified",
        ),
        (
            '{"code":1001,"message":"open ca-key.pem: no such file or directory"}\n'
            "Failed to parse input: unexpected end of JSON input",
            "cfssl",
            "cfssl-input-unreadable",
        ),
        ("nginx: [emerg] bind() to 127.0.0.1:8443 failed (98: Address already in use)", "nginx-log", "address-in-use"),
        (
            "sudo: a terminal is required to read the password; either use the -S option to read from standard input or "
            "configure an askpass helper",
            "shell",
            "sudo-password",
        ),
        ("cat: /etc/kubernetes/pki/ca.key: Permission denied", "shell", "permission-denied"),
        ("error: open /etc/kubernetes/admin.conf: permission denied", "go", "permission-denied"),
        (
            'E1206 10:00:00.000000 1 authentication.go:73] "Unable to authenticate the request" err="[x509: certificate '
            "has expired or is not yet valid: current time 2026-12-06T10:00:00Z is after 2026-12-05T10:00:00Z, verifying "
            'certificate SN=1]"',
            "apiserver-log",
            "client-cert-expired",
        ),
        (
            '"Unable to authenticate the request" err="[x509: certificate specifies an incompatible key usage]"',
            "apiserver-log",
            "wrong-key-usage",
        ),
        (
            '"Unable to authenticate the request" err="[x509: certificate signed by unknown authority]"',
            "apiserver-log",
            "client-cert-rejected",
        ),
    ],
)
def test_new_messages(message, source, key):
    d = diagnose.diagnose_text(message, source)
    assert d is not None and d.key == key, (message, d and d.key)


def test_near_misses_are_not_new_causes():
    # negatives: the same words in another setting do not pick the new rows
    assert diagnose.diagnose_text("x509: certificate has expired or is not yet valid", "go").key == "cert-expired"
    assert (
        diagnose.diagnose_text('"Unable to authenticate the request" err="[invalid bearer token]"', "apiserver-log")
        is None
    )
    assert diagnose.diagnose_text("certificate signing request approved", "go") is None
    assert (
        diagnose.diagnose_text("error: unable to read client-key /x: open /x: permission denied", "go").key
        == "client-cert-unreadable"
    )


def test_explain_wraps_korean_by_columns():
    text = k8s.explain("unknown-authority")
    lines = text.splitlines()
    assert (
        lines[0] == "[unknown-authority]"
        and lines[1].startswith("원인: ")
        and any(l.startswith("해결: ") for l in lines)
    )
    assert all(cause_text._columns(line) <= 70 + 6 for line in lines)  # 70 columns after the 6-column label
    assert len(lines) > 3  # the Korean fix is longer than one line
    assert k8s.explain(diagnose.make_diagnosis("forbidden", "x"), lang="en").startswith(
        "[forbidden]\nCause: Authenticated"
    )
    with pytest.raises(KeyError, match="known"):
        k8s.explain("no-such-cause")
