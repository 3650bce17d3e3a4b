# METADATA
# title: Parties of the contract
# description: Names and JSON paths of the contract's parties, for messages that name who is concerned.
# custom:
#   severity: none
package opsc.lib.parties

# The JSON path of the party with `address` (compared case-insensitively), e.g. "$.parties[1]".
path(address) := concat("", ["$.parties[", format_int(index, 10), "]"]) if {
	some index, party in input.contract.parties
	lower(party.address) == lower(address)
} else := "$.parties"

# "Name (0xAbC...)" for a party, or just the address when it is not a party.
label(address) := concat("", [party.name, " (", address, ")"]) if {
	some party in input.contract.parties
	lower(party.address) == lower(address)
} else := address

roles contains party.role if some party in input.contract.parties
