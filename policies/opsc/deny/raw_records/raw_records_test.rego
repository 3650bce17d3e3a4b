package opsc.deny.raw_records_test

import data.opsc.deny.raw_records

sensitive := {"name": "medical-research", "privacySensitive": true}

open_data := {"name": "public-statistics", "privacySensitive": false}

contract(kinds, no_raw) := {"id": "x", "outputs": {"kinds": kinds, "policy": {"noRawRecords": no_raw}}}

test_aggregates_allowed if {
	count(raw_records.deny) == 0 with input as {"scenario": sensitive, "contract": contract(["aggregates"], true)}
}

test_raw_records_in_open_scenario_allowed if {
	count(raw_records.deny) == 0 with input as {"scenario": open_data, "contract": contract(["raw-records"], false)}
}

test_raw_records_denied if {
	raw_records.deny == {
		{
			"rule": "raw-records",
			"msg": "contract x lets raw records leave, which scenario medical-research forbids",
			"details": {"path": "$.outputs.kinds", "scenario": "medical-research"},
		},
		{
			"rule": "raw-records",
			"msg": "the output policy of contract x does not set noRawRecords, which scenario medical-research requires",
			"details": {"path": "$.outputs.policy.noRawRecords", "scenario": "medical-research"},
		},
	} with input as {"scenario": sensitive, "contract": contract(["aggregates", "raw-records"], false)}
}
