package opsc.warn.runtime_sandbox_test

import data.opsc.warn.runtime_sandbox

contract(runtime) := {"id": "x", "inputs": {"compute": {"runtimeClass": runtime}}}

job(class) := {"kind": "Job", "metadata": {"name": "run-1", "namespace": "dp-x"}, "spec": {"template": {"spec": {"runtimeClassName": class, "containers": []}}}}

default_job := {"kind": "Job", "metadata": {"name": "run-1", "namespace": "dp-x"}, "spec": {"template": {"spec": {"containers": []}}}}

test_provided_sandbox_quiet if {
	count(runtime_sandbox.warn) == 0 with input as {"contract": contract("kata"), "manifests": [job("kata-qemu")]}
}

test_runc_warned if {
	runtime_sandbox.warn == {{
		"rule": "runtime-sandbox",
		"msg": "contract x runs its algorithm under runtime runc, not a sandbox (gvisor, kata)",
		"details": {"path": "$.inputs.compute.runtimeClass", "runtime": "runc"},
	}} with input as {"contract": {"id": "x", "inputs": {"compute": {}}}, "manifests": [default_job]}
}

test_sandbox_not_provided_warned if {
	runtime_sandbox.warn == {{
		"rule": "runtime-sandbox",
		"msg": "cluster profile local runs runtime gvisor of contract x without a RuntimeClass, so not in a sandbox",
		"details": {"path": "$.inputs.compute.runtimeClass", "runtime": "gvisor"},
	}} with input as {"contract": contract("gvisor"), "profile": {"name": "local"}, "manifests": [default_job]}
}

test_profile_decides_before_any_run if {
	count(runtime_sandbox.warn) == 0 with input as {"contract": contract("gvisor"), "profile": {"name": "p", "runtimeClassName": "gvisor"}, "manifests": []}
	count(runtime_sandbox.warn) == 1 with input as {"contract": contract("gvisor"), "profile": {"name": "p", "runtimeClassName": null}, "manifests": []}
}
