# METADATA
# title: Validity ends soon
# description: The contract expires within seven days of input.now; runs not requested by then are lost.
# custom:
#   rule: validity-ending
#   severity: warning
package opsc.warn.validity_ending

import data.opsc.deny.validity

notice_seconds := 7 * 86400

warn contains warning if {
	left := validity.not_after - validity.now
	left > 0
	left <= notice_seconds
	warning := {
		"rule": "validity-ending",
		"msg": sprintf("contract %s expires at %s, within 7 days", [input.contract.id, input.contract.business.validity.notAfter]),
		"details": {"path": "$.business.validity.notAfter"},
	}
}
