package opsc.lib.k8s_test

import data.opsc.lib.k8s

job := {
	"apiVersion": "batch/v1",
	"kind": "Job",
	"metadata": {"name": "run-1", "namespace": "dp-x"},
	"spec": {"template": {"spec": {
		"securityContext": {"runAsNonRoot": true},
		"initContainers": [{"name": "computing", "image": "a@sha256:1", "securityContext": {"runAsNonRoot": false}}],
		"containers": [{"name": "oracle", "image": "b@sha256:2", "volumeMounts": [
			{"name": "in", "mountPath": "/data/inputs/did/svc", "readOnly": true},
			{"name": "out", "mountPath": "/data/outputs"},
		]}],
	}}},
}

cron := {
	"kind": "CronJob",
	"metadata": {"name": "nightly", "namespace": "dp-x"},
	"spec": {"jobTemplate": {"spec": {"template": {"spec": {"containers": [{"name": "c", "image": "c"}]}}}}},
}

pod := {"kind": "Pod", "metadata": {"name": "p", "namespace": "other"}, "spec": {"containers": [{"name": "d", "image": "d"}]}}

namespace := {"kind": "Namespace", "metadata": {"name": "dp-x"}}

test_resource_name_namespaced_and_cluster_scoped if {
	k8s.resource_name(job) == "Job dp-x/run-1"
	k8s.resource_name(namespace) == "Namespace dp-x"
}

test_workloads_finds_every_pod_template if {
	names := {w.resource | some w in k8s.workloads} with input as {"manifests": [job, cron, pod, namespace]}
	names == {"Job dp-x/run-1", "CronJob dp-x/nightly", "Pod other/p"}
}

test_containers_includes_init_containers if {
	names := {[c.resource, c.name] | some c in k8s.containers} with input as {"manifests": [job, pod]}
	names == {["Job dp-x/run-1", "computing"], ["Job dp-x/run-1", "oracle"], ["Pod other/p", "d"]}
}

test_computing_pods_only_pods_with_computing_role if {
	pods := {p.resource | some p in k8s.computing_pods} with input as {"manifests": [job, pod]}
	pods == {"Job dp-x/run-1"}
}

test_namespaces_rendered_and_used if {
	k8s.namespaces == {"dp-x", "other"} with input as {"manifests": [namespace, pod]}
}

test_effective_prefers_container_over_pod if {
	values := {c.name: k8s.effective(c, "runAsNonRoot") | some c in k8s.containers} with input as {"manifests": [job]}
	values == {"computing": false, "oracle": true}
}

test_input_mounts_only_input_paths if {
	mounts := {m.mount.mountPath | some m in k8s.input_mounts} with input as {"manifests": [job]}
	mounts == {"/data/inputs/did/svc"}
}

test_volume_type_is_the_non_name_member if {
	k8s.volume_type({"name": "v", "hostPath": {"path": "/x"}}) == "hostPath"
}
