"""The static Pod manifests kubeadm writes to ``/etc/kubernetes/manifests`` (the lab writes the same).

Shape from Kubernetes v1.32, ``cmd/kubeadm/app/phases/controlplane/manifests.go``
(``GetStaticPodSpecs``, ``getAPIServerCommand``) and ``cmd/kubeadm/app/util/staticpod/utils.go``
(``ComponentPod``, ``LivenessProbe``, ``ReadinessProbe``, ``StartupProbe``).
"""

from __future__ import annotations

from .node import (
    CLUSTER_NAME,
    DNS_DOMAIN,
    ETCD_IMAGE_TAG,
    KUBERNETES_VERSION,
    LAB_ADDRESS,
    LAB_NODE_NAME,
    LAB_PORT,
    SERVICE_SUBNET,
)


def _probe(path, port, host, *, failure, delay=None, period=10, scheme="HTTPS"):
    probe = {
        "failureThreshold": failure,
        "httpGet": {"host": host, "path": path, "port": port, "scheme": scheme},
        "periodSeconds": period,
        "timeoutSeconds": 15,
    }
    if delay is not None:
        probe["initialDelaySeconds"] = delay
    return probe


def _host_path(name, path, kind="DirectoryOrCreate"):
    return {"hostPath": {"path": path, "type": kind}, "name": name}


def _pod(component, command, image, *, annotations=None, probes, cpu, volumes, mounts, memory=None):
    requests = {"cpu": cpu}
    if memory:
        requests["memory"] = memory
    container = {
        "command": command,
        "image": image,
        "imagePullPolicy": "IfNotPresent",
        "name": component,
        "resources": {"requests": requests},
        "volumeMounts": mounts,
        **probes,
    }
    metadata = {
        "creationTimestamp": None,
        "labels": {"component": component, "tier": "control-plane"},
        "name": component,
        "namespace": "kube-system",
    }
    if annotations:
        metadata["annotations"] = annotations
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": metadata,
        "spec": {
            "containers": [container],
            "hostNetwork": True,
            "priority": 2000001000,
            "priorityClassName": "system-node-critical",
            "securityContext": {"seccompProfile": {"type": "RuntimeDefault"}},
            "volumes": volumes,
        },
        "status": {},
    }


_CA_VOLUMES = [
    ("ca-certs", "/etc/ssl/certs"),
    ("etc-ca-certificates", "/etc/ca-certificates"),
    ("usr-local-share-ca-certificates", "/usr/local/share/ca-certificates"),
    ("usr-share-ca-certificates", "/usr/share/ca-certificates"),
]


def _mounts(pairs, read_only=True):
    return [{"mountPath": path, "name": name, **({"readOnly": True} if read_only else {})} for name, path in pairs]


