package opsc.scores.security_test

import data.opsc.scores.security

digest := "sha256:7cf45657d8ee35479a8227a16d47520de3b13ac2a466ff720499de758b4cdd8a"

hardened := {
	"allowPrivilegeEscalation": false,
	"readOnlyRootFilesystem": true,
	"runAsNonRoot": true,
	"capabilities": {"drop": ["ALL"]},
}

limits := {"limits": {"cpu": "1", "memory": "1Gi"}}

instance := {
	"contract": {
		"id": "x",
		"parties": [
			{"address": "0x1", "role": "provider", "name": "P"},
			{"address": "0x2", "role": "witness", "name": "W"},
		],
		"inputs": {"algorithm": {"container": {"image": "algo", "digest": digest}}, "compute": {"runtimeClass": "gvisor"}},
	},
	"profile": {"name": "prod", "mode": "self-built", "runtimeClassName": "gvisor"},
	"facts": {
		"signatures": {"ok": true, "missing": [], "invalid": []},
		"approvals": {"ok": true, "missing": [], "invalid": []},
		"codeMatches": true,
		"anchoring": true,
	},
	"manifests": [
		{"kind": "Namespace", "metadata": {"name": "dp-x", "labels": {"pod-security.kubernetes.io/enforce": "restricted"}}},
		{
			"kind": "NetworkPolicy", "metadata": {"name": "deny-all", "namespace": "dp-x"},
			"spec": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]},
		},
		{"kind": "PersistentVolumeClaim", "metadata": {"name": "input-0", "namespace": "dp-x"}, "spec": {"accessModes": ["ReadOnlyMany"]}},
		{"kind": "PersistentVolumeClaim", "metadata": {"name": "sealed-run-1", "namespace": "dp-x"}, "spec": {"accessModes": ["ReadWriteOnce"]}},
		{"kind": "Job", "metadata": {"name": "run-1", "namespace": "dp-x"}, "spec": {"template": {"spec": {
			"runtimeClassName": "gvisor",
			"volumes": [
				{"name": "input-0", "persistentVolumeClaim": {"claimName": "input-0", "readOnly": true}},
				{"name": "sealed", "persistentVolumeClaim": {"claimName": "sealed-run-1"}},
			],
			"securityContext": {"runAsNonRoot": true, "seccompProfile": {"type": "RuntimeDefault"}},
			"initContainers": [{
				"name": "computing", "image": concat("@", ["algo", digest]), "securityContext": hardened, "resources": limits,
				"volumeMounts": [{"name": "input-0", "mountPath": "/data/inputs/did/svc", "readOnly": true}],
			}],
			"containers": [{"name": "oracle", "image": concat("@", ["pod", digest]), "securityContext": hardened, "resources": limits}],
		}}}},
	],
}

points(doc) := result if {
	result := {factor.id: factor.points | some factor in security.factors} with input as doc
}

score(doc) := result if {
	result := security.score with input as doc
}

patched(patch) := json.patch(instance, patch)

test_hardened_instance_scores_100 if {
	score(instance) == 100
}

test_factor_maxima_sum_to_100 if {
	sum([factor.max | some factor in security.factors]) == 100 with input as instance
}

test_each_weakness_costs_its_factor if {
	every case in [
		["images-pinned", [{"op": "replace", "path": "/manifests/4/spec/template/spec/containers/0/image", "value": "pod:latest"}]],
		["code-checksum", [{"op": "replace", "path": "/facts/codeMatches", "value": false}]],
		["signatures", [{"op": "replace", "path": "/facts/signatures/missing", "value": ["0x1"]}]],
		["approvals", [{"op": "remove", "path": "/facts/approvals"}]],
		["egress-denied", [{"op": "remove", "path": "/manifests/1"}]],
		["pod-security", [{"op": "remove", "path": "/manifests/0/metadata/labels"}]],
		["read-only-inputs", [{"op": "remove", "path": "/manifests/4/spec/template/spec/initContainers/0/volumeMounts/0/readOnly"}]],
		["read-only-inputs", [{"op": "replace", "path": "/manifests/2/spec/accessModes", "value": ["ReadWriteOnce"]}]],
		["read-only-inputs", [{"op": "remove", "path": "/manifests/4/spec/template/spec/volumes/0/persistentVolumeClaim/readOnly"}]],
		["read-only-root", [{"op": "remove", "path": "/manifests/4/spec/template/spec/containers/0/securityContext/readOnlyRootFilesystem"}]],
		["resource-limits", [{"op": "remove", "path": "/manifests/4/spec/template/spec/containers/0/resources/limits/memory"}]],
		["runtime-sandbox", [{"op": "remove", "path": "/manifests/4/spec/template/spec/runtimeClassName"}]],
		["no-literal-secrets", [{"op": "add", "path": "/manifests/4/spec/template/spec/containers/0/env", "value": [{"name": "TOKEN", "value": "t"}]}]],
		["anchoring", [{"op": "replace", "path": "/facts/anchoring", "value": false}]],
		["witness", [{"op": "remove", "path": "/contract/parties/1"}]],
	] {
		weakened := patched(case[1])
		lost := {id | some id, value in points(weakened); value < points(instance)[id]}
		lost == {case[0]}
	}
}

test_runtime_before_any_run_from_profile if {
	no_job := patched([{"op": "remove", "path": "/manifests/4"}])
	points(no_job)["runtime-sandbox"] == 10
	points(json.patch(no_job, [{"op": "replace", "path": "/profile/runtimeClassName", "value": null}]))["runtime-sandbox"] == 0
	points(json.patch(no_job, [{"op": "remove", "path": "/profile/runtimeClassName"}]))["runtime-sandbox"] == 0
}

test_runc_never_sandboxed if {
	runc := patched([{"op": "replace", "path": "/contract/inputs/compute/runtimeClass", "value": "runc"}])
	points(runc)["runtime-sandbox"] == 0
}

test_annotated_input_volume_must_be_read_only_many if {
	annotated := {"kind": "PersistentVolume", "metadata": {"name": "pv", "annotations": {"datomspod.io/did": "did:op:1"}}, "spec": {"accessModes": ["ReadWriteMany"], "nfs": {"server": "s", "path": "/", "readOnly": true}}}
	points(patched([{"op": "add", "path": "/manifests/-", "value": annotated}]))["read-only-inputs"] == 0
	read_only := json.patch(annotated, [{"op": "replace", "path": "/spec/accessModes", "value": ["ReadOnlyMany"]}])
	points(patched([{"op": "add", "path": "/manifests/-", "value": read_only}]))["read-only-inputs"] == 10
	writable := json.patch(read_only, [{"op": "replace", "path": "/spec/nfs/readOnly", "value": false}])
	points(patched([{"op": "add", "path": "/manifests/-", "value": writable}]))["read-only-inputs"] == 0
}

test_bound_volume_of_input_claim_checked if {
	bound := {"kind": "PersistentVolume", "metadata": {"name": "pv"}, "spec": {"accessModes": ["ReadWriteOnce"], "claimRef": {"namespace": "dp-x", "name": "input-0"}}}
	points(patched([{"op": "add", "path": "/manifests/-", "value": bound}]))["read-only-inputs"] == 0
}
