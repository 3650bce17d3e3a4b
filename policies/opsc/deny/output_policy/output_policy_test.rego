package opsc.deny.output_policy_test

import data.opsc.deny.output_policy

policy := {"maxBytes": 65536, "fileTypes": ["csv"], "ownerReview": false, "noRawRecords": true}

test_complete_policy_allowed if {
	count(output_policy.deny) == 0 with input.contract as {"id": "x", "outputs": {"policy": policy}}
}

test_missing_policy_denied if {
	output_policy.deny == {{
		"rule": "output-policy",
		"msg": "contract x lets outputs leave without an output policy",
		"details": {"path": "$.outputs.policy"},
	}} with input.contract as {"id": "x", "outputs": {"kinds": ["aggregates"]}}
}

test_incomplete_policy_denied if {
	output_policy.deny == {
		{
			"rule": "output-policy",
			"msg": "the output policy of contract x does not set maxBytes",
			"details": {"path": "$.outputs.policy.maxBytes"},
		},
		{
			"rule": "output-policy",
			"msg": "the output policy of contract x does not set noRawRecords",
			"details": {"path": "$.outputs.policy.noRawRecords"},
		},
	} with input.contract as {"id": "x", "outputs": {"policy": {"fileTypes": ["csv"], "ownerReview": false}}}
}
