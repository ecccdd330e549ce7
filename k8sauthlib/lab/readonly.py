"""The resources the lab serves read-only: the mirror pods, the control-plane Node, the
``kubernetes`` Service; and the Table answers (``Accept: ...;as=Table``) of every served kind.

Moved out of :mod:`.api` (which routes to them). Lists, gets, field and label selectors and the
Table rendering are kube-apiserver's (``staging/src/k8s.io/apiserver/pkg/endpoints/handlers/get.go``,
``pkg/printers/internalversion/printers.go``, kubernetes v1.32); writes are refused with 405.
"""

import uuid
from datetime import datetime, timezone

from . import nodes as nodes_module
from .pods import LAB_POD_REASON
from .printers import POD_COLUMNS, SERVICE_COLUMNS
from .rest import WATCH_REFUSED
from .selectors import fields_match, labels_match, parse_field_selector, parse_label_selector
from .wire import Response, encode_object, human_duration, json_response, rfc3339, status_object


def wants_table(req):
    """Whether the request asks for a ``meta.k8s.io`` Table (kubectl get's Accept header)."""
    accept = req.headers.get("accept", "")
    return "as=Table" in accept and "g=meta.k8s.io" in accept


def object_not_found(resource, name):
    """kube-apiserver's 404 for a named object that does not exist."""
    return json_response(
        404, status_object(404, "NotFound", f'{resource} "{name}" not found', {"name": name, "kind": resource})
    )


def parse_time(text):
    """An RFC 3339 timestamp as the objects carry it (``2026-12-06T12:00:00Z``)."""
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)


