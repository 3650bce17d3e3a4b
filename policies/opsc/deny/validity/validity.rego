# METADATA
# title: Outside the validity window
# description: >-
#   A contract may be checked (and its instance rendered) only from business.validity.notBefore
#   (inclusive) until notAfter (exclusive). The time is input.now, passed in; the policy never
#   reads the clock. A timestamp that is not RFC 3339 UTC is denied too.
# custom:
#   rule: validity
#   severity: high
package opsc.deny.validity

import data.opsc.lib.timestamp

validity := object.get(input.contract, ["business", "validity"], {})

times := {
	"$.business.validity.notBefore": object.get(validity, "notBefore", ""),
	"$.business.validity.notAfter": object.get(validity, "notAfter", ""),
	"input.now": object.get(input, "now", ""),
}

now := timestamp.epoch_seconds(input.now)

not_before := timestamp.epoch_seconds(validity.notBefore)

not_after := timestamp.epoch_seconds(validity.notAfter)

deny contains violation if {
	now < not_before
	violation := {
		"rule": "validity",
		"msg": sprintf("contract %s is not valid before %s (now is %s)", [input.contract.id, validity.notBefore, input.now]),
		"details": {"path": "$.business.validity.notBefore"},
	}
}

deny contains violation if {
	now >= not_after
	violation := {
		"rule": "validity",
		"msg": sprintf("contract %s expired at %s (now is %s)", [input.contract.id, validity.notAfter, input.now]),
		"details": {"path": "$.business.validity.notAfter"},
	}
}

deny contains violation if {
	some path, value in times
	not parses(value)
	violation := {
		"rule": "validity",
		"msg": sprintf("%s of contract %s is not an RFC 3339 UTC timestamp: %s", [path, input.contract.id, json.marshal(value)]),
		"details": {"path": path},
	}
}

parses(value) if timestamp.epoch_seconds(value)
