import { describe, expect, it } from "vitest";
import { verifyMessage } from "ethers";
import { ZERO_ROOT, buildBatch, checkBatch, type BatchLink, type BatchRecord } from "../../generator/evidence/batch.js";
import { pae, signEnvelope, verifyEnvelope } from "../../generator/evidence/dsse.js";
import { leafData, type EvidenceItem } from "../../generator/evidence/items.js";
import { stableJsonText } from "../../generator/evidence/store.js";
import { testWallet } from "../helpers/keys.js";

const sha = (c: string): string => c.repeat(64);

/** The first batch of a contract on the local chain's anchor contract. */
const LINK: BatchLink = { previousRoot: ZERO_ROOT, sequence: 1, anchor: { chainId: 31337, address: "0x5FbDB2315678afecb367f032d93F642f64180aa3" } };
const SECOND: BatchLink = { ...LINK, previousRoot: sha("9"), sequence: 2 };

const ITEMS: EvidenceItem[] = [
  { kind: "signature", contractId: "demo", subject: "contracts/demo/signatures/0xB.json", digest: sha("b") },
  { kind: "contract-hash", contractId: "demo", subject: "contracts/demo/contract.json", digest: sha("a") },
  { kind: "receipt", contractId: "demo", subject: "contracts/demo/receipts/run-1.json", digest: sha("c") },
  { kind: "signature", contractId: "demo", subject: "contracts/demo/signatures/0xA.json", digest: sha("d") },
];

describe("DSSE", () => {
  it("encodes the pre-authentication string as the DSSE v1 spec's example", () => {
    const encoded = pae("http://example.com/HelloWorld", new TextEncoder().encode("hello world"));

    expect(Buffer.from(encoded).toString("utf8")).toBe("DSSEv1 29 http://example.com/HelloWorld 11 hello world");
  });

  it("signs the PAE bytes as an EIP-191 message whose signer is the keyid", async () => {
    const wallet = await testWallet("platform-operator");
    const payload = new TextEncoder().encode('{"a":1}');

    const envelope = await signEnvelope(wallet, "application/vnd.in-toto+json", payload);

    expect(envelope.signatures).toHaveLength(1);
    expect(envelope.signatures[0].keyid).toBe(wallet.address);
    const sig = `0x${Buffer.from(envelope.signatures[0].sig, "base64").toString("hex")}`;
    expect(verifyMessage(pae("application/vnd.in-toto+json", payload), sig)).toBe(wallet.address);
    expect(verifyEnvelope(envelope)).toEqual({ payload, signers: [wallet.address], problems: [] });
  });

  it("refuses an envelope whose payload, type or keyid changed", async () => {
    const wallet = await testWallet("platform-operator");
    const other = await testWallet("health-consumer");
    const envelope = await signEnvelope(wallet, "application/vnd.in-toto+json", new TextEncoder().encode('{"a":1}'));

    const payload = verifyEnvelope({ ...envelope, payload: Buffer.from('{"a":2}').toString("base64") });
    const type = verifyEnvelope({ ...envelope, payloadType: "application/json" });
    const keyid = verifyEnvelope({ ...envelope, signatures: [{ ...envelope.signatures[0], keyid: other.address }] });

    expect(payload.signers).toEqual([]);
    expect(type.signers).toEqual([]);
    expect(keyid.problems).toEqual([expect.stringMatching(new RegExp(`^signature 0 recovers to ${wallet.address}, not to its keyid ${other.address}$`))]);
  });
});

