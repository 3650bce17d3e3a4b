package opsc.scores.openness_test

import data.opsc.scores.openness

# hospital-stats: aggregates, 3 runs of 5 minutes, one dataset, two parameters, 64 KiB out.
hospital := {
	"inputs": {
		"data": [{"did": "did:op:1"}],
		"algorithm": {"parameters": {"groupBy": "region", "minGroupSize": 10}},
		"compute": {"maxDurationSeconds": 300},
	},
	"business": {"maxRuns": 3},
	"outputs": {"kinds": ["aggregates"], "policy": {"maxBytes": 65536}},
}

points(contract) := result if {
	result := {factor.id: factor.points | some factor in openness.factors} with input.contract as contract
}

score(contract) := result if {
	result := openness.score with input.contract as contract
}

with_value(contract, path, value) := json.patch(contract, [{"op": "add", "path": path, "value": value}])

test_hospital_factors_exact if {
	points(hospital) == {
		"output-kinds": 15,
		"max-runs": 8,
		"max-duration": 3,
		"datasets": 5,
		"parameters": 3,
		"output-size": 0,
	}
	score(hospital) == 34
}

test_maximum_openness_is_100 if {
	wide := {
		"inputs": {
			"data": [{}, {}, {}],
			"algorithm": {"parameters": {"a": 1, "b": 2, "c": 3}},
			"compute": {"maxDurationSeconds": 86400},
		},
		"business": {"maxRuns": 1000},
		"outputs": {"kinds": ["raw-records", "model", "report", "aggregates"], "policy": {"maxBytes": 10737418240}},
	}
	score(wide) == 100
	factors := openness.factors with input.contract as wide
	every factor in factors {
		factor.points == factor.max
	}
}

test_factor_maxima_sum_to_100 if {
	sum([factor.max | some factor in openness.factors]) == 100 with input.contract as hospital
}

test_empty_contract_scores_only_uncapped_size if {
	score({}) == 15 # no output policy: nothing caps the size
}

test_output_kinds_capped if {
	points(with_value(hospital, "/outputs/kinds", ["model", "report", "aggregates"]))["output-kinds"] == 40
}

test_opening_up_never_lowers_openness if {
	every change in [
		["/business/maxRuns", 50],
		["/inputs/compute/maxDurationSeconds", 3600],
		["/inputs/data", [{}, {}]],
		["/inputs/algorithm/parameters", {"a": 1, "b": 2, "c": 3}],
		["/outputs/kinds", ["aggregates", "model"]],
		["/outputs/policy/maxBytes", 2097152],
	] {
		score(with_value(hospital, change[0], change[1])) > score(hospital)
	}
}
