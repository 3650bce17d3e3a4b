# METADATA
# title: Privacy score
# description: >-
#   How well the data subjects are protected, 0 to 100, crediting only the controls the runner
#   enforces: no raw records out (datomspace-out's tripwire), the smallest group every output
#   table must show (datomspace-out checks the count column), the per-run byte budget, the
#   leakage bound over all runs, the owner's review before release, and output kinds that reveal
#   the least. Differential privacy is shown but earns nothing: nothing enforces an epsilon.
#   Each factor reports its points and maximum.
# custom:
#   severity: none
package opsc.scores.privacy

import data.opsc.lib.tiers

group_size_tiers := [
	{"at_least": 2, "points": 5},
	{"at_least": 5, "points": 10},
	{"at_least": 10, "points": 15},
	{"at_least": 25, "points": 20},
]

# The leakage bound over all runs (input.facts.leakage.boundBytes): at most 100 MiB, 10 MiB,
# 1 MiB, 256 KiB.
leakage_tiers := [
	{"at_most": 104857600, "points": 5},
	{"at_most": 10485760, "points": 10},
	{"at_most": 1048576, "points": 15},
	{"at_most": 262144, "points": 20},
]

# At most 100 MiB, 1 MiB, 64 KiB.
output_cap_tiers := [
	{"at_most": 104857600, "points": 5},
	{"at_most": 1048576, "points": 10},
	{"at_most": 65536, "points": 15},
]

# Output kinds that describe groups rather than individuals.
least_revealing_kinds := {"aggregates", "report"}

outputs := object.get(input.contract, "outputs", {})

policy := object.get(outputs, "policy", {})

kinds := {kind | some kind in object.get(outputs, "kinds", [])}

default no_raw_records := false

no_raw_records if {
	policy.noRawRecords == true
	not "raw-records" in kinds
}

# No threshold: groups of one, i.e. individuals.
min_group_size := object.get(policy, "minGroupSize", 1)

# datomspace-out holds every output to k only through the count column of its tables, and only
# when nothing but aggregates may leave (other kinds need not be tables): otherwise no credit.
default group_size_enforced := false

group_size_enforced if {
	is_string(policy.countColumn)
	count(kinds) > 0
	count(kinds - {"aggregates"}) == 0
}

group_size_points := tiers.at_least(min_group_size, group_size_tiers) if group_size_enforced

group_size_points := 0 if not group_size_enforced

# Shown for what the contract says; nothing enforces it, so it earns nothing.
epsilon := object.get(policy, "differentialPrivacyEpsilon", null)

leakage_bound := object.get(input, ["facts", "leakage", "boundBytes"], null)

leakage_points := tiers.at_most(leakage_bound, leakage_tiers) if is_number(leakage_bound)

leakage_points := 0 if not is_number(leakage_bound)

max_bytes := object.get(policy, "maxBytes", null)

output_cap_points := tiers.at_most(max_bytes, output_cap_tiers) if is_number(max_bytes)

output_cap_points := 0 if not is_number(max_bytes)

owner_review := object.get(policy, "ownerReview", false) == true

least_revealing := count(kinds - least_revealing_kinds) == 0

factors := [
	{
		"id": "no-raw-records",
		"title": "no row of the inputs may leave",
		"value": no_raw_records,
		"points": tiers.points_if(no_raw_records, 25),
		"max": 25,
	},
	{
		"id": "min-group-size",
		"title": "smallest group every output table must show (k; enforced with countColumn when only aggregates leave)",
		"value": min_group_size,
		"points": group_size_points,
		"max": tiers.best(group_size_tiers),
	},
	{
		"id": "differential-privacy",
		"title": "differential privacy budget (epsilon): not enforced by the runner, no credit",
		"value": epsilon,
		"points": 0,
		"max": 0,
	},
	{
		"id": "output-cap",
		"title": "bytes a run may let out (outputs, logs and names)",
		"value": max_bytes,
		"points": output_cap_points,
		"max": tiers.best(output_cap_tiers),
	},
	{
		"id": "leakage-bound",
		"title": "most the contract can ever let out (bytes, all runs and their public metadata)",
		"value": leakage_bound,
		"points": leakage_points,
		"max": tiers.best(leakage_tiers),
	},
	{
		"id": "owner-review",
		"title": "a data provider reviews outputs before release",
		"value": owner_review,
		"points": tiers.points_if(owner_review, 15),
		"max": 15,
	},
	{
		"id": "least-revealing-kinds",
		"title": "only aggregates and reports leave",
		"value": least_revealing,
		"points": tiers.points_if(least_revealing, 5),
		"max": 5,
	},
]

score := min({100, sum([factor.points | some factor in factors])})
