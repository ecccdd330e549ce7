"""What every notebook of the book does first: pick the mode and a work directory of its own.

The mode is chosen in one place, the environment variable ``K8SAUTH_MODE``:

- ``lab`` (default, and CI): the book starts its own local lab (nginx, the lab API server) and a
  kubeadm-like tree under the notebook's work directory;
- ``kubeadm``: on a kubeadm control-plane VM, the notebooks use ``/etc/kubernetes`` and the real
  API server.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

MODES = ("lab", "kubeadm")


def mode() -> str:
    """Return ``"lab"`` or ``"kubeadm"`` from ``K8SAUTH_MODE`` (default ``"lab"``).

    Raises:
        ValueError: the variable holds anything else.
    """
    value = os.environ.get("K8SAUTH_MODE", "lab").strip().lower() or "lab"
    if value not in MODES:
        raise ValueError(f"K8SAUTH_MODE={value!r} is not a mode; use 'lab' (default) or 'kubeadm'")
    return value


def workdir(chapter: str, *, base: str | os.PathLike | None = None, clean: bool = True, chdir: bool = True) -> Path:
    """Create the chapter's own work directory and (by default) make it the current directory.

    Files a notebook writes go here, never next to the notebook, so that commands can use the
    article's short file names (``rootCA.pem``) and a second run starts from a clean slate.

    Args:
        chapter: a short ASCII name, e.g. ``"02_issue_certs"``.
        base: parent directory; default ``K8SAUTH_WORKDIR`` or ``work/`` beside the notebook.
        clean: remove what a previous run left.
        chdir: change the process's current directory to it.

    Returns:
        The absolute path of the work directory.
    """
    if not chapter or "/" in chapter or chapter.startswith("."):
        raise ValueError(f"{chapter!r} is not a chapter name; use a short ASCII name like '02_issue_certs'")
    parent = Path(base or os.environ.get("K8SAUTH_WORKDIR") or Path.cwd() / "work").resolve()
    path = parent / chapter
    if clean and path.exists():
        shutil.rmtree(path)
    path.mkdir(parents=True, exist_ok=True)
    # nginx drops its workers to 'nobody': they must be able to walk into the directory.
    for p in (parent, path):
        p.chmod(0o755)
    if chdir:
        os.chdir(path)
    return path
