import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ZeroAddress, ZeroHash, keccak256, toUtf8Bytes, type Wallet } from "ethers";
import { ANCHOR_INTERFACE, anchorContract, decodeRevert, readAnchor, readHead, sendAndConfirm } from "../../generator/anchor/chain.js";
import artifact from "../../generator/anchor/anchor-artifact.json" with { type: "json" };
import { ROOT } from "../helpers/repo.js";
import { testWallet } from "../helpers/keys.js";
import { deployTestAnchor, fileChain, fund } from "./chain.js";

const getChain = fileChain();
const ROOT_A = `0x${"ab".repeat(32)}`;
const ROOT_B = `0x${"bc".repeat(32)}`;
const ROOT_C = `0x${"cd".repeat(32)}`;
const ID_HASH = keccak256(toUtf8Bytes("hospital-stats"));
const OTHER_ID_HASH = keccak256(toUtf8Bytes("bank-credit-model"));

/** Sends a call and returns the decoded custom error, or "ok". */
async function attempt(wallet: Wallet, address: string, fn: string, args: unknown[]): Promise<string> {
  try {
    await sendAndConfirm(getChain().chain, wallet, { to: address, data: ANCHOR_INTERFACE.encodeFunctionData(fn, args) }, 1);
    return "ok";
  } catch (error) {
    const revert = decodeRevert(error);
    if (revert === undefined) throw error;
    return `${revert.name}(${revert.args.map(String).join(", ")})`;
  }
}

