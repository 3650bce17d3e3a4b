# METADATA
# title: Openness score
# description: >-
#   What the consumer can obtain from the provider's data, 0 to 100: the kinds of output, how
#   many runs, how long each may compute, how many datasets it joins, how many parameters the
#   consumer may set, and how many bytes may leave. Each factor reports its points and maximum.
# custom:
#   severity: none
package opsc.scores.openness

import data.opsc.lib.tiers

# Points per output kind; their sum is capped by the factor's maximum.
kind_points := {"aggregates": 15, "report": 10, "model": 25, "raw-records": 40}

max_kind_points := 40

run_tiers := [
	{"at_least": 2, "points": 5},
	{"at_least": 3, "points": 8},
	{"at_least": 5, "points": 10},
	{"at_least": 10, "points": 15},
	{"at_least": 50, "points": 20},
]

duration_tiers := [
	{"at_least": 300, "points": 3},
	{"at_least": 900, "points": 5},
	{"at_least": 3600, "points": 8},
	{"at_least": 14400, "points": 10},
]

dataset_tiers := [
	{"at_least": 1, "points": 5},
	{"at_least": 2, "points": 8},
	{"at_least": 3, "points": 10},
]

parameter_tiers := [
	{"at_least": 1, "points": 3},
	{"at_least": 3, "points": 5},
]

# More than 64 KiB, 1 MiB, 100 MiB.
output_size_tiers := [
	{"at_least": 65537, "points": 5},
	{"at_least": 1048577, "points": 10},
	{"at_least": 104857601, "points": 15},
]

contract := input.contract

kinds := sort(object.get(contract, ["outputs", "kinds"], []))

max_runs := object.get(contract, ["business", "maxRuns"], 0)

max_duration := object.get(contract, ["inputs", "compute", "maxDurationSeconds"], 0)

datasets := count(object.get(contract, ["inputs", "data"], []))

parameters := count(object.get(contract, ["inputs", "algorithm", "parameters"], {}))

# Without an output policy nothing caps the size: the most open tier.
max_bytes := object.get(contract, ["outputs", "policy", "maxBytes"], 10737418240)

factors := [
	{
		"id": "output-kinds",
		"title": "kinds of output that may leave",
		"value": kinds,
		"points": min({max_kind_points, sum([object.get(kind_points, kind, 0) | some kind in kinds])}),
		"max": max_kind_points,
	},
	{
		"id": "max-runs",
		"title": "runs the consumer may request",
		"value": max_runs,
		"points": tiers.at_least(max_runs, run_tiers),
		"max": tiers.best(run_tiers),
	},
	{
		"id": "max-duration",
		"title": "seconds each run may compute",
		"value": max_duration,
		"points": tiers.at_least(max_duration, duration_tiers),
		"max": tiers.best(duration_tiers),
	},
	{
		"id": "datasets",
		"title": "datasets one run joins",
		"value": datasets,
		"points": tiers.at_least(datasets, dataset_tiers),
		"max": tiers.best(dataset_tiers),
	},
	{
		"id": "parameters",
		"title": "parameters the consumer may set",
		"value": parameters,
		"points": tiers.at_least(parameters, parameter_tiers),
		"max": tiers.best(parameter_tiers),
	},
	{
		"id": "output-size",
		"title": "bytes of output that may leave",
		"value": max_bytes,
		"points": tiers.at_least(max_bytes, output_size_tiers),
		"max": tiers.best(output_size_tiers),
	},
]

score := min({100, sum([factor.points | some factor in factors])})
