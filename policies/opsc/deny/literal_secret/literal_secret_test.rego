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

url_env(values) := [{"name": sprintf("URL_%d", [i]), "value": value} | some i, value in values]

test_credentials_in_urls_denied if {
	messages([job(url_env([
		"http://admin:hunter2hunter2@127.0.0.1:5001",
		"https://mainnet.infura.io/v3/9aa3d95b3bc440fa88ea12eaa4456161",
		"wss://eth-mainnet.g.alchemy.com/v2/Z8ZNBo4CqKgIUqeIPzwdR4Rd-gv6wRRn",
		"https://rpc.ankr.com/eth/0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9",
		"https://eth-mainnet.blastapi.io/3f1e5a2b-7c4d-4e8f-9a0b-1c2d3e4f5a6b/",
		"https://rpc.example.org/?apiKey=abcdef123456",
		"https://x.blob.core.windows.net/c/f.csv?sv=2022-11-02&sig=abc%2Bdef0123456",
		"https://app.example.org/cb#access_token=opaque-value-1",
		"https://gitlab.example.org/api/v4/projects?private_token=glpat-0123456789abcdefABCD",
	]))]) == {
		"env URL_0 of container oracle of Job dp-x/run-1 holds what looks like a password in a URL; use valueFrom.secretKeyRef",
		"env URL_1 of container oracle of Job dp-x/run-1 holds what looks like an API key in a URL path; use valueFrom.secretKeyRef",
		"env URL_2 of container oracle of Job dp-x/run-1 holds what looks like an API key in a URL path; use valueFrom.secretKeyRef",
		"env URL_3 of container oracle of Job dp-x/run-1 holds what looks like an API key in a URL path; use valueFrom.secretKeyRef",
		"env URL_4 of container oracle of Job dp-x/run-1 holds what looks like an API key in a URL path; use valueFrom.secretKeyRef",
		"env URL_5 of container oracle of Job dp-x/run-1 holds what looks like a credential in a URL parameter; use valueFrom.secretKeyRef",
		"env URL_6 of container oracle of Job dp-x/run-1 holds what looks like a credential in a URL parameter; use valueFrom.secretKeyRef",
		"env URL_7 of container oracle of Job dp-x/run-1 holds what looks like a credential in a URL parameter; use valueFrom.secretKeyRef",
		"env URL_8 of container oracle of Job dp-x/run-1 holds what looks like a GitLab token; use valueFrom.secretKeyRef",
		"env URL_8 of container oracle of Job dp-x/run-1 holds what looks like a credential in a URL parameter; use valueFrom.secretKeyRef",
	}
}

test_more_token_shapes_denied if {
	messages([config({
		"google": "key = AIzaSyA0123456789abcdefghijklmnopqrstuv",
		"oauth": "Authorization: Bearer ya29.a0AfH6SMBx0123456789abcdefghij",
		"stripe": "pk_live_0123456789abcdefABCD",
	})]) == {
		"ConfigMap dp-x/algorithm entry google holds what looks like a Google API key",
		"ConfigMap dp-x/algorithm entry oauth holds what looks like a Google OAuth token",
		"ConfigMap dp-x/algorithm entry stripe holds what looks like an API secret key",
	}
}

test_public_urls_allowed if {
	messages([
		job(url_env([
			"http://127.0.0.1:5001",
			"http://[::1]:8545/",
			"https://rpc.example.org",
			"https://ipfs.io/ipfs/bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi",
			"https://registry.example.org/v2/algorithms/python/manifests/sha256:46e710d605987a2609d9175a7d20dba6534811e004f59fdfd7c303ee7b57bc9c",
			"https://eth-mainnet.g.alchemy.com/v2/docs-demo",
			"https://mainnet.infura.io/v3/${INFURA_PROJECT_ID}",
			"https://example.org/search?q=kubernetes&page=2&sort=desc",
			"https://example.org/login?next=/home&key=",
		])),
		config({
			"ddo.json": "{\"@context\": [\"https://w3id.org/did/v1\"], \"id\": \"did:op:7f3c2a5e9b1d4c6f8a0e2b4d6f8a1c3e5b7d9f1a3c5e7b9d1f3a5c7e9b1d3f5a\"}",
			"fetch.py": "url = f\"https://api.example.org/data?token={token}&key={key}\"\n",
		}),
	]) == set()
}
