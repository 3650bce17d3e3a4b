/**
 * Literal secrets are refused wherever they sit: in a cluster profile (generator/compile/literal-secrets.ts,
 * through `datomspod compile` and `check`) and in the rendered manifests (the OPS-C deny rule
 * literal-secret, in the wasm bundle and in `opa eval` alike). Both kinds of value are tabled: the
 * credentials (in a URL's user information, path, query, fragment, host, or bare) must be found,
 * and the legitimate values that look random (digests, CIDs, image references, DNS names, IPs,
 * addresses, commit ids, secret references, placeholders) must not. The messages name the JSON path
 * and the fix, and never repeat the secret.
 */

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it, onTestFinished } from "vitest";
import { findLiteralSecrets, isOpaqueToken } from "../../generator/compile/literal-secrets.js";
import { evaluatePolicies } from "../../generator/policy/evaluate.js";
import { cli, tempRepo, tree } from "../compile/repo.js";
import { FIXTURES, readFixture } from "../policy/fixtures.js";
import { NO_OPA, opaEval, sorted } from "../policy/opa.js";

const FILE = "clusters/x/cluster.yaml";

/** [a value, what the profile check must say about it (the message without the path)]. */
const SECRETS: readonly (readonly [string, string])[] = [
  // In a URL's path: the issue's two named shapes, then other providers' keys.
  [
    "https://mainnet.infura.io/v3/9aa3d95b3bc440fa88ea12eaa4456161",
    "holds what looks like an API project key (Infura/Alchemy-style) in path segment 2 of the URL",
  ],
  [
    "wss://mainnet.infura.io/ws/v3/9aa3d95b3bc440fa88ea12eaa4456161",
    "holds what looks like an API project key (Infura/Alchemy-style) in path segment 3 of the URL",
  ],
  [
    "https://eth-mainnet.g.alchemy.com/v2/Z8ZNBo4CqKgIUqeIPzwdR4Rd-gv6wRRn",
    "holds what looks like an API project key (Infura/Alchemy-style) in path segment 2 of the URL",
  ],
  ["https://api.example.org/sk-live-4eC39HqLyjWDarjtT1zdp7dc0123", "holds what looks like an API secret key in path segment 1 of the URL"],
  ["https://api.example.org/hooks/sk_live_4eC39HqLyjWDarjtT1zdp7dc", "holds what looks like an API secret key in path segment 2 of the URL"],
  [
    "https://rpc.ankr.com/eth/0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9",
    "holds what looks like an API key (32 or more hex digits) in path segment 2 of the URL",
  ],
  [
    "https://example.quiknode.pro/4f5e6d7c8b9a0f1e2d3c4b5a69788796a5b4c3d2/",
    "holds what looks like an API key (32 or more hex digits) in path segment 1 of the URL",
  ],
  [
    "https://eth-mainnet.blastapi.io/3f1e5a2b-7c4d-4e8f-9a0b-1c2d3e4f5a6b",
    "holds what looks like an API key (32 or more hex digits) in path segment 1 of the URL",
  ],
  ["https://hooks.slack.com/services/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", "holds what looks like an opaque token in path segment 4 of the URL"],
  [
    "https://rpc.example.org/v3/%39aa3d95b3bc440fa88ea12eaa4456161",
    "holds what looks like an API project key (Infura/Alchemy-style) in path segment 2 of the URL",
  ],
  [
    "HTTPS://MAINNET.INFURA.IO/v3/9AA3D95B3BC440FA88EA12EAA4456161",
    "holds what looks like an API project key (Infura/Alchemy-style) in path segment 2 of the URL",
  ],
  // User information, host.
  ["http://admin:somesecret@127.0.0.1:5001", "holds what looks like a password in the URL's user information"],
  ["https://user:@registry.example.org:x@y/", "holds what looks like a password in the URL's user information"],
  ["https://ghp_0123456789abcdefghijklmnopqrstuvwxyzAB@github.com/org/repo.git", "holds what looks like a GitHub token in the URL's user information"],
  ["https://0123456789abcdef0123456789abcdef.rpc.example.org", "holds what looks like a key in the URL's host name"],
  // Query and fragment.
  ["https://rpc.example.org/?apikey=abc123", 'holds what looks like a credential in the URL\'s query parameter "apikey"'],
  ["https://rpc.example.org/rpc?format=json&access_token=t0k3n", 'holds what looks like a credential in the URL\'s query parameter "access_token"'],
  ["https://rpc.example.org/?apiKey=abc123", 'holds what looks like a credential in the URL\'s query parameter "apiKey"'],
  ["https://s3.example.org/b/f.csv?X-Amz-Signature=deadbeef", 'holds what looks like a credential in the URL\'s query parameter "X-Amz-Signature"'],
  ["https://x.blob.core.windows.net/c/f.csv?sv=2022-11-02&sig=abc%2Bdef%3D", 'holds what looks like a credential in the URL\'s query parameter "sig"'],
  ["https://rpc.example.org/?auth=Basic%20YWRtaW46cGFzcw", 'holds what looks like a credential in the URL\'s query parameter "auth"'],
  ["https://rpc.example.org/?password=hunter2", 'holds what looks like a credential in the URL\'s query parameter "password"'],
  ["https://rpc.example.org/?secret=x", 'holds what looks like a credential in the URL\'s query parameter "secret"'],
  ["https://rpc.example.org/?id=7&c=x9Kp2LmQ7vRt4WsZ8bNcYd3F", 'holds what looks like an opaque token in the URL\'s query parameter "c"'],
  ["https://app.example.org/cb#access_token=ya29.a0AfH6SMBx0123456789abcdefghij", 'holds what looks like a credential in the URL\'s fragment "access_token"'],
  ["https://app.example.org/cb#x9Kp2LmQ7vRt4WsZ8bNcYd3F", "holds what looks like an opaque token in the URL's fragment"],
  // Bare values.
  ["ghp_0123456789abcdefghijklmnopqrstuvwxyzAB", "holds what looks like a GitHub token"],
  ["github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz", "holds what looks like a GitHub token"],
  ["glpat-0123456789abcdefABCD", "holds what looks like a GitLab token"],
  ["xoxb-1234567890-abcdefghij", "holds what looks like a Slack token"],
  ["AKIAIOSFODNN7EXAMPLE", "holds what looks like an AWS access key id"],
  ["AIzaSyA0123456789abcdefghijklmnopqrstuv", "holds what looks like a Google API key"],
  ["ya29.a0AfH6SMBx0123456789abcdefghij", "holds what looks like a Google OAuth token"],
  ["eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.sig", "holds what looks like a JSON Web Token"],
  ["-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEA\n-----END OPENSSH PRIVATE KEY-----\n", "holds what looks like a PEM private key"],
  ["0x4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318", "holds what looks like a 32-byte hex key (an Ethereum private key?)"],
  ["wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "holds what looks like an opaque token"],
  ["x9Kp2LmQ7vRt4WsZ8bNc", "holds what looks like an opaque token"],
  [
    "the endpoint is https://mainnet.infura.io/v3/9aa3d95b3bc440fa88ea12eaa4456161 (prod)",
    "holds what looks like an API project key (Infura/Alchemy-style) in path segment 2 of the URL",
  ],
];

/** Values a profile legitimately holds, several of them long and random-looking. */
const LEGITIMATE: readonly string[] = [
  "sha256:46e710d605987a2609d9175a7d20dba6534811e004f59fdfd7c303ee7b57bc9c",
  "46e710d605987a2609d9175a7d20dba6534811e004f59fdfd7c303ee7b57bc9c",
  "bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi",
  "QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG",
  "https://ipfs.io/ipfs/QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG",
  "https://bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi.ipfs.dweb.link/",
  "registry.example.org/algorithms/python@sha256:99187a87c3859fab770328aa716ed8ee20d96d0c451c595828cfdd088b1fa7ec",
  "https://registry.example.org/v2/algorithms/python/manifests/sha256:46e710d605987a2609d9175a7d20dba6534811e004f59fdfd7c303ee7b57bc9c",
  "localhost/datomspod/pod",
  "ghcr.io/argoproj/argocd:v2.13.0",
  "gcr.io/distroless/static-debian12:nonroot",
  "ipfs.datomspod.svc",
  "ip-10-0-12-34.ec2.internal",
  "aks-nodepool1-12345678-vmss000000",
  "http://127.0.0.1:5001",
  "http://[::1]:8545/",
  "http://10.96.0.10:53",
  "https://kubernetes.default.svc",
  "https://rpc.example.org",
  "https://github.com/datomspod/datomspod.git",
  "https://eth-mainnet.g.alchemy.com/v2/docs-demo",
  "https://mainnet.infura.io/v3/${INFURA_PROJECT_ID}",
  "https://api.example.org/v3/users/42",
  "https://example.org/search?q=kubernetes&page=2&sort=desc",
  "https://example.org/login?token=&key={{key}}",
  "https://user@registry.example.org/",
  "did:op:7f3c2a5e9b1d4c6f8a0e2b4d6f8a1c3e5b7d9f1a3c5e7b9d1f3a5c7e9b1d3f5a",
  "0x5FbDB2315678afecb367f032d93F642f64180aa3",
  "0x04a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9",
  "4b825dc642cb6eb9a060e54bf8d69288fbee4904",
  "3f1e5a2b-7c4d-4e8f-9a0b-1c2d3e4f5a6b",
  "nvidia.com/gpu",
  "node-role.kubernetes.io/control-plane",
  "PreferNoSchedule",
  "VeryLongCamelCaseName2024Edition",
  "ThisIsMyVeryOwnLongName42",
  "Europe/Berlin-DC2-RackA7",
  "SHA256withRSAEncryption2048",
  "release-v2.13.0-rc1-20240101",
  "AKS-Ubuntu-2204-gen2containerd-202401.09.0",
  "hospital-stats-run-1-356a2b00",
  "2026-11-24T08:53:20.531Z",
  "256Mi",
  "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE\n-----END PUBLIC KEY-----\n",
];

describe("literal secrets in a cluster profile", () => {
  it.each(SECRETS)("%s: refused", (value, message) => {
    const issues = findLiteralSecrets({ chain: { rpc: value } }, FILE);

    expect(issues.map((issue) => `${issue.path}: ${issue.message}`)).toContain(`$.chain.rpc: ${message}`);
    expect(issues.every((issue) => issue.fix?.includes("Kubernetes Secret") === true)).toBe(true);
    // The message says where the secret is, never what it is.
    for (const issue of issues) expect(`${issue.message} ${issue.fix}`).not.toContain(value.replace(/^.*[/=#@]/, "").slice(0, 12) || value);
  });

  it.each(LEGITIMATE)("%s: allowed", (value) => {
    expect(findLiteralSecrets({ chain: { rpc: value }, images: [value] }, FILE)).toEqual([]);
  });

  it("finds secrets under keys named like one, in keys, and at every depth, and lets secret references through", () => {
    const profile = {
      ipfs: { endpoint: "http://127.0.0.1:5001", token: "s3cr3t", credentials: { secretName: "ipfs-api", key: "token" } },
      chain: { apiKey: 12345 },
      gpu: { nodeSelector: { ghp_0123456789abcdefghijklmnopqrstuvwxyzAB: "true" }, tolerations: [{ key: "x", value: "AKIAIOSFODNN7EXAMPLE" }] },
      secrets: [{ secretName: "chain-rpc", key: "url" }],
    };

    const issues = findLiteralSecrets(profile, FILE);

    expect(issues.map((issue) => `${issue.path}: ${issue.message}`)).toEqual([
      "$.ipfs.token: is a literal secret",
      "$.chain.apiKey: is a literal secret",
      "$.gpu.nodeSelector.ghp_0123456789abcdefghijklmnopqrstuvwxyzAB: its key holds what looks like a GitHub token",
      "$.gpu.tolerations[0].value: holds what looks like an AWS access key id",
    ]);
  });

  it("misses none of the legitimate values, and finds most random tokens (a seeded measurement)", () => {
    const random = seeded(20261124);
    const alphabets = {
      base62: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
      base64: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/",
      base64url: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_",
    };
    const rates: Record<string, number> = {};
    for (const [name, alphabet] of Object.entries(alphabets)) {
      for (const length of [20, 32, 40, 64]) {
        let found = 0;
        for (let i = 0; i < 500; i += 1) {
          let token = "";
          for (let j = 0; j < length; j += 1) token += alphabet[Math.floor(random() * alphabet.length)];
          if (findLiteralSecrets({ value: token }, FILE).length > 0) found += 1;
        }
        rates[`${name} ${length}`] = found / 500;
      }
    }

    const falsePositives = LEGITIMATE.filter((value) => findLiteralSecrets({ value }, FILE).length > 0);

    expect(falsePositives).toEqual([]);
    for (const [what, rate] of Object.entries(rates)) expect(rate, what).toBeGreaterThanOrEqual(0.8);
    expect(isOpaqueToken("x9Kp2LmQ7vRt4WsZ8bN")).toBe(false); // 19 characters: too short to judge
  });
});

describe("literal secrets in a cluster profile, through the CLI", () => {
  it.each([
    [
      "an Infura key in the RPC URL's path",
      "  rpc: http://127.0.0.1:8545",
      "  rpc: https://mainnet.infura.io/v3/9aa3d95b3bc440fa88ea12eaa4456161",
      "$.chain.rpc",
      "9aa3d95b3bc440fa88ea12eaa4456161",
    ],
    [
      "an API key in the IPFS endpoint's query",
      "  endpoint: http://127.0.0.1:5001",
      "  endpoint: http://127.0.0.1:5001/api/v0?key=Zx81Qw",
      "$.ipfs.endpoint",
      "Zx81Qw",
    ],
    [
      "a token as the Argo CD revision",
      "  targetRevision: main",
      "  targetRevision: ghp_0123456789abcdefghijklmnopqrstuvwxyzAB",
      "$.argocd.targetRevision",
      "ghp_0123456789abcdefghijklmnopqrstuvwxyzAB",
    ],
    [
      "a token in the repository URL's user information",
      "  repoURL: https://github.com/datomspod/datomspod.git",
      "  repoURL: https://x-access-token:gho_0123456789abcdefghijklmnopqrstuvwxyzAB@github.com/datomspod/datomspod.git",
      "$.argocd.repoURL",
      "gho_0123456789",
    ],
  ])("compile and check refuse %s, naming the JSON path and the fix, without printing it; nothing is written", async (_, from, to, path, secret) => {
    const repo = tempRepo();
    const file = join(repo, "clusters", "local", "cluster.yaml");
    const text = readFileSync(file, "utf8");
    expect(text).toContain(`${from}\n`);
    writeFileSync(file, text.replace(`${from}\n`, `${to}\n`));
    const before = tree(join(repo, "clusters"));

    const compiled = await cli(repo, "compile");
    const checked = await cli(repo, "check");

    for (const result of [compiled, checked]) {
      expect(result.code).toBe(2);
      expect(result.stdout + result.stderr).toMatch(
        new RegExp(`clusters/local/cluster\\.yaml ${path.replace(/[.$]/g, "\\$&")}: holds what looks like .* \\(fix: .*Kubernetes Secret`),
      );
      expect(result.stdout + result.stderr).not.toContain(secret);
    }
    expect(tree(join(repo, "clusters"))).toEqual(before);
  });
});

/** The base policy fixture with `values` as env values of the computing container and entries of the algorithm's ConfigMap. */
function withValues(values: readonly string[]): ReturnType<typeof readFixture> {
  const input = structuredClone(readFixture(join(FIXTURES, "base", "input.json"))) as unknown as {
    manifests: { kind: string; metadata: { name: string }; data?: Record<string, string>; spec?: any }[];
  };
  const job = input.manifests.find((m) => m.kind === "Job")!;
  const computing = job.spec.template.spec.initContainers.find((c: { name: string }) => c.name === "computing");
  computing.env = [...computing.env, ...values.map((value, i) => ({ name: `ENDPOINT_${i}`, value }))];
  const algorithm = input.manifests.find((m) => m.kind === "ConfigMap" && m.metadata.name === "algorithm")!;
  algorithm.data = { ...algorithm.data, ...Object.fromEntries(values.map((value, i) => [`endpoint-${i}.txt`, `${value}\n`])) };
  return input as unknown as ReturnType<typeof readFixture>;
}

/** The manifest-side shapes: URLs with a credential. */
const MANIFEST_SECRETS: readonly (readonly [string, string])[] = [
  ["https://mainnet.infura.io/v3/9aa3d95b3bc440fa88ea12eaa4456161", "an API key in a URL path"],
  ["https://eth-mainnet.g.alchemy.com/v2/Z8ZNBo4CqKgIUqeIPzwdR4Rd-gv6wRRn", "an API key in a URL path"],
  ["https://eth-mainnet.blastapi.io/3f1e5a2b-7c4d-4e8f-9a0b-1c2d3e4f5a6b", "an API key in a URL path"],
  ["http://admin:somesecret@127.0.0.1:5001", "a password in a URL"],
  ["https://rpc.example.org/?apikey=abc123def456", "a credential in a URL parameter"],
  ["https://s3.example.org/b/f.csv?X-Amz-Signature=deadbeef0123", "a credential in a URL parameter"],
  ["https://app.example.org/cb#access_token=opaque-value-1", "a credential in a URL parameter"],
  ["AIzaSyA0123456789abcdefghijklmnopqrstuv", "a Google API key"],
  ["glpat-0123456789abcdefABCD", "a GitLab token"],
];

const MANIFEST_LEGITIMATE: readonly string[] = [
  "https://rpc.example.org",
  "https://ipfs.io/ipfs/bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi",
  "https://registry.example.org/v2/algorithms/python/manifests/sha256:46e710d605987a2609d9175a7d20dba6534811e004f59fdfd7c303ee7b57bc9c",
  "https://mainnet.infura.io/v3/${INFURA_PROJECT_ID}",
  "https://example.org/search?q=kubernetes&page=2",
  "http://[::1]:8545/",
];

describe("literal secrets in the rendered manifests (OPS-C deny literal-secret)", () => {
  it.each(MANIFEST_SECRETS)("%s in an env value and a ConfigMap entry: denied as %s", (value, kind) => {
    const input = withValues([value]);

    const result = evaluatePolicies(input, input.scenario);

    expect(result.deny.map((finding) => finding.rule)).toEqual(["literal-secret", "literal-secret"]);
    expect(result.deny.map((finding) => finding.msg).sort()).toEqual(
      [
        `ConfigMap dp-ward-statistics/algorithm entry endpoint-0.txt holds what looks like ${kind}`,
        `env ENDPOINT_0 of container computing of Job dp-ward-statistics/ward-statistics-run-1-5d0c3b1a holds what looks like ${kind}; use valueFrom.secretKeyRef`,
      ].sort(),
    );
  });

  it("allows the public URLs, all at once", () => {
    const input = withValues(MANIFEST_LEGITIMATE);

    expect(evaluatePolicies(input, input.scenario).deny).toEqual([]);
  });

  it.skipIf(NO_OPA !== undefined)("opa eval over the Rego sources agrees exactly with the wasm bundle", () => {
    const dir = mkdtempSync(join(tmpdir(), "datomspod-secrets-"));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    for (const values of [MANIFEST_SECRETS.map(([value]) => value), MANIFEST_LEGITIMATE]) {
      const input = withValues(values);
      const file = join(dir, "input.json");
      writeFileSync(file, JSON.stringify(input));

      expect(sorted(opaEval(file))).toEqual(sorted(evaluatePolicies(input, input.scenario)));
    }
  });
});

/** A small seeded generator (mulberry32): the same tokens on every run. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
