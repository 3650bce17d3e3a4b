package opsc.scores.privacy_test

import data.opsc.scores.privacy

# bank-credit-model: model and report, no raw records, 1 MiB cap, owner review, no k, no DP.
bank := {"outputs": {
	"kinds": ["model", "report"],
	"policy": {"maxBytes": 1048576, "fileTypes": ["json", "txt"], "ownerReview": true, "noRawRecords": true},
}}

points(contract) := result if {
	result := {factor.id: factor.points | some factor in privacy.factors} with input.contract as contract
}

score(contract) := result if {
	result := privacy.score with input.contract as contract
}

with_value(contract, path, value) := json.patch(contract, [{"op": "add", "path": path, "value": value}])

test_bank_factors_exact if {
	points(bank) == {
		"no-raw-records": 25,
		"min-group-size": 0,
		"differential-privacy": 0,
		"output-cap": 10,
		"owner-review": 15,
		"least-revealing-kinds": 0,
	}
	score(bank) == 50
}

test_maximum_privacy_is_100 if {
	tight := {"outputs": {"kinds": ["aggregates"], "policy": {
		"maxBytes": 1024,
		"ownerReview": true,
		"noRawRecords": true,
		"minGroupSize": 50,
		"differentialPrivacyEpsilon": 0.1,
	}}}
	score(tight) == 100
}

test_factor_maxima_sum_to_100 if {
	sum([factor.max | some factor in privacy.factors]) == 100 with input.contract as bank
}

test_no_output_policy_scores_zero if {
	score({"outputs": {"kinds": ["aggregates"]}}) == 5
}

test_raw_records_kind_voids_no_raw_records if {
	points(with_value(bank, "/outputs/kinds", ["raw-records"]))["no-raw-records"] == 0
}

test_epsilon_tiers if {
	[points(with_value(bank, "/outputs/policy/differentialPrivacyEpsilon", epsilon))["differential-privacy"] |
		some epsilon in [50, 10, 5, 3, 1, 0.5, 0.1, 0.01]
	] == [0, 5, 5, 10, 15, 15, 20, 20]
}

test_tightening_privacy_never_lowers_privacy if {
	every change in [
		["/outputs/policy/minGroupSize", 5],
		["/outputs/policy/differentialPrivacyEpsilon", 1],
		["/outputs/policy/maxBytes", 65536],
		["/outputs/kinds", ["report"]],
	] {
		score(with_value(bank, change[0], change[1])) > score(bank)
	}
	looser := with_value(with_value(bank, "/outputs/policy/ownerReview", false), "/outputs/policy/noRawRecords", false)
	score(looser) < score(bank)
}
