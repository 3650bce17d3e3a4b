# METADATA
# title: Kubernetes objects of the instance
# description: >-
#   The rendered manifests (input.manifests) seen as pod templates, containers, volumes and
#   namespaces, each with the name messages show for it ("Job dp-x/run-1").
# custom:
#   severity: none
package opsc.lib.k8s

# Kinds whose pod template sits at spec.template.spec.
template_kinds := {"DaemonSet", "Deployment", "Job", "ReplicaSet", "ReplicationController", "StatefulSet"}

# Mount paths of what a run reads (the Ocean Compute-to-Data layout of the computing role, and
# the datomspace-in role's view of the inputs and the contract); they must be read-only.
input_mount_prefixes := ["/data/inputs", "/data/ddos", "/data/transformations", "/datomspod/inputs", "/datomspod/contract"]

# The manifests of one kind.
objects(kind) := {obj | some obj in input.manifests; obj.kind == kind}

# The namespace of an object; "" for cluster-scoped objects.
namespace(obj) := object.get(obj, ["metadata", "namespace"], "")

# How messages name an object: "Kind namespace/name", or "Kind name" when cluster-scoped.
resource_name(obj) := concat("", [obj.kind, " ", namespace(obj), "/", obj.metadata.name]) if {
	namespace(obj) != ""
} else := concat("", [obj.kind, " ", obj.metadata.name])

pod_spec(obj) := obj.spec if obj.kind == "Pod"

pod_spec(obj) := obj.spec.template.spec if obj.kind in template_kinds

pod_spec(obj) := obj.spec.jobTemplate.spec.template.spec if obj.kind == "CronJob"

# Every pod the instance runs, by its index in the manifests: {resource, namespace, spec}.
# (Objects keyed by position rather than sets: a set would hash every pod spec it holds.)
workloads[index] := {"resource": resource_name(obj), "namespace": namespace(obj), "spec": spec} if {
	some index, obj in input.manifests
	spec := pod_spec(obj)
}

# Every container of every pod, init and ephemeral ones included, keyed by [pod, field, index]:
# {resource, name, container, pod_context} (pod_context: the pod's securityContext).
containers[[pod_index, field, index]] := {
	"resource": pod.resource,
	"name": container.name,
	"container": container,
	"pod_context": object.get(pod.spec, "securityContext", {}),
} if {
	some pod_index, pod in workloads
	some field in ["initContainers", "containers", "ephemeralContainers"]
	some index, container in object.get(pod.spec, field, [])
}

# The pods that run the computing role (the algorithm on the provider's data).
computing_pods[index] := pod if {
	some index, pod in workloads
	some field in ["initContainers", "containers"]
	some container in object.get(pod.spec, field, [])
	container.name == "computing"
}

computing_containers[key] := c if {
	some key, c in containers
	c.name == "computing"
}

# The instance's namespaces: the rendered Namespace objects and the namespaces of its pods.
namespaces := {obj.metadata.name | some obj in objects("Namespace")} | {pod.namespace | some pod in workloads}

# The volume type of a pod volume: its one member other than "name".
volume_type(volume) := type if {
	some type, _ in volume
	type != "name"
}

# A security context field as the container sees it: its own, else the pod's.
effective(c, field) := value if {
	value := c.container.securityContext[field]
} else := c.pod_context[field]

# Mounts that expose inputs to a container (data, DDOs, the algorithm code, the contract).
input_mounts contains {"resource": c.resource, "container": c.name, "mount": mount} if {
	some c in containers
	some mount in object.get(c.container, "volumeMounts", [])
	some prefix in input_mount_prefixes
	startswith(mount.mountPath, prefix)
}

# [pod, volume name] of every input mount.
input_mount_volumes := {[m.resource, m.mount.name] | some m in input_mounts}

# The pod volumes behind input mounts: {resource, volume}.
input_volumes contains {"resource": pod.resource, "volume": volume} if {
	some pod in workloads
	some volume in object.get(pod.spec, "volumes", [])
	[pod.resource, volume.name] in input_mount_volumes
}

# The PersistentVolumeClaims that hold inputs, as "namespace/name".
input_claims contains concat("/", [pod_namespace(v.resource), v.volume.persistentVolumeClaim.claimName]) if {
	some v in input_volumes
}

did_annotation := "datomspod.io/did"

# The claims and PersistentVolumes that hold inputs: those mounted as inputs (a claim, or the
# volume bound to it), and those the generator annotates with the DID of a dataset.
input_storage contains claim if {
	some claim in objects("PersistentVolumeClaim")
	concat("/", [namespace(claim), claim.metadata.name]) in input_claims
}

input_storage contains volume if {
	some volume in objects("PersistentVolume")
	concat("/", [volume.spec.claimRef.namespace, volume.spec.claimRef.name]) in input_claims
}

input_storage contains obj if {
	some obj in input.manifests
	obj.kind in {"PersistentVolume", "PersistentVolumeClaim"}
	obj.metadata.annotations[did_annotation]
}

pod_namespace(resource) := pod.namespace if {
	some pod in workloads
	pod.resource == resource
}
