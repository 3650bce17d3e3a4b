/**
 * DSSE (Dead Simple Signing Envelope, secure-systems-lab/dsse v1.0) with Ethereum keys.
 *
 * What is signed is the pre-authentication encoding of the payload and its type:
 *
 *   PAE(type, body) = "DSSEv1" SP LEN(type) SP type SP LEN(body) SP body
 *
 * where LEN is the byte length in ASCII decimal and SP one space. datomspod signs PAE bytes with
 * an Ethereum key as an EIP-191 personal message (`personal_sign`: keccak256 of
 * "\x19Ethereum Signed Message:\n" + length + PAE), so any Ethereum wallet or library can produce
 * and check the signature. The `keyid` of a signature is the signer's EIP-55 checksummed address;
 * `sig` is the 65-byte r || s || v signature (v = 27 or 28), base64. Verifying recovers the address
 * from `sig` and compares it with `keyid`.
 */

import { getAddress, verifyMessage, type Signer } from "ethers";

export const IN_TOTO_PAYLOAD_TYPE = "application/vnd.in-toto+json";

export interface DsseSignature {
  readonly keyid: string;
  readonly sig: string;
}

export interface DsseEnvelope {
  readonly payload: string;
  readonly payloadType: string;
  readonly signatures: readonly DsseSignature[];
}

/** The pre-authentication encoding of DSSE v1. */
export function pae(payloadType: string, payload: Uint8Array): Uint8Array {
  const type = new TextEncoder().encode(payloadType);
  const head = new TextEncoder().encode(`DSSEv1 ${type.length} ${payloadType} ${payload.length} `);
  const out = new Uint8Array(head.length + payload.length);
  out.set(head, 0);
  out.set(payload, head.length);
  return out;
}

/** Signs `payload` with an Ethereum signer (EIP-191 over the PAE bytes). */
export async function signEnvelope(signer: Signer, payloadType: string, payload: Uint8Array): Promise<DsseEnvelope> {
  const signature = await signer.signMessage(pae(payloadType, payload));
  const keyid = getAddress(await signer.getAddress());
  return {
    payload: Buffer.from(payload).toString("base64"),
    payloadType,
    signatures: [{ keyid, sig: Buffer.from(signature.slice(2), "hex").toString("base64") }],
  };
}

export interface EnvelopeCheck {
  /** The decoded payload, when it is well-formed base64. */
  readonly payload?: Uint8Array;
  /** Addresses whose signatures verified. */
  readonly signers: readonly string[];
  readonly problems: readonly string[];
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** Verifies every signature of an envelope; returns the verified signer addresses and any problems. */
export function verifyEnvelope(envelope: DsseEnvelope): EnvelopeCheck {
  const problems: string[] = [];
  if (!BASE64.test(envelope.payload) || envelope.payload.length % 4 !== 0) return { signers: [], problems: ["the payload is not base64"] };
  const payload = new Uint8Array(Buffer.from(envelope.payload, "base64"));
  if (Buffer.from(payload).toString("base64") !== envelope.payload) return { signers: [], problems: ["the payload is not canonical base64"] };
  const message = pae(envelope.payloadType, payload);
  const signers: string[] = [];
  if (envelope.signatures.length === 0) problems.push("the envelope has no signature");
  for (const [i, { keyid, sig }] of envelope.signatures.entries()) {
    const bytes = BASE64.test(sig) ? Buffer.from(sig, "base64") : Buffer.alloc(0);
    if (bytes.length !== 65 || bytes.toString("base64") !== sig) {
      problems.push(`signature ${i} is not a 65-byte base64 signature`);
      continue;
    }
    let recovered: string;
    try {
      recovered = verifyMessage(message, `0x${bytes.toString("hex")}`);
    } catch {
      problems.push(`signature ${i} is not a valid secp256k1 signature`);
      continue;
    }
    let expected: string;
    try {
      expected = getAddress(keyid);
    } catch {
      problems.push(`signature ${i} has keyid ${JSON.stringify(keyid)}, which is not an Ethereum address`);
      continue;
    }
    if (recovered !== expected || keyid !== expected) problems.push(`signature ${i} recovers to ${recovered}, not to its keyid ${keyid}`);
    else signers.push(expected);
  }
  return { payload, signers, problems };
}
