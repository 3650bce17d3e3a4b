# METADATA
# title: Scenario judgement
# description: >-
#   The C of OPS-C: the scenario (input.scenario, from policies/scenarios/) weighs the three
#   scores, sets a minimum for each, and bounds the contract's position in the triangle. The
#   position is barycentric: each score's share of their sum, in percent; the region bounds
#   each share from below and above. Integer arithmetic only (shares are compared as
#   100 * score against bound * sum), so the wasm and the Go evaluator agree exactly.
# custom:
#   severity: none
package opsc.scenario

import data.opsc.scores.openness
import data.opsc.scores.privacy
import data.opsc.scores.security

axes := ["openness", "privacy", "security"]

scores := {"openness": openness.score, "privacy": privacy.score, "security": security.score}

factors := {"openness": openness.factors, "privacy": privacy.factors, "security": security.factors}

weights := input.scenario.weights

# The weighted mean of the scores, rounded to an integer.
weighted := round(weighted_sum / sum([weights[axis] | some axis in axes]))

weighted_sum := sum([product |
	some axis in axes
	product := weights[axis] * scores[axis]
])

minimums := {axis: {"min": minimum, "score": scores[axis], "ok": scores[axis] >= minimum} |
	some axis in axes
	minimum := input.scenario.minimums[axis]
}

total := sum([scores[axis] | some axis in axes])

# Per axis: the bounds on its share (percent of the sum of the scores) and whether it keeps them.
region := {axis: {"min": bounds.min, "max": bounds.max, "ok": within(scores[axis], bounds)} |
	some axis in axes
	bounds := input.scenario.region[axis]
}

# Whether a score's share of the sum keeps the bounds: 100 * score against bound * sum, in integers.
within(score, bounds) if {
	total > 0
	score * 100 >= bounds.min * total
	score * 100 <= bounds.max * total
} else := false

default inside_region := false

inside_region if {
	every axis in axes {
		region[axis].ok == true
	}
}

default minimums_met := false

minimums_met if {
	every axis in axes {
		minimums[axis].ok == true
	}
}
