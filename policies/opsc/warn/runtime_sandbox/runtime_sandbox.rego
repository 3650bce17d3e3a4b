# METADATA
# title: No sandboxed runtime
# description: >-
#   Under runc the algorithm shares the node's kernel with everything else on it. gVisor or
#   Kata put a kernel boundary in between, if the cluster profile provides them (the local
#   profile runs every runtime as the default). The security score gives 10 points for it.
# custom:
#   rule: runtime-sandbox
#   severity: warning
package opsc.warn.runtime_sandbox

import data.opsc.scores.security

warn contains warning if {
	not security.runtime in security.sandboxes
	warning := {
		"rule": "runtime-sandbox",
		"msg": sprintf("contract %s runs its algorithm under runtime %s, not a sandbox (gvisor, kata)", [input.contract.id, security.runtime]),
		"details": {"path": "$.inputs.compute.runtimeClass", "runtime": security.runtime},
	}
}

warn contains warning if {
	security.runtime in security.sandboxes
	not security.runtime_provided
	warning := {
		"rule": "runtime-sandbox",
		"msg": sprintf("cluster profile %s runs runtime %s of contract %s without a RuntimeClass, so not in a sandbox", [object.get(input, ["profile", "name"], "(none)"), security.runtime, input.contract.id]),
		"details": {"path": "$.inputs.compute.runtimeClass", "runtime": security.runtime},
	}
}
