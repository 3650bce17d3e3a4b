# METADATA
# title: Short of Pod Security restricted
# description: >-
#   Every namespace of the instance enforces Pod Security "restricted", and every pod and
#   container meets that profile: no privilege, no host namespaces or ports, capabilities
#   dropped, no privilege escalation, non-root, a seccomp profile, restricted volume types and
#   safe sysctls. hostPath volumes are judged by the host-path rule (they are allowed in the
#   local profile only, which runs under podman, not an API server).
# custom:
#   rule: pod-security
#   severity: high
package opsc.deny.pod_security

import data.opsc.lib.k8s

enforce_label := "pod-security.kubernetes.io/enforce"

# Volume types Pod Security restricted allows (hostPath: see the host-path rule).
allowed_volume_types := {
	"configMap", "csi", "downwardAPI", "emptyDir", "ephemeral",
	"hostPath", "persistentVolumeClaim", "projected", "secret",
}

# The sysctls Pod Security baseline (and so restricted) allows.
safe_sysctls := {
	"kernel.shm_rmid_forced",
	"net.ipv4.ip_local_port_range",
	"net.ipv4.ip_local_reserved_ports",
	"net.ipv4.ip_unprivileged_port_start",
	"net.ipv4.ping_group_range",
	"net.ipv4.tcp_fin_timeout",
	"net.ipv4.tcp_keepalive_intvl",
	"net.ipv4.tcp_keepalive_probes",
	"net.ipv4.tcp_keepalive_time",
	"net.ipv4.tcp_syncookies",
}

allowed_selinux_types := {"", "container_t", "container_init_t", "container_kvm_t", "container_engine_t"}

confined_profiles := {"RuntimeDefault", "Localhost"}

deny contains violation if {
	count(k8s.objects("Namespace")) == 0
	violation := {
		"rule": "pod-security",
		"msg": "the instance renders no Namespace, so its Pod Security level is not enforced",
		"details": {"resource": "Namespace"},
	}
}

deny contains violation if {
	some namespace in k8s.namespaces
	not enforces_restricted(namespace)
	violation := {
		"rule": "pod-security",
		"msg": sprintf("namespace %s does not enforce Pod Security restricted (label %s: restricted)", [namespace, enforce_label]),
		"details": {"resource": concat(" ", ["Namespace", namespace]), "label": enforce_label},
	}
}

deny contains violation if {
	some [resource, problem] in pod_problems
	violation := {
		"rule": "pod-security",
		"msg": sprintf("%s: %s (Pod Security restricted)", [resource, problem]),
		"details": {"resource": resource, "problem": problem},
	}
}

deny contains violation if {
	some [resource, container, problem] in container_problems
	violation := {
		"rule": "pod-security",
		"msg": sprintf("container %s of %s: %s (Pod Security restricted)", [container, resource, problem]),
		"details": {"resource": resource, "container": container, "problem": problem},
	}
}

enforces_restricted(name) if {
	some namespace in k8s.objects("Namespace")
	namespace.metadata.name == name
	namespace.metadata.labels[enforce_label] == "restricted"
}

pod_problems contains [pod.resource, sprintf("%s must not be true", [field])] if {
	some pod in k8s.workloads
	some field in ["hostNetwork", "hostPID", "hostIPC"]
	pod.spec[field] == true
}

pod_problems contains [pod.resource, sprintf("volume %s: %s volumes are not allowed", [volume.name, type])] if {
	some pod in k8s.workloads
	some volume in object.get(pod.spec, "volumes", [])
	type := k8s.volume_type(volume)
	not type in allowed_volume_types
}

pod_problems contains [pod.resource, sprintf("sysctl %s is not in the safe set", [sysctl.name])] if {
	some pod in k8s.workloads
	some sysctl in object.get(pod.spec, ["securityContext", "sysctls"], [])
	not sysctl.name in safe_sysctls
}

pod_problems contains [pod.resource, concat(" ", ["securityContext:", problem])] if {
	some pod in k8s.workloads
	some problem in context_problems(object.get(pod.spec, "securityContext", {}))
}

container_problems contains [c.resource, c.name, "privileged must not be true"] if {
	some c in k8s.containers
	c.container.securityContext.privileged == true
}

container_problems contains [c.resource, c.name, "allowPrivilegeEscalation must be false"] if {
	some c in k8s.containers
	not c.container.securityContext.allowPrivilegeEscalation == false
}

container_problems contains [c.resource, c.name, "capabilities.drop must include ALL"] if {
	some c in k8s.containers
	not "ALL" in object.get(c.container, ["securityContext", "capabilities", "drop"], [])
}

container_problems contains [c.resource, c.name, sprintf("capability %s may not be added (only NET_BIND_SERVICE)", [capability])] if {
	some c in k8s.containers
	some capability in object.get(c.container, ["securityContext", "capabilities", "add"], [])
	capability != "NET_BIND_SERVICE"
}

container_problems contains [c.resource, c.name, "runAsNonRoot must be true (in the container or the pod)"] if {
	some c in k8s.containers
	not runs_as_non_root(c)
}

container_problems contains [c.resource, c.name, "seccompProfile.type must be RuntimeDefault or Localhost (in the container or the pod)"] if {
	some c in k8s.containers
	not confined(c)
}

container_problems contains [c.resource, c.name, "procMount must be Default"] if {
	some c in k8s.containers
	object.get(c.container, ["securityContext", "procMount"], "Default") != "Default"
}

container_problems contains [c.resource, c.name, sprintf("hostPort %d is not allowed", [port.hostPort])] if {
	some c in k8s.containers
	some port in object.get(c.container, "ports", [])
	object.get(port, "hostPort", 0) != 0
}

container_problems contains [c.resource, c.name, problem] if {
	some c in k8s.containers
	some problem in context_problems(object.get(c.container, "securityContext", {}))
}

runs_as_non_root(c) if k8s.effective(c, "runAsNonRoot") == true

confined(c) if k8s.effective(c, "seccompProfile").type in confined_profiles

# What restricted forbids in a pod's and in a container's securityContext alike.
context_problems(context) := {problem |
	some check in context_checks(context)
	check.failed
	problem := check.problem
}

context_checks(context) := [
	{"problem": "runAsUser must not be 0", "failed": object.get(context, "runAsUser", null) == 0},
	{
		"problem": "seccompProfile.type must not be Unconfined",
		"failed": object.get(context, ["seccompProfile", "type"], "") == "Unconfined",
	},
	{
		"problem": "appArmorProfile.type must not be Unconfined",
		"failed": object.get(context, ["appArmorProfile", "type"], "") == "Unconfined",
	},
	{
		"problem": concat(" ", ["seLinuxOptions.type", object.get(context, ["seLinuxOptions", "type"], ""), "is not allowed"]),
		"failed": disallowed_selinux_type(context),
	},
	{
		"problem": "seLinuxOptions.user must not be set",
		"failed": object.get(context, ["seLinuxOptions", "user"], "") != "",
	},
	{
		"problem": "seLinuxOptions.role must not be set",
		"failed": object.get(context, ["seLinuxOptions", "role"], "") != "",
	},
]

disallowed_selinux_type(context) := false if {
	object.get(context, ["seLinuxOptions", "type"], "") in allowed_selinux_types
} else := true
