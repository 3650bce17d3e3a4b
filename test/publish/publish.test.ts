import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { randomBytes } from "node:crypto";
import { readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { LocalPublisher } from "../../generator/publish/local.js";
import { KuboPublisher } from "../../generator/publish/kubo.js";
import { cidOf } from "../../generator/publish/unixfs.js";
import { tempDir } from "../helpers/repo.js";
import { NO_IPFS, startKubo, type Kubo } from "./kubo.js";

const KiB = 1024;
const MiB = 1024 * KiB;
/** Sizes around the chunk size, and one of several chunks; 50 MiB needs a second level of the balanced DAG (174 children). */
const SIZES = [0, 1, 256 * KiB - 1, 256 * KiB, 256 * KiB + 1, 3 * MiB, 50 * MiB] as const;

/** Deterministic content of a size (so failures can be reproduced). */
function content(size: number, seed = 1): Uint8Array {
  const bytes = new Uint8Array(size);
  let x = seed * 2654435761;
  for (let i = 0; i < size; i += 1) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    bytes[i] = x >>> 24;
  }
  return bytes;
}

describe("the local content-addressed store", () => {
  it.each([0, 1, 256 * KiB + 1, 3 * MiB])("gives back %i bytes exactly, under the CID it answered", async (size) => {
    const store = new LocalPublisher(tempDir());
    const bytes = content(size);

    const cid = await store.put(bytes);

    expect(cid).toBe(await cidOf(bytes));
    expect(await store.has(cid)).toBe(true);
    expect(Buffer.from(await store.get(cid)).equals(Buffer.from(bytes))).toBe(true);
  });

  it("does not have what was never put, and says which block is missing", async () => {
    const store = new LocalPublisher(tempDir());
    const cid = await cidOf(content(10));

    expect(await store.has(cid)).toBe(false);
    await expect(store.get(cid)).rejects.toThrow(`block ${cid} is missing`);
  });

  it("refuses a block whose bytes were altered on disk", async () => {
    const dir = tempDir();
    const store = new LocalPublisher(dir);
    const cid = await store.put(content(300 * KiB));
    const blocks = readdirSync(join(dir, "blocks"), { recursive: true, withFileTypes: true }).filter((e) => e.isFile());
    const leaf = blocks.find((e) => e.name.startsWith("bafkrei"))!;
    const path = join(leaf.parentPath, leaf.name);
    const bytes = readFileSync(path);
    bytes[0] = bytes[0] ^ 0xff;
    writeFileSync(path, bytes);

    await expect(store.get(cid)).rejects.toThrow(`block ${leaf.name} does not match its hash`);
    expect(await store.has(cid)).toBe(false);
  });
});

describe.skipIf(NO_IPFS !== undefined)(NO_IPFS === undefined ? "against a real Kubo daemon" : `against a real Kubo daemon (skipped: ${NO_IPFS})`, () => {
  let kubo: Kubo;
  beforeAll(async () => {
    kubo = await startKubo();
  }, 90_000);
  afterAll(() => kubo?.stop());

  it.each(SIZES)("%i bytes: the local store's CID is the CID of `ipfs add --cid-version 1`", async (size) => {
    const bytes = content(size, size + 7);
    const dir = tempDir();
    writeFileSync(join(dir, "file"), bytes);

    const kuboCid = kubo
      .cli(["add", "-Q", "--cid-version", "1", "--pin=false", join(dir, "file")])
      .toString("utf8")
      .trim();
    const localCid = await new LocalPublisher(join(dir, "store")).put(bytes);

    expect(localCid).toBe(kuboCid);
  });

  it.each([0, 1, 256 * KiB + 1, 3 * MiB])("%i bytes: added through kubo-rpc-client (pinned), read back the same", async (size) => {
    const publisher = new KuboPublisher(kubo.apiUrl);
    const bytes = randomBytes(size);

    const cid = await publisher.put(bytes);

    expect(cid).toBe(await cidOf(bytes));
    expect(Buffer.from(await publisher.get(cid)).equals(bytes)).toBe(true);
    expect(await publisher.has(cid)).toBe(true);
    expect(kubo.cli(["pin", "ls", "--type", "recursive", "-q", cid]).toString("utf8").trim()).toBe(cid);
  });

  it("says the node does not have a CID it was never given, without searching the network", async () => {
    const publisher = new KuboPublisher(kubo.apiUrl);

    expect(await publisher.has(await cidOf(randomBytes(64)))).toBe(false);
  });

  it("exports the local store as a CAR file that `ipfs dag import` takes, with the same content", async () => {
    const dir = tempDir();
    const store = new LocalPublisher(join(dir, "store"));
    const small = randomBytes(1000);
    const large = randomBytes(3 * MiB + 5);
    const cids = [await store.put(small), await store.put(large)];
    const car = join(dir, "run.car");

    await store.exportCar(cids, car);
    const imported = kubo.cli(["dag", "import", "--pin-roots", "--stats=false", car]).toString("utf8");

    for (const cid of cids) expect(imported).toContain(cid);
    expect(kubo.cli(["cat", cids[0]]).equals(small)).toBe(true);
    expect(kubo.cli(["cat", cids[1]]).equals(large)).toBe(true);
  });

  it("fails with the endpoint and a fix when no node answers", async () => {
    const publisher = new KuboPublisher("http://127.0.0.1:9", { timeoutMs: 2000 });

    await expect(publisher.put(new Uint8Array([1]))).rejects.toThrow("IPFS node http://127.0.0.1:9: add failed");
  });
});
