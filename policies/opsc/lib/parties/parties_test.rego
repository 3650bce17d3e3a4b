package opsc.lib.parties_test

import data.opsc.lib.parties

contract := {"parties": [
	{"address": "0xAAaa000000000000000000000000000000000001", "role": "provider", "name": "Hospital"},
	{"address": "0xBBbb000000000000000000000000000000000002", "role": "consumer", "name": "Institute"},
]}

test_path_finds_party_case_insensitively if {
	parties.path("0xbbbb000000000000000000000000000000000002") == "$.parties[1]" with input.contract as contract
}

test_path_of_stranger_is_parties if {
	parties.path("0x0000000000000000000000000000000000000009") == "$.parties" with input.contract as contract
}

test_label_names_party if {
	parties.label("0xAAaa000000000000000000000000000000000001") == "Hospital (0xAAaa000000000000000000000000000000000001)" with input.contract as contract
	parties.label("0x09") == "0x09" with input.contract as contract
}

test_roles_collects_roles if {
	parties.roles == {"provider", "consumer"} with input.contract as contract
}
