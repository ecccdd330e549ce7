"""The lab server's transport: HTTP/1 read as Go's net/http reads it, idle and stalled clients,
client certificates the lab cannot read, and the verified-chain cache.

Raw requests go over real TLS (Python's ``ssl``) so that every byte on the wire is the test's.
Nothing here asserts a duration; the two "no busy loop" checks bound CPU time and event-loop
wake-ups generously, far below what a polling loop would use.
"""

import json
import socket
import ssl
import time
from datetime import datetime, timedelta, timezone

import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

import k8sauthlib as k8s
from k8sauthlib.pki.identity import UID_OID

REVIEW = "/apis/authentication.k8s.io/v1/selfsubjectreviews"
UNAUTHORIZED_BODY = (
    b'{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"Unauthorized",'
    b'"reason":"Unauthorized","code":401}\n'
)


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    directory = tmp_path_factory.mktemp("lab") / "kubernetes"
    k8s.KubeadmTree.create_lab(directory, key="ecdsa-p256")
    with k8s.LabServer(directory) as server:
        yield server


@pytest.fixture(scope="module")
def pki(lab, tmp_path_factory):
    """Certificates on disk: name -> (cert file, key file)."""
    out_dir = tmp_path_factory.mktemp("certs")
    ca = k8s.CA.load(lab.directory / "pki/ca.crt", lab.directory / "pki/ca.key")
    proxy_ca = k8s.CA.load(lab.directory / "pki/front-proxy-ca.crt", lab.directory / "pki/front-proxy-ca.key")
    ca.issue_client_cert("kubernetes-admin", ["kubeadm:cluster-admins"], key="ecdsa-p256").write("admin", out_dir)
    proxy_ca.issue_client_cert("front-proxy-client", key="ecdsa-p256").write("proxy", out_dir)

    ca_cert = x509.load_pem_x509_certificate((lab.directory / "pki/ca.crt").read_bytes())
    ca_key = serialization.load_pem_private_key((lab.directory / "pki/ca.key").read_bytes(), None)

    def raw_cert(name, subject, extensions=()):
        key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.now(timezone.utc)
        builder = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(ca_cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(minutes=5))
            .not_valid_after(now + timedelta(days=1))
            .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        )
        for extension in extensions:
            builder = builder.add_extension(extension, critical=False)
        cert = builder.sign(ca_key, hashes.SHA256())
        (out_dir / f"{name}.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        (out_dir / f"{name}-key.pem").write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )

    def name(*uids):
        return x509.Name(
            [x509.NameAttribute(NameOID.COMMON_NAME, "uid-user"), x509.NameAttribute(NameOID.ORGANIZATION_NAME, "dev")]
            + [x509.NameAttribute(UID_OID, u) for u in uids]
        )

    raw_cert("one-uid", name("4f2c"))
    raw_cert("two-uids", name("a", "b"))
    # An authorityInfoAccess whose bytes are cut short: OpenSSL's handshake does not read it,
    # cryptography cannot (and Go's x509.ParseCertificate would refuse it in the handshake).
    raw_cert(
        "bad-ext",
        name(),
        [x509.UnrecognizedExtension(x509.oid.ExtensionOID.AUTHORITY_INFORMATION_ACCESS, b"\x30\x03\x82\x01")],
    )
    return {
        n: (str(out_dir / f"{n}.pem"), str(out_dir / f"{n}-key.pem"))
        for n in ("admin", "proxy", "one-uid", "two-uids", "bad-ext")
    }


def tls_socket(lab, cert=None, timeout=30):
    ctx = ssl.create_default_context(cafile=str(lab.ca_file))
    if cert:
        ctx.load_cert_chain(*cert)
    sock = socket.create_connection(("127.0.0.1", lab.port), timeout=timeout)
    return ctx.wrap_socket(sock, server_hostname="127.0.0.1")


def read_response(conn):
    """Read one response: (status, reason, headers with lower-case names, body)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            raise AssertionError(f"connection closed before a response: {data!r}")
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    _version, status, reason = lines[0].split(" ", 2)
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    if "content-length" in headers:
        while len(body) < int(headers["content-length"]):
            body += conn.recv(65536)
    else:  # Go's error answers have no length: they end with the connection
        try:
            while chunk := conn.recv(65536):
                body += chunk
        except (ssl.SSLError, ConnectionResetError):
            pass
    return int(status), reason, headers, body


def exchange(lab, payload, cert=None):
    with tls_socket(lab, cert) as conn:
        conn.sendall(payload)
        return read_response(conn)


def go_error(status_line, body):
    """The (status, reason, body) Go's server answers a malformed request with."""
    code, _, reason = status_line.partition(" ")
    return int(code), reason, body.encode()


# ------------------------------------------------------------------ Transfer-Encoding
def test_chunked_body_is_read(lab, pki):
    body = b"2\r\n{}\r\n0\r\n\r\n"
    status, _, _, answer = exchange(
        lab,
        b"POST " + REVIEW.encode() + b" HTTP/1.1\r\nHost: lab\r\n"
        b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n"
        b"Connection: close\r\n\r\n" + body,
        pki["admin"],
    )
    assert status == 201
    assert json.loads(answer)["status"]["userInfo"]["username"] == "kubernetes-admin"


@pytest.mark.parametrize(
    "encoding",
    [
        b"Transfer-Encoding: gzip\r\n",
        b"Transfer-Encoding: gzip, chunked\r\n",
        b"Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n",
    ],
)
def test_other_transfer_encodings_are_501_as_go_answers(lab, pki, encoding):
    status, reason, headers, body = exchange(
        lab,
        b"POST " + REVIEW.encode() + b" HTTP/1.1\r\nHost: lab\r\n" + encoding + b"\r\n2\r\n{}\r\n0\r\n\r\n",
        pki["admin"],
    )
    assert (status, reason, body) == (501, "Not Implemented", b"Unsupported transfer encoding")
    assert headers == {"content-type": "text/plain; charset=utf-8", "connection": "close"}


def test_transfer_encoding_is_ignored_on_http_1_0(lab, pki):
    status, _, _, _ = exchange(
        lab,
        b"POST " + REVIEW.encode() + b" HTTP/1.0\r\nTransfer-Encoding: gzip\r\n"
        b"Content-Type: application/json\r\nContent-Length: 2\r\n\r\n{}",
        pki["admin"],
    )
    assert status == 201


# ---------------------------------------------------------------------- Content-Length
def _post_with(lab, pki, length_headers):
    return exchange(
        lab,
        b"POST " + REVIEW.encode() + b" HTTP/1.1\r\nHost: lab\r\nConnection: close\r\n"
        b"Content-Type: application/json\r\n" + length_headers + b"\r\n{}",
        pki["admin"],
    )


@pytest.mark.parametrize(
    "lengths", [b"Content-Length: 2\r\n", b"Content-Length:  2 \r\n", b"Content-Length: 2\r\nContent-Length: 2\r\n"]
)
def test_good_content_lengths(lab, pki, lengths):
    assert _post_with(lab, pki, lengths)[0] == 201


@pytest.mark.parametrize(
    "lengths",
    [
        b"Content-Length: +2\r\n",
        b"Content-Length: -2\r\n",
        b"Content-Length: 0_2\r\n",
        b"Content-Length: 0x2\r\n",
        b"Content-Length: \r\n",
        b"Content-Length: 2\r\nContent-Length: 3\r\n",
    ],
)
def test_bad_content_lengths_are_400_as_go_answers(lab, pki, lengths):
    status, reason, _, body = _post_with(lab, pki, lengths)
    assert (status, reason, body) == (400, "Bad Request", b"400 Bad Request")


# ---------------------------------------------------------------- request line, headers
def test_lf_only_lines_are_accepted_as_go_accepts_them(lab, pki):
    status, _, _, body = exchange(lab, b"GET /version HTTP/1.1\nHost: lab\nConnection: close\n\n", pki["admin"])
    assert status == 200 and json.loads(body)["major"] == "1"


def test_host_header_rules(lab, pki):
    assert exchange(lab, b"GET /version HTTP/1.0\r\n\r\n", pki["admin"])[0] == 200  # HTTP/1.0 needs no Host
    assert exchange(lab, b"GET /version HTTP/1.1\r\nConnection: close\r\n\r\n", pki["admin"])[::3] == (
        400,
        b"400 Bad Request: missing required Host header",
    )
    assert exchange(lab, b"GET /version HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", pki["admin"])[::3] == (
        400,
        b"400 Bad Request: too many Host headers",
    )


def test_expect_header_rules(lab, pki):
    post = (
        b"POST " + REVIEW.encode() + b" HTTP/1.1\r\nHost: lab\r\nContent-Type: application/json\r\n"
        b"Content-Length: 2\r\nExpect: %s\r\n\r\n"
    )
    with tls_socket(lab, pki["admin"]) as conn:  # 100-continue: the lab says go on, then answers
        conn.sendall(post % b"100-continue")
        assert conn.recv(65536).startswith(b"HTTP/1.1 100 Continue\r\n\r\n")
        conn.sendall(b"{}")
        assert read_response(conn)[0] == 201
    status, reason, headers, body = exchange(lab, post % b"something-else" + b"{}", pki["admin"])
    assert (status, reason, headers["connection"], body) == (417, "Expectation Failed", "close", b"")


def test_host_must_be_valid_and_http_1_0_keep_alive_is_answered_as_go_does(lab, pki):
    assert exchange(lab, b"GET /version HTTP/1.1\r\nHost: la b\r\n\r\n", pki["admin"])[::3] == (
        400,
        b"400 Bad Request: malformed Host header",
    )
    with tls_socket(lab, pki["admin"]) as conn:
        for _ in range(2):
            conn.sendall(b"GET /version HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
            status, _, headers, _ = read_response(conn)
            assert (status, headers["connection"]) == (200, "keep-alive")


@pytest.mark.parametrize(
    "request_bytes",
    [
        b"GET /version HTTP/1.1\r\nHost : lab\r\n\r\n",
        b"GET /version HTTP/1.1\r\nHo\x01st: lab\r\n\r\n",
        b"GET /version HTTP/1.1\r\nHost: l\x00ab\r\n\r\n",
        b"GET /version  HTTP/1.1\r\nHost: lab\r\n\r\n",
        b"GET /version HTTP/x\r\nHost: lab\r\n\r\n",
        b"G(T /version HTTP/1.1\r\nHost: lab\r\n\r\n",
    ],
)
def test_malformed_requests_are_400(lab, pki, request_bytes):
    assert exchange(lab, request_bytes, pki["admin"])[::3] == (400, b"400 Bad Request")


def test_http_2_request_line_is_505(lab, pki):
    status, _, _, body = exchange(lab, b"GET /version HTTP/2.0\r\nHost: lab\r\n\r\n", pki["admin"])
    assert (status, body) == (505, b"505 HTTP Version Not Supported: unsupported protocol version")


def test_duplicate_request_headers_follow_gos_header_map(lab, pki):
    """requestheader.go: the user is the first X-Remote-User value (Header.Get); each X-Remote-Group
    value is one group (no splitting at commas)."""
    request = (
        b"POST " + REVIEW.encode() + b" HTTP/1.1\r\nHost: lab\r\nConnection: close\r\n"
        b"X-Remote-User: alice\r\nX-Remote-User: bob\r\nX-Remote-Group: dev\r\nX-Remote-Group: ops,qa\r\n"
        b"X-Remote-Extra-Scopes: a\r\nX-Remote-Extra-Scopes: b,c\r\n"
        b"Content-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"
    )
    status, _, _, body = exchange(lab, request, pki["proxy"])
    info = json.loads(body)["status"]["userInfo"]
    assert status == 201
    assert info["username"] == "alice"
    assert info["groups"] == ["dev", "ops,qa", "system:authenticated"]
    assert info["extra"] == {"scopes": ["a", "b,c"]}
    # Negative: the same headers from a certificate the front-proxy CA did not sign name nobody.
    status, _, _, body = exchange(lab, request, pki["admin"])
    assert status == 201 and json.loads(body)["status"]["userInfo"]["username"] == "kubernetes-admin"


# ------------------------------------------------------- certificates the lab cannot read
def _last_auth_error(lab):
    return [m for m in lab.log_messages() if m.startswith('"Unable to authenticate the request"')][-1]


def test_two_uid_attributes_are_a_401_with_kube_apiservers_log_line(lab, pki):
    status, _, _, body = exchange(
        lab, b"GET /version HTTP/1.1\r\nHost: lab\r\nConnection: close\r\n\r\n", pki["two-uids"]
    )
    assert (status, body) == (401, UNAUTHORIZED_BODY)
    # the front-proxy authenticator's error first, then x509.go's parseUIDFromCert
    assert _last_auth_error(lab) == (
        '"Unable to authenticate the request" err="[x509: certificate signed by '
        'unknown authority, expected 1 UID, but found multiple: [a b]]"'
    )
    # Negative: a certificate with one UID is served.
    status, _, _, body = _post_with(lab, {"admin": pki["one-uid"]}, b"Content-Length: 2\r\n")
    assert (status, json.loads(body)["status"]["userInfo"]["username"]) == (201, "uid-user")


def test_a_certificate_with_a_malformed_extension_is_a_401(lab, pki):
    status, _, _, body = exchange(
        lab, b"GET /version HTTP/1.1\r\nHost: lab\r\nConnection: close\r\n\r\n", pki["bad-ext"]
    )
    assert (status, body) == (401, UNAUTHORIZED_BODY)
    line = _last_auth_error(lab)
    assert line.startswith('"Unable to authenticate the request" err="')
    assert "the lab cannot parse the client certificate" in line
    # The lab keeps serving.
    assert exchange(lab, b"GET /version HTTP/1.1\r\nHost: lab\r\nConnection: close\r\n\r\n", pki["admin"])[0] == 200


def test_pipelined_requests_are_all_answered_in_order(lab, pki):
    """More requests than a worker answers in one turn (server.TURN), sent in one write."""
    paths = ["/version", "/api", "/apis"] * 14
    with tls_socket(lab, pki["admin"]) as conn:
        conn.sendall(b"".join(f"GET {p} HTTP/1.1\r\nHost: lab\r\n\r\n".encode() for p in paths))
        kinds = []
        pending = b""
        for _ in paths:
            status, _, headers, body = _read_one(conn, pending)
            body, pending = body[: int(headers["content-length"])], body[int(headers["content-length"]) :]
            assert status == 200
            kinds.append(json.loads(body).get("kind", "version"))
    assert kinds == ["version", "APIVersions", "APIGroupList"] * 14


def _read_one(conn, data):
    while b"\r\n\r\n" not in data:
        data += conn.recv(65536)
    head, _, rest = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    while len(rest) < int(headers["content-length"]):
        rest += conn.recv(65536)
    return int(lines[0].split()[1]), lines[0], headers, rest


# ------------------------------------------------------------ expiry with the cache on
def test_expiry_takes_effect_to_the_second_on_a_kept_alive_connection(lab, tmp_path):
    ca = k8s.CA.load(lab.directory / "pki/ca.crt", lab.directory / "pki/ca.key")
    not_after = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(seconds=3)
    ca.issue_client_cert(
        "short-lived",
        ["kubeadm:cluster-admins"],
        key="ecdsa-p256",
        not_before=not_after - timedelta(hours=1),
        not_after=not_after,
    ).write("short", tmp_path)
    tls = {"verify": str(lab.ca_file), "cert": (str(tmp_path / "short.pem"), str(tmp_path / "short-key.pem"))}
    with requests.Session() as session:
        assert session.get(lab.url + "/api", timeout=30, **tls).status_code == 200
        assert session.get(lab.url + "/api", timeout=30, **tls).status_code == 200  # from the cache
        while datetime.now(timezone.utc) <= not_after:
            time.sleep(0.1)
        time.sleep(0.05)
        response = session.get(lab.url + "/api", timeout=30, **tls)
    assert (response.status_code, response.content) == (401, UNAUTHORIZED_BODY)
    assert "x509: certificate has expired or is not yet valid" in _last_auth_error(lab)


# -------------------------------------------------------------- idle and stalled clients
def test_600_idle_connections_do_not_keep_an_admin_out(lab, pki):
    held = []
    try:
        for _ in range(550):  # TCP connections that never say anything
            held.append(socket.create_connection(("127.0.0.1", lab.port), timeout=30))
        idle_tls = []
        for _ in range(50):  # TLS without a certificate, then idle keep-alive
            conn = tls_socket(lab)
            idle_tls.append(conn)
            held.append(conn)
        status, _, _, body = exchange(lab, b"GET /api HTTP/1.1\r\nHost: lab\r\nConnection: close\r\n\r\n", pki["admin"])
        assert status == 200 and json.loads(body)["kind"] == "APIVersions"
        # Nobody was evicted to make room: an idle TLS connection is still served.
        idle_tls[0].sendall(b"GET /version HTTP/1.1\r\nHost: lab\r\n\r\n")
        assert read_response(idle_tls[0])[0] == 200
    finally:
        for conn in held:
            conn.close()


def test_a_stalled_request_costs_no_cpu_and_is_answered_when_it_completes(lab, pki):
    stalled = tls_socket(lab, pki["admin"])
    stalled.sendall(b"GET /version HTTP/1.1\r\nHo")
    partial_tls = socket.create_connection(("127.0.0.1", lab.port), timeout=30)
    partial_tls.sendall(b"\x16\x03")  # two bytes of a TLS record header
    partial_http = socket.create_connection(("127.0.0.1", lab.port), timeout=30)
    partial_http.sendall(b"GE")  # two bytes of plain HTTP
    try:
        time.sleep(0.3)
        wakeups, cpu = lab.loop_wakeups, time.process_time()
        time.sleep(2)
        cpu, wakeups = time.process_time() - cpu, lab.loop_wakeups - wakeups
        # A polling server would spend most of the 2 s on the CPU and wake up hundreds of times.
        assert cpu < 1.0, cpu
        assert wakeups < 20, wakeups
        stalled.sendall(b"st: lab\r\n\r\n")
        assert read_response(stalled)[0] == 200
    finally:
        for conn in (stalled, partial_tls, partial_http):
            conn.close()


# ---------------------------------------------------------------------------- HTTP/2
def _h2_client(lab, cert, window=65535):
    import h2.config
    import h2.connection
    import h2.settings

    ctx = ssl.create_default_context(cafile=str(lab.ca_file))
    ctx.load_cert_chain(*cert)
    ctx.set_alpn_protocols(["h2"])
    conn = ctx.wrap_socket(socket.create_connection(("127.0.0.1", lab.port), timeout=30), server_hostname="127.0.0.1")
    assert conn.selected_alpn_protocol() == "h2"
    client = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True, header_encoding="utf-8"))
    client.initiate_connection()
    client.update_settings({h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: window})
    conn.sendall(client.data_to_send())
    return conn, client


