"""Where nginx runs when its workers cannot reach the work directory.

Started by root, nginx's workers run as ``nobody`` and open ``html/index.html`` by path (nginx
1.22 ``src/core/nginx.c``, ``ngx_set_user``: the default is the compiled-in ``NGX_USER``,
``nobody``; a non-root master ignores ``user`` with the warning "makes sense only if the master
process runs with super-user privileges" and its workers keep its user; ``src/core/ngx_file.c``,
``ngx_create_paths``, chowns the temp paths to the worker user). :class:`~k8sauthlib.Nginx` never
writes a ``user`` directive, so workers never run as root. When ``nobody`` cannot enter the work
directory (a 0700 folder on the way: a clone under ``/root``, a ``mktemp -d``), nginx runs in a
run directory made here, under the temp directory: ``html/`` (a copy) and ``tmp/`` are real
directories there, ``logs`` links back to the work directory, and the configuration is read from
the work directory by absolute path. The configuration text stays the same.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from ..errors import NginxStartError
from ..files import atomic_write
from .process import others_can_traverse


def _traversable_tempdir():
    """A new run directory (0711) under a temp directory that ``nobody`` can enter, or None."""
    for base in (tempfile.gettempdir(), "/tmp", "/dev/shm", "/var/tmp"):
        try:
            if not others_can_traverse(base):
                continue
            rundir = Path(tempfile.mkdtemp(prefix="k8sauthlib-nginx-", dir=base))
        except OSError:
            continue
        rundir.chmod(0o711)  # ours, just made: others may pass through, not list it
        return rundir
    return None


def make_rundir(workdir, index_html: str) -> Path:
    """Make a run directory for nginx's prefix: ``html/index.html`` (a copy of the page), ``tmp/``,
    and ``logs`` linking back to ``workdir/logs``.

    Raises:
        NginxStartError: no temp directory that ``nobody`` can enter exists.
    """
    workdir = Path(workdir)
    rundir = _traversable_tempdir()
    if rundir is None:
        raise NginxStartError(
            f"nginx's workers (user nobody) cannot enter {workdir} (a directory on the way is "
            f"not searchable by others) and no temp directory they can enter was found; set TMPDIR "
            f"to one (e.g. /tmp), or give Nginx a work directory under a world-searchable folder"
        )
    (rundir / "html").mkdir(mode=0o755)
    (rundir / "html").chmod(0o755)
    (rundir / "tmp").mkdir(mode=0o711)
    (rundir / "tmp").chmod(0o711)
    (rundir / "logs").symlink_to(workdir / "logs")
    atomic_write(rundir / "html" / "index.html", index_html.encode("utf-8"))
    return rundir


__all__ = ["make_rundir"]
