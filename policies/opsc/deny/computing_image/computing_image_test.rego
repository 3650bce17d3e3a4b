package opsc.deny.computing_image_test

import data.opsc.deny.computing_image

digest := "sha256:99187a87c3859fab770328aa716ed8ee20d96d0c451c595828cfdd088b1fa7ec"

contract := {"id": "x", "inputs": {"algorithm": {"container": {"image": "localhost/datomspod/python", "digest": digest}}}}

job(image) := {
	"kind": "Job",
	"metadata": {"name": "run-1", "namespace": "dp-x"},
	"spec": {"template": {"spec": {"initContainers": [{"name": "computing", "image": image}]}}},
}

test_agreed_image_allowed if {
	count(computing_image.deny) == 0 with input as {"contract": contract, "manifests": [job(concat("@", ["localhost/datomspod/python", digest]))]}
}

test_other_image_denied if {
	other := "localhost/datomspod/python@sha256:0000000000000000000000000000000000000000000000000000000000000000"
	computing_image.deny == {{
		"rule": "computing-image",
		"msg": concat("", ["the computing container of Job dp-x/run-1 runs ", other, ", but contract x agreed on localhost/datomspod/python@", digest]),
		"details": {
			"resource": "Job dp-x/run-1",
			"container": "computing",
			"image": other,
			"expected": concat("@", ["localhost/datomspod/python", digest]),
			"path": "$.inputs.algorithm.container",
		},
	}} with input as {"contract": contract, "manifests": [job(other)]}
}

test_no_run_allowed if {
	count(computing_image.deny) == 0 with input as {"contract": contract, "manifests": []}
}
