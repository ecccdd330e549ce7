"""The lab's one Node, and the kube-apiserver pod's log, as the API shows them.

A kubeadm control-plane node is registered by its kubelet with kubeadm's labels and taint
(``cmd/kubeadm/app/phases/markcontrolplane``: ``node-role.kubernetes.io/control-plane``,
``node.kubernetes.io/exclude-from-external-load-balancers``, taint
``node-role.kubernetes.io/control-plane:NoSchedule``) and the kubelet's well-known labels
(``kubernetes.io/hostname``, ``kubernetes.io/os``, ``kubernetes.io/arch`` and the ``beta.``
ones). The lab has no kubelet, and says so the way a cluster does when a kubelet never reported:
the ``Ready`` condition is ``Unknown`` with the node lifecycle controller's reason
``NodeStatusNeverUpdated`` / ``Kubelet never posted node status.``
(``pkg/controller/nodelifecycle/node_lifecycle_controller.go``), so ``kubectl get nodes``
prints ``NotReady``, and the annotation ``lab.k8sauth-book/note`` says why.

``kubectl logs -n kube-system kube-apiserver-<node>`` reads ``pods/<name>/log``; on kubeadm that
is the API server's own log, and in the lab it is the lab's request log (klog-style lines with
``lab]`` where kube-apiserver names its source file). The other mirror pods run no container,
so their logs are refused as a cluster refuses logs of a container that is not running (400).
"""

import platform
from urllib.parse import parse_qs

from .pods import LAB_NOTE_ANNOTATION, node_uid
from .wire import Response, human_duration, json_response, rfc3339, status_object

NODE_NOTE = (
    "k8sauthlib lab: no kubelet runs on this node, so it never reports Ready; the lab process itself serves the API."
)

#: ``nodeColumnDefinitions`` of ``pkg/printers/internalversion/printers.go`` (descriptions from core/v1 swagger).
NODE_COLUMNS = (
    {
        "name": "Name",
        "type": "string",
        "format": "name",
        "priority": 0,
        "description": "Name must be unique within a namespace. Is required when creating resources, although some "
        "resources may allow a client to request the generation of an appropriate name automatically. "
        "Name is primarily intended for creation idempotence and configuration definition. Cannot be "
        "updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names",
    },
    {"name": "Status", "type": "string", "format": "", "description": "The status of the node", "priority": 0},
    {"name": "Roles", "type": "string", "format": "", "description": "The roles of the node", "priority": 0},
    {
        "name": "Age",
        "type": "string",
        "format": "",
        "priority": 0,
        "description": "CreationTimestamp is a timestamp representing the server time when this object was created. It "
        "is not guaranteed to be set in happens-before order across separate operations. Clients may not "
        "set this value. It is represented in RFC3339 form and is in UTC.\n\nPopulated by the system. "
        "Read-only. Null for lists. More info: "
        "https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata",
    },
    {
        "name": "Version",
        "type": "string",
        "format": "",
        "description": "Kubelet Version reported by the node.",
        "priority": 0,
    },
    {
        "name": "Internal-IP",
        "type": "string",
        "format": "",
        "description": "List of addresses reachable to the node.",
        "priority": 1,
    },
    {
        "name": "External-IP",
        "type": "string",
        "format": "",
        "description": "List of addresses reachable to the node.",
        "priority": 1,
    },
    {
        "name": "OS-Image",
        "type": "string",
        "format": "",
        "priority": 1,
        "description": "OS Image reported by the node from /etc/os-release (e.g. Debian GNU/Linux 7 (wheezy)).",
    },
    {
        "name": "Kernel-Version",
        "type": "string",
        "format": "",
        "priority": 1,
        "description": "Kernel Version reported by the node from 'uname -r' (e.g. 3.16.0-0.bpo.4-amd64).",
    },
    {
        "name": "Container-Runtime",
        "type": "string",
        "format": "",
        "priority": 1,
        "description": "ContainerRuntime Version reported by the node through runtime remote API (e.g. "
        "containerd://1.4.2).",
    },
)


