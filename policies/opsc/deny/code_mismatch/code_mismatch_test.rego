package opsc.deny.code_mismatch_test

import data.opsc.deny.code_mismatch

contract := {"id": "x", "inputs": {"algorithm": {"code": {"path": "algorithm/a.py", "sha256": "e35c"}}}}

test_matching_code_allowed if {
	count(code_mismatch.deny) == 0 with input as {"contract": contract, "facts": {"codeMatches": true}}
}

test_mismatch_denied if {
	code_mismatch.deny == {{
		"rule": "code-mismatch",
		"msg": "the algorithm code algorithm/a.py of contract x does not hash to the signed sha256 e35c",
		"details": {"path": "$.inputs.algorithm.code.sha256"},
	}} with input as {"contract": contract, "facts": {"codeMatches": false}}
}

test_absent_fact_denied if {
	count(code_mismatch.deny) == 1 with input as {"contract": contract, "facts": {}}
}

test_cid_code_named_by_cid if {
	cid_contract := {"id": "x", "inputs": {"algorithm": {"code": {"cid": "bafy", "sha256": "e35c"}}}}
	{v.msg | some v in code_mismatch.deny} == {"the algorithm code bafy of contract x does not hash to the signed sha256 e35c"} with input as {"contract": cid_contract, "facts": {"codeMatches": "yes"}}
}
