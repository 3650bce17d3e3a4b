/**
 * Literal secrets in what is committed to git (cluster profiles): a credential is refused wherever
 * it sits, with the way to reference a Kubernetes Secret instead:
 * - under a key named like one (`token: …`, `apiKey: …`), unless it is a reference `{secretName, key}`;
 * - a value shaped like a known token (PEM private key, AWS/GitHub/GitLab/Slack/Stripe/OpenAI/Google
 *   keys, JSON Web Tokens, a 32-byte hex key), anywhere in the string;
 * - in a URL: its user information, a path segment (a known token, an Infura/Alchemy-style
 *   `/v2/<key>` or `/v3/<key>`, 32 or more hex digits or a UUID, an opaque token), a query parameter
 *   named like a credential (key, token, apikey, access_token, secret, sig, signature, password,
 *   auth, …) or whose value is a token, and the fragment;
 * - a bare value that is an opaque high-entropy token (see `isOpaqueToken`).
 * Pure. The messages name where the secret is, never the secret.
 */

import type { Issue } from "../errors.js";
import { jsonPath } from "../contract/json.js";

/** What a value holds, and where in it. */
export interface SecretFinding {
  /** What it looks like, e.g. "a GitHub token". */
  readonly kind: string;
  /** Where in the value, e.g. "in path segment 2 of the URL"; empty for the whole value. */
  readonly where: string;
}

/** Shapes of credentials, matched anywhere in a string (the same shapes as policies/opsc/deny/literal_secret). */
const TOKEN_PATTERNS: readonly (readonly [string, RegExp])[] = [
  ["a PEM private key", /-----BEGIN ([A-Z0-9]+ )*PRIVATE KEY-----/],
  ["an AWS access key id", /\b(AKIA|ASIA)[0-9A-Z]{16}\b/],
  ["a GitHub token", /\b(gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{22,})/],
  ["a GitLab token", /\bglpat-[A-Za-z0-9_-]{20,}/],
  ["a Slack token", /\bxox[abprs]-[A-Za-z0-9-]{10,}/],
  ["an API secret key", /\b(sk|rk|pk)_(live|test)_[A-Za-z0-9]{16,}|\bsk-[A-Za-z0-9_-]{20,}/],
  ["a Google API key", /\bAIza[0-9A-Za-z_-]{35}/],
  ["a Google OAuth token", /\bya29\.[0-9A-Za-z_-]{20,}/],
  ["a JSON Web Token", /\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*/],
  ["a 32-byte hex key (an Ethereum private key?)", /(^|[^0-9A-Za-z])0x[0-9a-fA-F]{64}($|[^0-9A-Za-z])/],
];

/** Query parameter (or fragment) names that carry credentials: the name, or its last part after `-`, `_` or `.`. */
const CREDENTIAL_PARAMETER =
  /(^|[-_.])(key|apikey|api[-_]?key|token|access[-_]?token|auth|authorization|secret|client[-_]?secret|sig|signature|password|passwd|pwd|pass|credentials?)$/i;

/** A placeholder filled in elsewhere (`${X}`, `$(X)`, `{{x}}`, `<x>`), not a value. */
const PLACEHOLDER = /^(\$\{.*\}|\$\(.*\)|\{\{.*\}\}|<.*>)$/s;

