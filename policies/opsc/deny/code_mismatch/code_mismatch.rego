# METADATA
# title: Algorithm code differs from the contract
# description: >-
#   The reviewed algorithm code must hash to inputs.algorithm.code.sha256, the value every party
#   signed. The hash is computed in TypeScript (input.facts.codeMatches); anything but true,
#   an absent fact included, is denied.
# custom:
#   rule: code-mismatch
#   severity: critical
package opsc.deny.code_mismatch

code := object.get(input.contract, ["inputs", "algorithm", "code"], {})

deny contains violation if {
	not input.facts.codeMatches == true
	violation := {
		"rule": "code-mismatch",
		"msg": sprintf("the algorithm code %s of contract %s does not hash to the signed sha256 %s", [
			object.get(code, "path", object.get(code, "cid", "(none)")),
			input.contract.id,
			object.get(code, "sha256", "(none)"),
		]),
		"details": {"path": "$.inputs.algorithm.code.sha256"},
	}
}
