"""Who listens on a TCP port, read from ``/proc`` (Linux ``proc(5)``: ``/proc/net/tcp``,
``/proc/net/tcp6`` and ``/proc/PID/fd``).

:class:`~k8sauthlib.Nginx` uses it twice: readiness proves that the socket listening on
``host:port`` is one its own master holds (not merely some server completing a TLS handshake
there), and a taken port is an error naming the holder's PID and command line.
"""

from __future__ import annotations

import os
import socket
import ssl
from pathlib import Path

from ..errors import NginxStartError


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
    return socket.inet_ntop(socket.AF_INET6, b"".join(raw[i : i + 4][::-1] for i in range(0, 16, 4)))


def listening_inodes(host, port):
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


def holds_socket(pid, inodes):
    """True when process ``pid`` has one of the sockets ``inodes`` open (``/proc/PID/fd``)."""
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
    inodes = listening_inodes(host, port)
    if not inodes:
        return None
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and holds_socket(entry.name, inodes):
            try:
                cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
            except OSError:
                cmd = "?"
            return f"pid {entry.name} ({cmd[:120]})"
    return "a process this user cannot inspect (another user's; `sudo ss -ltnp` names it)"


def port_in_use_error(host, port, prefix, log_lines=()):
    """The :class:`~k8sauthlib.errors.NginxStartError` for a taken port, naming its holder
    (``port_in_use`` set, so a caller picking ports itself may try another)."""
    holder = port_holder(port, host) or "another process"
    exc = NginxStartError(
        f"port {host}:{port} is already in use by {holder}; stop it, or start "
        f"Nginx with another port (port=None picks a free one) (prefix {prefix})",
        log_lines=log_lines,
    )
    exc.port_in_use = True
    return exc


def port_closed(host, port):
    """True when nothing accepts a connection on ``host:port`` (within half a second)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(0.5)
        return s.connect_ex((host, port)) != 0


def tls_handshake(host, port, server_name, timeout=2.0):
    """Do one TLS handshake with whatever listens on ``host:port`` and return the protocol version.

    Server verification is off here on purpose: this only asks "does something speak TLS on the
    port yet", whatever certificate it serves; :func:`holds_socket` then says whose socket it is.
    """
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with socket.create_connection((host, port), timeout=timeout) as raw:
        with ctx.wrap_socket(raw, server_hostname=server_name) as tls:
            return tls.version()


__all__ = ["holds_socket", "listening_inodes", "port_closed", "port_holder", "port_in_use_error", "tls_handshake"]
