package opsc.warn.validity_ending_test

import data.opsc.warn.validity_ending

contract := {"id": "x", "business": {"validity": {"notAfter": "2026-12-01T00:00:00Z"}}}

test_far_end_quiet if {
	count(validity_ending.warn) == 0 with input as {"contract": contract, "now": "2026-11-23T23:59:59Z"}
}

test_ending_within_week_warned if {
	validity_ending.warn == {{
		"rule": "validity-ending",
		"msg": "contract x expires at 2026-12-01T00:00:00Z, within 7 days",
		"details": {"path": "$.business.validity.notAfter"},
	}} with input as {"contract": contract, "now": "2026-11-24T00:00:00Z"}
}

test_expired_quiet if {
	count(validity_ending.warn) == 0 with input as {"contract": contract, "now": "2026-12-01T00:00:00Z"}
}