describe("evidence batches", () => {
  it("orders the leaves by kind then subject, and proves every item", async () => {
    const wallet = await testWallet("platform-operator");

    const batch = await buildBatch("demo", ITEMS, LINK, wallet);

    expect(batch.items.map((i) => [i.index, i.kind, i.subject])).toEqual([
      [0, "contract-hash", "contracts/demo/contract.json"],
      [1, "signature", "contracts/demo/signatures/0xA.json"],
      [2, "signature", "contracts/demo/signatures/0xB.json"],
      [3, "receipt", "contracts/demo/receipts/run-1.json"],
    ]);
    expect(batch.kind).toBe("run");
    expect(batch.size).toBe(4);
    expect(checkBatch(batch, "demo")).toEqual({ problems: [], itemProblems: new Map(), signers: [wallet.address] });
  });

  it("is byte-identical when built again, whatever the input order", async () => {
    const wallet = await testWallet("platform-operator");

    const first = stableJsonText(await buildBatch("demo", ITEMS, LINK, wallet));
    const second = stableJsonText(await buildBatch("demo", [...ITEMS].reverse(), LINK, wallet));

    expect(second).toBe(first);
  });

  it("binds each leaf to its contract, kind and subject", () => {
    const item = ITEMS[0];

    const data = Buffer.from(leafData(item)).toString("utf8");

    expect(data).toBe(`{"contractId":"demo","digest":"${sha("b")}","kind":"signature","subject":"contracts/demo/signatures/0xB.json"}`);
  });

  const tamper: [string, (b: BatchRecord) => BatchRecord, RegExp][] = [
    [
      "an item's digest",
      (b) => ({ ...b, items: b.items.map((i, n) => (n === 1 ? { ...i, digest: sha("e") } : i)) }),
      /^its items hash to the root [0-9a-f]{64}, not to [0-9a-f]{64}$/,
    ],
    ["the root", (b) => ({ ...b, root: sha("f") }), /^its items hash to the root/],
    ["the size", (b) => ({ ...b, size: 5 }), /^says it has 5 items but lists 4$/],
    ["the contract", (b) => ({ ...b, contractId: "other" }), /^is a batch of contract "other", not of "demo"$/],
    ["the kind", (b) => ({ ...b, kind: "settlement" }), /^its kind is "settlement" but its items make it "run"$/],
    // The link is in the signed statement: moving a batch in history or to another anchor breaks it.
    [
      "the previous root",
      (b) => ({ ...b, previousRoot: sha("9"), sequence: 2 }),
      /^envelope: the signed statement is not the statement of these items and this root$/,
    ],
    [
      "the sequence",
      (b) => ({ ...b, sequence: 3, previousRoot: sha("9") }),
      /^envelope: the signed statement is not the statement of these items and this root$/,
    ],
    [
      "the chain id",
      (b) => ({ ...b, anchor: { ...b.anchor, chainId: 1 } }),
      /^envelope: the signed statement is not the statement of these items and this root$/,
    ],
    [
      "the anchor address",
      (b) => ({ ...b, anchor: { ...b.anchor, address: "0x8464135c8F25Da09e49BC8782676a84730C318bC" } }),
      /^envelope: the signed statement is not the statement of these items and this root$/,
    ],
    ["a first batch naming a previous root", (b) => ({ ...b, previousRoot: sha("9") }), /^is the contract's first batch but names a previous root$/],
    ["a later batch naming none", (b) => ({ ...b, sequence: 2 }), /^is batch 2 of its contract but names no previous root$/],
    ["a batch naming itself", (b) => ({ ...b, previousRoot: b.root, sequence: 2 }), /^names itself as its previous root$/],
    [
      "an unchecksummed anchor address",
      (b) => ({ ...b, anchor: { ...b.anchor, address: b.anchor.address.toLowerCase() } }),
      /^its anchor address is not an EIP-55/,
    ],
  ];
  it.each(tamper)("finds a changed %s", async (_what, change, message) => {
    const batch = await buildBatch("demo", ITEMS, LINK, await testWallet("platform-operator"));

    const check = checkBatch(change(batch), "demo");

    expect(check.problems).toContainEqual(expect.stringMatching(message));
  });

  it("signs where the batch sits: its previous root, its place and the anchor contract are in the statement", async () => {
    const wallet = await testWallet("platform-operator");

    const batch = await buildBatch("demo", ITEMS, SECOND, wallet);
    const statement = JSON.parse(Buffer.from(batch.envelope.payload, "base64").toString("utf8"));

    expect(checkBatch(batch, "demo").problems).toEqual([]);
    expect([batch.previousRoot, batch.sequence, batch.anchor]).toEqual([sha("9"), 2, LINK.anchor]);
    expect(statement.predicate).toMatchObject({ previousRoot: sha("9"), sequence: 2, anchor: { chainId: 31337, address: LINK.anchor.address } });
  });

  it("finds a changed proof step of one item, and only of that item", async () => {
    const batch = await buildBatch("demo", ITEMS, LINK, await testWallet("platform-operator"));
    const proof = [...batch.items[2].proof];
    proof[0] = `${proof[0].slice(0, 63)}${proof[0].endsWith("0") ? "1" : "0"}`;

    const check = checkBatch({ ...batch, items: batch.items.map((i, n) => (n === 2 ? { ...i, proof } : i)) }, "demo");

    expect(check.problems).toEqual([]);
    expect([...check.itemProblems]).toEqual([[2, "its inclusion proof does not lead to the batch root"]]);
  });

  it("finds an envelope that does not sign this batch's statement", async () => {
    const wallet = await testWallet("platform-operator");
    const batch = await buildBatch("demo", ITEMS, LINK, wallet);
    const other = await buildBatch("demo", ITEMS.slice(0, 3), LINK, wallet);

    const check = checkBatch({ ...batch, envelope: other.envelope }, "demo");

    expect(check.problems).toEqual(["envelope: the signed statement is not the statement of these items and this root"]);
  });
});