def _h2_get(conn, client, path, ack=True):
    """GET ``path`` on a new stream; return (status, body, DATA frames received)."""
    import h2.events

    stream = client.get_next_available_stream_id()
    client.send_headers(
        stream,
        [(":method", "GET"), (":path", path), (":scheme", "https"), (":authority", "127.0.0.1")],
        end_stream=True,
    )
    conn.sendall(client.data_to_send())
    status, body, frames = None, bytearray(), 0
    while True:
        data = conn.recv(65536)
        assert data, "the lab closed the connection"
        for event in client.receive_data(data):
            if isinstance(event, h2.events.ResponseReceived):
                status = int(dict(event.headers)[":status"])
            elif isinstance(event, h2.events.DataReceived):
                body += event.data
                frames += 1
                if ack:
                    client.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
            elif isinstance(event, h2.events.StreamEnded) and event.stream_id == stream:
                conn.sendall(client.data_to_send())
                return status, bytes(body), frames
        conn.sendall(client.data_to_send())


def test_h2_response_waits_for_the_clients_flow_control_window(lab, pki):
    conn, client = _h2_client(lab, pki["admin"], window=1000)
    with conn:
        status, body, frames = _h2_get(conn, client, "/api/v1/namespaces/kube-system/pods")
        assert status == 200 and json.loads(body)["kind"] == "PodList"
        assert len(body) > 1000 and frames >= len(body) // 1000  # sent in window-sized pieces
        # Several requests on one connection, each on its own stream.
        assert _h2_get(conn, client, "/version")[0] == 200
        assert _h2_get(conn, client, "/api")[0] == 200


