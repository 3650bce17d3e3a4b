package opsc.deny.image_digest_test

import data.opsc.deny.image_digest

digest := "sha256:99187a87c3859fab770328aa716ed8ee20d96d0c451c595828cfdd088b1fa7ec"

contract := {"id": "x", "inputs": {"algorithm": {"container": {"digest": digest}}}}

job(image) := {
	"kind": "Job",
	"metadata": {"name": "run-1", "namespace": "dp-x"},
	"spec": {"template": {"spec": {"containers": [{"name": "oracle", "image": image}]}}},
}

test_digest_allowed if {
	count(image_digest.deny) == 0 with input as {"contract": contract, "manifests": [job(concat("@", ["localhost:5000/datomspod/pod", digest]))]}
}

test_tag_denied if {
	image_digest.deny == {{
		"rule": "image-digest",
		"msg": "container oracle of Job dp-x/run-1 uses image localhost/datomspod/pod:latest, not pinned by digest (name@sha256:<64 hex>)",
		"details": {"resource": "Job dp-x/run-1", "container": "oracle", "image": "localhost/datomspod/pod:latest"},
	}} with input as {"contract": contract, "manifests": [job("localhost/datomspod/pod:latest")]}
}

test_short_digest_denied if {
	count(image_digest.deny) == 1 with input as {"contract": contract, "manifests": [job("pod@sha256:abc")]}
}

test_contract_without_digest_denied if {
	image_digest.deny == {{
		"rule": "image-digest",
		"msg": "contract x does not pin its algorithm image by a sha256 digest",
		"details": {"path": "$.inputs.algorithm.container.digest"},
	}} with input as {"contract": {"id": "x", "inputs": {"algorithm": {"container": {}}}}, "manifests": []}
}
