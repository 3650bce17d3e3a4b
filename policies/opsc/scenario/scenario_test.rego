package opsc.scenario_test

import data.opsc.scenario

medical := {
	"name": "medical-research",
	"weights": {"openness": 20, "privacy": 45, "security": 35},
	"minimums": {"openness": 20, "privacy": 60, "security": 80},
	"region": {
		"openness": {"min": 0, "max": 30},
		"privacy": {"min": 30, "max": 100},
		"security": {"min": 30, "max": 100},
	},
}

# Judges the scores [openness, privacy, security] under the medical-research scenario.
judge(scores) := result if {
	result := {
		"weighted": scenario.weighted,
		"minimums_met": scenario.minimums_met,
		"inside_region": scenario.inside_region,
		"region": {axis: bounds.ok | some axis, bounds in scenario.region},
	} with input.scenario as medical
		with data.opsc.scores.openness.score as scores[0]
		with data.opsc.scores.privacy.score as scores[1]
		with data.opsc.scores.security.score as scores[2]
}

test_hospital_inside_and_above_minimums if {
	# (20 * 34 + 45 * 60 + 35 * 90) / 100 = 65.3
	judge([34, 60, 90]) == {
		"weighted": 65,
		"minimums_met": true,
		"inside_region": true,
		"region": {"openness": true, "privacy": true, "security": true},
	}
}

test_minimums_reported_per_axis if {
	minimums := scenario.minimums with input.scenario as medical
		with data.opsc.scores.openness.score as 34
		with data.opsc.scores.privacy.score as 55
		with data.opsc.scores.security.score as 90
	minimums == {
		"openness": {"min": 20, "score": 34, "ok": true},
		"privacy": {"min": 60, "score": 55, "ok": false},
		"security": {"min": 80, "score": 90, "ok": true},
	}
}

test_too_open_is_outside_region if {
	# openness share 60 / 180 = 33% > 30%
	judge([60, 60, 60]).region == {"openness": false, "privacy": true, "security": true}
	judge([60, 60, 60]).inside_region == false
}

test_region_bounds_inclusive if {
	# openness share exactly 30%
	judge([30, 35, 35]).region.openness == true
}

test_all_zero_is_outside_region if {
	judge([0, 0, 0]) == {
		"weighted": 0,
		"minimums_met": false,
		"inside_region": false,
		"region": {"openness": false, "privacy": false, "security": false},
	}
}
