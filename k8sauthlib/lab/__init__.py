"""A local lab API server that behaves like kube-apiserver wherever the book touches it.

``k8s.LabServer(directory)`` serves the kubeadm-like tree in ``directory`` on
``https://127.0.0.1:<port>``: client-certificate authentication, impersonation, RBAC with
the default ClusterRoles, discovery and OpenAPI v3, stored Namespaces, RBAC objects and CertificateSigningRequests (signed when
approved), read-only pods, the Node and the API server log, SelfSubjectReview/AccessReview/
RulesReview, with kube-apiserver's status codes and messages; what it does not serve it refuses
with a message that names the lab.
Real kubectl, curl and the official Python client work against it unchanged.

Modules, imports running downwards: :mod:`.cli` is ``k8sauthlib lab up``; :mod:`.server` (TLS,
the log) with :mod:`.transport`, :mod:`.http1` and :mod:`.http2` calls :mod:`.api` (the request
pipeline and routing), which uses :mod:`.impersonation`, :mod:`.rest`
(create/get/list/update/patch/delete) with :mod:`.patch`, :mod:`.validation`, :mod:`.escalation`,
:mod:`.certificates` (:mod:`.csradmission`, :mod:`.csr`, :mod:`.csrsigner`) and :mod:`.store`
(YAML files under ``lab/objects/``); :mod:`.reviews`, :mod:`.nodes`, :mod:`.pods`,
:mod:`.printers`, :mod:`.openapi`, :mod:`.discovery` (versions), :mod:`.selectors`; below them
:mod:`.auth` (authentication, the authorizer union), :mod:`.bootstrap` (the default policy) over
:mod:`.rbac` (evaluation), :mod:`.kinds` (schemas, tables), :mod:`.apierrors` (Status errors,
403 texts), :mod:`.attributes` (request attributes), :mod:`.protobuf` and :mod:`.wire` (bytes on
the wire).
"""

from ..errors import LabError
from .server import LabServer, read_manifest_flags

__all__ = ["LabServer", "LabError", "read_manifest_flags"]
