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

The pieces live beside this module: :mod:`.nginx_conf` (the texts written), :mod:`.nginx_logs`
(reading the logs), :mod:`.process` (processes and their records), :mod:`.ports` (who holds a
port, the readiness handshake) and :mod:`.rundir` (a prefix the workers can reach).
"""

from __future__ import annotations

import os
import shutil
import ssl
import subprocess
import time
import weakref
from pathlib import Path

from ..errors import InputError, NginxError, NginxStartError
from ..files import KEY_MODE, atomic_write
from ..pki.fields import pem_of
from .nginx_conf import DEFAULT_INDEX_HTML, DEFAULT_PORT, MAIN_CONF, server_block, verify_client_mode
from .nginx_logs import problem_lines, read_lines, wait_for_line
from .ports import holds_socket, listening_inodes, port_closed, port_in_use_error, tls_handshake
from .process import (
    children,
    die_with_parent,
    finalize,
    find_nginx,
    free_port,
    kill_orphans,
    others_can_traverse,
    port_is_free,
    proc_stat,
    record,
    record_respawned,
    stop_process,
)
from .rundir import make_rundir

__all__ = ["DEFAULT_INDEX_HTML", "DEFAULT_PORT", "Nginx"]


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

    def __init__(
        self,
        workdir,
        *,
        server_cert,
        server_key=None,
        client_ca=None,
        verify_client=False,
        port=None,
        host="127.0.0.1",
        server_name="localhost",
        index_html=DEFAULT_INDEX_HTML,
        verify_depth=None,
        nginx_binary=None,
        start_timeout=10.0,
    ):
        self.workdir = Path(workdir).absolute()
        self.verify_client = verify_client_mode(verify_client)
        if self.verify_client != "off" and client_ca is None:
            raise InputError(
                f"verify_client={verify_client!r} needs client_ca "
                "(the CA that signs client certificates: ssl_client_certificate)"
            )
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
            server_key = server_cert
        self._server_cert = pem_of(server_cert, "server_cert", chain=True)
        self._server_key = pem_of(server_key, "server_key", key=True)
        self._client_ca = pem_of(client_ca, "client_ca") if client_ca is not None else None
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
        return server_block(self.host, port, self.server_name, self.verify_client, self.verify_depth)

    def _main_conf(self):
        return MAIN_CONF

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
        """Make sure nginx's workers can read what they serve, without running them as root: when
        ``nobody`` cannot enter the work directory, nginx's prefix is a run directory under the
        temp directory (:func:`~k8sauthlib.tls.rundir.make_rundir` says why and how)."""
        if self._rundir is not None and self.running:  # nginx serves from it: refresh the page only
            atomic_write(self._rundir / "html" / "index.html", self.index_html.encode("utf-8"))
            return
        if self._rundir is not None:
            shutil.rmtree(self._rundir, ignore_errors=True)
            self._rundir = None
        if os.geteuid() != 0 or others_can_traverse(self.workdir / "html"):
            return
        self._rundir = make_rundir(self.workdir, self.index_html)

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
        res = subprocess.run(
            self._command(binary, "-t", "-q"),
            cwd=self.workdir,
            capture_output=True,
            text=True,
            errors="replace",
            timeout=30,
        )
        lines = [l for l in (res.stdout + res.stderr).splitlines() if l.strip()]
        if self._rundir is not None and not self.running:  # made for this check only
            shutil.rmtree(self._rundir, ignore_errors=True)
            self._rundir = None
        if res.returncode != 0:
            raise NginxError(f"nginx -t rejected the configuration {self.conf_path}", log_lines=lines)
        return lines

    def _pick_port(self):
        if self.requested_port is not None:
            return int(self.requested_port)
        if port_is_free(DEFAULT_PORT, self.host):
            return DEFAULT_PORT
        return free_port(self.host)

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
        kill_orphans(self.workdir)  # what this library started here before (a crashed master's workers)
        attempts = 3 if self.requested_port is None else 1
        for attempt in range(attempts):
            self.port = self._pick_port() if attempt == 0 else free_port(self.host)
            if self.requested_port is not None and listening_inodes(self.host, self.port):
                raise port_in_use_error(self.host, self.port, self.workdir)
            try:
                self._start_once(binary)
                return self
            except NginxStartError as exc:
                in_use = any("Address already in use" in l for l in exc.log_lines)
                if not ((in_use or getattr(exc, "port_in_use", False)) and attempt + 1 < attempts):
                    if in_use:
                        raise port_in_use_error(self.host, self.port, self.workdir, exc.log_lines) from None
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    def _start_once(self, binary):
        self.write_config()
        self.pid_path.unlink(missing_ok=True)  # a stale pid file from a crash
        self.error_log_path.unlink(missing_ok=True)  # so the lines we report are this run's
        logs = self.workdir / "logs"
        with open(logs / "nginx.stdout", "wb") as out, open(logs / "nginx.stderr", "wb") as err:
            self.proc = subprocess.Popen(
                self._command(binary),
                cwd=self.workdir,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                preexec_fn=die_with_parent,
                start_new_session=True,
            )
        stat = proc_stat(self.proc.pid)
        master = (self.proc.pid, stat[2] if stat is not None else -1)
        record(self.workdir, [master])
        self._finalizer = weakref.finalize(self, finalize, self.proc, self.workdir, self._rundir)
        self._finalizer.atexit = True
        deadline = time.monotonic() + self.start_timeout
        last_error = None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self._finalizer()
                raise NginxStartError(
                    f"nginx exited with status {self.proc.returncode} while starting "
                    f"(prefix {self.workdir}, port {self.port})",
                    log_lines=self._problem_lines(),
                )
            try:
                self.handshake()
            except (OSError, ssl.SSLError) as exc:
                last_error = exc
                time.sleep(0.05)
                continue
            inodes = listening_inodes(self.host, self.port)
            if inodes and holds_socket(self.proc.pid, inodes):  # ours answered, not a stranger
                record(self.workdir, [master, *children(self.proc.pid)])
                return
            if self.proc.poll() is None and inodes:
                # someone else's server answered on the port: ours cannot bind it
                self._finalizer()
                raise port_in_use_error(self.host, self.port, self.workdir)
            last_error = "the listening socket is not nginx's yet"
            time.sleep(0.05)
        self._finalizer()
        raise NginxStartError(
            f"nginx did not answer TLS on {self.host}:{self.port} within "
            f"{self.start_timeout} s (last error: {last_error})",
            log_lines=self._problem_lines(),
        )

    def handshake(self, timeout=2.0):
        """Do one TLS handshake with the server (no HTTP request) and return the protocol.

        Server verification is off here on purpose: this only asks "does nginx speak TLS on
        the port yet", whatever certificate it serves.

        Returns:
            The negotiated protocol: ``"TLSv1.2"`` with nginx before 1.23.4 (Debian 12's 1.22),
            whose default ``ssl_protocols`` stops at TLSv1.2 (this class sets none);
            ``"TLSv1.3"`` with later versions.
        """
        return tls_handshake(self.host, self.port, self.server_name, timeout)

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
            stop_process(self.proc, timeout)
        kill_orphans(self.workdir)
        if self._rundir is not None:
            shutil.rmtree(self._rundir, ignore_errors=True)
            self._rundir = None
        if self.port is None or self.proc is None:
            return
        deadline = time.monotonic() + timeout
        while not port_closed(self.host, self.port):
            if time.monotonic() > deadline:
                raise NginxError(f"port {self.host}:{self.port} is still in use after stopping nginx")
            time.sleep(0.05)

    def kill(self):
        """Kill the master with SIGKILL, like a crash (workers stay behind). For tests and demos."""
        if self.proc is not None and self.proc.poll() is None:
            record_respawned(self.workdir, self.proc.pid)  # workers respawned since start are ours too
            self.proc.kill()
            self.proc.wait()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def __repr__(self):
        state = f"running pid={self.pid}" if self.running else "stopped"
        return f"<Nginx {self.host}:{self.port} verify_client={self.verify_client} {state} prefix={self.workdir}>"

    # -- logs ------------------------------------------------------------------------
    def error_log_lines(self, contains=None):
        """Lines of ``logs/error.log`` (nginx's verify errors, e.g.
        ``client SSL certificate verify error: (18:self-signed certificate) ...``).

        Args:
            contains: keep only lines containing this text.
        """
        return read_lines(self.error_log_path, contains)

    def access_log_lines(self, contains=None):
        """Lines of ``logs/access.log`` (one per request; shows the connection number, the
        request count on that connection and ``$ssl_client_verify``)."""
        return read_lines(self.access_log_path, contains)

    def wait_for_access_log(self, contains="", *, after=0, timeout=5.0):
        """Wait until nginx has logged a request and return that access-log line (the newest match).

        nginx logs a request in its log phase, after the response went out, so a client that has
        read the whole response can look a moment too early.

        Args:
            contains: text the line must contain (e.g. ``"CN=alice"``); ``""`` takes any line.
            after: skip the first ``after`` lines (``len(web.access_log_lines())`` taken before
                the request, so the line is that request's, not an older one).
            timeout: seconds to wait.

        Raises:
            NginxError: no such line within ``timeout`` seconds (the last lines seen attached).
        """
        return wait_for_line(self.access_log_path, contains, after=after, timeout=timeout)

    def _problem_lines(self):
        return problem_lines(self.error_log_path, self.workdir / "logs" / "nginx.stderr")
