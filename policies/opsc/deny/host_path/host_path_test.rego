package opsc.deny.host_path_test

import data.opsc.deny.host_path

job := {
	"kind": "Job",
	"metadata": {"name": "run-1", "namespace": "dp-x"},
	"spec": {"template": {"spec": {"volumes": [{"name": "input-0", "hostPath": {"path": "/srv/data", "type": "Directory"}}]}}},
}

pv := {"kind": "PersistentVolume", "metadata": {"name": "dp-x-input-0"}, "spec": {"hostPath": {"path": "/srv/data"}}}

contract := {"id": "x", "inputs": {"data": [
	{"did": "did:op:1", "location": {"kind": "pvc", "claimName": "c"}},
	{"did": "did:op:2", "location": {"kind": "hostPath", "path": "/srv/data"}},
]}}

test_local_profile_allowed if {
	count(host_path.deny) == 0 with input as {"profile": {"name": "local", "mode": "local"}, "contract": contract, "manifests": [job, pv]}
}

test_cluster_profile_denied if {
	host_path.deny == {
		{
			"rule": "host-path",
			"msg": "Job dp-x/run-1 mounts host folder /srv/data (volume input-0) outside the local profile",
			"details": {"resource": "Job dp-x/run-1", "volume": "input-0", "profile": "prod"},
		},
		{
			"rule": "host-path",
			"msg": "PersistentVolume dp-x-input-0 is backed by host folder /srv/data outside the local profile",
			"details": {"resource": "PersistentVolume dp-x-input-0", "profile": "prod"},
		},
		{
			"rule": "host-path",
			"msg": "contract x reads did:op:2 from a host folder, which only the local profile allows",
			"details": {"path": "$.inputs.data[1].location", "profile": "prod"},
		},
	} with input as {"profile": {"name": "prod", "mode": "self-built"}, "contract": contract, "manifests": [job, pv]}
}

test_missing_profile_denied if {
	count(host_path.deny) == 3 with input as {"contract": contract, "manifests": [job, pv]}
}

test_served_folder_allowed_as_volume if {
	count(host_path.deny) == 0 with input as {"profile": {"name": "lab", "mode": "self-built", "hostPathPrefixes": ["/srv/"]}, "contract": contract, "manifests": [pv]}
}

test_served_folder_never_in_the_pod if {
	host_path.deny == {{
		"rule": "host-path",
		"msg": "Job dp-x/run-1 mounts host folder /srv/data (volume input-0) outside the local profile",
		"details": {"resource": "Job dp-x/run-1", "volume": "input-0", "profile": "lab"},
	}} with input as {"profile": {"name": "lab", "mode": "self-built", "hostPathPrefixes": ["/srv/"]}, "contract": contract, "manifests": [job, pv]}
}

test_folder_outside_or_climbing_out_of_the_prefixes_denied if {
	every prefixes in [["/srv/data/other/"], ["/sr/"], ["/srv/dat"]] {
		count(host_path.deny) == 2 with input as {"profile": {"name": "lab", "mode": "self-built", "hostPathPrefixes": prefixes}, "contract": contract, "manifests": [pv]}
	}
	count(host_path.deny) == 2 with input as {
		"profile": {"name": "lab", "mode": "self-built", "hostPathPrefixes": ["/srv/"]},
		"contract": {"id": "x", "inputs": {"data": [{"did": "did:op:2", "location": {"kind": "hostPath", "path": "/srv/../etc"}}]}},
		"manifests": [{"kind": "PersistentVolume", "metadata": {"name": "p"}, "spec": {"hostPath": {"path": "/srv/./x"}}}],
	}
}
