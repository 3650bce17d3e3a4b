# METADATA
# title: Computing image differs from the contract
# description: >-
#   The computing container must run exactly the image the parties signed:
#   inputs.algorithm.container.image at inputs.algorithm.container.digest.
# custom:
#   rule: computing-image
#   severity: critical
package opsc.deny.computing_image

import data.opsc.lib.k8s

algorithm := input.contract.inputs.algorithm.container

expected := concat("@", [algorithm.image, algorithm.digest])

deny contains violation if {
	some c in k8s.computing_containers
	c.container.image != expected
	violation := {
		"rule": "computing-image",
		"msg": sprintf("the computing container of %s runs %s, but contract %s agreed on %s", [c.resource, c.container.image, input.contract.id, expected]),
		"details": {"resource": c.resource, "container": c.name, "image": c.container.image, "expected": expected, "path": "$.inputs.algorithm.container"},
	}
}
