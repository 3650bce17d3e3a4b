package opsc.warn.owner_review_test

import data.opsc.warn.owner_review

contract(review) := {"id": "x", "outputs": {"policy": {"ownerReview": review}}}

test_reviewed_quiet if {
	count(owner_review.warn) == 0 with input as {"contract": contract(true), "scenario": {"name": "s", "privacySensitive": true}}
}

test_open_scenario_quiet if {
	count(owner_review.warn) == 0 with input as {"contract": contract(false), "scenario": {"name": "s", "privacySensitive": false}}
}

test_unreviewed_warned if {
	owner_review.warn == {{
		"rule": "owner-review",
		"msg": "contract x releases outputs without a data provider's review in privacy-sensitive scenario s",
		"details": {"path": "$.outputs.policy.ownerReview"},
	}} with input as {"contract": contract(false), "scenario": {"name": "s", "privacySensitive": true}}
}