describe("Anchor.sol", () => {
  it("is compiled into the committed artifact from the current source", () => {
    const source = readFileSync(join(ROOT, "generator", "anchor", "Anchor.sol"));

    expect(artifact.sourceSha256).toBe(createHash("sha256").update(source).digest("hex"));
    expect(artifact.compiler.version).toMatch(/^0\.8\.\d+\+commit\.[0-9a-f]+/);
  });

  it("stores root → (contract-id hash, previous root, kind, batch size, block, anchorer) and rejects a duplicate root", async () => {
    const { chain } = getChain();
    const { address, owner } = await deployTestAnchor(chain);

    const first = await attempt(owner, address, "anchor", [ROOT_A, ID_HASH, ZeroHash, 1, 9]);
    const stored = await readAnchor(chain, address, ROOT_A.slice(2));
    const second = await attempt(owner, address, "anchor", [ROOT_A, ID_HASH, ROOT_A, 2, 10]);

    expect(first).toBe("ok");
    expect(stored).toEqual({
      contractIdHash: ID_HASH,
      previousRoot: ZeroHash,
      kind: 1,
      batchSize: 9,
      blockNumber: expect.any(Number),
      anchorer: owner.address,
    });
    expect(second).toBe(`Anchor__Duplicate(${ROOT_A}, ${stored!.blockNumber})`);
  });

  it("chains each contract's roots: a root is accepted only on top of that contract's head", async () => {
    const { chain } = getChain();
    const { address, owner } = await deployTestAnchor(chain);

    const first = await attempt(owner, address, "anchor", [ROOT_A, ID_HASH, ZeroHash, 1, 1]);
    const fork = await attempt(owner, address, "anchor", [ROOT_B, ID_HASH, ZeroHash, 3, 1]);
    const second = await attempt(owner, address, "anchor", [ROOT_B, ID_HASH, ROOT_A, 3, 1]);
    const replaceSecond = await attempt(owner, address, "anchor", [ROOT_C, ID_HASH, ROOT_A, 3, 1]);
    const otherContract = await attempt(owner, address, "anchor", [ROOT_C, OTHER_ID_HASH, ZeroHash, 1, 1]);

    expect([first, fork, second, replaceSecond, otherContract]).toEqual([
      "ok",
      `Anchor__NotHead(${ID_HASH}, ${ZeroHash}, ${ROOT_A})`,
      "ok",
      `Anchor__NotHead(${ID_HASH}, ${ROOT_A}, ${ROOT_B})`,
      "ok",
    ]);
    expect(await readHead(chain, address, ID_HASH)).toEqual({ head: ROOT_B, count: 2 });
    expect(await readHead(chain, address, OTHER_ID_HASH)).toEqual({ head: ROOT_C, count: 1 });
    expect((await readAnchor(chain, address, ROOT_B.slice(2)))?.previousRoot).toBe(ROOT_A);
  });

  it("gives the owner no way to change history: a new owner's new anchorer can only append", async () => {
    const { chain } = getChain();
    const { address, owner } = await deployTestAnchor(chain);
    const successor = await testWallet("health-consumer");
    const newAnchorer = await testWallet("notary-witness");
    await fund(chain, successor.address);
    await fund(chain, newAnchorer.address);
    await attempt(owner, address, "anchor", [ROOT_A, ID_HASH, ZeroHash, 1, 1]);
    await attempt(owner, address, "anchor", [ROOT_B, ID_HASH, ROOT_A, 3, 1]);
    const before = await readAnchor(chain, address, ROOT_A.slice(2));

    await attempt(owner, address, "transferOwnership", [successor.address]);
    await attempt(successor, address, "authorise", [newAnchorer.address]);
    await attempt(successor, address, "authorise", [successor.address]);
    const attempts = [
      await attempt(newAnchorer, address, "anchor", [ROOT_C, ID_HASH, ZeroHash, 1, 1]),
      await attempt(newAnchorer, address, "anchor", [ROOT_C, ID_HASH, ROOT_A, 1, 1]),
      await attempt(newAnchorer, address, "anchor", [ROOT_A, ID_HASH, ROOT_B, 1, 1]),
      await attempt(successor, address, "anchor", [ROOT_C, ID_HASH, ZeroHash, 1, 1]),
      await attempt(newAnchorer, address, "anchor", [ROOT_C, ID_HASH, ROOT_B, 1, 1]),
    ];

    expect(attempts).toEqual([
      `Anchor__NotHead(${ID_HASH}, ${ZeroHash}, ${ROOT_B})`,
      `Anchor__NotHead(${ID_HASH}, ${ROOT_A}, ${ROOT_B})`,
      `Anchor__Duplicate(${ROOT_A}, ${before!.blockNumber})`,
      `Anchor__NotHead(${ID_HASH}, ${ZeroHash}, ${ROOT_B})`,
      "ok", // appending is all anyone can do, and the audit sees who appended
    ]);
    expect(await readAnchor(chain, address, ROOT_A.slice(2))).toEqual(before);
    expect(await readHead(chain, address, ID_HASH)).toEqual({ head: ROOT_C, count: 3 });
  });

  it("has no function beyond anchoring, reading and managing anchorers (nothing removes or rewrites a root)", () => {
    const functions = ANCHOR_INTERFACE.fragments.filter((f) => f.type === "function").map((f) => (f as unknown as { name: string }).name);

    expect(functions.sort()).toEqual([
      "MAX_KIND",
      "anchor",
      "anchorOf",
      "authorise",
      "countOf",
      "headOf",
      "isAnchorer",
      "owner",
      "revoke",
      "transferOwnership",
    ]);
  });

  it("deploys code that cannot self-destruct, delegate, or call out (no SELFDESTRUCT, DELEGATECALL, CALLCODE, CALL, CREATE)", () => {
    const code = Buffer.from(artifact.deployedBytecode.slice(2), "hex");
    const metadata = code.readUInt16BE(code.length - 2) + 2; // solc's CBOR trailer and its length
    const opcodes = new Set<number>();

    for (let i = 0; i < code.length - metadata; i++) {
      opcodes.add(code[i]);
      if (code[i] >= 0x60 && code[i] <= 0x7f) i += code[i] - 0x5f; // PUSH1..PUSH32 data
    }

    expect([0xff, 0xf4, 0xf2, 0xf1, 0xf0, 0xf5].filter((op) => opcodes.has(op))).toEqual([]);
    expect(opcodes.has(0x55)).toBe(true); // SSTORE: the walk did reach the code
  });

  it.each([
    ["a zero root", [ZeroHash, ID_HASH, ZeroHash, 1, 1], "Anchor__ZeroRoot()"],
    ["a zero contract-id hash", [ROOT_A, ZeroHash, ZeroHash, 1, 1], "Anchor__ZeroContractId()"],
    ["kind 0", [ROOT_A, ID_HASH, ZeroHash, 0, 1], "Anchor__InvalidKind(0)"],
    ["kind 6", [ROOT_A, ID_HASH, ZeroHash, 6, 1], "Anchor__InvalidKind(6)"],
    ["an empty batch", [ROOT_A, ID_HASH, ZeroHash, 1, 0], "Anchor__EmptyBatch()"],
    ["a first root naming a previous one", [ROOT_A, ID_HASH, ROOT_B, 1, 1], `Anchor__NotHead(${ID_HASH}, ${ROOT_B}, ${ZeroHash})`],
  ])("rejects %s", async (_what, args, error) => {
    const { chain } = getChain();
    const { address, owner } = await deployTestAnchor(chain);

    expect(await attempt(owner, address, "anchor", args)).toBe(error);
  });

  it("lets only the owner manage anchorers and hand the contract over", async () => {
    const { chain } = getChain();
    const { address, owner } = await deployTestAnchor(chain);
    const other = await testWallet("health-consumer");
    await fund(chain, other.address);

    const unauthorised = await attempt(other, address, "anchor", [ROOT_A, ID_HASH, ZeroHash, 1, 1]);
    const notOwner = await attempt(other, address, "authorise", [other.address]);
    const authorised = await attempt(owner, address, "authorise", [other.address]);
    const anchored = await attempt(other, address, "anchor", [ROOT_A, ID_HASH, ZeroHash, 1, 1]);
    const revoked = await attempt(owner, address, "revoke", [other.address]);
    const afterRevoke = await attempt(other, address, "anchor", [ROOT_C, ID_HASH, ROOT_A, 1, 1]);
    const zeroOwner = await attempt(owner, address, "transferOwnership", [ZeroAddress]);
    const transferred = await attempt(owner, address, "transferOwnership", [other.address]);
    const formerOwner = await attempt(owner, address, "authorise", [owner.address]);

    expect([unauthorised, notOwner, authorised, anchored, revoked, afterRevoke, zeroOwner, transferred, formerOwner]).toEqual([
      `Anchor__Unauthorised(${other.address})`,
      `Anchor__NotOwner(${other.address})`,
      "ok",
      "ok",
      "ok",
      `Anchor__Unauthorised(${other.address})`,
      "Anchor__ZeroAddress()",
      "ok",
      `Anchor__NotOwner(${owner.address})`,
    ]);
    expect(await anchorContract(chain, address).getFunction("owner").staticCall()).toBe(other.address);
  });

  it("emits past-tense events with indexed fields; Anchored carries the previous root and the sequence number", async () => {
    const { chain } = getChain();
    const { address, owner } = await deployTestAnchor(chain);
    const other = await testWallet("health-consumer");

    await attempt(owner, address, "authorise", [other.address]);
    await attempt(owner, address, "anchor", [ROOT_A, ID_HASH, ZeroHash, 3, 7]);
    await attempt(owner, address, "anchor", [ROOT_B, ID_HASH, ROOT_A, 4, 2]);
    const logs = await chain.provider.getLogs({ address, fromBlock: 0 });

    expect(logs.map((log) => ANCHOR_INTERFACE.parseLog(log)!.name)).toEqual([
      "OwnershipTransferred",
      "AnchorerAuthorised",
      "AnchorerAuthorised",
      "Anchored",
      "Anchored",
    ]);
    const anchored = logs.at(-1)!;
    expect(anchored.topics).toEqual([
      ANCHOR_INTERFACE.getEvent("Anchored")!.topicHash,
      ROOT_B,
      ID_HASH,
      `0x${owner.address.slice(2).toLowerCase().padStart(64, "0")}`,
    ]);
    expect([...ANCHOR_INTERFACE.parseLog(anchored)!.args].map(String)).toEqual([ROOT_B, ID_HASH, owner.address, ROOT_A, "2", "4", "2"]);
  });
});
