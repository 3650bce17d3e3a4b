package opsc.leakage_test

import data.opsc.leakage

fact := {"bytesPerRun": 65536, "metadataBitsPerRun": 40, "runs": 3, "boundBytes": 196623}

test_result_reports_the_fact if {
	leakage.result == {
		"bytesPerRun": 65536,
		"metadataBitsPerRun": 40,
		"runs": 3,
		"boundBytes": 196623,
		"max": null,
		"ok": true,
	} with input as {"facts": {"leakage": fact}, "scenario": {}}
}

test_scenario_ceiling_holds_or_fails if {
	leakage.ok with input as {"facts": {"leakage": fact}, "scenario": {"maxLeakageBytes": 196623}}
	not leakage.ok with input as {"facts": {"leakage": fact}, "scenario": {"maxLeakageBytes": 196622}}
}

test_missing_fact_is_unbounded_and_fails if {
	leakage.result == {
		"bytesPerRun": null,
		"metadataBitsPerRun": null,
		"runs": null,
		"boundBytes": null,
		"max": null,
		"ok": false,
	} with input as {"facts": {}, "scenario": {}}
}

test_malformed_fact_fails if {
	result := leakage.result with input as {"facts": {"leakage": {"boundBytes": "a lot"}}, "scenario": {}}
	result.ok == false
	result.boundBytes == null
}
