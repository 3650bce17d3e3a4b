# METADATA
# title: Deny-all NetworkPolicy missing
# description: >-
#   Every namespace of the instance must carry a NetworkPolicy that selects every pod
#   (podSelector {}), lists both Ingress and Egress in policyTypes and has no rules: the
#   default is no traffic at all, so a later policy cannot silently open the computing pod.
# custom:
#   rule: network-deny-all
#   severity: critical
package opsc.deny.network_deny_all

import data.opsc.lib.k8s

deny contains violation if {
	some namespace in k8s.namespaces
	not has_deny_all(namespace)
	violation := {
		"rule": "network-deny-all",
		"msg": sprintf("namespace %s has no deny-all NetworkPolicy (podSelector {}, policyTypes Ingress and Egress, no rules)", [namespace]),
		"details": {"resource": concat(" ", ["Namespace", namespace])},
	}
}

has_deny_all(namespace) if {
	some policy in k8s.objects("NetworkPolicy")
	k8s.namespace(policy) == namespace
	policy.spec.podSelector == {}
	{"Ingress", "Egress"} == {type | some type in policy.spec.policyTypes}
	count(object.get(policy.spec, "ingress", [])) == 0
	count(object.get(policy.spec, "egress", [])) == 0
}
