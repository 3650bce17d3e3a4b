# METADATA
# title: Outputs without an output policy
# description: >-
#   datomspace-out releases outputs only under an output policy: a byte cap, the allowed file
#   types, whether the owner reviews them and whether raw records are barred. A contract whose
#   outputs lack that policy, or any of its four fields, lets anything leave.
# custom:
#   rule: output-policy
#   severity: critical
package opsc.deny.output_policy

required_fields := ["maxBytes", "fileTypes", "ownerReview", "noRawRecords"]

policy := object.get(input.contract, ["outputs", "policy"], null)

deny contains violation if {
	not is_object(policy)
	violation := {
		"rule": "output-policy",
		"msg": sprintf("contract %s lets outputs leave without an output policy", [input.contract.id]),
		"details": {"path": "$.outputs.policy"},
	}
}

deny contains violation if {
	is_object(policy)
	some field in required_fields
	object.get(policy, field, null) == null
	violation := {
		"rule": "output-policy",
		"msg": sprintf("the output policy of contract %s does not set %s", [input.contract.id, field]),
		"details": {"path": concat(".", ["$.outputs.policy", field])},
	}
}
