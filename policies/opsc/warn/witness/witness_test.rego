package opsc.warn.witness_test

import data.opsc.warn.witness

contract(roles) := {"id": "x", "parties": [{"address": "0x1", "role": role, "name": role} | some role in roles]}

test_witness_quiet if {
	count(witness.warn) == 0 with input as {"contract": contract(["provider", "witness"]), "scenario": {"name": "s", "privacySensitive": true}}
}

test_no_witness_warned if {
	witness.warn == {{
		"rule": "witness",
		"msg": "contract x has no witness in privacy-sensitive scenario s",
		"details": {"path": "$.parties"},
	}} with input as {"contract": contract(["provider", "consumer"]), "scenario": {"name": "s", "privacySensitive": true}}
}

test_open_scenario_quiet if {
	count(witness.warn) == 0 with input as {"contract": contract(["provider"]), "scenario": {"name": "s", "privacySensitive": false}}
}