class ReadOnlyResources:
    """Get and list (and Tables) of the read-only resources, and Tables of the stored kinds.

    Args:
        store: the API's :class:`~.store.ObjectStore` (its resource version; the stored kinds).
        rest: the API's :class:`~.rest.RestHandler` (selectors of the stored kinds).
        mirror_pods: ``{name: MirrorPod}``.
        node_name: the control-plane Node's name.
        server_address: ``host:port`` the lab listens on.
        started: when the lab started.
    """

    def __init__(self, store, rest, mirror_pods, node_name, server_address, started):
        self.store = store
        self.rest = rest
        self.mirror_pods = mirror_pods
        self.node_name = node_name
        self.server_address = server_address
        self.started = started
        self._list_memo = {}  # kind -> (key, objects, encoded list): see list_or_get

    @property
    def resource_version(self):
        return self.store.resource_version

    def table(self, req, objects, columns, cells):
        """A ``meta.k8s.io/v1`` Table of ``objects`` (full objects), sent as ``application/json``.

        kube-apiserver answers the Table Accept with ``Content-Type: application/json`` and the
        column descriptions of its printers (``pkg/printers/internalversion/printers.go``).
        """
        include = "Object" if "includeObject=Object" in (req.query or "") else "PartialObjectMetadata"
        rows = []
        for obj in objects:
            row_object = (
                dict(obj, kind=obj.get("kind"), apiVersion=obj.get("apiVersion"))
                if include == "Object"
                else {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": obj["metadata"]}
            )
            rows.append({"cells": cells(obj), "object": row_object})
        table = {
            "kind": "Table",
            "apiVersion": "meta.k8s.io/v1",
            "metadata": {"resourceVersion": self.resource_version},
            "columnDefinitions": list(columns),
            "rows": rows,
        }
        return encode_object(req, 200, table)

    def stored_table(self, req, attrs, kind):
        if attrs.verb == "get":
            obj = self.store.get(kind, attrs.namespace, attrs.name)
            if obj is None:
                return object_not_found(kind.qualified, attrs.name)
            objects = [obj]
        else:
            objects = self.rest.select(req, attrs, kind, self.store.list(kind, attrs.namespace))
        return self.table(
            req, objects, kind.columns, lambda o: kind.row(o, self.age(parse_time(o["metadata"]["creationTimestamp"])))
        )

    def list_or_get(self, req, attrs, *, resource, kind_name, objects, fields, columns, cells, shared=False):
        """List/get for the read-only resources; ``objects`` are full objects.

        ``shared``: the objects are shared and never changed (the mirror pods'
        :meth:`~.pods.MirrorPod.to_pod`), so a list of the same objects is encoded once."""
        if req.method not in ("GET", "HEAD") or attrs.verb not in ("get", "list"):
            if attrs.verb == "watch":
                return json_response(405, status_object(405, "MethodNotAllowed", WATCH_REFUSED, {}))
            return json_response(
                405,
                status_object(
                    405,
                    "MethodNotAllowed",
                    f"the k8sauthlib lab serves {resource} read-only (get, list): it runs no "
                    f"controllers or kubelet to act on them",
                    {},
                ),
            )
        if attrs.verb == "get":
            selected = [
                o
                for o in objects
                if o["metadata"]["name"] == attrs.name and o["metadata"].get("namespace", "") == attrs.namespace
            ]
            if not selected:
                return object_not_found(resource, attrs.name)
        else:
            labels = parse_label_selector(req.query)
            terms = parse_field_selector(req.query, kind_name)
            selected = [
                o
                for o in objects
                if (not attrs.namespace or o["metadata"].get("namespace") == attrs.namespace)
                and labels_match(o["metadata"].get("labels") or {}, labels)
                and fields_match(fields(o), terms)
            ]
        if wants_table(req):
            return self.table(req, selected, columns, cells)
        if attrs.verb == "get":
            return encode_object(req, 200, selected[0])
        key = (kind_name, self.resource_version, tuple(map(id, selected)))
        memo = self._list_memo.get(kind_name) if shared else None
        if memo is not None and memo[0] == key:
            return Response(200, memo[2])
        items = [{k: v for k, v in o.items() if k not in ("kind", "apiVersion")} for o in selected]
        response = encode_object(
            req,
            200,
            {
                "kind": kind_name + "List",
                "apiVersion": "v1",
                "metadata": {"resourceVersion": self.resource_version},
                "items": items,
            },
        )
        if shared:
            # The encoded list, kept with the objects it was made of: while they live, an equal key
            # (the same objects, the same resource version) means the same bytes.
            self._list_memo[kind_name] = (key, selected, response.body)
        return response

    def age(self, created):
        return human_duration((datetime.now(timezone.utc) - created).total_seconds())

    def pods(self, req, attrs, identity):
        objects = [p.to_pod(self.resource_version) for p in self.mirror_pods.values()]
        ages = {p.name: self.age(p.created) for p in self.mirror_pods.values()}

        def cells(pod):
            return [
                pod["metadata"]["name"],
                f"0/{len(pod['spec'].get('containers') or [])}",
                LAB_POD_REASON,
                "0",
                ages[pod["metadata"]["name"]],
                "<none>",
                pod["spec"]["nodeName"],
                "<none>",
                "<none>",
            ]

        def fields(pod):
            spec, status = pod["spec"], pod["status"]
            return {
                "metadata.name": pod["metadata"]["name"],
                "metadata.namespace": pod["metadata"]["namespace"],
                "spec.nodeName": spec.get("nodeName", ""),
                "spec.restartPolicy": spec.get("restartPolicy", ""),
                "spec.schedulerName": spec.get("schedulerName", ""),
                "spec.serviceAccountName": spec.get("serviceAccountName", ""),
                "spec.hostNetwork": str(bool(spec.get("hostNetwork"))).lower(),
                "status.phase": status.get("phase", ""),
                "status.podIP": status.get("podIP", ""),
                "status.podIPs": "",
                "status.nominatedNodeName": status.get("nominatedNodeName", ""),
            }

        return self.list_or_get(
            req,
            attrs,
            resource="pods",
            kind_name="Pod",
            objects=objects,
            fields=fields,
            columns=POD_COLUMNS,
            cells=cells,
            shared=True,
        )

    def nodes(self, req, attrs, identity):
        node = nodes_module.node_object(
            self.node_name, self.started, self.resource_version, self.server_address.rsplit(":", 1)[0]
        )

        def fields(o):
            return {"metadata.name": o["metadata"]["name"], "spec.unschedulable": "false"}

        now = datetime.now(timezone.utc)
        return self.list_or_get(
            req,
            attrs,
            resource="nodes",
            kind_name="Node",
            objects=[node],
            fields=fields,
            columns=nodes_module.NODE_COLUMNS,
            cells=lambda o: nodes_module.node_cells(o, now),
        )

    def service_object(self, name):
        port = int(self.server_address.rsplit(":", 1)[1])
        return {
            "kind": "Service",
            "apiVersion": "v1",
            "metadata": {
                "name": name,
                "namespace": "default",
                "uid": str(uuid.uuid5(uuid.NAMESPACE_URL, "k8sauthlib-lab-svc/" + name)),
                "resourceVersion": self.resource_version,
                "creationTimestamp": rfc3339(self.started),
                "labels": {"component": "apiserver", "provider": "kubernetes"},
            },
            "spec": {
                "ports": [{"name": "https", "protocol": "TCP", "port": 443, "targetPort": port}],
                "clusterIP": "10.96.0.1",
                "clusterIPs": ["10.96.0.1"],
                "type": "ClusterIP",
                "sessionAffinity": "None",
                "ipFamilies": ["IPv4"],
                "ipFamilyPolicy": "SingleStack",
                "internalTrafficPolicy": "Cluster",
            },
            "status": {"loadBalancer": {}},
        }

    def services(self, req, attrs, identity):
        # The "kubernetes" Service in "default" is kept by kube-apiserver itself; the lab has no
        # CoreDNS, so kube-system has no kube-dns Service and cluster-info prints only the
        # control plane line.
        objects = [self.service_object("kubernetes")]

        def fields(o):
            return {"metadata.name": o["metadata"]["name"], "metadata.namespace": o["metadata"]["namespace"]}

        return self.list_or_get(
            req,
            attrs,
            resource="services",
            kind_name="Service",
            objects=objects,
            fields=fields,
            columns=SERVICE_COLUMNS,
            cells=lambda o: [
                o["metadata"]["name"],
                "ClusterIP",
                "10.96.0.1",
                "<none>",
                "443/TCP",
                self.age(self.started),
                "<none>",
            ],
        )
