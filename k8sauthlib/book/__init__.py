"""What every notebook of the book does first: pick the mode and a work directory of its own.

The mode is chosen in one place, the environment variable ``K8SAUTH_MODE``:

- ``lab`` (default, and CI): the book starts its own local lab (nginx, the lab API server) and a
  kubeadm-like tree under the notebook's work directory;
- ``kubeadm``: on a kubeadm control-plane VM, the notebooks use ``/etc/kubernetes`` and the real
  API server.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
from datetime import timedelta
from pathlib import Path

from ..kube.node import KUBEADM_ROOT, exists_with_sudo
from .readings import gloss  # noqa: F401  (k8s.book.gloss in the notebooks)

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


# ============================================================================ the environment
#: Variables of the reader's shell that change what kubectl, curl, Python's requests and OpenSSL
#: do: another kubeconfig (kubectl reads ``~/.kube/config`` only when ``KUBECONFIG`` is unset),
#: a proxy (curl and Go honour these for every host unless ``NO_PROXY`` says otherwise; requests
#: too), another CA bundle (curl: ``CURL_CA_BUNDLE``; requests: ``REQUESTS_CA_BUNDLE``; OpenSSL,
#: Python's ssl and Go: ``SSL_CERT_FILE``/``SSL_CERT_DIR``). :func:`clean_env` removes them.
READER_VARIABLES = (
    "KUBECONFIG",
    "HTTPS_PROXY",
    "https_proxy",
    "HTTP_PROXY",
    "http_proxy",
    "ALL_PROXY",
    "all_proxy",
    "NO_PROXY",
    "no_proxy",
    "CURL_CA_BUNDLE",
    "REQUESTS_CA_BUNDLE",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
)


def clean_env(work) -> None:
    """Give the notebook's ``!`` commands and Python clients the same environment on every machine.

    Called in each chapter's first cell, after :func:`workdir`. In this process (and so in every
    ``!`` command it starts):

    - the interpreter's ``bin`` directory (the project's ``.venv/bin``) comes first on ``PATH``,
      so ``!k8sauthlib ...`` finds the project's console script whether or not the environment
      was activated (Jupyter started as ``.venv/bin/jupyter`` does not activate it);
    - :data:`READER_VARIABLES` are removed and ``KUBECONFIG`` is set to ``/dev/null``: kubectl
      reads no kubeconfig but the one a cell names with ``--kubeconfig`` (a kubeadm node's
      ``~/.kube/config`` is a copy of ``admin.conf``, whose embedded credentials make kubectl
      <= 1.34 refuse ``--client-certificate``), and curl, requests and OpenSSL use no proxy and
      no CA bundle but the files a cell names;
    - ``/usr/local/sbin``, ``/usr/sbin`` and ``/sbin`` are on ``PATH`` (last) even for a user
      whose login shell leaves them out: Debian's nginx is ``/usr/sbin/nginx``;
    - ``KUBECACHEDIR`` is ``<work>/.kube-cache``: kubectl's discovery and HTTP caches are the
      chapter's own (a warm cache changes which requests, and so which errors, kubectl shows).
    - ``SHELL`` is ``/bin/sh``: each ``!`` line runs with ``$SHELL -c``, so the book's commands,
      written for POSIX sh, run the same under a reader's bash, zsh or fish, and where ``SHELL`` is
      unset;
    - in IPython, ``!`` lines run with :func:`k8sauthlib.book.shell.system`, which does not lose
      what a command prints just before it exits (IPython's own runner does, on a busy machine).

    Args:
        work: the chapter's work directory (from :func:`workdir`).
    """
    bindir = str(Path(sys.executable).parent)
    path = [p for p in os.environ.get("PATH", "").split(os.pathsep) if p and p != bindir]
    # Debian installs nginx in /usr/sbin, which a normal user's PATH lacks ("!nginx -t" cells)
    from ..tls.process import SYSTEM_SBIN

    path += [d for d in SYSTEM_SBIN if d not in path]
    os.environ["PATH"] = os.pathsep.join([bindir, *path])
    for name in READER_VARIABLES:
        os.environ.pop(name, None)
    os.environ["KUBECONFIG"] = os.devnull
    os.environ["KUBECACHEDIR"] = str(Path(work).absolute() / ".kube-cache")
    os.environ["SHELL"] = "/bin/sh"
    from .shell import install

    install()


#: How long the certificates the chapters mint with the cluster CA stay valid. On a real cluster
#: a client certificate cannot be revoked (and one in ``system:masters`` cannot be stripped of
#: its rights): a copy left behind must expire within hours, not the article's year.
SHORT_LIVED = timedelta(hours=2)

#: kubectl's last line for a 401: the Status message (``Unauthorized``) where kubectl decodes the
#: response body, or apimachinery's generic text for the status code (k8s.io/apimachinery
#: pkg/api/errors/errors.go, NewGenericServerResponse) where it does not, as kubectl 1.32's discovery
#: step does. Which one a command prints depends on the command, the kubectl version and its cache.
KUBECTL_UNAUTHORIZED = (
    "error: You must be logged in to the server (Unauthorized)",
    "error: You must be logged in to the server (the server has asked for the client to provide credentials)",
)

_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def plain(text: str) -> str:
    """``text`` without terminal colour codes (kubectl <= 1.32's ``cluster-info`` always prints them)."""
    return _ANSI.sub("", text)


def remove_private_files(work) -> list[str]:
    """Delete every file under ``work`` that holds a private key; return their names, sorted.

    A file holds a private key when it contains a PEM ``PRIVATE KEY`` block or a kubeconfig's
    ``client-key-data``: on a kubeadm node these are copies of ``ca.key``, ``apiserver.key`` and
    the admin keys, and keys the chapter minted. The lab's own tree (``etc-kubernetes/``, which
    stands in for ``/etc/kubernetes``) is left alone.

    Args:
        work: the chapter's work directory.

    Returns:
        Paths relative to ``work`` (POSIX form) of the files removed.
    """
    work = Path(work)
    removed = []
    for path in sorted(work.rglob("*")):
        relative = path.relative_to(work)
        if relative.parts[0] == "etc-kubernetes" or not path.is_file() or path.is_symlink():
            continue
        try:
            data = path.read_bytes()
        except OSError:
            continue
        if b"PRIVATE KEY-----" in data or b"client-key-data:" in data:
            path.unlink()
            removed.append(relative.as_posix())
    return removed


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
            return "\n".join(
                f"{d['kind'].lower()}.rbac.authorization.k8s.io/{d['metadata']['name']} -> lab/rbac/{manifest.name}"
                for d in docs
            )
        return self._kubectl("apply", "-f", manifest.absolute())

    def delete(self, manifest, *, missing_ok: bool = False) -> str:
        """Remove what :meth:`apply` created from ``manifest`` (``kubectl delete -f FILE``).

        ``missing_ok=True`` (a chapter's last cell) adds ``--ignore-not-found``: objects already
        deleted are no error.
        """
        manifest = Path(manifest)
        if self.is_lab:
            target = self.tree.rbac_dir / manifest.name
            target.unlink(missing_ok=True)
            return f"lab/rbac/{manifest.name} removed"
        return self._kubectl("delete", "-f", manifest.absolute(), *(["--ignore-not-found"] if missing_ok else []))

    # --------------------------------------------------------------------------- version
    @property
    def version(self) -> tuple[int, int]:
        """The API server's ``(major, minor)``, from ``GET /version`` (anonymous, as kubectl's dispatcher asks).

        kube-apiserver allows ``/version`` to everyone (ClusterRole ``system:public-info-viewer``);
        ``minor`` may carry a ``+`` (``"33+"``), which is dropped. The server is verified with the
        tree's ``pki/ca.crt``.
        """
        if getattr(self, "_version", None) is None:
            import http.client
            import json
            import ssl

            ctx = ssl.create_default_context(cadata=self.tree.read_bytes(self.tree.ca_crt).decode("ascii"))
            conn = http.client.HTTPSConnection(self.host, self.port, context=ctx, timeout=10)
            try:
                conn.request("GET", "/version")
                info = json.loads(conn.getresponse().read())
            finally:
                conn.close()
            self._version = (int(info["major"]), int(re.sub(r"\D", "", info["minor"])))
        return self._version

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
      Call :meth:`Cluster.stop` in the chapter's last cell. ``K8SAUTH_LAB_VERSION=1.28``
      makes the lab present that Kubernetes version (:func:`lab_version`).
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
        ValueError: ``K8SAUTH_LAB_VERSION`` is not ``1.<minor>`` (see :func:`lab_version`).
    """
    from ..kube.kubeadm import KubeadmTree

    if mode() == "kubeadm":
        tree = KubeadmTree(KUBEADM_ROOT)
        if not exists_with_sudo(tree.apiserver_manifest):  # manifests/ is 0700 root: sudo -n test -e
            from ..errors import InputError

            raise InputError(
                f"K8SAUTH_MODE=kubeadm, but {tree.apiserver_manifest} does not exist: run the book on "
                f"a kubeadm control-plane node, or unset K8SAUTH_MODE to use the local lab"
            )
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
    version = lab_version()
    lab = LabServer(root, port=port, **({"kubernetes_version": version} if version else {})).start()
    return Cluster(tree, lab.url, lab=lab)


def lab_version() -> str | None:
    """The Kubernetes version the lab presents, from ``K8SAUTH_LAB_VERSION`` (``"1.28"``), or ``None``.

    ``None`` (unset or empty) leaves the lab's own default. kubectl's dispatcher picks the
    kubectl binary by the server's minor version, so this also chooses which kubectl runs.

    Raises:
        ValueError: the variable is not ``1.<minor>``.
    """
    value = os.environ.get("K8SAUTH_LAB_VERSION", "").strip()
    if not value:
        return None
    if not re.fullmatch(r"1\.\d{1,2}", value):
        raise ValueError(f"K8SAUTH_LAB_VERSION={value!r} is not a Kubernetes version; use major.minor, e.g. 1.28")
    return value
