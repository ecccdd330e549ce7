"""A real kube-apiserver beside the lab, for bench_lab.py's ``--kube-apiserver``.

No registry ships kube-apiserver and neither readers nor CI have one, so this runs only when a
developer points ``bench_lab.py --kube-apiserver PATH`` at a binary they built or copied from a
node (any 1.28+; the December 2026 comparison used v1.28.0). It is started the way the lab
tree's own ``manifests/kube-apiserver.yaml`` says a kubeadm node starts it, with three
differences a bench has to make, each said in the printed report:

* etcd (``--etcd PATH``, Debian's ``etcd-server`` 3.4 is accepted by 1.28) listens on plain
  http on loopback, in a temporary data folder: the lab tree has no etcd certificates, and the
  TLS of one kept-alive gRPC connection between two local processes is not what is measured;
* the service-account key pair (``sa.key``/``sa.pub``), which the lab tree does not write, is
  generated into the temporary folder;
* the secure port is a free one on 127.0.0.1, not 6443, and the kubelet client flags are
  dropped (no kubelet is reached).

After start-up it is given what kubeadm and the kubelet would have created, so that the same
requests get the same answers as from the lab: ``kubeadm init``'s ``kubeadm:cluster-admins``
ClusterRoleBinding (kubeadm v1.29+ ``phases/kubeconfig``; ``admin.conf`` carries that group
from the lab's 1.29+ trees), made with ``super-admin.conf`` (``system:masters``), and the
control plane's mirror pods in ``kube-system`` copied from the lab's own answer to the same
``GET``, so that both servers list the same four pods.
"""

from __future__ import annotations

import http.client
import json
import shutil
import socket
import ssl
import subprocess
import tempfile
import time
from pathlib import Path

import yaml

from k8sauthlib.files import KEY_MODE, atomic_write
from k8sauthlib.kube.kubeconfig import Kubeconfig
from k8sauthlib.pki.keys import key_pem

#: Flags of the tree's manifest this bench replaces or leaves out (see the module docstring).
_REPLACED = (
    "--etcd-",
    "--secure-port=",
    "--service-account-key-file=",
    "--service-account-signing-key-file=",
    "--kubelet-client-",
    "--advertise-address=",
    "--bind-address=",
)


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _manifest_flags(tree):
    pod = yaml.safe_load((tree / "manifests" / "kube-apiserver.yaml").read_text())
    container = pod["spec"]["containers"][0]
    flags = [a for a in container["command"][1:] if a.startswith("--")]
    # the manifest names files where a node has them; the tree is that folder, moved
    return [f.replace("/etc/kubernetes/", f"{tree}/") for f in flags if not f.startswith(_REPLACED)]


def credentials(kubeconfig, out, name):
    """The client certificate and key embedded in a kubeconfig, as ``NAME.pem``/``NAME-key.pem``."""
    files = Kubeconfig.load(kubeconfig).client_files(out, name)
    return str(files.cert), str(files.key)


