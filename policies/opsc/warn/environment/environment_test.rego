package opsc.warn.environment_test

import data.opsc.warn.environment

env(digest, packages) := {"name": "e", "imageDigest": digest, "packages": [{"name": p, "version": "1"} | some p in packages]}

contract(parameters) := {"id": "x", "inputs": {"algorithm": {"parameters": parameters}}}

test_pinned_environment_quiet if {
	count(environment.warn) == 0 with input as {"contract": contract({}), "environment": env("sha256:ab", [])}
}

test_unpinned_environment_warned if {
	environment.warn == {{
		"rule": "environment",
		"msg": "contract x runs in environment e, whose environment.json pins no image digest",
		"details": {"path": "$.inputs.algorithm.environment", "environment": "e"},
	}} with input as {"contract": contract({}), "environment": env(null, ["numpy"])}
}

test_dp_budget_without_library_warned if {
	environment.warn == {{
		"rule": "environment",
		"msg": "contract x sets a differential-privacy budget, but environment e has no differential-privacy library",
		"details": {"path": "$.inputs.algorithm.parameters.differentialPrivacyEpsilon", "environment": "e"},
	}} with input as {"contract": contract({"differentialPrivacyEpsilon": 1}), "environment": env("sha256:ab", ["numpy", "pandas"])}
}

test_dp_budget_with_library_quiet if {
	count(environment.warn) == 0 with input as {"contract": contract({"differentialPrivacyEpsilon": 1}), "environment": env("sha256:ab", ["opendp", "numpy"])}
}

test_no_environment_quiet if {
	count(environment.warn) == 0 with input as {"contract": contract({"differentialPrivacyEpsilon": 1})}
}
