"""The managed nginx: configuration, permissions, lifecycle, failures with nginx's own words.

Everything runs the real Debian nginx on 127.0.0.1 and checks it with real TLS handshakes and
curl. One nginx per module where the tests only read from it.
"""

import os
import shutil
import signal
import socket
import ssl
import stat
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

import k8sauthlib as k8s
from k8sauthlib.errors import NginxError, NginxNotFoundError, NginxStartError
from k8sauthlib.tls import diagnose
from k8sauthlib.tls.nginx import Nginx
from k8sauthlib.tls.process import find_nginx, nginx_available, pids_with_cwd, port_is_free

pytestmark = pytest.mark.skipif(not nginx_available(), reason="nginx not installed")


@pytest.fixture(scope="module")
def workroot():
    # under /tmp directly (mkdtemp is 0700 but Nginx opens its own prefix to 0755), so the
    # workers really run as nobody; pytest's tmp_path has a 0700 parent (see the fallback test)
    root = Path(tempfile.mkdtemp(prefix="k8sauth-test-nginx-"))
    root.chmod(0o755)
    yield root
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module")
def pki(workroot):
    ca = k8s.CA.create("rootCA", org="Kubernetes")
    server = ca.issue_server_cert("localhost", "127.0.0.1", orgs=["server-group"])
    client = ca.issue_client_cert("localhost", groups=["client-group"])
    d = workroot / "pki"
    d.mkdir()
    ca.write("rootCA", d)
    server.write("server", d)
    client.write("client", d)
    return {"dir": d, "ca": ca, "server": server, "client": client}


@pytest.fixture(scope="module")
def mtls(workroot, pki):
    d = pki["dir"]
    with Nginx(
        workroot / "mtls",
        server_cert=d / "server.pem",
        server_key=d / "server-key.pem",
        client_ca=d / "rootCA.pem",
        verify_client="on",
    ) as web:
        yield web


def _new(workroot, name, pki, **kw):
    d = pki["dir"]
    return Nginx(workroot / name, server_cert=d / "server.pem", server_key=d / "server-key.pem", **kw)


def _workers(web):
    return [p for p in pids_with_cwd(web.workdir) if p != web.pid]


def _free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _uid(pid):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("Uid:"):
            return int(line.split()[1])
    raise AssertionError(f"no Uid line for {pid}")


def test_config_is_the_articles_server_block(mtls):
    text = mtls.config_text
    assert f"listen 127.0.0.1:{mtls.port} ssl;" in text
    assert "ssl_certificate     server.pem;" in text
    assert "ssl_certificate_key server-key.pem;" in text
    assert "ssl_client_certificate client-ca.pem;" in text
    assert "ssl_verify_client      on;" in text
    assert mtls.default_conf_path.read_text() == text
    main = mtls.conf_path.read_text()
    assert main == mtls.main_config_text
    for directive in (
        "daemon off;",
        "pid logs/nginx.pid;",
        "error_log logs/error.log",
        "charset utf-8;",
        "include default.conf;",
        "client_body_temp_path tmp/body;",
    ):
        assert directive in main
    # nothing outside the prefix: every path in the wrapper is relative
    assert "/var/" not in main and "/etc/" not in main


def test_certificate_objects_instead_of_files(workroot, pki):
    with Nginx(workroot / "objects", server_cert=pki["server"], client_ca=pki["ca"], verify_client=True) as web:
        assert web.server_key_path.read_bytes() == pki["server"].key_pem
        assert web.client_ca_path.read_bytes() == pki["ca"].cert_pem
        assert "ssl_verify_client      on;" in web.config_text
        r = diagnose.run_curl(["--cacert", pki["dir"] / "rootCA.pem", web.url])
        assert r.cause.key == "client-cert-required"
    with pytest.raises(k8s.InputError, match="server_key"):
        Nginx(workroot / "nokey", server_cert=pki["dir"] / "server.pem")


def test_plain_https_config_has_no_client_verification(workroot, pki):
    web = _new(workroot, "plain-config", pki)
    assert "ssl_verify_client" not in web.config_text
    assert "ssl_client_certificate" not in web.config_text


def test_mutual_tls_needs_a_client_ca(workroot, pki):
    with pytest.raises(k8s.InputError, match="client_ca"):
        _new(workroot, "no-ca", pki, verify_client="on")
    with pytest.raises(k8s.InputError, match="verify_client"):
        _new(workroot, "bad-verify", pki, client_ca=pki["dir"] / "rootCA.pem", verify_client="always")


