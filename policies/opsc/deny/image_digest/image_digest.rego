# METADATA
# title: Image not pinned by digest
# description: >-
#   A tag can be moved to other bytes after the contract is signed; a digest cannot. Every
#   container of the instance, and the contract's algorithm image, must name its image by
#   sha256 digest.
# custom:
#   rule: image-digest
#   severity: critical
package opsc.deny.image_digest

import data.opsc.lib.k8s

pinned_image := `^[^@\s]+@sha256:[0-9a-f]{64}$`

deny contains violation if {
	some c in k8s.containers
	not regex.match(pinned_image, c.container.image)
	violation := {
		"rule": "image-digest",
		"msg": sprintf("container %s of %s uses image %s, not pinned by digest (name@sha256:<64 hex>)", [c.name, c.resource, c.container.image]),
		"details": {"resource": c.resource, "container": c.name, "image": c.container.image},
	}
}

deny contains violation if {
	digest := object.get(input.contract, ["inputs", "algorithm", "container", "digest"], "")
	not regex.match(`^sha256:[0-9a-f]{64}$`, digest)
	violation := {
		"rule": "image-digest",
		"msg": sprintf("contract %s does not pin its algorithm image by a sha256 digest", [input.contract.id]),
		"details": {"path": "$.inputs.algorithm.container.digest"},
	}
}
