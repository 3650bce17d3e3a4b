# METADATA
# title: OPS-C verdict
# description: >-
#   The entrypoint, data.opsc.result: the openness, privacy and security scores with the
#   factors behind them, the scenario's weighted score, minimums and acceptable region, every
#   hard deny and every warning, and the leakage bound (the most the contract can ever let out).
#   A contract passes when nothing is denied, every minimum is met, its point lies inside the
#   region and its leakage bound is known and within the scenario's ceiling. Lists are sorted,
#   so output is stable.
# custom:
#   severity: critical
package opsc

import data.opsc.leakage
import data.opsc.scenario

violations := sorted({violation | some violation in data.opsc.deny[_].deny})

warnings := sorted({warning | some warning in data.opsc.warn[_].warn})

default pass := false

pass if {
	count(violations) == 0
	scenario.minimums_met
	scenario.inside_region
	leakage.ok
}

result := {
	"contract": input.contract.id,
	"scenario": input.scenario.name,
	"scores": scenario.scores,
	"factors": scenario.factors,
	"weighted": scenario.weighted,
	"minimums": scenario.minimums,
	"region": scenario.region,
	"inside_region": scenario.inside_region,
	"leakage": leakage.result,
	"deny": violations,
	"warn": warnings,
	"pass": pass,
}

# Findings ordered by rule, then message (wasm and Go order sets differently).
sorted(findings) := [finding |
	some key in sort({sort_key(f) | some f in findings})
	some finding in findings
	sort_key(finding) == key
]

sort_key(finding) := concat("\n", [finding.rule, finding.msg, json.marshal(finding.details)])
