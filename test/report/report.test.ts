/**
 * `datomspod report --html` (files, determinism, folders it refuses, no chain), the git history it
 * reads, and the server of `datomspod serve` (127.0.0.1, re-generation per page, only the site).
 */

import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { chainLabel } from "../../generator/report/generate.js";
import { parseLog, prNumber, readHistory } from "../../generator/report/history.js";
import { sitePath, startServer } from "../../generator/report/serve.js";
import { tempRepoWithClusters } from "../anchor/chain.js";
import { cli, jsonOut } from "../helpers/cli.js";
import { tempDir } from "../helpers/repo.js";

function listTree(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name).slice(dir.length + 1))
    .sort();
}

function snapshot(dir: string): Map<string, string> {
  return new Map(listTree(dir).map((name) => [name, readFileSync(join(dir, name), "utf8")]));
}

function get(url: string, headers: Record<string, string> = {}, method = "GET"): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => (body += chunk));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on("error", reject);
    req.end();
  });
}

describe("datomspod report --html", () => {
  it("writes the site: every page of every contract, byte-identical when run again", async () => {
    const repo = tempRepoWithClusters();
    const site = join(tempDir(), "site");

    const first = await cli(repo, "report", "--html", site, "--chain", "none", "--format", "json");
    const before = snapshot(site);
    const second = await cli(repo, "report", "--html", site, "--chain", "none");

    expect(first.code).toBe(0);
    expect(jsonOut(first)).toMatchObject({ index: join(site, "index.html"), contracts: 2, chain: { checked: false } });
    expect([...before.keys()]).toEqual([
      "assets/site.css",
      "assets/site.js",
      ...["bank-credit-model", "hospital-stats"].flatMap((id) =>
        ["audit.html", "index.html", "opsc.html", "opsc.svg", "runs.html", "settlement.html"].map((f) => `contracts/${id}/${f}`),
      ),
      "index.html",
      "view.json",
    ]);
    expect(second.code).toBe(0);
    expect(second.stdout).toMatch(
      /^wrote 16 files for 2 contracts to .* in \d+ ms\nanchors not checked: no chain was asked for \(--chain none\)\nopen .*index\.html\n$/,
    );
    expect(snapshot(site)).toEqual(before);
  });

  it("rewrites an earlier site (stale pages removed) but refuses a folder of other files", async () => {
    const repo = tempRepoWithClusters();
    const site = join(tempDir(), "site");
    await cli(repo, "report", "--html", site, "--chain", "none");
    writeFileSync(join(site, "contracts", "hospital-stats", "old.html"), "stale");
    mkdirSync(join(site, "contracts", "gone"));
    writeFileSync(join(site, "contracts", "gone", "index.html"), "a contract no longer in the repository");
    const other = tempDir();
    writeFileSync(join(other, "notes.txt"), "mine");

    const again = await cli(repo, "report", "--html", site, "--chain", "none");
    const refused = await cli(repo, "report", "--html", other, "--chain", "none");

    expect(again.code).toBe(0);
    expect(listTree(site)).not.toContain("contracts/hospital-stats/old.html");
    expect(readdirSync(join(site, "contracts"))).toEqual(["bank-credit-model", "hospital-stats"]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain("is a folder that holds other files, not a datomspod site");
    expect(listTree(other)).toEqual(["notes.txt"]);
  });

  it("without a local chain the pages say the anchors were not checked, and why; nothing is verified", async () => {
    const repo = tempRepoWithClusters();
    const site = join(tempDir(), "site");

    const result = await cli(repo, "report", "--html", site, "--chain", "local");
    const audit = readFileSync(join(site, "contracts", "hospital-stats", "audit.html"), "utf8").replace(/\s+/g, " ");
    const view = JSON.parse(readFileSync(join(site, "view.json"), "utf8"));

    expect(result.code).toBe(0);
    expect(result.stdout).toContain("anchors not checked: .datomspod/chain/anvil-state.json: there is no local chain in this workspace");
    expect(audit).toContain("The anchors were not checked");
    expect(audit).not.toContain("status-verified");
    expect(view.contracts.every((c: any) => c.audit.checked === false && c.audit.counts.verified === 0)).toBe(true);
  });

  it("asks for --html and refuses bad ids", async () => {
    const repo = tempRepoWithClusters();

    const missing = await cli(repo, "report");
    const badId = await cli(repo, "report", "--html", tempDir(), "Bad_Id");

    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("--html is required");
    expect(badId.code).toBe(2);
  });

  it("names a chain without the URL's path, query or credentials", () => {
    expect(chainLabel("https://user:secret@rpc.example.org/v3/KEY?x=1")).toBe("rpc.example.org");
    expect(chainLabel("local")).toBe("the local anvil chain of this workspace");
    expect(chainLabel("not a url")).toBe("an RPC endpoint");
  });
});

describe("git history", () => {
  it.each([
    ["Add hospital-stats (#12)", 12],
    ["Merge pull request #34 from org/branch", 34],
    ["Sign the contract", undefined],
    ["Fix #5 in the middle", undefined],
  ])("prNumber(%j) is %j", (subject, pr) => {
    expect(prNumber(subject)).toBe(pr);
  });

  it("parses git log into commits per file and per folder, newest first", () => {
    const log = [
      "\u001e" + "b".repeat(40) + "\u001f2026-11-02T10:00:00Z\u001fBob\u001fSign (#3)\n\ncontracts/x/signatures/0xA.json\n",
      "\u001e" + "a".repeat(40) + "\u001f2026-11-01T10:00:00Z\u001fAlice\u001fPropose\n\ncontracts/x/contract.json\n",
    ].join("");

    const history = parseLog(log);

    expect(history.get("contracts/x/contract.json")).toEqual([{ hash: "a".repeat(40), date: "2026-11-01T10:00:00Z", author: "Alice", subject: "Propose" }]);
    expect(history.get("contracts/x/")?.map((c) => [c.author, c.pr])).toEqual([
      ["Bob", 3],
      ["Alice", undefined],
    ]);
  });

  it("reads a real repository's history, and says when there is none", async () => {
    const repo = tempDir();
    const git = (...args: string[]): string =>
      execFileSync("git", ["-C", repo, "-c", "user.name=Ada", "-c", "user.email=ada@example.invalid", ...args], { encoding: "utf8" });
    git("init", "-q");
    mkdirSync(join(repo, "contracts", "x"), { recursive: true });
    writeFileSync(join(repo, "contracts", "x", "contract.json"), "{}\n");
    git("add", ".");
    git("commit", "-qm", "Propose x (#9)");

    const found = await readHistory(repo);
    const none = await readHistory(tempDir());

    expect(found.git).toBe(true);
    expect(found.history.get("contracts/x/contract.json")?.map((c) => [c.author, c.subject, c.pr])).toEqual([["Ada", "Propose x (#9)", 9]]);
    expect(none).toEqual({ git: false, history: new Map() });
  });
});

describe("the server of datomspod serve", () => {
  it.each([
    ["/", "index.html"],
    ["/contracts/x/", "contracts/x/index.html"],
    ["/contracts/x/audit.html?y=1", "contracts/x/audit.html"],
    ["/%2e%2e/etc/passwd", "etc/passwd"], // dot segments are resolved by the URL parser: nothing climbs out of the site
    ["/a/../b", "b"],
  ])("serves %j as %j", (url, path) => {
    expect(sitePath(url)).toBe(path);
  });

  it("listens on 127.0.0.1 only, regenerates for every page, serves only the site's files with its CSP", async () => {
    let generations = 0;
    const server = await startServer({
      port: 0,
      generate: () => {
        generations++;
        return Promise.resolve(
          new Map([
            ["index.html", `<p>generation ${generations}</p>`],
            ["assets/site.css", "body{}"],
          ]),
        );
      },
    });
    try {
      const first = await get(server.url);
      const second = await get(server.url);
      const css = await get(`${server.url}assets/site.css`);
      const missing = await get(`${server.url}secret.txt`);
      const post = await get(server.url, {}, "POST");
      const rebinding = await get(server.url, { Host: "attacker.example:80" });

      expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
      expect([first.status, first.body, second.body]).toEqual([200, "<p>generation 1</p>", "<p>generation 2</p>"]);
      expect(first.headers["content-security-policy"]).toContain("default-src 'none'");
      expect(first.headers["content-type"]).toBe("text/html; charset=utf-8");
      expect([css.status, css.body, css.headers["content-type"], generations]).toEqual([200, "body{}", "text/css; charset=utf-8", 2]);
      expect(missing.status).toBe(404);
      expect(post.status).toBe(405);
      expect(rebinding.status).toBe(421);
    } finally {
      await server.close();
    }
  });
});
