# METADATA
# title: hostPath outside the local profile
# description: >-
#   A hostPath volume reaches into the node's filesystem. Only the local profile (one machine,
#   `datomspod run` under podman) mounts host folders into the pod; on a cluster, inputs come
#   from read-only PersistentVolumes. A cluster profile may serve node folders under the
#   prefixes it lists (hostPathInputs) as such PersistentVolumes: never as a pod's volume.
# custom:
#   rule: host-path
#   severity: critical
package opsc.deny.host_path

import data.opsc.lib.k8s

local_profile if input.profile.mode == "local"

# A node folder the profile serves as a read-only PersistentVolume (hostPathInputs): under one of
# its folder prefixes (each ending in "/"), with no "." or ".." part.
served(path) if {
	folder := concat("", [trim_right(path, "/"), "/"])
	not contains(folder, "/../")
	not contains(folder, "/./")
	some prefix in object.get(input, ["profile", "hostPathPrefixes"], [])
	endswith(prefix, "/")
	startswith(folder, prefix)
}

deny contains violation if {
	not local_profile
	some pod in k8s.workloads
	some volume in object.get(pod.spec, "volumes", [])
	volume.hostPath
	violation := {
		"rule": "host-path",
		"msg": sprintf("%s mounts host folder %s (volume %s) outside the local profile", [pod.resource, volume.hostPath.path, volume.name]),
		"details": {"resource": pod.resource, "volume": volume.name, "profile": object.get(input, ["profile", "name"], "")},
	}
}

deny contains violation if {
	not local_profile
	some volume in k8s.objects("PersistentVolume")
	volume.spec.hostPath
	not served(volume.spec.hostPath.path)
	violation := {
		"rule": "host-path",
		"msg": sprintf("%s is backed by host folder %s outside the local profile", [k8s.resource_name(volume), volume.spec.hostPath.path]),
		"details": {"resource": k8s.resource_name(volume), "profile": object.get(input, ["profile", "name"], "")},
	}
}

deny contains violation if {
	not local_profile
	some index, asset in input.contract.inputs.data
	asset.location.kind == "hostPath"
	not served(asset.location.path)
	violation := {
		"rule": "host-path",
		"msg": sprintf("contract %s reads %s from a host folder, which only the local profile allows", [input.contract.id, asset.did]),
		"details": {"path": concat("", ["$.inputs.data[", format_int(index, 10), "].location"]), "profile": object.get(input, ["profile", "name"], "")},
	}
}
