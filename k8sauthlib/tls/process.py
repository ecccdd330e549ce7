"""Running nginx as a child process: finding the binary, free ports, stopping it for sure.

nginx must not outlive the notebook or test that started it: the child asks the kernel for
SIGTERM when its parent thread dies (``prctl(PR_SET_PDEATHSIG)``), a finalizer stops it when the
:class:`~k8sauthlib.Nginx` object goes away, and leftovers of a crash are found by their working
directory (``/proc/<pid>/cwd``) and ended before a new nginx starts there.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

from ..errors import NginxNotFoundError

_INSTALL_HINT = "install it with `apt-get install nginx` (Debian/Ubuntu)"


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


def free_port(host):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


try:  # resolved here, in the parent: the child between fork and exec only calls it
    _prctl = ctypes.CDLL(None, use_errno=True).prctl
except (OSError, AttributeError):  # pragma: no cover - not Linux
    _prctl = None


def die_with_parent():  # runs in the child between fork and exec
    # PR_SET_PDEATHSIG (1): the kernel sends SIGTERM to nginx's master when the thread that
    # started it dies, even by SIGKILL, so no nginx outlives a killed notebook kernel.
    if _prctl is not None:
        _prctl(1, signal.SIGTERM, 0, 0, 0)


def others_can_traverse(path):
    """True when a user other than the owner (nginx's ``nobody`` workers) can reach ``path``."""
    path = Path(path).resolve()
    for p in [path, *path.parents]:
        if not p.stat().st_mode & 0o001:
            return False
    return True


def stop_process(proc, timeout):
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


def finalize(proc, prefix):
    # atexit / garbage collection: never leave nginx running behind its owner
    try:
        stop_process(proc, 5)
    finally:
        kill_orphans(prefix)


def pids_with_cwd(prefix, binary_names=("nginx",)):
    """Processes whose executable is nginx and whose working directory is ``prefix``."""
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


def kill_orphans(prefix):
    """End nginx processes left over from an earlier run in this prefix (e.g. after kill -9).

    We start nginx with its working directory set to the prefix, so a process whose executable
    is nginx and whose cwd is our prefix is one of ours: nobody else's nginx matches.
    """
    pids = pids_with_cwd(prefix)
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + 5
    while pids and time.monotonic() < deadline:
        pids = pids_with_cwd(prefix)
        if pids:
            time.sleep(0.05)
    return pids


__all__ = ["die_with_parent", "finalize", "find_nginx", "free_port", "kill_orphans", "others_can_traverse",
           "pids_with_cwd", "port_is_free", "stop_process"]