def test_files_and_permissions(mtls):
    key_mode = stat.S_IMODE(mtls.server_key_path.stat().st_mode)
    assert key_mode == 0o600
    assert mtls.server_key_path.stat().st_uid == os.geteuid()
    for p in (mtls.workdir, mtls.workdir / "html"):
        assert stat.S_IMODE(p.stat().st_mode) & 0o005 == 0o005, p
    assert stat.S_IMODE((mtls.workdir / "html" / "index.html").stat().st_mode) == 0o644
    assert mtls.pid_path.read_text().strip() == str(mtls.pid)


@pytest.mark.skipif(os.geteuid() != 0, reason="the nobody drop happens only when started as root")
def test_workers_run_as_nobody_and_serve_the_korean_page(mtls, pki):
    assert mtls.worker_user is None  # no 'user root;' fallback was needed here
    workers = _workers(mtls)
    assert workers, "nginx has no worker process"
    assert all(_uid(p) == 65534 for p in workers)  # nobody
    # the master (root) read the 0600 key, the nobody worker read html/: both are needed for 200
    d = pki["dir"]
    r = diagnose.run_curl(
        ["--cacert", d / "rootCA.pem", "--cert", d / "client.pem", "--key", d / "client-key.pem", mtls.url]
    )
    assert r.returncode == 0 and r.http_code == 200, r
    assert "<h1>안녕하세요, mTLS!</h1>" in r.stdout


def test_handshake_is_tls(mtls):
    assert mtls.handshake() in ("TLSv1.2", "TLSv1.3")


def test_negotiated_version_follows_nginx_default_ssl_protocols(mtls):
    # no ssl_protocols in our config: nginx's default has TLSv1.3 only since 1.23.4, so
    # Debian 12's nginx 1.22 speaks TLS 1.2 to a client that offers 1.3 (what
    # figures.draw_mtls_handshake's docstring and book/04_mtls.ipynb say)
    assert "ssl_protocols" not in mtls.config_text + mtls.main_config_text
    out = subprocess.run([find_nginx(), "-v"], capture_output=True, text=True).stderr
    version = tuple(int(x) for x in out.split("nginx/")[1].split()[0].split("."))
    ctx = ssl.create_default_context(cafile=str(mtls.workdir / "conf" / "client-ca.pem"))
    assert ctx.maximum_version in (ssl.TLSVersion.MAXIMUM_SUPPORTED, ssl.TLSVersion.TLSv1_3)
    with socket.create_connection(("127.0.0.1", mtls.port)) as raw:
        with ctx.wrap_socket(raw, server_hostname="localhost") as tls:
            negotiated = tls.version()
    assert negotiated == ("TLSv1.3" if version >= (1, 23, 4) else "TLSv1.2"), (version, negotiated)
    assert mtls.handshake() == negotiated


def test_unreachable_prefix_keeps_workers_unprivileged(tmp_path, pki):
    # a clone in a private folder (0700, as /root or mktemp -d): as root, nginx's workers (nobody)
    # cannot enter it; they must still not run as root, the folder keeps its mode, the
    # configuration text is the same as anywhere else, and the page is served
    hidden = tmp_path / "hidden"
    hidden.mkdir(mode=0o700)
    hidden.chmod(0o700)
    web = _new(hidden, "web", pki)
    with web:
        assert stat.S_IMODE(hidden.stat().st_mode) == 0o700
        assert "user " not in web.main_config_text
        assert web.main_config_text == _new(tmp_path, "other", pki).main_config_text
        workers = _workers(web)
        assert workers
        for pid in workers:
            assert _uid(pid) == os.geteuid() if os.geteuid() != 0 else _uid(pid) != 0, pid
        r = diagnose.run_curl(["--cacert", pki["dir"] / "rootCA.pem", web.ip_url])
        assert r.http_code == 200, r
        assert "mTLS" in r.stdout
        rundir = web.prefix
        assert (rundir != web.workdir) == (os.geteuid() == 0)
    assert not rundir.exists() or rundir == web.workdir  # the run directory goes with nginx


def test_prefix_mode_is_never_widened(tmp_path, pki):
    d = tmp_path / "private"
    d.mkdir(mode=0o750)
    d.chmod(0o750)
    (d / "html").mkdir(mode=0o700)
    (d / "html").chmod(0o700)
    with _new(d.parent, d.name, pki) as web:
        assert web.handshake()
    assert stat.S_IMODE(d.stat().st_mode) == 0o750
    assert stat.S_IMODE((d / "html").stat().st_mode) == 0o700


