# METADATA
# title: Computing pod has egress
# description: >-
#   The computing role runs the algorithm on the provider's data; no network path may leave
#   its pod. Any NetworkPolicy in the pod's namespace with an egress rule (whatever it selects:
#   the four roles share one pod), or host networking, is an exfiltration channel.
# custom:
#   rule: network-egress
#   severity: critical
package opsc.deny.network_egress

import data.opsc.lib.k8s

deny contains violation if {
	some pod in k8s.computing_pods
	some policy in k8s.objects("NetworkPolicy")
	k8s.namespace(policy) == pod.namespace
	count(object.get(policy, ["spec", "egress"], [])) > 0
	violation := {
		"rule": "network-egress",
		"msg": sprintf("%s allows egress from the computing pod of %s", [k8s.resource_name(policy), pod.resource]),
		"details": {"resource": k8s.resource_name(policy), "pod": pod.resource},
	}
}

deny contains violation if {
	some pod in k8s.computing_pods
	pod.spec.hostNetwork == true
	violation := {
		"rule": "network-egress",
		"msg": sprintf("%s runs the computing pod on the host network", [pod.resource]),
		"details": {"resource": pod.resource, "field": "spec.template.spec.hostNetwork"},
	}
}
