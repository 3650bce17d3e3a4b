import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ZeroAddress, ZeroHash, keccak256, toUtf8Bytes, type Wallet } from "ethers";
import { ANCHOR_INTERFACE, anchorContract, decodeRevert, readAnchor, sendAndConfirm } from "../../generator/anchor/chain.js";
import artifact from "../../generator/anchor/anchor-artifact.json" with { type: "json" };
import { ROOT } from "../helpers/repo.js";
import { testWallet } from "../helpers/keys.js";
import { deployTestAnchor, fileChain, fund } from "./chain.js";

const getChain = fileChain();
const ROOT_A = `0x${"ab".repeat(32)}`;
const ID_HASH = keccak256(toUtf8Bytes("hospital-stats"));

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

  it("stores root → (contract-id hash, kind, batch size, block, anchorer) and rejects a duplicate root", async () => {
    const { chain } = getChain();
    const { address, owner } = await deployTestAnchor(chain);

    const first = await attempt(owner, address, "anchor", [ROOT_A, ID_HASH, 1, 9]);
    const stored = await readAnchor(chain, address, ROOT_A.slice(2));
    const second = await attempt(owner, address, "anchor", [ROOT_A, ID_HASH, 2, 10]);

    expect(first).toBe("ok");
    expect(stored).toEqual({ contractIdHash: ID_HASH, kind: 1, batchSize: 9, blockNumber: expect.any(Number), anchorer: owner.address });
    expect(second).toBe(`Anchor__Duplicate(${ROOT_A}, ${stored!.blockNumber})`);
  });

  it.each([
    ["a zero root", [ZeroHash, ID_HASH, 1, 1], "Anchor__ZeroRoot()"],
    ["a zero contract-id hash", [ROOT_A, ZeroHash, 1, 1], "Anchor__ZeroContractId()"],
    ["kind 0", [ROOT_A, ID_HASH, 0, 1], "Anchor__InvalidKind(0)"],
    ["kind 6", [ROOT_A, ID_HASH, 6, 1], "Anchor__InvalidKind(6)"],
    ["an empty batch", [ROOT_A, ID_HASH, 1, 0], "Anchor__EmptyBatch()"],
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

    const unauthorised = await attempt(other, address, "anchor", [ROOT_A, ID_HASH, 1, 1]);
    const notOwner = await attempt(other, address, "authorise", [other.address]);
    const authorised = await attempt(owner, address, "authorise", [other.address]);
    const anchored = await attempt(other, address, "anchor", [ROOT_A, ID_HASH, 1, 1]);
    const revoked = await attempt(owner, address, "revoke", [other.address]);
    const afterRevoke = await attempt(other, address, "anchor", [`0x${"cd".repeat(32)}`, ID_HASH, 1, 1]);
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

  it("emits past-tense events with indexed fields", async () => {
    const { chain } = getChain();
    const { address, owner } = await deployTestAnchor(chain);
    const other = await testWallet("health-consumer");

    await attempt(owner, address, "authorise", [other.address]);
    await attempt(owner, address, "anchor", [ROOT_A, ID_HASH, 3, 7]);
    const logs = await chain.provider.getLogs({ address, fromBlock: 0 });

    expect(logs.map((log) => ANCHOR_INTERFACE.parseLog(log)!.name)).toEqual(["OwnershipTransferred", "AnchorerAuthorised", "AnchorerAuthorised", "Anchored"]);
    const anchored = logs.at(-1)!;
    expect(anchored.topics).toEqual([
      ANCHOR_INTERFACE.getEvent("Anchored")!.topicHash,
      ROOT_A,
      ID_HASH,
      `0x${owner.address.slice(2).toLowerCase().padStart(64, "0")}`,
    ]);
  });
});