def test_stop_frees_the_port_and_is_idempotent(workroot, pki):
    web = _new(workroot, "stop", pki).start()
    port = web.port
    assert not port_is_free(port)
    web.stop()
    assert not web.running
    assert port_is_free(port)
    assert pids_with_cwd(web.workdir) == []
    web.stop()  # second stop: no error


def test_same_object_restarts_after_stop(workroot, pki):
    web = _new(workroot, "restart", pki)
    for _ in range(2):
        web.start()
        assert web.handshake()
        web.stop()
        assert port_is_free(web.port)


def test_context_manager_and_repr(workroot, pki):
    with _new(workroot, "ctx", pki) as web:
        assert web.running
        assert "running" in repr(web)
        port = web.port
    assert "stopped" in repr(web)
    assert port_is_free(port)


def test_given_port_is_used(workroot, pki):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with _new(workroot, "given", pki, port=port) as web:
        assert web.port == port
        assert web.url == f"https://localhost:{port}/"


def test_default_port_is_8443_else_a_free_one(workroot, pki):
    blocker = socket.socket()
    # as nginx does: connections of an earlier test still in TIME_WAIT must not count as "taken"
    blocker.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        blocker.bind(("127.0.0.1", 8443))
        blocker.listen()
    except OSError:  # someone else's server has 8443: the fallback is what we can check
        blocker.close()
        blocker = None
    try:
        with _new(workroot, "default-port", pki) as web:
            assert web.port != 8443
            assert web.handshake()
    finally:
        if blocker is not None:
            blocker.close()
    if blocker is not None:
        with _new(workroot, "default-port", pki) as web:
            assert web.port == 8443
            assert web.url == "https://localhost:8443/"


def test_second_start_after_kill_9(workroot, pki):
    web = _new(workroot, "crash", pki, port=_free_port()).start()
    port = web.port
    workers = _workers(web)
    web.kill()  # SIGKILL to the master, like a crash: the workers stay and hold the port
    assert workers and all(Path(f"/proc/{p}").exists() for p in workers)
    assert not port_is_free(port)
    assert web.pid_path.exists()  # stale pid file
    again = _new(workroot, "crash", pki, port=port)
    with again:
        assert again.port == port
        assert again.handshake()
        assert again.pid_path.read_text().strip() == str(again.pid)
    assert port_is_free(port)


def test_orphan_of_a_removed_work_folder_is_found(workroot, pki):
    # kill -9 of the master, then the work folder removed: the worker's cwd reads "(deleted)"
    # and it keeps serving the old page; a new Nginx on the same port must end it (it was
    # recorded by PID at start) and serve its own page, not handshake with the orphan
    # a port of its own, not 8443, which other test runs on this machine may take meanwhile
    web = _new(workroot, "gone", pki, index_html="old page", port=_free_port()).start()
    port, workers = web.port, _workers(web)
    web.kill()
    shutil.rmtree(web.workdir)
    assert workers and all(Path(f"/proc/{p}").exists() for p in workers)
    assert os.readlink(f"/proc/{workers[0]}/cwd").endswith("(deleted)")
    with _new(workroot, "fresh", pki, port=port, index_html="new page") as again:
        r = diagnose.run_curl(["--cacert", pki["dir"] / "rootCA.pem", again.ip_url])
        assert r.http_code == 200 and r.stdout == "new page", r
    assert not any(_live(p) for p in workers)
    assert port_is_free(port)


