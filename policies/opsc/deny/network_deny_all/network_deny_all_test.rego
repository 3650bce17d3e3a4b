package opsc.deny.network_deny_all_test

import data.opsc.deny.network_deny_all

namespace := {"kind": "Namespace", "metadata": {"name": "dp-x"}}

deny_all := {
	"kind": "NetworkPolicy",
	"metadata": {"name": "deny-all", "namespace": "dp-x"},
	"spec": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]},
}

missing := {{
	"rule": "network-deny-all",
	"msg": "namespace dp-x has no deny-all NetworkPolicy (podSelector {}, policyTypes Ingress and Egress, no rules)",
	"details": {"resource": "Namespace dp-x"},
}}

test_deny_all_allowed if {
	count(network_deny_all.deny) == 0 with input.manifests as [namespace, deny_all]
}

test_policy_types_in_any_order_allowed if {
	reordered := json.patch(deny_all, [{"op": "replace", "path": "/spec/policyTypes", "value": ["Egress", "Ingress"]}])
	count(network_deny_all.deny) == 0 with input.manifests as [namespace, reordered]
}

test_no_policy_denied if {
	network_deny_all.deny == missing with input.manifests as [namespace]
}

test_ingress_only_denied if {
	ingress_only := json.patch(deny_all, [{"op": "replace", "path": "/spec/policyTypes", "value": ["Ingress"]}])
	network_deny_all.deny == missing with input.manifests as [namespace, ingress_only]
}

test_policy_with_rules_denied if {
	with_rule := json.patch(deny_all, [{"op": "add", "path": "/spec/egress", "value": [{}]}])
	network_deny_all.deny == missing with input.manifests as [namespace, with_rule]
}

test_policy_selecting_some_pods_denied if {
	narrow := json.patch(deny_all, [{"op": "replace", "path": "/spec/podSelector", "value": {"matchLabels": {"app": "x"}}}])
	network_deny_all.deny == missing with input.manifests as [namespace, narrow]
}

test_policy_in_other_namespace_denied if {
	other := json.patch(deny_all, [{"op": "replace", "path": "/metadata/namespace", "value": "default"}])
	network_deny_all.deny == missing with input.manifests as [namespace, other]
}
