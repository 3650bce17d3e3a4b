package opsc.scores.privacy_test

import data.opsc.scores.privacy

# bank-credit-model: model and report, no raw records, 1 MiB cap, owner review, no k, no DP.
bank := {"outputs": {
	"kinds": ["model", "report"],
	"policy": {"maxBytes": 1048576, "fileTypes": ["json", "txt"], "ownerReview": true, "noRawRecords": true},
}}

# Its leakage bound: 2 runs of 1 MiB and their metadata.
bank_leakage := {"bytesPerRun": 1048576, "metadataBitsPerRun": 60, "runs": 2, "boundBytes": 2097167}

# hospital-stats: aggregates only, k = 10 with its count column, 64 KiB, 3 runs.
hospital := {"outputs": {
	"kinds": ["aggregates"],
	"policy": {"maxBytes": 65536, "fileTypes": ["csv"], "ownerReview": false, "noRawRecords": true, "minGroupSize": 10, "countColumn": "patients"},
}}

hospital_leakage := {"bytesPerRun": 65536, "metadataBitsPerRun": 60, "runs": 3, "boundBytes": 196631}

points(contract, leakage) := result if {
	result := {factor.id: factor.points | some factor in privacy.factors} with input as {"contract": contract, "facts": {"leakage": leakage}}
}

score(contract, leakage) := result if {
	result := privacy.score with input as {"contract": contract, "facts": {"leakage": leakage}}
}

with_value(contract, path, value) := json.patch(contract, [{"op": "add", "path": path, "value": value}])

test_bank_factors_exact if {
	points(bank, bank_leakage) == {
		"no-raw-records": 25,
		"min-group-size": 0,
		"differential-privacy": 0,
		"output-cap": 10,
		"leakage-bound": 10,
		"owner-review": 15,
		"least-revealing-kinds": 0,
	}
	score(bank, bank_leakage) == 60
}

test_hospital_factors_exact if {
	points(hospital, hospital_leakage) == {
		"no-raw-records": 25,
		"min-group-size": 15,
		"differential-privacy": 0,
		"output-cap": 15,
		"leakage-bound": 20,
		"owner-review": 0,
		"least-revealing-kinds": 5,
	}
	score(hospital, hospital_leakage) == 80
}

test_maximum_privacy_is_100 if {
	tight := {"outputs": {"kinds": ["aggregates"], "policy": {
		"maxBytes": 1024,
		"ownerReview": true,
		"noRawRecords": true,
		"minGroupSize": 50,
		"countColumn": "n",
		"differentialPrivacyEpsilon": 0.1,
	}}}
	score(tight, {"bytesPerRun": 1024, "metadataBitsPerRun": 50, "runs": 1, "boundBytes": 1031}) == 100
}

test_factor_maxima_sum_to_100 if {
	sum([factor.max | some factor in privacy.factors]) == 100 with input.contract as bank
}

test_no_output_policy_scores_zero if {
	score({"outputs": {"kinds": ["aggregates"]}}, null) == 5
}

test_raw_records_kind_voids_no_raw_records if {
	points(with_value(bank, "/outputs/kinds", ["raw-records"]), bank_leakage)["no-raw-records"] == 0
}

test_epsilon_earns_nothing if {
	every epsilon in [50, 10, 1, 0.01] {
		points(with_value(bank, "/outputs/policy/differentialPrivacyEpsilon", epsilon), bank_leakage)["differential-privacy"] == 0
	}
}

test_group_size_needs_count_column_and_only_aggregates if {
	without_column := json.remove(hospital, ["/outputs/policy/countColumn"])
	points(without_column, hospital_leakage)["min-group-size"] == 0
	points(with_value(hospital, "/outputs/kinds", ["aggregates", "report"]), hospital_leakage)["min-group-size"] == 0
	[points(with_value(hospital, "/outputs/policy/minGroupSize", k), hospital_leakage)["min-group-size"] | some k in [1, 2, 5, 10, 25]] == [0, 5, 10, 15, 20]
}

test_leakage_tiers if {
	[points(bank, {"boundBytes": bound})["leakage-bound"] |
		some bound in [209715200, 104857600, 10485760, 1048576, 262144, 100]
	] == [0, 5, 10, 15, 20, 20]
}

test_unknown_leakage_earns_nothing if {
	points(bank, null)["leakage-bound"] == 0
	points(bank, {"boundBytes": "unbounded"})["leakage-bound"] == 0
}

test_tightening_privacy_never_lowers_privacy if {
	every change in [
		["/outputs/policy/minGroupSize", 25],
		["/outputs/policy/ownerReview", true],
	] {
		score(with_value(hospital, change[0], change[1]), hospital_leakage) > score(hospital, hospital_leakage)
	}
	score(with_value(bank, "/outputs/policy/maxBytes", 65536), bank_leakage) > score(bank, bank_leakage)
	score(hospital, {"boundBytes": 65536}) >= score(hospital, hospital_leakage)
	looser := with_value(with_value(bank, "/outputs/policy/ownerReview", false), "/outputs/policy/noRawRecords", false)
	score(looser, bank_leakage) < score(bank, bank_leakage)
	score(with_value(bank, "/outputs/kinds", ["report"]), bank_leakage) > score(bank, bank_leakage)
}
