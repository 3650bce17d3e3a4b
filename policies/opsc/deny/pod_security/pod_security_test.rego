package opsc.deny.pod_security_test

import data.opsc.deny.pod_security

namespace := {"kind": "Namespace", "metadata": {"name": "dp-x", "labels": {"pod-security.kubernetes.io/enforce": "restricted"}}}

hardened := {"allowPrivilegeEscalation": false, "readOnlyRootFilesystem": true, "runAsNonRoot": true, "capabilities": {"drop": ["ALL"]}}

job := {
	"kind": "Job",
	"metadata": {"name": "run-1", "namespace": "dp-x"},
	"spec": {"template": {"spec": {
		"securityContext": {"runAsNonRoot": true, "runAsUser": 65532, "seccompProfile": {"type": "RuntimeDefault"}},
		"volumes": [{"name": "outputs", "emptyDir": {}}, {"name": "input-0", "persistentVolumeClaim": {"claimName": "c", "readOnly": true}}],
		"initContainers": [{"name": "computing", "image": "a", "securityContext": hardened}],
		"containers": [{"name": "oracle", "image": "b", "securityContext": hardened}],
	}}},
}

# The messages of the violations for `manifests`.
messages(manifests) := result if {
	result := {v.msg | some v in pod_security.deny} with input.manifests as manifests
}

patched(patch) := json.patch(job, patch)

test_restricted_allowed if {
	messages([namespace, job]) == set()
}

test_run_as_non_root_in_pod_only_allowed if {
	job_pod_level := patched([
		{"op": "remove", "path": "/spec/template/spec/initContainers/0/securityContext/runAsNonRoot"},
		{"op": "remove", "path": "/spec/template/spec/containers/0/securityContext/runAsNonRoot"},
	])
	messages([namespace, job_pod_level]) == set()
}

test_no_namespace_denied if {
	messages([job]) == {
		"the instance renders no Namespace, so its Pod Security level is not enforced",
		"namespace dp-x does not enforce Pod Security restricted (label pod-security.kubernetes.io/enforce: restricted)",
	}
}

test_baseline_namespace_denied if {
	baseline := json.patch(namespace, [{"op": "replace", "path": "/metadata/labels/pod-security.kubernetes.io~1enforce", "value": "baseline"}])
	pod_security.deny == {{
		"rule": "pod-security",
		"msg": "namespace dp-x does not enforce Pod Security restricted (label pod-security.kubernetes.io/enforce: restricted)",
		"details": {"resource": "Namespace dp-x", "label": "pod-security.kubernetes.io/enforce"},
	}} with input.manifests as [baseline, job]
}

test_privilege_escalation_denied if {
	escalating := patched([{"op": "remove", "path": "/spec/template/spec/containers/0/securityContext/allowPrivilegeEscalation"}])
	pod_security.deny == {{
		"rule": "pod-security",
		"msg": "container oracle of Job dp-x/run-1: allowPrivilegeEscalation must be false (Pod Security restricted)",
		"details": {"resource": "Job dp-x/run-1", "container": "oracle", "problem": "allowPrivilegeEscalation must be false"},
	}} with input.manifests as [namespace, escalating]
}

test_container_problems_denied if {
	bad := patched([
		{"op": "replace", "path": "/spec/template/spec/initContainers/0/securityContext", "value": {
			"privileged": true,
			"allowPrivilegeEscalation": false,
			"runAsNonRoot": false,
			"runAsUser": 0,
			"procMount": "Unmasked",
			"capabilities": {"drop": ["NET_RAW"], "add": ["SYS_ADMIN", "NET_BIND_SERVICE"]},
			"seccompProfile": {"type": "Unconfined"},
			"appArmorProfile": {"type": "Unconfined"},
			"seLinuxOptions": {"type": "spc_t", "user": "root"},
		}},
		{"op": "add", "path": "/spec/template/spec/initContainers/0/ports", "value": [{"containerPort": 80, "hostPort": 8080}, {"containerPort": 81}]},
	])
	messages([namespace, bad]) == {concat("", ["container computing of Job dp-x/run-1: ", problem, " (Pod Security restricted)"]) | some problem in {
		"privileged must not be true",
		"capabilities.drop must include ALL",
		"capability SYS_ADMIN may not be added (only NET_BIND_SERVICE)",
		"runAsNonRoot must be true (in the container or the pod)",
		"runAsUser must not be 0",
		"procMount must be Default",
		"hostPort 8080 is not allowed",
		"seccompProfile.type must be RuntimeDefault or Localhost (in the container or the pod)",
		"seccompProfile.type must not be Unconfined",
		"appArmorProfile.type must not be Unconfined",
		"seLinuxOptions.type spc_t is not allowed",
		"seLinuxOptions.user must not be set",
	}}
}

test_pod_problems_denied if {
	bad := patched([
		{"op": "add", "path": "/spec/template/spec/hostPID", "value": true},
		{"op": "add", "path": "/spec/template/spec/hostIPC", "value": false},
		{"op": "add", "path": "/spec/template/spec/volumes/-", "value": {"name": "sock", "nfs": {"server": "s", "path": "/"}}},
		{"op": "add", "path": "/spec/template/spec/volumes/-", "value": {"name": "data", "hostPath": {"path": "/var/lib/x"}}},
		{"op": "add", "path": "/spec/template/spec/securityContext/sysctls", "value": [{"name": "kernel.msgmax", "value": "1"}, {"name": "net.ipv4.tcp_syncookies", "value": "1"}]},
		{"op": "replace", "path": "/spec/template/spec/securityContext/runAsUser", "value": 0},
	])
	messages([namespace, bad]) == {concat("", ["Job dp-x/run-1: ", problem, " (Pod Security restricted)"]) | some problem in {
		"hostPID must not be true",
		"volume sock: nfs volumes are not allowed",
		"sysctl kernel.msgmax is not in the safe set",
		"securityContext: runAsUser must not be 0",
	}}
}

test_missing_seccomp_denied if {
	no_seccomp := patched([{"op": "remove", "path": "/spec/template/spec/securityContext/seccompProfile"}])
	messages([namespace, no_seccomp]) == {
		"container computing of Job dp-x/run-1: seccompProfile.type must be RuntimeDefault or Localhost (in the container or the pod) (Pod Security restricted)",
		"container oracle of Job dp-x/run-1: seccompProfile.type must be RuntimeDefault or Localhost (in the container or the pod) (Pod Security restricted)",
	}
}

test_run_as_non_root_nowhere_denied if {
	nowhere := patched([
		{"op": "remove", "path": "/spec/template/spec/securityContext/runAsNonRoot"},
		{"op": "remove", "path": "/spec/template/spec/initContainers/0/securityContext/runAsNonRoot"},
	])
	messages([namespace, nowhere]) == {"container computing of Job dp-x/run-1: runAsNonRoot must be true (in the container or the pod) (Pod Security restricted)"}
}
