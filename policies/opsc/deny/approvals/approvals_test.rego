package opsc.deny.approvals_test

import data.opsc.deny.approvals

contract := {"id": "x", "parties": [
	{"address": "0xAAaa000000000000000000000000000000000001", "role": "provider", "name": "Hospital"},
	{"address": "0xBBbb000000000000000000000000000000000002", "role": "consumer", "name": "Institute"},
]}

test_verified_allowed if {
	count(approvals.deny) == 0 with input as {"contract": contract, "facts": {"approvals": {"ok": true, "missing": [], "invalid": []}}}
}

test_missing_and_invalid_denied if {
	approvals.deny == {
		{
			"rule": "approvals",
			"msg": "Institute (0xBBbb000000000000000000000000000000000002) has not approved the algorithm of contract x",
			"details": {
				"address": "0xBBbb000000000000000000000000000000000002",
				"path": "$.parties[1]",
				"file": "contracts/x/approvals/0xBBbb000000000000000000000000000000000002.json",
			},
		},
		{
			"rule": "approvals",
			"msg": "the approval of Hospital (0xAAaa000000000000000000000000000000000001) does not verify against the algorithm of contract x",
			"details": {
				"address": "0xAAaa000000000000000000000000000000000001",
				"path": "$.parties[0]",
				"file": "contracts/x/approvals/0xAAaa000000000000000000000000000000000001.json",
			},
		},
	} with input as {"contract": contract, "facts": {"approvals": {
		"ok": false,
		"missing": ["0xBBbb000000000000000000000000000000000002"],
		"invalid": ["0xAAaa000000000000000000000000000000000001"],
	}}}
}

test_not_ok_without_list_denied if {
	approvals.deny == {{
		"rule": "approvals",
		"msg": "the approvals of contract x are not verified",
		"details": {"path": "$.parties"},
	}} with input as {"contract": contract, "facts": {"approvals": {"ok": false, "missing": [], "invalid": []}}}
}

test_absent_fact_denied if {
	count(approvals.deny) == 1 with input as {"contract": contract, "facts": {}}
}

test_ok_with_missing_party_still_denied if {
	count(approvals.deny) == 1 with input as {"contract": contract, "facts": {"approvals": {"ok": true, "missing": ["0xBBbb000000000000000000000000000000000002"], "invalid": []}}}
}