def test_h2_a_certificate_refused_is_the_same_401_as_over_http_1(lab, pki):
    conn, client = _h2_client(lab, pki["two-uids"])
    with conn:
        assert _h2_get(conn, client, "/version")[:2] == (401, UNAUTHORIZED_BODY)


def test_h2_protocol_garbage_gets_goaway_and_the_lab_keeps_serving(lab, pki):
    import h2.events

    conn, client = _h2_client(lab, pki["admin"])
    with conn:
        conn.sendall(b"\x00\x00\x08\x07\x00\x00\x00\x00\x01garbage!")  # a GOAWAY on stream 1: illegal
        events = []
        try:
            while chunk := conn.recv(65536):
                events += client.receive_data(chunk)
        except (ssl.SSLError, ConnectionResetError):
            pass
        assert any(isinstance(e, h2.events.ConnectionTerminated) for e in events)
    assert exchange(lab, b"GET /version HTTP/1.1\r\nHost: lab\r\nConnection: close\r\n\r\n", pki["admin"])[0] == 200


def test_handshake_and_idle_deadlines_close_connections_and_say_so(tmp_path, monkeypatch):
    """Go's deadlines, shortened for the test: a silent client is dropped with Go's log line,
    and a keep-alive connection left idle is closed."""
    from k8sauthlib.lab import transport

    monkeypatch.setattr(transport, "HANDSHAKE_TIMEOUT", 0.5)
    monkeypatch.setattr(transport, "IDLE_TIMEOUT", 0.5)
    directory = tmp_path / "kubernetes"
    k8s.KubeadmTree.create_lab(directory, key="ecdsa-p256")
    with k8s.LabServer(directory) as lab:
        silent = socket.create_connection(("127.0.0.1", lab.port), timeout=30)
        idle = tls_socket(lab)
        idle.sendall(b"GET /version HTTP/1.1\r\nHost: lab\r\n\r\n")
        assert read_response(idle)[0] == 200
        with silent, idle:
            assert silent.recv(1) == b""  # closed by the lab, not by the test's timeout
            assert idle.recv(1) == b""
        lines = [m for m in lab.log_messages() if "TLS handshake error" in m]
        assert any(m.endswith(": i/o timeout") and "->127.0.0.1:" in m for m in lines), lines


