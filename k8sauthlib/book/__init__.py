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

from ..kube.node import KUBEADM_ROOT

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


# ============================================================================ the cluster
#: kubeadm's default ``--secure-port``; the lab takes it when it is free (so commands read like
#: on a node) and any free port otherwise.
LAB_PREFERRED_PORT = 6443


class Cluster:
    """The Kubernetes control plane a chapter talks to: the local lab, or a kubeadm node.

    Made by :func:`cluster`; notebooks use the same attributes in both modes.

    Attributes:
        tree: the :class:`k8sauthlib.KubeadmTree` (the lab's directory, or ``/etc/kubernetes``).
        url: the API server URL, e.g. ``https://127.0.0.1:6443``.
        is_lab: ``True`` for the local lab API server (:class:`k8sauthlib.LabServer`).
        lab: the running :class:`k8sauthlib.LabServer`, or ``None`` on a node.
    """

    def __init__(self, tree, url: str, *, lab=None):
        self.tree = tree
        self.url = url
        self.lab = lab
        self.is_lab = lab is not None

    # ------------------------------------------------------------------------- addresses
    @property
    def host(self) -> str:
        """The host (IP) part of :attr:`url`."""
        from urllib.parse import urlsplit
        return urlsplit(self.url).hostname

    @property
    def port(self) -> int:
        """The port of :attr:`url`."""
        from urllib.parse import urlsplit
        return urlsplit(self.url).port or 443

    @property
    def kubeconfig(self) -> Path:
        """``admin.conf`` of the tree (in the lab it points at the lab's URL)."""
        return self.tree.admin_conf

    @property
    def sudo(self) -> str:
        """``""`` when this process may read root-only files, else a ``sudo -n`` prefix for ``!`` commands.

        The prefix keeps this process's ``PATH`` (``sudo``'s ``secure_path`` would not find the
        virtual environment's ``k8sauthlib``). It needs passwordless sudo (``-n`` never prompts).
        """
        if self.is_lab or os.geteuid() == 0:
            return ""
        import shlex
        return f"sudo -n env PATH={shlex.quote(os.environ.get('PATH', '/usr/bin:/bin'))}"

    # ------------------------------------------------------------------------------ RBAC
    def _kubectl(self, *args) -> str:
        import subprocess
        cmd = ["kubectl", f"--kubeconfig={self.kubeconfig}", *map(str, args)]
        if self.sudo:
            import shlex
            cmd = shlex.split(self.sudo) + cmd
        proc = subprocess.run(cmd, capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=60)
        if proc.returncode != 0:
            from ..errors import K8sAuthError
            raise K8sAuthError(f"{' '.join(cmd)} failed (exit {proc.returncode}): {proc.stderr.strip()}")
        return proc.stdout.strip()

    def apply(self, manifest) -> str:
        """Create RBAC objects from a YAML file, as ``kubectl apply -f FILE`` does on a cluster.

        In the lab the file is copied into the lab's RBAC directory (``lab/rbac/`` of the tree),
        which the lab re-reads on the next request; on a node ``kubectl apply -f`` runs with
        ``admin.conf``.

        Returns:
            What happened, one line per object (kubectl's output on a node).
        """
        manifest = Path(manifest)
        if self.is_lab:
            import yaml
            target = self.tree.rbac_dir / manifest.name
            shutil.copyfile(manifest, target)
            docs = [d for d in yaml.safe_load_all(manifest.read_text(encoding="utf-8")) if d]
            return "\n".join(f"{d['kind'].lower()}.rbac.authorization.k8s.io/{d['metadata']['name']} "
                             f"-> lab/rbac/{manifest.name}" for d in docs)
        return self._kubectl("apply", "-f", manifest.absolute())

    def delete(self, manifest) -> str:
        """Remove what :meth:`apply` created from ``manifest`` (``kubectl delete -f FILE``)."""
        manifest = Path(manifest)
        if self.is_lab:
            target = self.tree.rbac_dir / manifest.name
            target.unlink(missing_ok=True)
            return f"lab/rbac/{manifest.name} removed"
        return self._kubectl("delete", "-f", manifest.absolute())

    # ------------------------------------------------------------------------------- logs
    def log_lines(self, contains: str | None = None) -> list[str]:
        """The API server's log lines (optionally only those containing ``contains``).

        The lab keeps its log in memory; on a node this is ``kubectl logs`` of the
        kube-apiserver mirror pod (the last 500 lines).
        """
        if self.is_lab:
            lines = self.lab.log_lines()
        else:
            pod = f"kube-apiserver-{self.tree.node_name}"
            lines = self._kubectl("logs", "-n", "kube-system", pod, "--tail=500").splitlines()
        return [line for line in lines if contains is None or contains in line]

    # ------------------------------------------------------------------------- lifecycle
    def stop(self) -> None:
        """Stop the lab API server (nothing to do on a node)."""
        if self.lab is not None:
            self.lab.stop()

    @property
    def running(self) -> bool:
        """Whether the lab still serves (always ``True`` on a node)."""
        return self.lab.port is not None if self.lab is not None else True

    def __repr__(self):
        kind = "lab" if self.is_lab else "kubeadm"
        return f"<Cluster {kind} {self.url} tree={self.tree.root}>"


def cluster(work=None, *, port: int | None = None) -> Cluster:
    """The API server for chapters 05 and 06: a started local lab, or the kubeadm node's.

    - ``lab`` mode (default): a kubeadm-like tree is created in ``<work>/etc-kubernetes``
      (:meth:`k8sauthlib.KubeadmTree.create_lab`) and served by a started
      :class:`k8sauthlib.LabServer` on ``127.0.0.1`` (port 6443 when free, else a free one).
      Call :meth:`Cluster.stop` in the chapter's last cell.
    - ``kubeadm`` mode: ``KubeadmTree("/etc/kubernetes")`` and the real API server, at the
      manifest's ``--advertise-address`` and ``--secure-port`` (the advertise address is
      always among the API server certificate's SANs); ``admin.conf``'s server when the
      manifest has no advertise address.

    Args:
        work: the chapter's work directory (default: the current directory).
        port: the lab's port (``None``: 6443 when free, else any free port).

    Raises:
        k8sauthlib.InputError: kubeadm mode on a machine without ``/etc/kubernetes``.
        k8sauthlib.lab.LabError: the lab could not start.
    """
    from ..kube.kubeadm import KubeadmTree

    if mode() == "kubeadm":
        tree = KubeadmTree(KUBEADM_ROOT)
        if not tree.apiserver_manifest.exists():
            from ..errors import InputError
            raise InputError(f"K8SAUTH_MODE=kubeadm, but {tree.apiserver_manifest} does not exist: run the book on "
                             f"a kubeadm control-plane node, or unset K8SAUTH_MODE to use the local lab")
        flags = tree.apiserver_flags()
        address = flags.get("advertise-address")
        if address:
            host = f"[{address}]" if ":" in address else address
            url = f"https://{host}:{flags.get('secure-port', '6443')}"
        else:
            url = tree.admin_kubeconfig().server
        return Cluster(tree, url)

    from ..lab import LabServer
    from ..tls.process import port_is_free

    root = (Path(work) if work is not None else Path.cwd()).absolute() / "etc-kubernetes"
    tree = KubeadmTree.create_lab(root)
    if port is None:
        port = LAB_PREFERRED_PORT if port_is_free(LAB_PREFERRED_PORT) else 0
    lab = LabServer(root, port=port).start()
    return Cluster(tree, lab.url, lab=lab)
