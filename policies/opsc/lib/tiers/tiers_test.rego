package opsc.lib.tiers_test

import data.opsc.lib.tiers

runs := [{"at_least": 2, "points": 5}, {"at_least": 10, "points": 15}]

cap := [{"at_most": 1000, "points": 5}, {"at_most": 10, "points": 10}]

test_at_least_steps if {
	[tiers.at_least(n, runs) | some n in [1, 2, 9, 10, 1000]] == [0, 5, 5, 15, 15]
}

test_at_most_steps if {
	[tiers.at_most(n, cap) | some n in [5000, 1000, 11, 10, 0]] == [0, 5, 5, 10, 10]
}

test_best_is_largest_points if {
	tiers.best(runs) == 15
	tiers.best(cap) == 10
}

test_points_if_only_for_true if {
	tiers.points_if(true, 7) == 7
	tiers.points_if(false, 7) == 0
	tiers.points_if("yes", 7) == 0
}
