# METADATA
# title: Security score
# description: >-
#   How well the instance is isolated and its integrity proven, 0 to 100: digest-pinned images,
#   the code checksum, every signature and approval, no egress, Pod Security restricted,
#   read-only inputs and root filesystems, resource limits, a sandboxed runtime, no literal
#   secrets, anchoring on chain and a witness. Each factor reports its points and maximum.
# custom:
#   severity: none
package opsc.scores.security

import data.opsc.deny
import data.opsc.lib.k8s
import data.opsc.lib.parties
import data.opsc.lib.tiers

# Runtime classes that put a kernel boundary (gVisor, Kata VMs) between the algorithm and the node.
sandboxes := {"gvisor", "kata"}

facts := object.get(input, "facts", {})

images_pinned := count(deny.image_digest.deny | deny.computing_image.deny) == 0

code_matches := object.get(facts, "codeMatches", false) == true

signed := count(deny.signatures.deny) == 0

approved := count(deny.approvals.deny) == 0

egress_denied := count(deny.network_egress.deny | deny.network_deny_all.deny) == 0

pod_security_restricted := count(deny.pod_security.deny) == 0

no_literal_secrets := count(deny.literal_secret.deny) == 0

anchoring := object.get(facts, "anchoring", false) == true

witness := "witness" in parties.roles

default read_only_inputs := false

# Every input mount is read-only; so is every volume behind one, and every claim and
# PersistentVolume that holds inputs asks for ReadOnlyMany only.
read_only_inputs if {
	every m in k8s.input_mounts {
		m.mount.readOnly == true
	}
	every v in k8s.input_volumes {
		read_only_source(v.volume)
	}
	every claim in k8s.input_storage {
		{mode | some mode in claim.spec.accessModes} == {"ReadOnlyMany"}
		read_only_source(claim.spec)
	}
}

# A volume source that could be mounted writable says readOnly: true (Kubernetes defaults
# to writable).
read_only_source(source) if {
	every settings in object.filter(source, {"persistentVolumeClaim", "csi", "nfs"}) {
		settings.readOnly == true
	}
}

default read_only_root := false

read_only_root if {
	every c in k8s.containers {
		c.container.securityContext.readOnlyRootFilesystem == true
	}
}

default limits := false

limits if {
	every c in k8s.containers {
		c.container.resources.limits.cpu
		c.container.resources.limits.memory
	}
}

# The runtime the contract asks for; runc when it names none.
runtime := object.get(input.contract, ["inputs", "compute", "runtimeClass"], "runc")

# The RuntimeClass names the pods run under (null: the node's default, runc); before any run is
# rendered, the one the cluster profile maps the contract's runtime to.
runtime_class_names := {object.get(pod.spec, "runtimeClassName", null) | some pod in k8s.workloads} if {
	count(k8s.workloads) > 0
} else := {object.get(input, ["profile", "runtimeClassName"], null)}

# The cluster gives the contract's runtime a RuntimeClass of its own (the local profile maps
# every runtime to the default).
default runtime_provided := false

runtime_provided if not null in runtime_class_names

default sandboxed := false

sandboxed if {
	runtime in sandboxes
	runtime_provided
}

factors := [
	{"id": "images-pinned", "title": "every image pinned by digest, the computing one as agreed", "value": images_pinned, "points": tiers.points_if(images_pinned, 10), "max": 10},
	{"id": "code-checksum", "title": "the committed algorithm code hashes to the contract's sha256", "value": code_matches, "points": tiers.points_if(code_matches, 10), "max": 10},
	{"id": "signatures", "title": "every party signed the contract", "value": signed, "points": tiers.points_if(signed, 5), "max": 5},
	{"id": "approvals", "title": "every data owner (and the witness) approved the algorithm", "value": approved, "points": tiers.points_if(approved, 5), "max": 5},
	{"id": "egress-denied", "title": "deny-all NetworkPolicy, no egress from the computing pod", "value": egress_denied, "points": tiers.points_if(egress_denied, 10), "max": 10},
	{"id": "pod-security", "title": "Pod Security restricted", "value": pod_security_restricted, "points": tiers.points_if(pod_security_restricted, 10), "max": 10},
	{"id": "read-only-inputs", "title": "inputs, DDOs and code mounted read-only", "value": read_only_inputs, "points": tiers.points_if(read_only_inputs, 10), "max": 10},
	{"id": "read-only-root", "title": "read-only root filesystem in every container", "value": read_only_root, "points": tiers.points_if(read_only_root, 5), "max": 5},
	{"id": "resource-limits", "title": "cpu and memory limits on every container", "value": limits, "points": tiers.points_if(limits, 5), "max": 5},
	{"id": "runtime-sandbox", "title": "sandboxed runtime class (gvisor, kata)", "value": {"runtime": runtime, "provided": runtime_provided}, "points": tiers.points_if(sandboxed, 10), "max": 10},
	{"id": "no-literal-secrets", "title": "no literal secret in the manifests", "value": no_literal_secrets, "points": tiers.points_if(no_literal_secrets, 5), "max": 5},
	{"id": "anchoring", "title": "evidence anchored on a chain", "value": anchoring, "points": tiers.points_if(anchoring, 10), "max": 10},
	{"id": "witness", "title": "a witness is a party", "value": witness, "points": tiers.points_if(witness, 5), "max": 5},
]

score := min({100, sum([factor.points | some factor in factors])})
