# METADATA
# title: Evidence not anchored
# description: >-
#   Without anchoring, the evidence of a run lives only in git, which its operator can rewrite.
#   The cluster profile decides; the security score gives 10 points for anchoring.
# custom:
#   rule: anchoring
#   severity: warning
package opsc.warn.anchoring

warn contains warning if {
	not input.facts.anchoring == true
	warning := {
		"rule": "anchoring",
		"msg": sprintf("cluster profile %s does not anchor the evidence of contract %s on a chain", [object.get(input, ["profile", "name"], "(none)"), input.contract.id]),
		"details": {"path": "$.cluster"},
	}
}
