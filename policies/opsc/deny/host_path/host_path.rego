# METADATA
# title: hostPath outside the local profile
# description: >-
#   A hostPath volume reaches into the node's filesystem. Only the local profile (one machine,
#   `datomspod run` under podman) reads its inputs from host folders; on a cluster, inputs come
#   from read-only PersistentVolumes.
# custom:
#   rule: host-path
#   severity: critical
package opsc.deny.host_path

import data.opsc.lib.k8s

local_profile if input.profile.mode == "local"

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
	violation := {
		"rule": "host-path",
		"msg": sprintf("contract %s reads %s from a host folder, which only the local profile allows", [input.contract.id, asset.did]),
		"details": {"path": concat("", ["$.inputs.data[", format_int(index, 10), "].location"]), "profile": object.get(input, ["profile", "name"], "")},
	}
}
