# METADATA
# title: Privacy score
# description: >-
#   How well the data subjects are protected, 0 to 100: no raw records out, the smallest group
#   an aggregate may describe, differential privacy, a cap on the bytes that leave, the owner's
#   review before release, and output kinds that reveal the least. Each factor reports its
#   points and maximum.
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

epsilon_tiers := [
	{"at_most": 10, "points": 5},
	{"at_most": 3, "points": 10},
	{"at_most": 1, "points": 15},
	{"at_most": 0.1, "points": 20},
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

# No differential privacy: an unbounded epsilon.
epsilon := object.get(policy, "differentialPrivacyEpsilon", null)

epsilon_points := tiers.at_most(epsilon, epsilon_tiers) if is_number(epsilon)

epsilon_points := 0 if not is_number(epsilon)

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
		"title": "smallest group an aggregate may describe (k)",
		"value": min_group_size,
		"points": tiers.at_least(min_group_size, group_size_tiers),
		"max": tiers.best(group_size_tiers),
	},
	{
		"id": "differential-privacy",
		"title": "differential privacy budget (epsilon)",
		"value": epsilon,
		"points": epsilon_points,
		"max": tiers.best(epsilon_tiers),
	},
	{
		"id": "output-cap",
		"title": "cap on the bytes that may leave",
		"value": max_bytes,
		"points": output_cap_points,
		"max": tiers.best(output_cap_tiers),
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
