# METADATA
# title: Missing or invalid approval
# description: >-
#   Every data owner (and the witness) approves the exact algorithm (EIP-712). The approvals
#   are verified in TypeScript and passed in as input.facts.approvals; anything but a
#   verified, complete set is denied, an absent fact included.
# custom:
#   rule: approvals
#   severity: critical
package opsc.deny.approvals

import data.opsc.lib.parties

facts := object.get(input, ["facts", "approvals"], {})

deny contains violation if {
	some address in object.get(facts, "missing", [])
	violation := {
		"rule": "approvals",
		"msg": sprintf("%s has not approved the algorithm of contract %s", [parties.label(address), input.contract.id]),
		"details": {"address": address, "path": parties.path(address), "file": record_file(address)},
	}
}

deny contains violation if {
	some address in object.get(facts, "invalid", [])
	violation := {
		"rule": "approvals",
		"msg": sprintf("the approval of %s does not verify against the algorithm of contract %s", [parties.label(address), input.contract.id]),
		"details": {"address": address, "path": parties.path(address), "file": record_file(address)},
	}
}

deny contains violation if {
	not facts.ok == true
	count(object.get(facts, "missing", [])) + count(object.get(facts, "invalid", [])) == 0
	violation := {
		"rule": "approvals",
		"msg": sprintf("the approvals of contract %s are not verified", [input.contract.id]),
		"details": {"path": "$.parties"},
	}
}

record_file(address) := concat("", ["contracts/", input.contract.id, "/approvals/", address, ".json"])
