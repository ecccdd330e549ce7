"""Running nginx as a child process: finding the binary, free ports, stopping it for sure.

nginx must not outlive the notebook or test that started it: the child asks the kernel for
SIGTERM when its parent thread dies (``prctl(PR_SET_PDEATHSIG)``), a finalizer stops it when the
:class:`~k8sauthlib.Nginx` object goes away, and leftovers of a crash are ended before a new
nginx starts there. Only processes this library started are ever signalled: each start records
the master's and workers' PIDs with their start times (``/proc/PID/stat``, field 22), in memory
and in ``logs/nginx.started``, and a record is signalled only while that PID still has that start
time and runs nginx (Linux ``proc(5)``).
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

from ..errors import InputError, NginxNotFoundError
from ..files import atomic_write

_INSTALL_HINT = "install it with `apt-get install nginx` (Debian/Ubuntu)"


#: Where a system nginx lives when it is not on PATH (Debian: /usr/sbin/nginx).
SYSTEM_SBIN = ("/usr/local/sbin", "/usr/sbin", "/sbin")


def find_nginx(binary=None):
    """Locate the nginx binary.

    Args:
        binary: an explicit path or name; ``None`` uses ``$K8SAUTHLIB_NGINX`` when set, else
            ``nginx`` on ``PATH``, then in :data:`SYSTEM_SBIN`.

    Returns:
        The absolute path of the binary.

    Raises:
        NginxNotFoundError: nothing found; the message says how to install nginx.
    """
    name = binary if binary is not None else os.environ.get("K8SAUTHLIB_NGINX", "nginx")
    found = shutil.which(str(name))
    if found:
        return found
    if name == "nginx":
        # Debian's package installs /usr/sbin/nginx, which a normal user's PATH leaves out
        found = shutil.which("nginx", path=os.pathsep.join(SYSTEM_SBIN))
        if found:
            return found
    raise NginxNotFoundError(
        f"nginx not found: {name!r} is not an executable on PATH"
        f"{' or in ' + ', '.join(SYSTEM_SBIN) if name == 'nginx' else ''}; {_INSTALL_HINT}"
    )


def nginx_available() -> bool:
    """True when :func:`find_nginx` would find nginx (on ``PATH`` or in :data:`SYSTEM_SBIN`)."""
    try:
        find_nginx()
    except NginxNotFoundError:
        return False
    return True


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


def finalize(proc, prefix, rundir=None):
    # atexit / garbage collection: never leave nginx running behind its owner
    try:
        stop_process(proc, 5)
    finally:
        kill_orphans(prefix)
        if rundir is not None:
            shutil.rmtree(rundir, ignore_errors=True)


def pids_with_cwd(prefix, binary_names=("nginx",)):
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


def proc_stat(pid):
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
    st = proc_stat(pid)
    if st is None or st[0] == "Z" or st[2] != starttime:
        return False
    try:
        return os.path.basename(os.readlink(f"/proc/{pid}/exe")).startswith("nginx")
    except OSError:
        return st[0] != "Z"


def children(pid):
    """(pid, starttime) of the live children of ``pid`` (nginx's workers)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            st = proc_stat(entry.name)
            if st is not None and st[1] == pid and st[0] != "Z":
                found.append((int(entry.name), st[2]))
    return found


#: Every nginx process this library started in this Python process, by work directory:
#: ``{workdir: [(pid, starttime), ...]}`` (the master first). Survives the work folder's removal.
_STARTED: dict = {}

_RECORD_NAME = "nginx.started"


def record(workdir, records):
    """Remember ``records`` (master first) in memory and in ``logs/nginx.started``."""
    _STARTED[str(workdir)] = list(records)
    text = "".join(f"{pid} {starttime}\n" for pid, starttime in records)
    try:
        atomic_write(Path(workdir) / "logs" / _RECORD_NAME, text.encode())
    except (OSError, InputError):
        pass  # the in-memory record still covers this process


def record_respawned(workdir, master_pid):
    """Add the workers ``master_pid`` has now (respawned since start) to ``workdir``'s record."""
    recorded = _STARTED.get(str(workdir), [])
    if recorded:
        record(workdir, [recorded[0], *(set(recorded[1:]) | set(children(master_pid)))])


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


def kill_orphans(prefix):
    """End what this library started in ``prefix`` earlier (e.g. workers left by ``kill -9``),
    and the workers of any of this process's nginx whose master has died (the work folder may
    be gone: their cwd then reads ``(deleted)``).

    Only processes recorded at start, by PID and start time, are signalled.

    Returns:
        The PIDs still alive after five seconds.
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


__all__ = [
    "children",
    "die_with_parent",
    "finalize",
    "find_nginx",
    "free_port",
    "kill_orphans",
    "others_can_traverse",
    "pids_with_cwd",
    "port_is_free",
    "proc_stat",
    "record",
    "record_respawned",
    "stop_process",
]