const URL_IN_TEXT = /\b[a-z][a-z0-9+.-]*:\/\/[^\s"'<>`]+/gi;
const HEX_KEY = /^[0-9a-fA-F]{32,}$/;
const UUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
/** Content identifiers (IPFS CIDv0 and base32 CIDv1) are public addresses of content, however random they look. */
const CID = /^(Qm[1-9A-HJ-NP-Za-km-z]{44}|b[a-z2-7]{58,})$/;

/** The first token shape `value` holds, or undefined. */
export function tokenKind(value: string): string | undefined {
  return TOKEN_PATTERNS.find(([, pattern]) => pattern.test(value))?.[0];
}

function entropyBits(value: string): number {
  const counts = new Map<string, number>();
  for (const c of value) counts.set(c, (counts.get(c) ?? 0) + 1);
  let bits = 0;
  for (const n of counts.values()) bits -= (n / value.length) * Math.log2(n / value.length);
  return bits;
}

function charClass(c: string): string {
  return /[a-z]/.test(c) ? "lower" : /[A-Z]/.test(c) ? "upper" : /[0-9]/.test(c) ? "digit" : "other";
}

/**
 * Whether `value` is an opaque token: at least 20 characters of the base64/base64url alphabet,
 * with at least two of upper case, lower case and digits; nearly as random as its length allows
 * (Shannon entropy at least 0.85 of log2 of its length, at most 48); switching character class
 * often (at least 35 % of neighbours, as random text does and words do not); less than 40 % of
 * it in word-like runs (`Name`, `long`); and not a content identifier. Measured on random tokens
 * (test/security/literal-secrets.test.ts): about 85–99 % of base62/base64 tokens of 20–88
 * characters; hex-only and lower-case-only values are left to the URL rules.
 */
export function isOpaqueToken(value: string): boolean {
  if (value.length < 20 || !/^[A-Za-z0-9+/=_.~-]+$/.test(value) || CID.test(value)) return false;
  const classes = [/[A-Z]/, /[a-z]/, /[0-9]/].filter((pattern) => pattern.test(value)).length;
  if (classes < 2) return false;
  const words = (value.match(/[A-Z]?[a-z]{3,}/g) ?? []).join("").length;
  if (words >= 0.4 * value.length) return false;
  let switches = 0;
  for (let i = 1; i < value.length; i += 1) if (charClass(value.charAt(i)) !== charClass(value.charAt(i - 1))) switches += 1;
  return entropyBits(value) >= 0.85 * Math.log2(Math.min(value.length, 48)) && switches >= 0.35 * (value.length - 1);
}

function decode(text: string): string {
  try {
    return decodeURIComponent(text.replace(/\+/g, " "));
  } catch {
    return text;
  }
}

/** What a single piece of a URL (a path segment, a query value, the user name) holds. */
function pieceKind(piece: string, previous: string | undefined): string | undefined {
  const known = tokenKind(piece);
  if (known !== undefined) return known;
  if (previous !== undefined && /^v[23]$/i.test(previous) && /^[A-Za-z0-9_-]{32,}$/.test(piece)) return "an API project key (Infura/Alchemy-style)";
  if (HEX_KEY.test(piece) || UUID.test(piece)) return "an API key (32 or more hex digits)";
  if (isOpaqueToken(piece)) return "an opaque token";
  return undefined;
}

/** `name=value` pairs of a query or fragment, decoded. */
function pairs(text: string): { name: string; value: string }[] {
  return text
    .split(/[&;]/)
    .filter((pair) => pair !== "")
    .map((pair) => {
      const at = pair.indexOf("=");
      return at < 0 ? { name: "", value: decode(pair) } : { name: decode(pair.slice(0, at)), value: decode(pair.slice(at + 1)) };
    });
}

/** Credentials in one URL: its user information, path segments, query parameters and fragment. */
export function urlSecrets(url: string): SecretFinding[] {
  const match = /^([a-z][a-z0-9+.-]*):\/\/([^/?#]*)([^?#]*)(\?[^#]*)?(#.*)?$/is.exec(url);
  if (match === null) return [];
  const [, , authority = "", path = "", query = "", fragment = ""] = match;
  const findings: SecretFinding[] = [];
  const at = authority.lastIndexOf("@");
  if (at >= 0) {
    const userInfo = authority.slice(0, at);
    const colon = userInfo.indexOf(":");
    const user = decode(colon < 0 ? userInfo : userInfo.slice(0, colon));
    const password = colon < 0 ? "" : decode(userInfo.slice(colon + 1));
    const userKind = pieceKind(user, undefined);
    if (password !== "" && !PLACEHOLDER.test(password)) findings.push({ kind: "a password", where: "in the URL's user information" });
    else if (userKind !== undefined) findings.push({ kind: userKind, where: "in the URL's user information" });
  }
  const host = at >= 0 ? authority.slice(at + 1) : authority;
  if (host.split(".").some((label) => tokenKind(label) !== undefined || HEX_KEY.test(label) || UUID.test(label)))
    findings.push({ kind: "a key", where: "in the URL's host name" });
  const segments = path.split("/").slice(1).map(decode);
  segments.forEach((segment, i) => {
    const kind = pieceKind(segment, segments[i - 1]);
    if (kind !== undefined) findings.push({ kind, where: `in path segment ${i + 1} of the URL` });
  });
  for (const [part, text] of [
    ["query parameter", query.slice(1)],
    ["fragment", fragment.slice(1)],
  ] as const) {
    for (const { name, value } of pairs(text)) {
      if (value === "" || PLACEHOLDER.test(value)) continue;
      const where = name === "" ? `in the URL's ${part === "fragment" ? "fragment" : "query"}` : `in the URL's ${part} ${JSON.stringify(name)}`;
      if (name !== "" && CREDENTIAL_PARAMETER.test(name)) findings.push({ kind: "a credential", where });
      else {
        const kind = pieceKind(value, undefined);
        if (kind !== undefined) findings.push({ kind, where });
      }
    }
  }
  return findings;
}

/** Every credential a string holds: in the URLs it contains, a token shape anywhere, or the whole of it an opaque token. */
export function secretsIn(value: string): SecretFinding[] {
  const urls = value.match(URL_IN_TEXT) ?? [];
  const inUrls = urls.flatMap((url) => urlSecrets(url));
  if (inUrls.length > 0) return inUrls;
  const kind = tokenKind(value);
  if (kind !== undefined) return [{ kind, where: "" }];
  if (urls.length === 0 && isOpaqueToken(value)) return [{ kind: "an opaque token", where: "" }];
  return [];
}

const SECRET_NAME = /(secret|passw|token|api[-_]?key|access[-_]?key|private[-_]?key|credential|auth)/i;
const FIX = "reference a Kubernetes Secret instead, e.g. `credentials: {secretName: ipfs-api, key: token}`, and create the Secret in the cluster";
const URL_FIX =
  "keep the endpoint without its key here and put the whole URL in a Kubernetes Secret, referenced as `credentials: {secretName: chain-rpc, key: url}`";

function describe(finding: SecretFinding): string {
  return `holds what looks like ${finding.kind}${finding.where === "" ? "" : ` ${finding.where}`}`;
}

/**
 * Finds values that are secrets written in clear (see the module comment), with the JSON path of
 * each; map keys are checked like values.
 */
export function findLiteralSecrets(value: unknown, file: string, path = "$"): Issue[] {
  if (Array.isArray(value)) return value.flatMap((item, i) => findLiteralSecrets(item, file, jsonPath(path, i)));
  if (value !== null && typeof value === "object") {
    if (isSecretRef(value)) return [];
    return Object.entries(value).flatMap(([key, child]) => {
      const childPath = jsonPath(path, key);
      const inKey = secretsIn(key).map((finding) => ({ file, path: childPath, message: `its key ${describe(finding)}`, fix: FIX }));
      if (SECRET_NAME.test(key) && (typeof child === "string" || typeof child === "number")) {
        return [...inKey, { file, path: childPath, message: "is a literal secret", fix: FIX }];
      }
      return [...inKey, ...findLiteralSecrets(child, file, childPath)];
    });
  }
  if (typeof value !== "string") return [];
  return secretsIn(value).map((finding) => ({ file, path, message: describe(finding), fix: finding.where.includes("URL") ? URL_FIX : FIX }));
}

/** `{secretName, key}`: a reference to a Secret, the one right way to name a credential. */
function isSecretRef(value: object): boolean {
  const keys = Object.keys(value).sort();
  return keys.length === 2 && keys[0] === "key" && keys[1] === "secretName" && Object.values(value).every((v) => typeof v === "string");
}
