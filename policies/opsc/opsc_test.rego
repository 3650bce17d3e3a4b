package opsc_test

import data.opsc

scenario := {
	"name": "s",
	"weights": {"openness": 1, "privacy": 1, "security": 1},
	"minimums": {"openness": 0, "privacy": 0, "security": 0},
	"region": {
		"openness": {"min": 0, "max": 100},
		"privacy": {"min": 0, "max": 100},
		"security": {"min": 0, "max": 100},
	},
}

leak := {"bytesPerRun": 1024, "metadataBitsPerRun": 30, "runs": 2, "boundBytes": 2056}

b_violation := {"rule": "b", "msg": "second", "details": {}}

a_violation := {"rule": "a", "msg": "first", "details": {"resource": "Job x"}}

result_with(violations, scores) := result if {
	result := opsc.result with input as {"contract": {"id": "x"}, "scenario": scenario, "facts": {"leakage": leak}}
		with data.opsc.deny as {"one": {"deny": violations}}
		with data.opsc.warn as {"one": {"warn": {b_violation}}}
		with data.opsc.scores.openness.score as scores[0]
		with data.opsc.scores.privacy.score as scores[1]
		with data.opsc.scores.security.score as scores[2]
		with data.opsc.scores.openness.factors as []
		with data.opsc.scores.privacy.factors as []
		with data.opsc.scores.security.factors as []
}

test_result_shape_exact if {
	result_with(set(), [10, 20, 30]) == {
		"contract": "x",
		"scenario": "s",
		"scores": {"openness": 10, "privacy": 20, "security": 30},
		"factors": {"openness": [], "privacy": [], "security": []},
		"weighted": 20,
		"minimums": {
			"openness": {"min": 0, "score": 10, "ok": true},
			"privacy": {"min": 0, "score": 20, "ok": true},
			"security": {"min": 0, "score": 30, "ok": true},
		},
		"region": {
			"openness": {"min": 0, "max": 100, "ok": true},
			"privacy": {"min": 0, "max": 100, "ok": true},
			"security": {"min": 0, "max": 100, "ok": true},
		},
		"inside_region": true,
		"leakage": {"bytesPerRun": 1024, "metadataBitsPerRun": 30, "runs": 2, "boundBytes": 2056, "max": null, "ok": true},
		"deny": [],
		"warn": [b_violation],
		"pass": true,
	}
}

test_any_violation_fails if {
	result := result_with({b_violation, a_violation}, [10, 20, 30])
	result.deny == [a_violation, b_violation]
	result.pass == false
}

test_outside_region_fails if {
	result_with(set(), [0, 0, 0]).pass == false
}

test_sorted_orders_by_rule_then_message_then_details if {
	c := {"rule": "a", "msg": "first", "details": {"resource": "Job a"}}
	opsc.sorted({b_violation, a_violation, c}) == [c, a_violation, b_violation]
}

test_unknown_leakage_bound_fails if {
	result := opsc.result with input as {"contract": {"id": "x"}, "scenario": scenario, "facts": {}}
		with data.opsc.deny as {}
		with data.opsc.warn as {}
		with data.opsc.scores.openness.score as 30
		with data.opsc.scores.privacy.score as 30
		with data.opsc.scores.security.score as 30
		with data.opsc.scores.openness.factors as []
		with data.opsc.scores.privacy.factors as []
		with data.opsc.scores.security.factors as []
	result.inside_region == true
	result.leakage.ok == false
	result.pass == false
}