class KubeAPIServer:
    """Start etcd and kube-apiserver from ``tree``; stop both (only these two PIDs) on exit."""

    def __init__(self, binary, etcd, tree, lab_port):
        self.binary, self.etcd, self.tree, self.lab_port = binary, etcd, Path(tree), lab_port
        self.procs, self.port, self.version, self.pods = [], None, None, 0

    def __enter__(self):
        self.tmp = Path(tempfile.mkdtemp(prefix="bench-kube-apiserver-"))
        try:
            self._start()
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, *exc):
        for proc in reversed(self.procs):
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def _spawn(self, cmd, log):
        with open(self.tmp / log, "wb") as fh:
            self.procs.append(subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL))

    def _start(self):
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import rsa

        etcd_port, peer_port = _free_port(), _free_port()
        self._spawn(
            [
                self.etcd,
                f"--data-dir={self.tmp / 'etcd'}",
                f"--listen-client-urls=http://127.0.0.1:{etcd_port}",
                f"--advertise-client-urls=http://127.0.0.1:{etcd_port}",
                f"--listen-peer-urls=http://127.0.0.1:{peer_port}",
                f"--initial-advertise-peer-urls=http://127.0.0.1:{peer_port}",
                f"--initial-cluster=default=http://127.0.0.1:{peer_port}",
            ],
            "etcd.log",
        )
        sa = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        atomic_write(self.tmp / "sa.key", key_pem(sa), mode=KEY_MODE)
        atomic_write(
            self.tmp / "sa.pub",
            sa.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo),
        )
        self.port = _free_port()
        self._spawn(
            [
                self.binary,
                *_manifest_flags(self.tree),
                "--advertise-address=127.0.0.1",
                "--bind-address=127.0.0.1",
                f"--secure-port={self.port}",
                f"--etcd-servers=http://127.0.0.1:{etcd_port}",
                f"--service-account-key-file={self.tmp / 'sa.pub'}",
                f"--service-account-signing-key-file={self.tmp / 'sa.key'}",
            ],
            "kube-apiserver.log",
        )
        ca = str(self.tree / "pki" / "ca.crt")
        self.super_ctx = ssl.create_default_context(cafile=ca)
        self.super_ctx.load_cert_chain(*credentials(self.tree / "super-admin.conf", self.tmp, "super-admin"))
        self._wait_ready()
        self._bootstrap(ca)

    def _request(self, port, ctx, method, path, body=None):
        conn = http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=30)
        try:
            headers = {"Accept": "application/json"}
            if body is not None:
                headers["Content-Type"] = "application/json"
                body = json.dumps(body)
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            return response.status, response.read()
        finally:
            conn.close()

    def _wait_ready(self, timeout=120):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for proc in self.procs:
                if proc.poll() is not None:
                    log = (self.tmp / ("etcd.log" if proc is self.procs[0] else "kube-apiserver.log")).read_text()
                    raise SystemExit(f"{proc.args[0]} exited {proc.returncode}: {log.strip().splitlines()[-1:]}")
            try:
                status, _ = self._request(self.port, self.super_ctx, "GET", "/readyz")
                if status == 200:
                    _, body = self._request(self.port, self.super_ctx, "GET", "/version")
                    info = json.loads(body)
                    self.version = f"{info['gitVersion']} ({info['goVersion']})"
                    return
            except (OSError, ssl.SSLError, http.client.HTTPException):
                pass
            time.sleep(0.5)
        raise SystemExit(f"kube-apiserver not ready after {timeout} s; its log: {self.tmp / 'kube-apiserver.log'}")

    def _bootstrap(self, ca):
        binding = {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRoleBinding",
            "metadata": {"name": "kubeadm:cluster-admins"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
            "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": "kubeadm:cluster-admins"}],
        }
        path = "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings"
        status, body = self._request(self.port, self.super_ctx, "POST", path, binding)
        if status not in (201, 409):
            raise SystemExit(f"kube-apiserver: creating kubeadm:cluster-admins: {status} {body[:200]!r}")
        pods = "/api/v1/namespaces/kube-system/pods"
        status, body = self._request(self.lab_port, self.super_ctx, "GET", pods)
        if status != 200:
            raise SystemExit(f"lab: GET {pods}: {status}")
        for pod in json.loads(body)["items"]:
            meta = pod["metadata"]
            pod = {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {k: meta[k] for k in ("name", "namespace", "labels", "annotations") if k in meta},
                "spec": pod["spec"],
            }
            status, body = self._request(self.port, self.super_ctx, "POST", pods, pod)
            if status not in (201, 409):
                raise SystemExit(f"kube-apiserver: creating pod {meta['name']}: {status} {body[:300]!r}")
        names = {}
        for name, port in (("lab", self.lab_port), ("kube-apiserver", self.port)):
            status, body = self._request(port, self.super_ctx, "GET", pods)
            names[name] = sorted(p["metadata"]["name"] for p in json.loads(body)["items"])
        if names["lab"] != names["kube-apiserver"]:
            raise SystemExit(f"the two servers list different pods: {names}")
        self.pods = len(names["lab"])
