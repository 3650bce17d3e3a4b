package opsc.deny.network_egress_test

import data.opsc.deny.network_egress

job := {
	"kind": "Job",
	"metadata": {"name": "run-1", "namespace": "dp-x"},
	"spec": {"template": {"spec": {"initContainers": [{"name": "computing", "image": "a"}], "containers": [{"name": "oracle", "image": "b"}]}}},
}

deny_all := {
	"kind": "NetworkPolicy",
	"metadata": {"name": "deny-all", "namespace": "dp-x"},
	"spec": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]},
}

allow_dns := {
	"kind": "NetworkPolicy",
	"metadata": {"name": "allow-dns", "namespace": "dp-x"},
	"spec": {"podSelector": {}, "policyTypes": ["Egress"], "egress": [{"ports": [{"port": 53, "protocol": "UDP"}]}]},
}

test_deny_all_only_allowed if {
	count(network_egress.deny) == 0 with input.manifests as [job, deny_all]
}

test_egress_rule_denied if {
	network_egress.deny == {{
		"rule": "network-egress",
		"msg": "NetworkPolicy dp-x/allow-dns allows egress from the computing pod of Job dp-x/run-1",
		"details": {"resource": "NetworkPolicy dp-x/allow-dns", "pod": "Job dp-x/run-1"},
	}} with input.manifests as [job, deny_all, allow_dns]
}

test_egress_rule_in_other_namespace_allowed if {
	other := json.patch(allow_dns, [{"op": "replace", "path": "/metadata/namespace", "value": "elsewhere"}])
	count(network_egress.deny) == 0 with input.manifests as [job, deny_all, other]
}

test_host_network_denied if {
	host := json.patch(job, [{"op": "add", "path": "/spec/template/spec/hostNetwork", "value": true}])
	network_egress.deny == {{
		"rule": "network-egress",
		"msg": "Job dp-x/run-1 runs the computing pod on the host network",
		"details": {"resource": "Job dp-x/run-1", "field": "spec.template.spec.hostNetwork"},
	}} with input.manifests as [host, deny_all]
}

test_pod_without_computing_role_allowed if {
	other := json.patch(job, [{"op": "replace", "path": "/spec/template/spec/initContainers/0/name", "value": "setup"}])
	count(network_egress.deny) == 0 with input.manifests as [other, deny_all, allow_dns]
}
