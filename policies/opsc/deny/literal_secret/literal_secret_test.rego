package opsc.deny.literal_secret_test

import data.opsc.deny.literal_secret

job(env) := {
	"kind": "Job",
	"metadata": {"name": "run-1", "namespace": "dp-x"},
	"spec": {"template": {"spec": {"containers": [{"name": "oracle", "image": "b", "env": env}]}}},
}

config(entries) := {"kind": "ConfigMap", "metadata": {"name": "algorithm", "namespace": "dp-x"}, "data": entries}

messages(manifests) := result if {
	result := {v.msg | some v in literal_secret.deny} with input.manifests as manifests
}

test_secret_key_ref_allowed if {
	messages([job([
		{"name": "S3_SECRET_ACCESS_KEY", "valueFrom": {"secretKeyRef": {"name": "s3", "key": "secret"}}},
		{"name": "DATOMSPOD_RECIPIENT_PUBLIC_KEY", "value": "0x04abcdef"},
		{"name": "DIDS", "value": "[\"did:op:7f3c\"]"},
		{"name": "EMPTY_TOKEN", "value": ""},
	])]) == set()
}

test_secret_named_env_with_value_denied if {
	literal_secret.deny == {{
		"rule": "literal-secret",
		"msg": "env API_TOKEN of container oracle of Job dp-x/run-1 has a literal value; use valueFrom.secretKeyRef",
		"details": {"resource": "Job dp-x/run-1", "container": "oracle", "env": "API_TOKEN"},
	}} with input.manifests as [job([{"name": "API_TOKEN", "value": "abc"}])]
}

test_every_secret_name_denied if {
	names := ["DB_PASSWORD", "db_passwd", "CLIENT_SECRET", "SIGNING_KEY", "PRIVATE_KEY", "AWS_CREDENTIALS", "ApiKey"]
	count(messages([job([{"name": name, "value": "x"} | some name in names])])) == count(names)
}

test_token_shaped_env_value_denied if {
	literal_secret.deny == {{
		"rule": "literal-secret",
		"msg": "env UPSTREAM of container oracle of Job dp-x/run-1 holds what looks like a GitHub token; use valueFrom.secretKeyRef",
		"details": {"resource": "Job dp-x/run-1", "container": "oracle", "env": "UPSTREAM", "looks_like": "a GitHub token"},
	}} with input.manifests as [job([{"name": "UPSTREAM", "value": "ghp_0123456789abcdefghijklmnopqrstuvwxyzAB"}])]
}

test_config_map_tokens_denied if {
	messages([config({
		"key.pem": "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEE\n-----END EC PRIVATE KEY-----\n",
		"aws.txt": "id = AKIAIOSFODNN7EXAMPLE",
		"slack": "xoxb-1234567890-abcdefghij",
		"stripe": "sk_live_0123456789abcdefABCD",
		"jwt": "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.sig",
		"keystore.json": "{\"crypto\": {\"ciphertext\": \"00\"}}",
		"settings.py": "PASSWORD = \"hunter2hunter2\"",
	})]) == {
		"ConfigMap dp-x/algorithm entry key.pem holds what looks like a PEM private key",
		"ConfigMap dp-x/algorithm entry aws.txt holds what looks like an AWS access key id",
		"ConfigMap dp-x/algorithm entry slack holds what looks like a Slack token",
		"ConfigMap dp-x/algorithm entry stripe holds what looks like an API secret key",
		"ConfigMap dp-x/algorithm entry jwt holds what looks like a JSON Web Token",
		"ConfigMap dp-x/algorithm entry keystore.json holds what looks like an encrypted key file",
		"ConfigMap dp-x/algorithm entry settings.py holds what looks like a password assignment",
	}
}

test_ordinary_code_and_hashes_allowed if {
	messages([config({
		"aggregate.py": "token = tokens[0]\npassword = os.environ[\"X\"]\nkey = row['region']\n",
		"ddo.json": "{\"id\": \"did:op:7f3c2a5e9b1d4c6f8a0e2b4d6f8a1c3e5b7d9f1a3c5e7b9d1f3a5c7e9b1d3f5a\", \"checksum\": \"46e710d605987a2609d9175a7d20dba6534811e004f59fdfd7c303ee7b57bc9c\"}",
		"algoCustomData.json": "{\"groupBy\": \"region\", \"minGroupSize\": 10}",
	})]) == set()
}

test_secret_object_with_values_denied if {
	literal_secret.deny == {{
		"rule": "literal-secret",
		"msg": "Secret dp-x/s3 carries its values in the manifests; create it in the cluster and reference it by name",
		"details": {"resource": "Secret dp-x/s3"},
	}} with input.manifests as [{"kind": "Secret", "metadata": {"name": "s3", "namespace": "dp-x"}, "stringData": {"k": "v"}}]
}

test_empty_secret_object_allowed if {
	messages([{"kind": "Secret", "metadata": {"name": "s3", "namespace": "dp-x"}}]) == set()
}
