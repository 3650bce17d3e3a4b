# METADATA
# title: Missing or invalid signature
# description: >-
#   Every party signs the contract's hash (EIP-712). The signatures are verified in TypeScript
#   and passed in as input.facts.signatures; anything but a verified, complete set is denied,
#   an absent fact included.
# custom:
#   rule: signatures
#   severity: critical
package opsc.deny.signatures

import data.opsc.lib.parties

facts := object.get(input, ["facts", "signatures"], {})

deny contains violation if {
	some address in object.get(facts, "missing", [])
	violation := {
		"rule": "signatures",
		"msg": sprintf("%s has not signed contract %s", [parties.label(address), input.contract.id]),
		"details": {"address": address, "path": parties.path(address), "file": record_file(address)},
	}
}

deny contains violation if {
	some address in object.get(facts, "invalid", [])
	violation := {
		"rule": "signatures",
		"msg": sprintf("the signature of %s does not verify against contract %s", [parties.label(address), input.contract.id]),
		"details": {"address": address, "path": parties.path(address), "file": record_file(address)},
	}
}

deny contains violation if {
	not facts.ok == true
	count(object.get(facts, "missing", [])) + count(object.get(facts, "invalid", [])) == 0
	violation := {
		"rule": "signatures",
		"msg": sprintf("the signatures of contract %s are not verified", [input.contract.id]),
		"details": {"path": "$.parties"},
	}
}

record_file(address) := concat("", ["contracts/", input.contract.id, "/signatures/", address, ".json"])
