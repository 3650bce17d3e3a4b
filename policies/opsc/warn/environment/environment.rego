# METADATA
# title: Compute environment not fully reviewed
# description: >-
#   What runs is the environment's image, which contracts pin by digest, built from its locked
#   packages. An environment whose environment.json pins no image digest was not built and pinned
#   where it was reviewed, so only the contract's digest says which image runs. A contract that
#   sets a differential-privacy budget in an environment with no differential-privacy library
#   (OpenDP, diffprivlib, Tumult, PyDP, Opacus) relies on noise the algorithm adds by hand.
# custom:
#   rule: environment
#   severity: warning
package opsc.warn.environment

# Packages that implement differentially private releases.
dp_libraries := {"opendp", "diffprivlib", "tmlt-analytics", "python-dp", "opacus", "pipelinedp"}

warn contains warning if {
	input.environment.imageDigest == null
	warning := {
		"rule": "environment",
		"msg": sprintf("contract %s runs in environment %s, whose environment.json pins no image digest", [input.contract.id, input.environment.name]),
		"details": {"path": "$.inputs.algorithm.environment", "environment": input.environment.name},
	}
}

warn contains warning if {
	input.contract.inputs.algorithm.parameters.differentialPrivacyEpsilon
	installed := {p.name | some p in input.environment.packages}
	count(installed & dp_libraries) == 0
	warning := {
		"rule": "environment",
		"msg": sprintf("contract %s sets a differential-privacy budget, but environment %s has no differential-privacy library", [input.contract.id, input.environment.name]),
		"details": {"path": "$.inputs.algorithm.parameters.differentialPrivacyEpsilon", "environment": input.environment.name},
	}
}
