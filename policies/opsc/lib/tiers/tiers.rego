# METADATA
# title: Score tiers
# description: >-
#   Step functions from a measured value to points. Tiers are monotone by construction: a value
#   earns the points of the best tier it reaches, so moving the value towards a better tier can
#   never lose points.
# custom:
#   severity: none
package opsc.lib.tiers

# Points of the best tier whose `at_least` threshold `value` reaches; 0 below every tier.
at_least(value, tiers) := max({tier.points | some tier in tiers; value >= tier.at_least} | {0})

# Points of the best tier whose `at_most` threshold `value` stays within; 0 above every tier.
at_most(value, tiers) := max({tier.points | some tier in tiers; value <= tier.at_most} | {0})

# The largest number of points a tier table gives.
best(tiers) := max({tier.points | some tier in tiers})

# `points` when `condition` is true, 0 otherwise.
points_if(condition, points) := points if condition == true

points_if(condition, _) := 0 if condition != true