def static_pod_manifests(
    *, node_name: str = LAB_NODE_NAME, address: str = LAB_ADDRESS, version: str = KUBERNETES_VERSION
) -> dict[str, dict]:
    """kubeadm's four control-plane static Pods (as dicts) with its default flags.

    Args:
        node_name: the node's name (etcd's ``--name``).
        address: the advertise address (the lab: ``127.0.0.1``).
        version: the Kubernetes version in the image tags.

    Returns:
        ``{"kube-apiserver": {...}, "etcd": {...}, "kube-controller-manager": {...}, "kube-scheduler": {...}}``
    """
    pki = "/etc/kubernetes/pki"
    apiserver = _pod(
        "kube-apiserver",
        [
            "kube-apiserver",
            f"--advertise-address={address}",
            "--allow-privileged=true",
            "--authorization-mode=Node,RBAC",
            f"--client-ca-file={pki}/ca.crt",
            "--enable-admission-plugins=NodeRestriction",
            "--enable-bootstrap-token-auth=true",
            f"--etcd-cafile={pki}/etcd/ca.crt",
            f"--etcd-certfile={pki}/apiserver-etcd-client.crt",
            f"--etcd-keyfile={pki}/apiserver-etcd-client.key",
            "--etcd-servers=https://127.0.0.1:2379",
            f"--kubelet-client-certificate={pki}/apiserver-kubelet-client.crt",
            f"--kubelet-client-key={pki}/apiserver-kubelet-client.key",
            "--kubelet-preferred-address-types=InternalIP,ExternalIP,Hostname",
            f"--proxy-client-cert-file={pki}/front-proxy-client.crt",
            f"--proxy-client-key-file={pki}/front-proxy-client.key",
            "--requestheader-allowed-names=front-proxy-client",
            f"--requestheader-client-ca-file={pki}/front-proxy-ca.crt",
            "--requestheader-extra-headers-prefix=X-Remote-Extra-",
            "--requestheader-group-headers=X-Remote-Group",
            "--requestheader-username-headers=X-Remote-User",
            f"--secure-port={LAB_PORT}",
            f"--service-account-issuer=https://kubernetes.default.svc.{DNS_DOMAIN}",
            f"--service-account-key-file={pki}/sa.pub",
            f"--service-account-signing-key-file={pki}/sa.key",
            f"--service-cluster-ip-range={SERVICE_SUBNET}",
            f"--tls-cert-file={pki}/apiserver.crt",
            f"--tls-private-key-file={pki}/apiserver.key",
        ],
        f"registry.k8s.io/kube-apiserver:{version}",
        annotations={"kubeadm.kubernetes.io/kube-apiserver.advertise-address.endpoint": f"{address}:{LAB_PORT}"},
        probes={
            "livenessProbe": _probe("/livez", LAB_PORT, address, failure=8, delay=10),
            "readinessProbe": _probe("/readyz", LAB_PORT, address, failure=3, period=1),
            "startupProbe": _probe("/livez", LAB_PORT, address, failure=24, delay=10),
        },
        cpu="250m",
        volumes=[_host_path(n, p) for n, p in _CA_VOLUMES[:2]]
        + [_host_path("k8s-certs", pki)]
        + [_host_path(n, p) for n, p in _CA_VOLUMES[2:]],
        mounts=_mounts(_CA_VOLUMES[:2] + [("k8s-certs", pki)] + _CA_VOLUMES[2:]),
    )
    etcd = _pod(
        "etcd",
        [
            "etcd",
            f"--advertise-client-urls=https://{address}:2379",
            f"--cert-file={pki}/etcd/server.crt",
            "--client-cert-auth=true",
            "--data-dir=/var/lib/etcd",
            "--experimental-initial-corrupt-check=true",
            "--experimental-watch-progress-notify-interval=5s",
            f"--initial-advertise-peer-urls=https://{address}:2380",
            f"--initial-cluster={node_name}=https://{address}:2380",
            f"--key-file={pki}/etcd/server.key",
            f"--listen-client-urls=https://127.0.0.1:2379,https://{address}:2379",
            "--listen-metrics-urls=http://127.0.0.1:2381",
            f"--listen-peer-urls=https://{address}:2380",
            f"--name={node_name}",
            f"--peer-cert-file={pki}/etcd/peer.crt",
            "--peer-client-cert-auth=true",
            f"--peer-key-file={pki}/etcd/peer.key",
            f"--peer-trusted-ca-file={pki}/etcd/ca.crt",
            "--snapshot-count=10000",
            f"--trusted-ca-file={pki}/etcd/ca.crt",
        ],
        f"registry.k8s.io/etcd:{ETCD_IMAGE_TAG}",
        annotations={"kubeadm.kubernetes.io/etcd.advertise-client-urls": f"https://{address}:2379"},
        probes={
            "livenessProbe": _probe("/livez", 2381, "127.0.0.1", failure=8, delay=10, scheme="HTTP"),
            "readinessProbe": _probe("/readyz", 2381, "127.0.0.1", failure=3, period=1, scheme="HTTP"),
            "startupProbe": _probe("/readyz", 2381, "127.0.0.1", failure=24, delay=10, scheme="HTTP"),
        },
        cpu="100m",
        memory="100Mi",
        volumes=[_host_path("etcd-certs", f"{pki}/etcd"), _host_path("etcd-data", "/var/lib/etcd")],
        mounts=_mounts([("etcd-data", "/var/lib/etcd"), ("etcd-certs", f"{pki}/etcd")], read_only=False),
    )
    cm_conf = "/etc/kubernetes/controller-manager.conf"
    flexvolume = "/usr/libexec/kubernetes/kubelet-plugins/volume/exec"
    controller_manager = _pod(
        "kube-controller-manager",
        [
            "kube-controller-manager",
            f"--authentication-kubeconfig={cm_conf}",
            f"--authorization-kubeconfig={cm_conf}",
            "--bind-address=127.0.0.1",
            f"--client-ca-file={pki}/ca.crt",
            f"--cluster-name={CLUSTER_NAME}",
            f"--cluster-signing-cert-file={pki}/ca.crt",
            f"--cluster-signing-key-file={pki}/ca.key",
            "--controllers=*,bootstrapsigner,tokencleaner",
            f"--kubeconfig={cm_conf}",
            "--leader-elect=true",
            f"--requestheader-client-ca-file={pki}/front-proxy-ca.crt",
            f"--root-ca-file={pki}/ca.crt",
            f"--service-account-private-key-file={pki}/sa.key",
            "--use-service-account-credentials=true",
        ],
        f"registry.k8s.io/kube-controller-manager:{version}",
        probes={
            "livenessProbe": _probe("/healthz", 10257, "127.0.0.1", failure=8, delay=10),
            "startupProbe": _probe("/healthz", 10257, "127.0.0.1", failure=24, delay=10),
        },
        cpu="200m",
        volumes=[_host_path(n, p) for n, p in _CA_VOLUMES[:2]]
        + [
            _host_path("flexvolume-dir", flexvolume),
            _host_path("k8s-certs", pki),
            _host_path("kubeconfig", cm_conf, "FileOrCreate"),
        ]
        + [_host_path(n, p) for n, p in _CA_VOLUMES[2:]],
        mounts=_mounts(_CA_VOLUMES[:2])
        + _mounts([("flexvolume-dir", flexvolume)], read_only=False)
        + _mounts([("k8s-certs", pki), ("kubeconfig", cm_conf)] + _CA_VOLUMES[2:]),
    )
    sched_conf = "/etc/kubernetes/scheduler.conf"
    scheduler = _pod(
        "kube-scheduler",
        [
            "kube-scheduler",
            f"--authentication-kubeconfig={sched_conf}",
            f"--authorization-kubeconfig={sched_conf}",
            "--bind-address=127.0.0.1",
            f"--kubeconfig={sched_conf}",
            "--leader-elect=true",
        ],
        f"registry.k8s.io/kube-scheduler:{version}",
        probes={
            "livenessProbe": _probe("/livez", 10259, "127.0.0.1", failure=8, delay=10),
            "readinessProbe": _probe("/readyz", 10259, "127.0.0.1", failure=3, period=1),
            "startupProbe": _probe("/livez", 10259, "127.0.0.1", failure=24, delay=10),
        },
        cpu="100m",
        volumes=[_host_path("kubeconfig", sched_conf, "FileOrCreate")],
        mounts=_mounts([("kubeconfig", sched_conf)]),
    )
    return {
        "etcd": etcd,
        "kube-apiserver": apiserver,
        "kube-controller-manager": controller_manager,
        "kube-scheduler": scheduler,
    }


__all__ = ["static_pod_manifests"]