def node_object(node_name, created, resource_version, address):
    arch = {"x86_64": "amd64", "AMD64": "amd64", "aarch64": "arm64"}.get(platform.machine(), platform.machine())
    system = platform.system().lower()
    stamp = rfc3339(created)
    labels = {
        "beta.kubernetes.io/arch": arch,
        "beta.kubernetes.io/os": system,
        "kubernetes.io/arch": arch,
        "kubernetes.io/hostname": node_name,
        "kubernetes.io/os": system,
        "node-role.kubernetes.io/control-plane": "",
        "node.kubernetes.io/exclude-from-external-load-balancers": "",
    }
    return {
        "kind": "Node",
        "apiVersion": "v1",
        "metadata": {
            "name": node_name,
            "uid": node_uid(node_name),
            "resourceVersion": resource_version,
            "creationTimestamp": stamp,
            "labels": labels,
            "annotations": {LAB_NOTE_ANNOTATION: NODE_NOTE},
        },
        "spec": {"taints": [{"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}]},
        "status": {
            "conditions": [
                {
                    "type": "Ready",
                    "status": "Unknown",
                    "lastHeartbeatTime": stamp,
                    "lastTransitionTime": stamp,
                    "reason": "NodeStatusNeverUpdated",
                    "message": "Kubelet never posted node status.",
                }
            ],
            "addresses": [{"type": "InternalIP", "address": address}, {"type": "Hostname", "address": node_name}],
            "daemonEndpoints": {"kubeletEndpoint": {"Port": 0}},
            "nodeInfo": {
                "machineID": "",
                "systemUUID": "",
                "bootID": "",
                "kernelVersion": "",
                "osImage": "",
                "containerRuntimeVersion": "",
                "kubeletVersion": "",
                "kubeProxyVersion": "",
                "operatingSystem": system,
                "architecture": arch,
            },
        },
    }


def node_cells(node, now):
    """``printNode``, wide: Ready Unknown prints ``NotReady``; roles from ``node-role.kubernetes.io/*``."""
    ready = next((c for c in node["status"]["conditions"] if c["type"] == "Ready"), None)
    status = "Unknown" if ready is None else "Ready" if ready["status"] == "True" else "NotReady"
    roles = (
        ",".join(
            sorted(k.split("/", 1)[1] for k in node["metadata"]["labels"] if k.startswith("node-role.kubernetes.io/"))
        )
        or "<none>"
    )
    info = node["status"]["nodeInfo"]
    internal = next((a["address"] for a in node["status"]["addresses"] if a["type"] == "InternalIP"), "<none>")
    age = human_duration((now - _parse(node["metadata"]["creationTimestamp"])).total_seconds())
    return [
        node["metadata"]["name"],
        status,
        roles,
        age,
        info["kubeletVersion"],
        internal,
        "<none>",
        info["osImage"] or "<unknown>",
        info["kernelVersion"] or "<unknown>",
        info["containerRuntimeVersion"] or "<unknown>",
    ]


def _parse(text):
    from datetime import datetime, timezone

    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)


def pod_log(pod_name, node_name, query, lines):
    """``GET .../pods/<name>/log``: the lab's log for kube-apiserver's pod, else the 400 of a cluster.

    ``tailLines`` and ``limitBytes`` are honoured; ``follow`` returns what there is and ends.
    """
    if pod_name != f"kube-apiserver-{node_name}":
        container = pod_name[: -len(node_name) - 1] if pod_name.endswith("-" + node_name) else pod_name
        return json_response(
            400,
            status_object(
                400,
                "BadRequest",
                f'container "{container}" in pod "{pod_name}" is waiting to start: the k8sauthlib '
                f"lab runs no containers; only kube-apiserver-{node_name} has a log (the lab's own)",
                {},
            ),
        )
    params = parse_qs(query or "")
    try:
        tail = int(params["tailLines"][0]) if "tailLines" in params else None
        limit = int(params["limitBytes"][0]) if "limitBytes" in params else None
    except ValueError:
        return json_response(400, status_object(400, "BadRequest", "tailLines and limitBytes must be integers", {}))
    if tail is not None:
        lines = lines[-tail:] if tail > 0 else []
    body = "".join(line + "\n" for line in lines).encode("utf-8")
    if limit is not None and limit >= 0:
        body = body[:limit]
    return Response(200, body, "text/plain")