def _live(pid):
    try:  # a zombie (killed, not yet reaped by init) is not running
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_an_nginx_this_library_did_not_start_is_never_signalled(workroot, pki):
    # someone's own nginx whose working directory happens to be our prefix
    prefix = workroot / "shared-cwd"
    theirs_dir = workroot / "theirs"
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        free = probe.getsockname()[1]
    web = _new(workroot, "theirs", pki, port=free)
    web.write_config()  # a valid configuration for their nginx, on a port of its own
    web_port = web.port
    prefix.mkdir()
    foreign = subprocess.Popen(
        [find_nginx(), "-p", f"{theirs_dir}/", "-c", str(web.conf_path), "-e", "logs/error.log"],
        cwd=prefix,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 10
        while port_is_free(web_port) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert foreign.pid in pids_with_cwd(prefix)  # what the old cwd rule would have killed
        with _new(workroot, "shared-cwd", pki) as ours:
            assert ours.handshake()
        assert foreign.poll() is None, "the foreign nginx was signalled"
        assert not port_is_free(web_port)
    finally:
        foreign.send_signal(signal.SIGQUIT)
        foreign.wait(10)


def test_missing_nginx_says_how_to_install(workroot, pki, monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))  # an empty directory: no nginx anywhere on PATH
    monkeypatch.setattr("k8sauthlib.tls.process.SYSTEM_SBIN", (str(tmp_path),))  # nor in sbin
    monkeypatch.delenv("K8SAUTHLIB_NGINX", raising=False)
    with pytest.raises(NginxNotFoundError, match="apt-get install nginx") as info:
        _new(workroot, "missing", pki).start()
    assert isinstance(info.value, FileNotFoundError)
    with pytest.raises(NginxNotFoundError, match="apt-get install nginx"):
        find_nginx("/nonexistent/nginx")


def test_start_failure_carries_nginx_error_log_lines_port_in_use(workroot, pki):
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", 0))
        blocker.listen()
        port = blocker.getsockname()[1]
        with pytest.raises(NginxStartError) as info:
            _new(workroot, "busy", pki, port=port).start()
    err = info.value
    # refused before nginx runs, naming the holder (this test process) where /proc shows it
    assert f"port 127.0.0.1:{port} is already in use by pid {os.getpid()} (" in str(err), err
    assert "\n" not in str(err)


def test_port_taken_while_starting_is_not_mistaken_for_ours(workroot, pki):
    # another TLS server answers on the port nginx is asked to use, and it is taken between
    # the check and nginx's bind(): the handshake succeeds, but the listening socket is not
    # our master's, so start() refuses instead of reporting success
    other = _new(workroot, "other-server", pki).start()
    try:
        web = _new(workroot, "late", pki, port=other.port)
        import k8sauthlib.tls.nginx as nginx_mod

        real = nginx_mod.listening_inodes
        calls = []

        def blind_once(host, port):  # the pre-start check misses the holder (a race)
            calls.append(port)
            return [] if len(calls) == 1 else real(host, port)

        nginx_mod.listening_inodes = blind_once
        try:
            with pytest.raises(NginxStartError) as info:
                web.start()
        finally:
            nginx_mod.listening_inodes = real
        holder = int(str(info.value).split("in use by pid ")[1].split()[0])
        assert holder in [other.pid, *_workers(other)], info.value
        assert not web.running
        assert other.running and other.handshake()  # the other server was not touched
    finally:
        other.stop()


def test_start_failure_carries_nginx_error_log_lines_key_mismatch(workroot, pki):
    d = pki["dir"]
    web = Nginx(workroot / "badkey", server_cert=d / "server.pem", server_key=d / "client-key.pem")
    with pytest.raises(NginxStartError) as info:
        web.start()
    assert any("key values mismatch" in line for line in info.value.log_lines)
    assert not web.running
    assert "SSL_CTX_use_PrivateKey" in str(info.value)


def test_bad_config_rejected_by_nginx_t(workroot, pki):
    web = _new(workroot, "bad-t", pki, verify_client="on", client_ca=pki["dir"] / "rootCA.pem", verify_depth=-3)
    with pytest.raises(NginxError) as info:
        web.test_config()
    assert any("ssl_verify_depth" in line for line in info.value.log_lines)


def test_error_log_shows_client_verify_errors(mtls, workroot):
    # a self-signed client certificate made with openssl, like the article's intruder
    d = workroot / "intruder"
    d.mkdir(exist_ok=True)
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=intruder",
            "-keyout",
            d / "intruder-key.pem",
            "-out",
            d / "intruder.pem",
        ],
        check=True,
        capture_output=True,
    )
    r = diagnose.run_curl(["-k", "--cert", d / "intruder.pem", "--key", d / "intruder-key.pem", mtls.url])
    assert r.http_code == 400 and r.title == "400 The SSL certificate error"
    lines = mtls.error_log_lines("client SSL certificate verify error")
    assert any("(18:self-signed certificate)" in line for line in lines), lines
    assert diagnose.diagnose_nginx_log(lines).key == "client-cert-rejected"


