"""Mirror pods: the static Pod manifests of the lab tree as the API shows them.

Moved out of :mod:`.api` unchanged; see :class:`MirrorPod`.
"""

import functools
import hashlib
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import yaml

from ..errors import InputError
from .wire import rfc3339

#: Annotation that every mirror pod of the lab carries, so that ``-o yaml`` says what it is.
LAB_NOTE_ANNOTATION = "lab.k8sauth-book/note"
LAB_NOTE = (
    "k8sauthlib lab: mirror pod of a static Pod manifest; no container runs. "
    "The lab process itself serves the API, with the flags of manifests/kube-apiserver.yaml."
)
#: Reason shown in the STATUS column of ``kubectl get pods``, instead of a "Running" that would lie.
LAB_POD_REASON = "LabNoContainer"


@functools.lru_cache(maxsize=64)
def node_uid(node_name):
    """The lab Node's UID (:mod:`.nodes`); mirror pods name it as their owner."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "k8sauthlib-lab-node/" + node_name))


@dataclass
class MirrorPod:
    """A static Pod manifest as the API shows it: kubelet's mirror pod ``<name>-<node>``.

    On a kubeadm node, kubelet starts the containers of ``/etc/kubernetes/manifests/*.yaml``
    and publishes a read-only *mirror pod* for each, named ``<pod name>-<node name>``, with the
    annotations ``kubernetes.io/config.source: file``, ``kubernetes.io/config.hash`` and
    ``kubernetes.io/config.mirror`` and the Node as owner. The lab publishes the same objects
    from the same files, so ``kubectl get pod -n kube-system`` lists the same names.

    The lab starts no containers, and it does not pretend to: the pod's ``status`` has phase
    ``Unknown`` (no kubelet reports on it) and reason ``LabNoContainer``, which ``kubectl get``
    prints in the STATUS column where a node would show ``Running``; READY is ``0/1``; and the
    annotation ``lab.k8sauth-book/note`` says in words what is going on. The one "container"
    whose job is done anyway is kube-apiserver: the lab process serves the API with that
    manifest's flags.
    """

    manifest: dict
    source: Path
    node_name: str
    created: datetime
    uid: str
    # (file stamp, resource version) -> the Pod object; the stamp -> the file's MD5
    _cache: dict = field(default_factory=dict, repr=False, compare=False)

    @property
    def name(self):
        return f"{self.manifest['metadata']['name']}-{self.node_name}"

    @property
    def containers(self):
        return (self.manifest.get("spec") or {}).get("containers") or []

    def _stamp(self):
        """What tells a changed manifest file: ``(inode, size, mtime in ns)``, or ``None`` when it is gone."""
        try:
            st = self.source.stat()
        except OSError:
            return None
        return (st.st_ino, st.st_size, st.st_mtime_ns)

    def _digest(self, stamp):
        """kubelet's ``config.hash`` of the file as it is now: MD5 of its bytes, read again only
        when :meth:`_stamp` changed (an edited manifest changes the annotations at once)."""
        key = ("digest", stamp)
        digest = self._cache.get(key)
        if digest is None:
            try:
                data = self.source.read_bytes() if stamp is not None else b""
            except OSError:
                data = b""
            digest = hashlib.md5(data).hexdigest()
            self._cache.clear()  # one file state at a time: older pods and digests are stale
            self._cache[key] = digest
        return digest

    def metadata(self, resource_version, digest=None):
        meta = self.manifest.get("metadata") or {}
        if digest is None:
            digest = self._digest(self._stamp())
        annotations = dict(meta.get("annotations") or {})
        annotations.update(
            {
                "kubernetes.io/config.hash": digest,
                "kubernetes.io/config.mirror": digest,
                "kubernetes.io/config.seen": self.created.astimezone(timezone.utc)
                .isoformat(timespec="microseconds")
                .replace("+00:00", "Z"),
                "kubernetes.io/config.source": "file",
                LAB_NOTE_ANNOTATION: LAB_NOTE,
            }
        )
        out = {
            "name": self.name,
            "namespace": "kube-system",
            "uid": self.uid,
            "resourceVersion": resource_version,
            "creationTimestamp": rfc3339(self.created),
        }
        if meta.get("labels"):
            out["labels"] = dict(meta["labels"])
        out["annotations"] = annotations
        out["ownerReferences"] = [
            {
                "apiVersion": "v1",
                "kind": "Node",
                "name": self.node_name,
                "uid": node_uid(self.node_name),
                "controller": True,
            }
        ]
        return out

    def to_pod(self, resource_version):
        """The Pod object. Built once per file state and resource version and shared by the requests
        that read it (the ~1 ms of stat-free work per request the pod list used to cost): callers
        must not change it."""
        stamp = self._stamp()
        digest = self._digest(stamp)
        key = ("pod", stamp, resource_version)
        pod = self._cache.get(key)
        if pod is None:
            spec = dict(self.manifest.get("spec") or {})
            spec["nodeName"] = self.node_name
            pod = {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": self.metadata(resource_version, digest),
                "spec": spec,
                "status": {"phase": "Unknown", "reason": LAB_POD_REASON, "message": LAB_NOTE},
            }
            for old in [k for k in self._cache if k[0] == "pod"]:
                del self._cache[old]
            self._cache[key] = pod
        return pod


def load_mirror_pods(manifest_dir, node_name, created):
    """Read every ``*.yaml`` static Pod manifest of ``manifest_dir`` (kubelet's ``--pod-manifest-path``)."""
    pods = []
    directory = Path(manifest_dir)
    if not directory.is_dir():
        return pods
    for path in sorted(directory.glob("*.yaml")) + sorted(directory.glob("*.yml")) + sorted(directory.glob("*.json")):
        try:
            doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            raise InputError(f"{path}: not valid YAML: {exc}") from None
        if not isinstance(doc, dict) or doc.get("kind") != "Pod" or not (doc.get("metadata") or {}).get("name"):
            continue  # kubelet skips files that are not Pods
        uid = str(uuid.uuid5(uuid.NAMESPACE_URL, f"k8sauthlib-lab/{path.resolve()}/{created.isoformat()}"))
        pods.append(MirrorPod(doc, path, node_name, created, uid))
    return pods
