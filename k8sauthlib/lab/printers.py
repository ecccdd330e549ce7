"""The Table columns kubectl get prints for the read-only resources the lab serves (pods, services).

``podColumnDefinitions`` and ``serviceColumnDefinitions`` of ``pkg/printers/internalversion/printers.go``
(kubernetes v1.32), each column's description being the swagger text of ``k8s.io/api/core/v1`` it
points at. The Node columns are in :mod:`.nodes`; the column record itself is :func:`.kinds.column`.
"""

from .kinds import AGE_COLUMN, NAME_COLUMN, column

#: ``podColumnDefinitions`` and ``serviceColumnDefinitions`` of ``pkg/printers/internalversion/printers.go``
#: with the swagger texts of ``k8s.io/api/core/v1`` they point at.
POD_COLUMNS = (
    NAME_COLUMN,
    column("Ready", "The aggregate readiness state of this pod for accepting traffic."),
    column("Status", "The aggregate status of the containers in this pod."),
    column(
        "Restarts",
        "The number of times the containers in this pod have been restarted and when the last "
        "container in this pod has restarted.",
    ),
    AGE_COLUMN,
    column(
        "IP", "podIP address allocated to the pod. Routable at least within the cluster. Empty if not yet allocated.", 1
    ),
    column(
        "Node",
        "NodeName indicates in which node this pod is scheduled. If empty, this pod is a candidate for "
        "scheduling by the scheduler defined in schedulerName. Once this field is set, the kubelet for "
        "this node becomes responsible for the lifecycle of this pod. This field should not be used to "
        "express a desire for the pod to be scheduled on a specific node. "
        "https://kubernetes.io/docs/concepts/scheduling-eviction/assign-pod-node/#nodename",
        1,
    ),
    column(
        "Nominated Node",
        "nominatedNodeName is set only when this pod preempts other pods on the node, but it "
        "cannot be scheduled right away as preemption victims receive their graceful "
        "termination periods. This field does not guarantee that the pod will be scheduled on "
        "this node. Scheduler may decide to place the pod elsewhere if other nodes become "
        "available sooner. Scheduler may also decide to give the resources on this node to a "
        "higher priority pod that is created after preemption. As a result, this field may be "
        "different than PodSpec.nodeName when the pod is scheduled.",
        1,
    ),
    column(
        "Readiness Gates",
        "If specified, all readiness gates will be evaluated for pod readiness. A pod is "
        "ready when all its containers are ready AND all conditions specified in the "
        'readiness gates have status equal to "True" More info: '
        "https://git.k8s.io/enhancements/keps/sig-network/580-pod-readiness-gates",
        1,
    ),
)
SERVICE_COLUMNS = (
    NAME_COLUMN,
    column("Type", "type determines how the Service is exposed. Defaults to ClusterIP."),
    column("Cluster-IP", "clusterIP is the IP address of the service and is usually assigned randomly."),
    column(
        "External-IP",
        "externalIPs is a list of IP addresses for which nodes in the cluster will also accept "
        "traffic for this service.",
    ),
    column("Port(s)", "The list of ports that are exposed by this service."),
    AGE_COLUMN,
    column("Selector", "Route service traffic to pods with label keys and values matching this selector.", 1),
)
