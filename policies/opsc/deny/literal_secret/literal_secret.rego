# METADATA
# title: Literal secret in the manifests
# description: >-
#   Rendered manifests are committed to git and synced by Argo CD: a key, token or password in
#   them is published. Secrets reach containers only through valueFrom.secretKeyRef. Denied:
#   a Secret object with values; an env var whose name says secret, token, password, key or
#   credential (PUBLIC_KEY excepted) with a literal value; an env value or ConfigMap entry that
#   looks like a private key, a cloud, GitHub, GitLab, Slack, Stripe, OpenAI or Google token, a
#   JWT or a password assignment, or holds a URL with a credential in it: a password in its user
#   information, an API key in its path (Infura/Alchemy-style /v2/ and /v3/ keys, 32 or more hex
#   digits, a UUID), a query or fragment parameter named key, token, apikey, access_token, secret,
#   sig, signature, password, auth or credential (a value of 8 characters or more).
# custom:
#   rule: literal-secret
#   severity: critical
package opsc.deny.literal_secret

import data.opsc.lib.k8s

secret_name := `(?i)(secret|token|passw(or)?d|credential|key)`

public_key_name := `(?i)public_?key`

# Shapes of credentials that never belong in git.
token_patterns := {
	"a PEM private key": `-----BEGIN ([A-Z0-9]+ )*PRIVATE KEY-----`,
	"an AWS access key id": `\b(AKIA|ASIA)[0-9A-Z]{16}\b`,
	"a GitHub token": `\b(gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{22,})`,
	"a Slack token": `\bxox[abprs]-[A-Za-z0-9-]{10,}`,
	"an API secret key": `\b(sk|rk|pk)_(live|test)_[A-Za-z0-9]{16,}|\bsk-[A-Za-z0-9_-]{20,}`,
	"a JSON Web Token": `\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]+`,
	"an encrypted key file": `"ciphertext"\s*:`,
	"a password assignment": `(?i)(passw(or)?d|secret|api_?key|access_?token|auth_?token)["']?\s*[:=]\s*["'][^"'\s$]{8,}["']`,
	"a GitLab token": `\bglpat-[A-Za-z0-9_-]{20,}`,
	"a Google API key": `\bAIza[0-9A-Za-z_-]{35}`,
	"a Google OAuth token": `\bya29\.[0-9A-Za-z_-]{20,}`,
	"a password in a URL": `\b[a-zA-Z][a-zA-Z0-9+.-]*://[^/?#@\s:"'<>]*:[^/?#@\s"'<>]+@`,
	"an API key in a URL path": `\b[a-zA-Z][a-zA-Z0-9+.-]*://[^/?#\s"'<>]+(/[^/?#\s"'<>]*)*/(v[23]/[A-Za-z0-9_-]{32,}|[0-9a-fA-F]{32,}|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})([/?#\s"'<>]|$)`,
	"a credential in a URL parameter": `\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s"'<>]*[?&#;]([A-Za-z0-9]*[-_.])*(?i:key|api[-_]?key|token|access[-_]?token|auth|authorization|secret|client[-_]?secret|sig|signature|password|passwd|pwd|credentials?)=[A-Za-z0-9%+/][^&#;\s"'<>]{7,}`,
}

# All the shapes in one expression: most values match none, and one regex is cheaper than many.
any_token := concat("|", [concat("", ["(?:", pattern, ")"]) | some pattern in token_patterns])

# What a literal looks like, if it looks like a credential.
credential_kinds(value) := {kind | some kind, pattern in token_patterns; regex.match(pattern, value)} if {
	regex.match(any_token, value)
} else := set()

deny contains violation if {
	some secret in k8s.objects("Secret")
	count(object.get(secret, "data", {})) + count(object.get(secret, "stringData", {})) > 0
	violation := {
		"rule": "literal-secret",
		"msg": sprintf("%s carries its values in the manifests; create it in the cluster and reference it by name", [k8s.resource_name(secret)]),
		"details": {"resource": k8s.resource_name(secret)},
	}
}

deny contains violation if {
	some c in k8s.containers
	some env in object.get(c.container, "env", [])
	regex.match(secret_name, env.name)
	not regex.match(public_key_name, env.name)
	object.get(env, "value", "") != ""
	violation := {
		"rule": "literal-secret",
		"msg": sprintf("env %s of container %s of %s has a literal value; use valueFrom.secretKeyRef", [env.name, c.name, c.resource]),
		"details": {"resource": c.resource, "container": c.name, "env": env.name},
	}
}

deny contains violation if {
	some c in k8s.containers
	some env in object.get(c.container, "env", [])
	some kind in credential_kinds(object.get(env, "value", ""))
	violation := {
		"rule": "literal-secret",
		"msg": sprintf("env %s of container %s of %s holds what looks like %s; use valueFrom.secretKeyRef", [env.name, c.name, c.resource, kind]),
		"details": {"resource": c.resource, "container": c.name, "env": env.name, "looks_like": kind},
	}
}

deny contains violation if {
	some map in k8s.objects("ConfigMap")
	some key, value in object.get(map, "data", {})
	some kind in credential_kinds(value)
	violation := {
		"rule": "literal-secret",
		"msg": sprintf("%s entry %s holds what looks like %s", [k8s.resource_name(map), key, kind]),
		"details": {"resource": k8s.resource_name(map), "key": key, "looks_like": kind},
	}
}
