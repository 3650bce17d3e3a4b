# METADATA
# title: Leakage bound
# description: >-
#   The most a contract can ever let out, as TypeScript computes it (input.facts.leakage,
#   generator/seal/public.ts): per run, the byte budget (outputs.policy.maxBytes, every
#   output, log and name) and the bits its public metadata can carry; over the contract, times
#   business.maxRuns. Reported in every result; a scenario may set maxLeakageBytes, which the
#   bound must not exceed. A missing or malformed fact is an unbounded contract: it fails.
# custom:
#   severity: none
package opsc.leakage

fact := object.get(input, ["facts", "leakage"], null)

default known := false

known if {
	is_number(fact.bytesPerRun)
	is_number(fact.metadataBitsPerRun)
	is_number(fact.runs)
	is_number(fact.boundBytes)
}

# The scenario's ceiling on the bound, or null for none.
max_bytes := object.get(input, ["scenario", "maxLeakageBytes"], null)

default ok := false

ok if {
	known
	max_bytes == null
}

ok if {
	known
	is_number(max_bytes)
	fact.boundBytes <= max_bytes
}

bound := fact.boundBytes if known

bound := null if not known

result := {
	"bytesPerRun": object.get(fact, "bytesPerRun", null),
	"metadataBitsPerRun": object.get(fact, "metadataBitsPerRun", null),
	"runs": object.get(fact, "runs", null),
	"boundBytes": bound,
	"max": max_bytes,
	"ok": ok,
} if {
	is_object(fact)
}

result := {
	"bytesPerRun": null,
	"metadataBitsPerRun": null,
	"runs": null,
	"boundBytes": null,
	"max": max_bytes,
	"ok": false,
} if {
	not is_object(fact)
}