def test_error_log_shows_wrong_purpose(mtls, pki):
    # a CA certificate presented as a client certificate: its key usage (cert sign, crl sign)
    # does not allow signing a TLS handshake
    d = pki["dir"]
    r = diagnose.run_curl(["-k", "--cert", d / "rootCA.pem", "--key", d / "rootCA-key.pem", mtls.url])
    assert r.http_code == 400 and r.title == "400 The SSL certificate error"
    lines = mtls.error_log_lines("(26:")
    assert lines, mtls.error_log_lines()
    assert diagnose.diagnose_nginx_log(lines).key == "wrong-key-usage"


def test_nginx_dies_with_its_owner(workroot, pki):
    # a child Python process starts nginx and is then killed with SIGKILL (no atexit, no
    # finalizer): PR_SET_PDEATHSIG must still take nginx down
    d = pki["dir"]
    code = (
        "import sys, k8sauthlib\n"
        f"web = k8sauthlib.Nginx({str(workroot / 'orphan')!r}, server_cert={str(d / 'server.pem')!r},"
        f" server_key={str(d / 'server-key.pem')!r}).start()\n"
        "print(web.port, flush=True)\n"
        "sys.stdin.read()\n"
    )
    owner = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    port = int(owner.stdout.readline())
    assert not port_is_free(port)
    owner.send_signal(signal.SIGKILL)
    owner.wait()
    deadline = time.monotonic() + 10
    while not port_is_free(port) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert port_is_free(port)
    assert pids_with_cwd(workroot / "orphan") == []


def test_notebook_03_output_is_the_same_from_a_private_folder(tmp_path):
    # issue 8: a clone under /root or a `mktemp -d` (0700) run as root used to get `user root;`
    # in nginx.conf (notebook 03, cell 7) and root workers. The chapter's work directory now sits
    # under a 0700 folder and the committed outputs must still match, strictly.
    private = Path(tempfile.mkdtemp(prefix="k8sauth-private-"))  # 0700, like mktemp -d
    try:
        assert stat.S_IMODE(private.stat().st_mode) == 0o700
        root = Path(__file__).resolve().parents[1]
        env = dict(
            os.environ,
            K8SAUTH_WORKDIR=str(private / "work"),
            PATH=f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}",
        )
        r = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "book/03_https_nginx.ipynb"],
            cwd=root,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-2000:]
        assert stat.S_IMODE(private.stat().st_mode) == 0o700  # not widened for nginx
        assert "user root" not in (private / "work" / "03_https_nginx" / "nginx" / "conf" / "nginx.conf").read_text()
    finally:
        shutil.rmtree(private, ignore_errors=True)


def test_wait_for_access_log_returns_the_requests_line(mtls, pki):
    d = pki["dir"]
    before = len(mtls.access_log_lines())
    r = diagnose.run_curl(
        ["--cacert", d / "rootCA.pem", "--cert", d / "client.pem", "--key", d / "client-key.pem", mtls.url]
    )
    assert r.http_code == 200, r
    line = mtls.wait_for_access_log("CN=localhost", after=before)
    assert 'verify=SUCCESS subject="CN=localhost,O=client-group"' in line, line
    assert line == mtls.access_log_lines()[before:][-1]


def test_wait_for_access_log_ignores_older_lines_and_says_so(mtls, pki):
    d = pki["dir"]
    diagnose.run_curl(["--cacert", d / "rootCA.pem", mtls.url])  # no client certificate: 400
    assert mtls.wait_for_access_log("verify=NONE")
    after = len(mtls.access_log_lines())
    with pytest.raises(NginxError, match=r"no line containing 'verify=NONE' in .*access.log after line"):
        mtls.wait_for_access_log("verify=NONE", after=after, timeout=0.2)
    with pytest.raises(NginxError, match="no line containing 'CN=never-sent'"):
        mtls.wait_for_access_log("CN=never-sent", timeout=0.2)


def test_find_nginx_looks_in_sbin_when_path_lacks_it(monkeypatch):
    """A normal user's PATH on Debian has no /usr/sbin, where the package puts nginx."""
    if not os.path.exists("/usr/sbin/nginx"):
        pytest.skip("no /usr/sbin/nginx on this machine")
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    monkeypatch.delenv("K8SAUTHLIB_NGINX", raising=False)
    assert find_nginx() == "/usr/sbin/nginx"
    with pytest.raises(NginxNotFoundError, match="not an executable on PATH;"):
        find_nginx("no-such-nginx")
