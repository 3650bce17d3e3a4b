# METADATA
# title: Raw records out in a privacy-sensitive scenario
# description: >-
#   Where the data describes people (the scenario is privacySensitive), no row of the inputs
#   may leave: "raw-records" is not an output kind and the output policy sets noRawRecords.
# custom:
#   rule: raw-records
#   severity: critical
package opsc.deny.raw_records

sensitive if input.scenario.privacySensitive == true

deny contains violation if {
	sensitive
	"raw-records" in input.contract.outputs.kinds
	violation := {
		"rule": "raw-records",
		"msg": sprintf("contract %s lets raw records leave, which scenario %s forbids", [input.contract.id, input.scenario.name]),
		"details": {"path": "$.outputs.kinds", "scenario": input.scenario.name},
	}
}

deny contains violation if {
	sensitive
	policy := input.contract.outputs.policy
	not policy.noRawRecords == true
	violation := {
		"rule": "raw-records",
		"msg": sprintf("the output policy of contract %s does not set noRawRecords, which scenario %s requires", [input.contract.id, input.scenario.name]),
		"details": {"path": "$.outputs.policy.noRawRecords", "scenario": input.scenario.name},
	}
}
