"""A real nginx, owned by the Python process that starts it.

The article's "HTTPS web server" sections run nginx with a ``default.conf`` that points at a
server certificate and key and, for mutual TLS, at the CA that signs client certificates.
:class:`Nginx` writes exactly that server block (readable, so a notebook can show it), wraps it
in the smallest ``nginx.conf`` that keeps every file under one work directory, and runs the
Debian ``/usr/sbin/nginx`` binary in the foreground::

    with k8s.Nginx("work/nginx", server_cert="server.pem", server_key="server-key.pem",
                   client_ca="rootCA.pem", verify_client="on") as web:
        print(web.config_text)
        ...  # curl / MTLSClient against web.url

Why the care:

* ``daemon off`` plus :class:`subprocess.Popen`: a daemonizing nginx survives the notebook kernel
  and blocks the port for the next run.
* nginx's own output goes to files under ``logs/``, never to the notebook (it would leak into
  cell outputs with timestamps).
* nginx started by root drops its workers to ``nobody`` (nginx's compiled-in default user; the
  ``user`` directive is honoured only when the master runs as root, and this class never writes
  one: workers never run as root). The master reads certificates and keys before that (so a
  root-owned 0600 key is fine), but the workers open ``html/`` by path. When ``nobody`` cannot
  reach the work directory (a clone under ``/root`` or a ``mktemp -d``), nginx's prefix becomes a
  run directory the library creates under the temp directory (``html/`` and ``tmp/`` in it,
  ``logs`` a link back to the work directory); the configuration text is the same either way.
* Readiness proves it is *our* nginx answering: the listening socket on ``host:port`` must be
  one our master holds (``/proc/net/tcp`` inode among ``/proc/PID/fd``), not merely a server
  that completes a TLS handshake there. A port held by someone else is an error naming the
  holder's PID and command line when ``/proc`` shows it.
* Only processes this library started are ever signalled: each start records the master's and
  workers' PIDs with their start times (``/proc/PID/stat``), in memory and in
  ``logs/nginx.started``; a crash (``kill -9`` of the master) leaves workers holding the port,
  and the next start ends exactly those, even when the work folder was removed meanwhile.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time
import weakref
from pathlib import Path

from .errors import InputError, K8sAuthError
from .files import KEY_MODE, atomic_write, check_pem_blocks

__all__ = [
    "Nginx", "NginxError", "NginxNotFoundError", "NginxStartError",
    "DEFAULT_INDEX_HTML", "find_nginx", "port_is_free", "port_holder",
]

DEFAULT_PORT = 8443

DEFAULT_INDEX_HTML = """<!DOCTYPE html>
<html lang="ko">
<head><meta charset="utf-8"><title>상호 TLS 실습</title></head>
<body>
<h1>안녕하세요, mTLS!</h1>
<p>이 페이지가 보인다면 nginx가 TLS 핸드셰이크를 마치고 응답한 것입니다.</p>
</body>
</html>
"""

_INSTALL_HINT = "install it with `apt-get install nginx` (Debian/Ubuntu)"


class NginxError(K8sAuthError):
    """nginx could not be started, configured or stopped.

    Attributes:
        log_lines: the relevant lines of nginx's own error log and stderr (may be empty).
    """

    def __init__(self, message, *, log_lines=()):
        self.log_lines = list(log_lines)
        if self.log_lines:
            message = message + "\nnginx said:\n" + "\n".join("  " + l for l in self.log_lines)
        super().__init__(message)


class NginxNotFoundError(NginxError, FileNotFoundError):
    """No nginx binary on this machine."""


class NginxStartError(NginxError):
    """nginx exited or never answered TLS while starting."""


def find_nginx(binary=None):
    """Locate the nginx binary.

    Args:
        binary: an explicit path or name; ``None`` uses ``$K8SAUTHLIB_NGINX`` when set, else
            ``nginx`` on ``PATH``.

    Returns:
        The absolute path of the binary.

    Raises:
        NginxNotFoundError: nothing found; the message says how to install nginx.
    """
    name = binary if binary is not None else os.environ.get("K8SAUTHLIB_NGINX", "nginx")
    found = shutil.which(str(name))
    if found:
        return found
    hint = ""
    if binary is None and os.path.exists("/usr/sbin/nginx"):
        hint = " (/usr/sbin/nginx exists: add /usr/sbin to PATH)"
    raise NginxNotFoundError(f"nginx not found: {name!r} is not an executable on PATH{hint}; "
                             f"{_INSTALL_HINT}")


def port_is_free(port, host="127.0.0.1"):
    """True when nothing listens on ``host:port`` and we could bind it."""
    # first: anything that answers there is in use
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.settimeout(0.2)
            if s.connect_ex((host, port)) == 0:
                return False
        except OSError:
            pass
    # then: could nginx bind it? nginx sets SO_REUSEADDR, so connections of an earlier server
    # still in TIME_WAIT do not count, and they do not here either
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def _free_port(host):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


try:  # resolved here, in the parent: the child between fork and exec only calls it
    _prctl = ctypes.CDLL(None, use_errno=True).prctl
except (OSError, AttributeError):  # pragma: no cover - not Linux
    _prctl = None


def _die_with_parent():  # runs in the child between fork and exec
    # PR_SET_PDEATHSIG (1): the kernel sends SIGTERM to nginx's master when the thread that
    # started it dies, even by SIGKILL, so no nginx outlives a killed notebook kernel.
    if _prctl is not None:
        _prctl(1, signal.SIGTERM, 0, 0, 0)


def _others_can_traverse(path):
    """True when a user other than the owner (nginx's ``nobody`` workers) can reach ``path``."""
    path = Path(path).resolve()
    for p in [path, *path.parents]:
        if not p.stat().st_mode & 0o001:
            return False
    return True


def _stop_process(proc, timeout):
    if proc.poll() is None:
        proc.send_signal(signal.SIGQUIT)  # graceful: finish open requests, then exit
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.terminate()
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _finalize(proc, prefix, rundir=None):
    # atexit / garbage collection: never leave nginx running behind its owner
    try:
        _stop_process(proc, 5)
    finally:
        _kill_orphans(prefix)
        if rundir is not None:
            shutil.rmtree(rundir, ignore_errors=True)


def _pids_with_cwd(prefix, binary_names=("nginx",)):
    """Processes whose executable is nginx and whose working directory is ``prefix``.

    Only for looking (tests count workers with it); nothing is signalled on this basis: another
    nginx may have the same working directory.
    """
    prefix = str(Path(prefix).resolve())
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if os.readlink(entry / "cwd") != prefix:
                continue
            exe = os.path.basename(os.readlink(entry / "exe"))
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if exe in binary_names and state != "Z":
            found.append(int(entry.name))
    return found


def _proc_stat(pid):
    """(state, ppid, starttime) of ``pid`` from ``/proc/PID/stat``, or None when it is gone.

    ``starttime`` (field 22, clock ticks since boot) tells a process from a later one that
    reuses its PID: a (pid, starttime) pair names one process for the machine's uptime.
    """
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return fields[0], int(fields[1]), int(fields[19])


def _alive(record):
    """True while the process recorded as (pid, starttime) still runs (not a zombie) as nginx."""
    pid, starttime = record
    st = _proc_stat(pid)
    if st is None or st[0] == "Z" or st[2] != starttime:
        return False
    try:
        return os.path.basename(os.readlink(f"/proc/{pid}/exe")).startswith("nginx")
    except OSError:
        return st[0] != "Z"


def _children(pid):
    """(pid, starttime) of the live children of ``pid`` (nginx's workers)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            st = _proc_stat(entry.name)
            if st is not None and st[1] == pid and st[0] != "Z":
                found.append((int(entry.name), st[2]))
    return found


#: Every nginx process this library started in this Python process, by work directory:
#: ``{workdir: [(pid, starttime), ...]}`` (the master first). Survives the work folder's removal.
_STARTED: dict = {}

_RECORD_NAME = "nginx.started"


def _record(workdir, records):
    """Remember ``records`` (master first) in memory and in ``logs/nginx.started``."""
    _STARTED[str(workdir)] = list(records)
    text = "".join(f"{pid} {starttime}\n" for pid, starttime in records)
    try:
        atomic_write(Path(workdir) / "logs" / _RECORD_NAME, text.encode())
    except (OSError, InputError):
        pass  # the in-memory record still covers this process


def _recorded(workdir):
    """Records for ``workdir``: this process's memory plus the file an earlier process left."""
    records = list(_STARTED.get(str(workdir), []))
    try:
        text = (Path(workdir) / "logs" / _RECORD_NAME).read_text()
    except (OSError, UnicodeDecodeError):
        text = ""
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[0].isdigit() and parts[1].isdigit():
            rec = (int(parts[0]), int(parts[1]))
            if rec not in records:
                records.append(rec)
    return records


def _signal_recorded(records):
    """SIGKILL the recorded processes that are still the same nginx processes; wait for them."""
    live = [r for r in records if _alive(r)]
    for pid, _ in live:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + 5
    while live and time.monotonic() < deadline:
        live = [r for r in live if _alive(r)]
        if live:
            time.sleep(0.05)
    return [pid for pid, _ in live]


def _kill_orphans(prefix):
    """End what this library started in ``prefix`` earlier (e.g. workers left by ``kill -9``),
    and the workers of any of this process's nginx whose master has died (the work folder may
    be gone: their cwd then reads ``(deleted)``).

    Only processes recorded at start, by PID and start time, are signalled.
    """
    key = str(Path(prefix))
    left = _signal_recorded(_recorded(prefix))
    _STARTED.pop(key, None)
    try:
        (Path(prefix) / "logs" / _RECORD_NAME).unlink(missing_ok=True)
    except OSError:
        pass
    for other, records in list(_STARTED.items()):
        if records and not _alive(records[0]):  # a dead master: its workers are orphans
            _signal_recorded(records[1:])
            _STARTED.pop(other, None)
    return left


def _host_addresses(host):
    try:
        infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except OSError:
        return set()
    return {info[4][0] for info in infos}


def _hex_to_ip(text):
    raw = bytes.fromhex(text)
    if len(raw) == 4:
        return socket.inet_ntop(socket.AF_INET, raw[::-1])
    # /proc/net/tcp6: four 32-bit words, each in host (little-endian) order
    return socket.inet_ntop(socket.AF_INET6, b"".join(raw[i:i + 4][::-1] for i in range(0, 16, 4)))


def _listening_inodes(host, port):
    """Socket inodes listening on ``port`` at one of ``host``'s addresses or a wildcard address."""
    wanted = _host_addresses(host) | {"0.0.0.0", "::"}
    inodes = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            cols = line.split()
            if len(cols) < 10 or cols[3] != "0A":  # 0A: TCP_LISTEN
                continue
            addr, _, hexport = cols[1].partition(":")
            try:
                if int(hexport, 16) == port and _hex_to_ip(addr) in wanted:
                    inodes.append(cols[9])
            except ValueError:
                continue
    return inodes


def _holds_socket(pid, inodes):
    targets = {f"socket:[{i}]" for i in inodes}
    try:
        fds = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return False
    for fd in fds:
        try:
            if os.readlink(f"/proc/{pid}/fd/{fd}") in targets:
                return True
        except OSError:
            continue
    return False


def port_holder(port, host="127.0.0.1"):
    """Describe who listens on ``host:port``: ``"pid 123 (python3 -m http.server 8443)"``.

    Returns:
        The description, a sentence saying the holder is not visible (another user's process,
        seen from a non-root user), or None when nothing listens there.
    """
    inodes = _listening_inodes(host, port)
    if not inodes:
        return None
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and _holds_socket(entry.name, inodes):
            try:
                cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
            except OSError:
                cmd = "?"
            return f"pid {entry.name} ({cmd[:120]})"
    return "a process this user cannot inspect (another user's; `sudo ss -ltnp` names it)"


def _port_in_use_error(host, port, prefix, log_lines=()):
    holder = port_holder(port, host) or "another process"
    exc = NginxStartError(f"port {host}:{port} is already in use by {holder}; stop it, or start "
                          f"Nginx with another port (port=None picks a free one) (prefix {prefix})",
                          log_lines=log_lines)
    exc.port_in_use = True
    return exc


def _traversable_tempdir():
    """A new run directory (0711) under a temp directory that ``nobody`` can enter, or None."""
    for base in (tempfile.gettempdir(), "/tmp", "/dev/shm", "/var/tmp"):
        try:
            if not _others_can_traverse(base):
                continue
            rundir = Path(tempfile.mkdtemp(prefix="k8sauthlib-nginx-", dir=base))
        except OSError:
            continue
        rundir.chmod(0o711)  # ours, just made: others may pass through, not list it
        return rundir
    return None


class Nginx:
    """A foreground nginx serving HTTPS (and optionally mutual TLS) from a work directory.

    Layout under ``workdir`` (nginx's ``-p`` prefix)::

        conf/nginx.conf       the wrapper: daemon off, pid, logs and temp paths in the prefix
        conf/default.conf     the article's server block (what :attr:`config_text` returns)
        conf/server.pem       copies of the certificates; server-key.pem is 0600
        conf/client-ca.pem    the CA for client certificates (mutual TLS only)
        html/index.html       a Korean page, served as UTF-8
        logs/error.log        nginx's error log (client certificate verify errors land here)
        logs/access.log       one line per request, with $ssl_client_verify and the connection
        logs/nginx.stdout / nginx.stderr
        tmp/                  nginx's temp paths

    Args:
        workdir: the work directory; created if missing and owned by this object.
        server_cert: PEM file (path), PEM bytes, or a :class:`~k8sauthlib.Cert` (its
            ``chain_pem``: the certificate with any intermediates after it).
        server_key: PEM file or bytes of the server's private key; ``None`` takes the key of
            a :class:`~k8sauthlib.Cert` given as ``server_cert``.
        client_ca: PEM file, bytes or a :class:`~k8sauthlib.CA` (its certificate): the CA
            bundle that signs client certificates (``ssl_client_certificate``); required when
            ``verify_client`` is not off.
        verify_client: ``False``/``"off"`` (plain HTTPS), ``True``/``"on"`` (mutual TLS, nginx
            answers 400 without a valid client certificate) or ``"optional"``.
        port: the TCP port; ``None`` takes 8443 (the article's) when free, else a free port.
        host: the address to listen on.
        server_name: nginx's ``server_name`` (also the host in :attr:`url`).
        index_html: the page served at ``/`` (str, written as UTF-8).
        verify_depth: ``ssl_verify_depth`` (nginx's default is 1: client cert + its CA).
        nginx_binary: the nginx executable; ``None`` finds it (``PATH``, then ``/usr/sbin``).
        start_timeout: seconds :meth:`start` waits for nginx to answer TLS.

    One nginx per work directory: starting in a directory ends the nginx this library
    started there before (recorded by PID and start time; nothing else is signalled).
    An existing work directory keeps its mode.

    nginx is bound to the thread that calls :meth:`start` (``PR_SET_PDEATHSIG``): start it
    from the main thread (as notebooks and pytest do), not from a short-lived worker thread.

    Raises:
        InputError: inconsistent arguments (mutual TLS without ``client_ca``, bad
            ``verify_client``, missing certificate files).
    """

    def __init__(self, workdir, *, server_cert, server_key=None, client_ca=None, verify_client=False,
                 port=None, host="127.0.0.1", server_name="localhost",
                 index_html=DEFAULT_INDEX_HTML, verify_depth=None, nginx_binary=None,
                 start_timeout=10.0):
        self.workdir = Path(workdir).absolute()
        self.verify_client = _normalize_verify(verify_client)
        if self.verify_client != "off" and client_ca is None:
            raise InputError(f"verify_client={verify_client!r} needs client_ca "
                             "(the CA that signs client certificates: ssl_client_certificate)")
        self.host = host
        self.server_name = server_name
        self.requested_port = port
        self.port = port
        self.index_html = index_html
        self.verify_depth = verify_depth
        self.nginx_binary = nginx_binary
        self.start_timeout = start_timeout
        if server_key is None:
            if getattr(server_cert, "key", None) is None:
                raise InputError("server_key is required (or pass a Cert that has its key as server_cert)")
            server_key = server_cert.key_pem
        if hasattr(server_cert, "chain_pem"):
            server_cert = server_cert.chain_pem
        if hasattr(client_ca, "cert_pem"):
            client_ca = client_ca.cert_pem
        self._server_cert = _read_pem(server_cert, "server_cert")
        self._server_key = _read_pem(server_key, "server_key")
        self._client_ca = _read_pem(client_ca, "client_ca") if client_ca is not None else None
        self.proc = None
        self._finalizer = None
        self.worker_user = None  # never set: nginx's default (nobody under root), never root
        self._rundir = None  # the prefix nginx runs in when nobody cannot reach workdir

    # -- paths ---------------------------------------------------------------------------
    @property
    def conf_dir(self):
        return self.workdir / "conf"

    @property
    def conf_path(self):
        """Path of the wrapper ``conf/nginx.conf``."""
        return self.conf_dir / "nginx.conf"

    @property
    def default_conf_path(self):
        """Path of the server block ``conf/default.conf``."""
        return self.conf_dir / "default.conf"

    @property
    def error_log_path(self):
        return self.workdir / "logs" / "error.log"

    @property
    def access_log_path(self):
        return self.workdir / "logs" / "access.log"

    @property
    def pid_path(self):
        return self.workdir / "logs" / "nginx.pid"

    @property
    def server_cert_path(self):
        return self.conf_dir / "server.pem"

    @property
    def server_key_path(self):
        return self.conf_dir / "server-key.pem"

    @property
    def client_ca_path(self):
        return self.conf_dir / "client-ca.pem" if self._client_ca is not None else None

    @property
    def prefix(self):
        """nginx's ``-p`` prefix: :attr:`workdir`, or the run directory the library made under
        the temp directory when nginx's ``nobody`` workers cannot reach the work directory."""
        return self._rundir if self._rundir is not None else self.workdir

    @property
    def html_dir(self):
        """The directory nginx serves (``html/`` under :attr:`prefix`)."""
        return self.prefix / "html"

    @property
    def url(self):
        """``https://<server_name>:<port>/`` (port known once started or given)."""
        return f"https://{self.server_name}:{self.port}/"

    @property
    def ip_url(self):
        """``https://<host>:<port>/``."""
        return f"https://{self.host}:{self.port}/"

    @property
    def running(self):
        return self.proc is not None and self.proc.poll() is None

    @property
    def pid(self):
        return self.proc.pid if self.proc is not None else None

    # -- configuration -----------------------------------------------------------------
    @property
    def config_text(self):
        """The server block (``conf/default.conf``), the part the article shows."""
        return self._default_conf()

    @property
    def main_config_text(self):
        """The wrapper ``conf/nginx.conf`` that includes :attr:`config_text`."""
        return self._main_conf()

    def _default_conf(self):
        port = self.port if self.port is not None else DEFAULT_PORT
        lines = [
            "server {",
            f"    listen {self.host}:{port} ssl;",
            f"    server_name {self.server_name};",
            "",
            "    ssl_certificate     server.pem;       # relative to conf/",
            "    ssl_certificate_key server-key.pem;",
        ]
        if self.verify_client != "off":
            lines += [
                "",
                "    # mutual TLS: client certificates must be signed by this CA",
                "    ssl_client_certificate client-ca.pem;",
                f"    ssl_verify_client      {self.verify_client};",
            ]
            if self.verify_depth is not None:
                lines.append(f"    ssl_verify_depth       {int(self.verify_depth)};")
        lines += [
            "",
            "    location / {",
            "        root  html;                    # relative to the prefix",
            "        index index.html;",
            "    }",
            "}",
        ]
        return "\n".join(lines) + "\n"

    def _main_conf(self):
        return (
            "# written by k8sauthlib.Nginx: everything stays under the prefix (nginx -p)\n"
            "daemon off;\n"
            "worker_processes 1;\n"
            "pid logs/nginx.pid;\n"
            "error_log logs/error.log info;\n"
            "\n"
            "events { worker_connections 64; }\n"
            "\n"
            "http {\n"
            "    log_format mtls '$remote_addr [$time_local] \"$request\" $status '\n"
            "                    'host=$host sni=$ssl_server_name '\n"
            "                    'conn=$connection reqs=$connection_requests '\n"
            "                    'verify=$ssl_client_verify subject=\"$ssl_client_s_dn\"';\n"
            "    access_log logs/access.log mtls;\n"
            "    client_body_temp_path tmp/body;\n"
            "    proxy_temp_path       tmp/proxy;\n"
            "    fastcgi_temp_path     tmp/fastcgi;\n"
            "    uwsgi_temp_path       tmp/uwsgi;\n"
            "    scgi_temp_path        tmp/scgi;\n"
            "    types { text/html html; text/plain txt; }\n"
            "    default_type application/octet-stream;\n"
            "    charset utf-8;    # without it, HTTP clients decode the Korean page as ISO-8859-1\n"
            "\n"
            "    include default.conf;\n"
            "}\n"
        )

    def write_config(self):
        """Create the prefix layout and write configuration, certificates and the index page.

        Returns:
            The path of ``conf/nginx.conf``.
        """
        # new directories 0755 (umask permitting); an existing directory keeps its mode
        for sub in ("conf", "html", "logs", "tmp"):
            (self.workdir / sub).mkdir(mode=0o755, parents=True, exist_ok=True)
        atomic_write(self.server_cert_path, self._server_cert)
        # read by the master (root) only; 0600 from the first byte on
        atomic_write(self.server_key_path, self._server_key, mode=KEY_MODE)
        if self._client_ca is not None:
            atomic_write(self.client_ca_path, self._client_ca)
        atomic_write(self.workdir / "html" / "index.html", self.index_html.encode("utf-8"))
        atomic_write(self.default_conf_path, self._default_conf().encode())
        atomic_write(self.conf_path, self._main_conf().encode())
        self._prepare_prefix()
        return self.conf_path

    def _prepare_prefix(self):
        """Make sure nginx's workers can read what they serve, without running them as root.

        Started by root, nginx's workers run as ``nobody`` and open ``html/index.html`` by path
        (nginx 1.22 ``src/core/nginx.c``, ``ngx_set_user``: the default is the compiled-in
        ``NGX_USER``, ``nobody``; a non-root master ignores ``user`` with the warning "makes sense
        only if the master process runs with super-user privileges" and its workers keep its
        user; ``src/core/ngx_file.c``, ``ngx_create_paths``, chowns the temp paths to the worker
        user). When
        ``nobody`` cannot enter the work directory (a 0700 folder on the way), nginx runs in a
        run directory made under the temp directory instead: ``html/`` (a copy) and ``tmp/`` are
        real directories there, ``logs`` links back to the work directory, and the configuration
        is read from the work directory by absolute path. The configuration text stays the same.
        """
        if self._rundir is not None and self.running:  # nginx serves from it: refresh the page only
            atomic_write(self._rundir / "html" / "index.html", self.index_html.encode("utf-8"))
            return
        if self._rundir is not None:
            shutil.rmtree(self._rundir, ignore_errors=True)
            self._rundir = None
        if os.geteuid() != 0 or _others_can_traverse(self.workdir / "html"):
            return
        rundir = _traversable_tempdir()
        if rundir is None:
            raise NginxStartError(
                f"nginx's workers (user nobody) cannot enter {self.workdir} (a directory on the way is "
                f"not searchable by others) and no temp directory they can enter was found; set TMPDIR "
                f"to one (e.g. /tmp), or give Nginx a work directory under a world-searchable folder")
        (rundir / "html").mkdir(mode=0o755)
        (rundir / "html").chmod(0o755)
        (rundir / "tmp").mkdir(mode=0o711)
        (rundir / "tmp").chmod(0o711)
        (rundir / "logs").symlink_to(self.workdir / "logs")
        atomic_write(rundir / "html" / "index.html", self.index_html.encode("utf-8"))
        self._rundir = rundir

    def _command(self, binary, *extra):
        return [binary, *extra, "-p", f"{self.prefix}/", "-c", str(self.conf_path), "-e", "logs/error.log"]

    # -- lifecycle -------------------------------------------------------------------
    def test_config(self):
        """Run ``nginx -t`` on the written configuration.

        Returns:
            nginx's output lines (it reports on stderr).

        Raises:
            NginxError: the configuration is invalid (nginx's lines attached).
        """
        binary = find_nginx(self.nginx_binary)
        if self.port is None:
            self.port = self._pick_port()
        self.write_config()
        res = subprocess.run(self._command(binary, "-t", "-q"), cwd=self.workdir, capture_output=True,
                             text=True, errors="replace", timeout=30)
        lines = [l for l in (res.stdout + res.stderr).splitlines() if l.strip()]
        if self._rundir is not None and not self.running:  # made for this check only
            shutil.rmtree(self._rundir, ignore_errors=True)
            self._rundir = None
        if res.returncode != 0:
            raise NginxError("nginx -t rejected the configuration "
                             f"{self.conf_path}", log_lines=lines)
        return lines

    def _pick_port(self):
        if self.requested_port is not None:
            return int(self.requested_port)
        if port_is_free(DEFAULT_PORT, self.host):
            return DEFAULT_PORT
        return _free_port(self.host)

    def start(self):
        """Start nginx and wait until it completes a TLS handshake on its port.

        Returns:
            self (so ``web = Nginx(...).start()`` reads well).

        Raises:
            NginxNotFoundError: nginx is not installed (the message says how to install it).
            NginxStartError: nginx exited or did not answer TLS in time; carries nginx's own
                error-log lines (``bind() ... failed (98: Address already in use)``, a key that
                does not match the certificate, ...).
        """
        if self.running:
            return self
        binary = find_nginx(self.nginx_binary)
        self.workdir.mkdir(mode=0o755, parents=True, exist_ok=True)
        _kill_orphans(self.workdir)  # what this library started here before (a crashed master's workers)
        attempts = 3 if self.requested_port is None else 1
        for attempt in range(attempts):
            self.port = self._pick_port() if attempt == 0 else _free_port(self.host)
            if self.requested_port is not None and _listening_inodes(self.host, self.port):
                raise _port_in_use_error(self.host, self.port, self.workdir)
            try:
                self._start_once(binary)
                return self
            except NginxStartError as exc:
                in_use = any("Address already in use" in l for l in exc.log_lines)
                if not ((in_use or getattr(exc, "port_in_use", False)) and attempt + 1 < attempts):
                    if in_use:
                        raise _port_in_use_error(self.host, self.port, self.workdir, exc.log_lines) from None
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    def _start_once(self, binary):
        self.write_config()
        self.pid_path.unlink(missing_ok=True)  # a stale pid file from a crash
        self.error_log_path.unlink(missing_ok=True)  # so the lines we report are this run's
        logs = self.workdir / "logs"
        with open(logs / "nginx.stdout", "wb") as out, open(logs / "nginx.stderr", "wb") as err:
            self.proc = subprocess.Popen(
                self._command(binary), cwd=self.workdir,
                stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                preexec_fn=_die_with_parent, start_new_session=True)
        stat = _proc_stat(self.proc.pid)
        master = (self.proc.pid, stat[2] if stat is not None else -1)
        _record(self.workdir, [master])
        self._finalizer = weakref.finalize(self, _finalize, self.proc, self.workdir, self._rundir)
        self._finalizer.atexit = True
        deadline = time.monotonic() + self.start_timeout
        last_error = None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self._finalizer()
                raise NginxStartError(
                    f"nginx exited with status {self.proc.returncode} while starting "
                    f"(prefix {self.workdir}, port {self.port})", log_lines=self._problem_lines())
            try:
                self.handshake()
            except (OSError, ssl.SSLError) as exc:
                last_error = exc
                time.sleep(0.05)
                continue
            inodes = _listening_inodes(self.host, self.port)
            if inodes and _holds_socket(self.proc.pid, inodes):  # ours answered, not a stranger
                workers = _children(self.proc.pid)
                _record(self.workdir, [master, *workers])
                return
            if self.proc.poll() is None and inodes:
                # someone else's server answered on the port: ours cannot bind it
                self._finalizer()
                raise _port_in_use_error(self.host, self.port, self.workdir)
            last_error = "the listening socket is not nginx's yet"
            time.sleep(0.05)
        self._finalizer()
        raise NginxStartError(f"nginx did not answer TLS on {self.host}:{self.port} within "
                              f"{self.start_timeout} s (last error: {last_error})",
                              log_lines=self._problem_lines())

    def handshake(self, timeout=2.0):
        """Do one TLS handshake with the server (no HTTP request) and return the protocol.

        Server verification is off here on purpose: this only asks "does nginx speak TLS on
        the port yet", whatever certificate it serves.

        Returns:
            The negotiated protocol: ``"TLSv1.2"`` with nginx before 1.23.4 (Debian 12's 1.22),
            whose default ``ssl_protocols`` stops at TLSv1.2 (this class sets none);
            ``"TLSv1.3"`` with later versions.
        """
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        with socket.create_connection((self.host, self.port), timeout=timeout) as raw:
            with ctx.wrap_socket(raw, server_hostname=self.server_name) as tls:
                return tls.version()

    def stop(self, timeout=10.0):
        """Stop nginx (graceful quit, then harder) and wait until its port is free.

        Safe to call twice, and on an nginx that already died.

        Raises:
            NginxError: the port is still bound after ``timeout`` seconds.
        """
        if self._finalizer is not None:
            self._finalizer.detach()
            self._finalizer = None
        if self.proc is not None:
            _stop_process(self.proc, timeout)
        _kill_orphans(self.workdir)
        if self._rundir is not None:
            shutil.rmtree(self._rundir, ignore_errors=True)
            self._rundir = None
        if self.port is None or self.proc is None:
            return
        deadline = time.monotonic() + timeout
        while not _port_closed(self.host, self.port):
            if time.monotonic() > deadline:
                raise NginxError(f"port {self.host}:{self.port} is still in use after stopping nginx")
            time.sleep(0.05)

    def kill(self):
        """Kill the master with SIGKILL, like a crash (workers stay behind). For tests and demos."""
        if self.proc is not None and self.proc.poll() is None:
            recorded = _STARTED.get(str(self.workdir), [])
            if recorded:  # workers the master respawned since start are ours too
                _record(self.workdir, [recorded[0], *(set(recorded[1:]) | set(_children(self.proc.pid)))])
            self.proc.kill()
            self.proc.wait()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def __repr__(self):
        state = f"running pid={self.pid}" if self.running else "stopped"
        return (f"<Nginx {self.host}:{self.port} verify_client={self.verify_client} {state} "
                f"prefix={self.workdir}>")

    # -- logs ------------------------------------------------------------------------
    def error_log_lines(self, contains=None):
        """Lines of ``logs/error.log`` (nginx's verify errors, e.g.
        ``client SSL certificate verify error: (18:self-signed certificate) ...``).

        Args:
            contains: keep only lines containing this text.
        """
        return _read_lines(self.error_log_path, contains)

    def access_log_lines(self, contains=None):
        """Lines of ``logs/access.log`` (one per request; shows the connection number, the
        request count on that connection and ``$ssl_client_verify``)."""
        return _read_lines(self.access_log_path, contains)

    def _problem_lines(self):
        # the same messages go to stderr and to error.log; prefer the log (it has timestamps
        # and survives), fall back to stderr for errors before the config was read
        problems = [l for l in self.error_log_lines()
                    if any(f"[{lvl}]" in l for lvl in ("emerg", "alert", "crit", "error"))]
        return problems or _read_lines(self.workdir / "logs" / "nginx.stderr")


def _port_closed(host, port):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(0.5)
        return s.connect_ex((host, port)) != 0


def _normalize_verify(value):
    if value in (False, None, "off"):
        return "off"
    if value in (True, "on"):
        return "on"
    if value in ("optional", "optional_no_ca"):
        return value
    raise InputError(f"verify_client must be False/'off', True/'on', 'optional' or "
                     f"'optional_no_ca', not {value!r}")


def _read_pem(value, what):
    if isinstance(value, (bytes, bytearray)):
        data = bytes(value)
    elif isinstance(value, str) and value.lstrip().startswith("-----BEGIN"):
        data = value.encode()
    else:
        path = Path(value)
        if not path.is_file():
            raise InputError(f"{what}: file {str(path)!r} not found")
        data = path.read_bytes()
    check_pem_blocks(data, what)
    return data


def _read_lines(path, contains=None):
    try:
        text = Path(path).read_text(errors="replace")
    except FileNotFoundError:
        return []
    lines = [l for l in text.splitlines() if l.strip()]
    if contains is not None:
        lines = [l for l in lines if contains in l]
    return lines
