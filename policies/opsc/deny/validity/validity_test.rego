package opsc.deny.validity_test

import data.opsc.deny.validity

contract := {"id": "x", "business": {"validity": {"notBefore": "2026-11-01T00:00:00Z", "notAfter": "2027-10-31T00:00:00Z"}}}

messages(now) := result if {
	result := {v.msg | some v in validity.deny} with input as {"contract": contract, "now": now}
}

test_inside_window_allowed if {
	messages("2026-11-24T00:00:00Z") == set()
}

test_not_before_is_inclusive if {
	messages("2026-11-01T00:00:00Z") == set()
}

test_milliseconds_allowed if {
	messages("2026-11-24T00:00:00.000Z") == set()
}

test_before_window_denied if {
	validity.deny == {{
		"rule": "validity",
		"msg": "contract x is not valid before 2026-11-01T00:00:00Z (now is 2026-10-31T23:59:59Z)",
		"details": {"path": "$.business.validity.notBefore"},
	}} with input as {"contract": contract, "now": "2026-10-31T23:59:59Z"}
}

test_not_after_is_exclusive if {
	validity.deny == {{
		"rule": "validity",
		"msg": "contract x expired at 2027-10-31T00:00:00Z (now is 2027-10-31T00:00:00Z)",
		"details": {"path": "$.business.validity.notAfter"},
	}} with input as {"contract": contract, "now": "2027-10-31T00:00:00Z"}
}

test_malformed_now_denied if {
	messages("yesterday") == {"input.now of contract x is not an RFC 3339 UTC timestamp: \"yesterday\""}
}

test_missing_times_denied if {
	result := {v.details.path | some v in validity.deny} with input as {"contract": {"id": "x"}}
	result == {"$.business.validity.notBefore", "$.business.validity.notAfter", "input.now"}
}
