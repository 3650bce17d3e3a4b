package opsc.deny.signatures_test

import data.opsc.deny.signatures

contract := {"id": "x", "parties": [
	{"address": "0xAAaa000000000000000000000000000000000001", "role": "provider", "name": "Hospital"},
	{"address": "0xBBbb000000000000000000000000000000000002", "role": "consumer", "name": "Institute"},
]}

test_verified_allowed if {
	count(signatures.deny) == 0 with input as {"contract": contract, "facts": {"signatures": {"ok": true, "missing": [], "invalid": []}}}
}

test_missing_and_invalid_denied if {
	signatures.deny == {
		{
			"rule": "signatures",
			"msg": "Institute (0xBBbb000000000000000000000000000000000002) has not signed contract x",
			"details": {
				"address": "0xBBbb000000000000000000000000000000000002",
				"path": "$.parties[1]",
				"file": "contracts/x/signatures/0xBBbb000000000000000000000000000000000002.json",
			},
		},
		{
			"rule": "signatures",
			"msg": "the signature of Hospital (0xAAaa000000000000000000000000000000000001) does not verify against contract x",
			"details": {
				"address": "0xAAaa000000000000000000000000000000000001",
				"path": "$.parties[0]",
				"file": "contracts/x/signatures/0xAAaa000000000000000000000000000000000001.json",
			},
		},
	} with input as {"contract": contract, "facts": {"signatures": {
		"ok": false,
		"missing": ["0xBBbb000000000000000000000000000000000002"],
		"invalid": ["0xAAaa000000000000000000000000000000000001"],
	}}}
}

test_not_ok_without_list_denied if {
	signatures.deny == {{
		"rule": "signatures",
		"msg": "the signatures of contract x are not verified",
		"details": {"path": "$.parties"},
	}} with input as {"contract": contract, "facts": {"signatures": {"ok": false, "missing": [], "invalid": []}}}
}

test_absent_fact_denied if {
	count(signatures.deny) == 1 with input as {"contract": contract, "facts": {}}
}

test_ok_with_missing_party_still_denied if {
	count(signatures.deny) == 1 with input as {"contract": contract, "facts": {"signatures": {"ok": true, "missing": ["0xBBbb000000000000000000000000000000000002"], "invalid": []}}}
}