def test_authenticator_answers_an_unloadable_certificate_with_an_error(lab):
    """What the server passes when cryptography cannot load the client's leaf at all."""
    from k8sauthlib.lab.auth import UnreadableCertificate

    result = lab.api.authenticator.authenticate([UnreadableCertificate("error parsing asn1 value")])
    assert result.identity is None
    assert result.error == (
        "x509: the lab cannot parse the client certificate (error parsing asn1 value); "
        "re-issue it with cfssl or openssl"
    )
    # Negative: no certificate at all is anonymous, as before.
    assert lab.api.authenticator.authenticate([]).identity.user == "system:anonymous"


def test_the_lab_raises_its_open_file_limit_as_go_programs_do(tmp_path):
    """Debian gives a normal user 1024 open files; kube-apiserver, like every Go program, raises
    its soft limit to the hard one at start-up, and so does the lab (else the test above fails
    with "Too many open files" for a normal user)."""
    import resource

    from k8sauthlib.lab import LabServer

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard <= 256:
        pytest.skip(f"the hard limit on open files is only {hard}")
    resource.setrlimit(resource.RLIMIT_NOFILE, (256, hard))
    try:
        lab = LabServer(tmp_path / "tree", port=0)
        lab.start()
        try:
            assert resource.getrlimit(resource.RLIMIT_NOFILE) == (hard, hard)
        finally:
            lab.stop()
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
