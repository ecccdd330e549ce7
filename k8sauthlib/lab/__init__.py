"""A local lab API server that behaves like kube-apiserver wherever the book touches it.

``k8s.LabServer(directory)`` serves the kubeadm-like tree in ``directory`` on
``https://127.0.0.1:<port>``: client-certificate authentication, RBAC, discovery, pods,
SelfSubjectReview/AccessReview/RulesReview, with kube-apiserver's status codes and messages.
Real kubectl, curl and the official Python client work against it unchanged.

Modules: :mod:`.server` (TLS, HTTP, threads, the log), :mod:`.auth` (request attributes,
authentication, the authorizer union, 403 messages), :mod:`.rbac` (RBAC evaluation and the
bootstrap policy), :mod:`.api` (routing and resources), :mod:`.protobuf` (kubectl's review
bodies), :mod:`.cli` (``k8sauthlib lab up``).
"""

from .server import LabError, LabServer, read_manifest_flags

__all__ = ["LabServer", "LabError", "read_manifest_flags"]
