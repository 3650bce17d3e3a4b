/**
 * `datomspod contract typed-data` is what a wallet signs (eth_signTypedData_v4): its JSON works as
 * it is with ethers' TypedDataEncoder, its digest is the one `contract hash` prints, and a signature
 * a wallet makes over it, filed as a record, verifies.
 */

import { rmSync } from "node:fs";
import { join } from "node:path";
import { TypedDataEncoder, concat, keccak256, toUtf8Bytes } from "ethers";
import { describe, expect, it } from "vitest";
import { cli, jsonOut } from "../helpers/cli.js";
import { keyForAddress } from "../helpers/keys.js";
import { digestOf, messageTypes, typedData, walletRecord } from "../helpers/records.js";
import { contractJson, editJson, exampleIds, readJson, readText, tempRepo, writeJson } from "../helpers/repo.js";

const ID = "hospital-stats";

/** The digest as eth_signTypedData_v4 computes it from the JSON alone, EIP712Domain type included. */
function v4Digest(data: Awaited<ReturnType<typeof typedData>>): string {
  const domainSeparator = TypedDataEncoder.from({ EIP712Domain: data.types["EIP712Domain"] }).hash(data.domain);
  const structHash = TypedDataEncoder.from(messageTypes(data)).hash(data.message);
  return keccak256(concat(["0x1901", domainSeparator, structHash]));
}

describe("contract typed-data", () => {
  it("prints the eth_signTypedData_v4 document of the agreement", async () => {
    const repo = tempRepo([ID]);
    const contract = readJson<any>(repo, contractJson(ID));
    const hash = jsonOut(await cli(repo, "contract", "hash", ID, "--format", "json")).sha256;

    const data = await typedData(repo, ID);

    expect(data).toEqual({
      types: {
        EIP712Domain: [
          { name: "name", type: "string" },
          { name: "version", type: "string" },
          { name: "chainId", type: "uint256" },
          { name: "salt", type: "bytes32" },
        ],
        Agreement: [
          { name: "contractId", type: "string" },
          { name: "title", type: "string" },
          { name: "contractHash", type: "bytes32" },
        ],
      },
      primaryType: "Agreement",
      domain: { name: "datomspod", version: "1", chainId: 31337, salt: keccak256(toUtf8Bytes(ID)) },
      message: { contractId: ID, title: contract.title, contractHash: `0x${hash}` },
    });
    expect(TypedDataEncoder.getPrimaryType(messageTypes(data))).toBe(data.primaryType);
  });

  it.each(exampleIds().map((id) => [id]))("%s: the digest of the printed JSON is contract hash's eip712 line", async (id) => {
    const repo = tempRepo([id]);
    const data = await typedData(repo, id);

    const hash = await cli(repo, "contract", "hash", id);

    const [sha256Line, eip712Line] = hash.stdout.trimEnd().split("\n");
    expect(sha256Line).toBe(`sha256  ${data.message["contractHash"].slice(2)}`);
    expect(eip712Line).toBe(`eip712  ${digestOf(data)}`);
    expect(v4Digest(data)).toBe(digestOf(data));
  });

  it("prints the approval's typed data with --approval", async () => {
    const repo = tempRepo([ID]);
    const contract = readJson<any>(repo, contractJson(ID));

    const data = await typedData(repo, ID, true);

    expect(data.primaryType).toBe("AlgorithmApproval");
    const container = contract.inputs.algorithm.container;
    expect(data.message).toEqual({
      contractId: ID,
      contractHash: (await typedData(repo, ID)).message["contractHash"],
      algorithmDid: contract.inputs.algorithm.did,
      codeSha256: `0x${contract.inputs.algorithm.code.sha256}`,
      image: `${container.image}:${container.tag}@${container.digest}`,
      imageDigest: `0x${container.digest.slice("sha256:".length)}`,
      entrypoint: '["python3","/data/transformations/algorithm"]',
      environment: "python",
      environmentDigest: expect.stringMatching(/^0x[0-9a-f]{64}$/),
      cluster: "local",
      clusterProfileDigest: expect.stringMatching(/^0x[0-9a-f]{64}$/),
      // the pod image the local profile pins (the roles that judge the outputs are approved too)
      roleImageDigest: `0x${/digest: sha256:([0-9a-f]{64})/.exec(readText(repo, "clusters/local/cluster.yaml"))![1]}`,
      instanceDigest: expect.stringMatching(/^0x[0-9a-f]{64}$/),
    });
    expect(v4Digest(data)).toBe(digestOf(data));
  });
});

describe("signatures made by a wallet", () => {
  it("verify after being written as records, for a contract only wallets signed", async () => {
    const repo = tempRepo([ID]);
    editJson(repo, contractJson(ID), (c) => (c.title = "Regional statistics, signed in a wallet"));
    rmSync(join(repo, "contracts", ID, "signatures"), { recursive: true });
    const data = await typedData(repo, ID);

    for (const party of readJson<any>(repo, contractJson(ID)).parties) {
      const record = await walletRecord(keyForAddress(party.address).name, data);
      writeJson(repo, `contracts/${ID}/signatures/${record.signer}.json`, record);
    }

    const result = await cli(repo, "contract", "verify", ID);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain("all parties signed");
  });

  it("are byte-identical to the records contract sign writes (deterministic RFC 6979 signatures)", async () => {
    const repo = tempRepo([ID]);
    const data = await typedData(repo, ID);

    for (const party of readJson<any>(repo, contractJson(ID)).parties) {
      const record = await walletRecord(keyForAddress(party.address).name, data);

      expect(`${JSON.stringify(record, null, 2)}\n`).toBe(readText(repo, `contracts/${ID}/signatures/${party.address}.json`));
    }
  });

  it("over the approval typed data make the contract approved", async () => {
    const repo = tempRepo([ID]);
    rmSync(join(repo, "contracts", ID, "approvals"), { recursive: true });
    const before = jsonOut(await cli(repo, "contract", "status", ID, "--format", "json"));
    const data = await typedData(repo, ID, true);

    for (const name of ["hospital-provider", "notary-witness"]) {
      const record = await walletRecord(name, data);
      writeJson(repo, `contracts/${ID}/approvals/${record.signer}.json`, record);
    }

    const after = jsonOut(await cli(repo, "contract", "status", ID, "--format", "json"));
    expect([before.state, before.approved]).toEqual(["signed", false]);
    expect([after.state, after.approved, after.issues]).toEqual(["active", true, []]);
  });
});
