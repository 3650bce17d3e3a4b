package opsc.warn.anchoring_test

import data.opsc.warn.anchoring

test_anchored_quiet if {
	count(anchoring.warn) == 0 with input as {"contract": {"id": "x"}, "facts": {"anchoring": true}}
}

test_not_anchored_warned if {
	anchoring.warn == {{
		"rule": "anchoring",
		"msg": "cluster profile local does not anchor the evidence of contract x on a chain",
		"details": {"path": "$.cluster"},
	}} with input as {"contract": {"id": "x"}, "profile": {"name": "local"}, "facts": {"anchoring": false}}
}
