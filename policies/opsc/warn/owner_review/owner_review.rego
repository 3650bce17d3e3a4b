# METADATA
# title: Outputs released without the owner's review
# description: >-
#   In a privacy-sensitive scenario the data provider should see the outputs before they are
#   released (outputs.policy.ownerReview); the privacy score gives 15 points for it.
# custom:
#   rule: owner-review
#   severity: warning
package opsc.warn.owner_review

warn contains warning if {
	input.scenario.privacySensitive == true
	not input.contract.outputs.policy.ownerReview == true
	warning := {
		"rule": "owner-review",
		"msg": sprintf("contract %s releases outputs without a data provider's review in privacy-sensitive scenario %s", [input.contract.id, input.scenario.name]),
		"details": {"path": "$.outputs.policy.ownerReview"},
	}
}
