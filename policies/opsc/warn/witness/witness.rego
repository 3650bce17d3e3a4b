# METADATA
# title: No witness
# description: >-
#   In a privacy-sensitive scenario an independent witness who signs and approves as well makes
#   a collusion of the other parties visible; the security score gives 5 points for one.
# custom:
#   rule: witness
#   severity: warning
package opsc.warn.witness

import data.opsc.lib.parties

warn contains warning if {
	input.scenario.privacySensitive == true
	not "witness" in parties.roles
	warning := {
		"rule": "witness",
		"msg": sprintf("contract %s has no witness in privacy-sensitive scenario %s", [input.contract.id, input.scenario.name]),
		"details": {"path": "$.parties"},
	}
}
