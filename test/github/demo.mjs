// `npm run demo:github`: one pull request's whole life, replayed against GitHub's recorded API.
//
// The consumer opens a pull request proposing hospital-stats (signed by every party, the
// algorithm not approved yet); datomspod comments and sets its statuses; the provider approves;
// the consumer pushes a second run request, so that approval goes stale; both approvers approve
// the new head; the pull request is merged and the merge workflow writes the approving reviews
// into the repository as review records, which the lifecycle counts; the audit re-reads them.
//
// Every datomspod command is the real one (dist/, after `npm run build`), as the workflows run
// it. GitHub is nock answering in GitHub's published response shapes (test/github/fixtures/)
// from a small in-memory state: what a test of the flow replays, printed for a reader. The
// signing keys are the TEST-ONLY keys in test/keys/. Nothing leaves the machine.
import { cpSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import nock from "nock";
import { main } from "../../dist/generator/cli/main.js";

const root = fileURLToPath(new URL("../../", import.meta.url));
const fixtures = new URL("./fixtures/", import.meta.url);
const fixture = (path) => JSON.parse(readFileSync(new URL(path, fixtures), "utf8"));
const API = "https://api.github.com";
const REPOSITORY = "Codertocat/Hello-World";
const R = `/repos/${REPOSITORY}`;
const ID = "hospital-stats";
const NUMBER = 12;
const SHA = {
  a: "a1".repeat(20),
  b: "b2".repeat(20),
  merge: "c3".repeat(20),
  base: "6dcb09b5b57875f334f61aebed695e2e4193db5e",
  tree: "691272480426f78a0138979dd3ce63b77f706feb",
};
const USERS = { "phi-analytics": 5003, "riverside-data": 5001, "exchange-notary": 5002, "github-actions[bot]": 41898282 };
const user = (login) => ({ login, id: USERS[login] ?? 1, type: login.endsWith("[bot]") ? "Bot" : "User" });
const print = (text = "") => process.stdout.write(`${text}\n`);
const now = new Date("2026-11-24T00:00:00Z");

// ---- the repository: main, and the pull request's head checkout ---------------------------------
const work = mkdtempSync(join(tmpdir(), "datomspod-demo-github-"));
const repo = join(work, "repo");
mkdirSync(join(repo, "contracts"), { recursive: true });
cpSync(join(root, "contracts", "contract.schema.json"), join(repo, "contracts", "contract.schema.json"));
cpSync(join(root, "contracts", ID), join(repo, "contracts", ID), { recursive: true });
rmSync(join(repo, "contracts", ID, "approvals"), { recursive: true });
mkdirSync(join(repo, "clusters", "local"), { recursive: true });
cpSync(join(root, "clusters", "cluster-profile.schema.json"), join(repo, "clusters", "cluster-profile.schema.json"));
cpSync(join(root, "clusters", "local", "cluster.yaml"), join(repo, "clusters", "local", "cluster.yaml"));

// ---- GitHub, recorded ----------------------------------------------------------------------------
const state = {
  head: SHA.a,
  files: [`contracts/${ID}/contract.json`, `contracts/${ID}/algorithm/aggregate.py`, `contracts/${ID}/runs/run-1.json`],
  reviews: [],
  comments: [],
  merged: false,
  requested: [],
  nextComment: 900,
};
const pull = () => ({
  ...fixture("rest/pull.json"),
  number: NUMBER,
  state: state.merged ? "closed" : "open",
  merged: state.merged,
  merged_at: state.merged ? "2026-11-23T12:00:00Z" : null,
  merge_commit_sha: SHA.merge,
  html_url: `https://github.com/${REPOSITORY}/pull/${NUMBER}`,
  title: "Propose hospital-stats",
  user: user("phi-analytics"),
  requested_reviewers: state.requested.map(user),
  head: {
    ...fixture("rest/pull.json").head,
    ref: "propose-hospital-stats",
    sha: state.head,
    repo: { ...fixture("rest/pull.json").head.repo, full_name: REPOSITORY },
  },
  base: { ...fixture("rest/pull.json").base, ref: "main", sha: SHA.base, repo: { ...fixture("rest/pull.json").base.repo, full_name: REPOSITORY } },
});
const review = (id, login, state_, commit, at) => {
  // GitHub takes a reviewer off the requested list once they review.
  state.requested = state.requested.filter((requested) => requested !== login);
  return reviewBody(id, login, state_, commit, at);
};
const reviewBody = (id, login, state_, commit, at) => ({
  ...fixture("rest/reviews.json")[0],
  id,
  user: user(login),
  state: state_,
  body: "",
  commit_id: commit,
  submitted_at: at,
  html_url: `https://github.com/${REPOSITORY}/pull/${NUMBER}#pullrequestreview-${id}`,
});
const comment = (c) => ({
  ...fixture("rest/comment.json"),
  id: c.id,
  body: c.body,
  user: user(c.login),
  html_url: `https://github.com/${REPOSITORY}/pull/${NUMBER}#issuecomment-${c.id}`,
});
const posted = [];
const json = async (request) => JSON.parse(await request.text());

nock.disableNetConnect();
const unmatched = [];
nock.emitter.on("no match", (req) => unmatched.push(`${req.method} ${req.path ?? req.url}`));
const api = nock(API).persist();
api.get(`${R}/pulls/${NUMBER}`).reply(200, () => pull());
api
  .get(`${R}/pulls`)
  .query(true)
  .reply(200, () => (state.merged ? [] : [pull()]));
api
  .get(`${R}/pulls/${NUMBER}/files`)
  .query(true)
  .reply(200, () => state.files.map((filename) => ({ ...fixture("rest/files.json")[0], filename, status: "added" })));
api
  .get(`${R}/pulls/${NUMBER}/reviews`)
  .query(true)
  .reply(200, () => state.reviews);
api.get(new RegExp(`^${R}/pulls/${NUMBER}/reviews/\\d+$`)).reply(200, (request) => state.reviews.find((r) => request.url.endsWith(`/${r.id}`)));
api
  .get(`${R}/issues/${NUMBER}/comments`)
  .query(true)
  .reply(200, () => state.comments.map(comment));
api.post(`${R}/issues/${NUMBER}/comments`).reply(201, async (request) => {
  const c = { id: state.nextComment++, body: (await json(request)).body, login: "github-actions[bot]" };
  state.comments.push(c);
  posted.push(["comment created", c]);
  return comment(c);
});
api.patch(new RegExp(`^${R}/issues/comments/\\d+$`)).reply(200, async (request) => {
  const c = state.comments.find((x) => request.url.endsWith(`/${x.id}`));
  c.body = (await json(request)).body;
  posted.push(["comment edited in place", c]);
  return comment(c);
});
api.post(new RegExp(`^${R}/statuses/[0-9a-f]{40}$`)).reply(201, async (request) => {
  const body = await json(request);
  posted.push(["status", { sha: request.url.split("/").pop(), ...body }]);
  return { ...fixture("rest/status.json"), ...body };
});
api.post(`${R}/pulls/${NUMBER}/requested_reviewers`).reply(201, async (request) => {
  const { reviewers } = await json(request);
  state.requested.push(...reviewers.filter((r) => !state.requested.includes(r)));
  posted.push(["review requested", reviewers]);
  return pull();
});
api.get(`${R}/commits/${SHA.merge}/pulls`).reply(200, () => [pull()]);
api.get(new RegExp(`^${R}/git/commits/[0-9a-f]{40}$`)).reply(200, () => ({ ...fixture("rest/git-commit.json"), tree: { sha: SHA.tree } }));

// ---- the commands, as the workflows run them -------------------------------------------------
process.env.DATOMSPOD_KEY_PASSWORD = "datomspod-test-only";
const event = (name, payload) => {
  const path = join(work, `${name}.json`);
  writeFileSync(path, JSON.stringify(payload));
  Object.assign(process.env, {
    GITHUB_EVENT_NAME: name,
    GITHUB_EVENT_PATH: path,
    GITHUB_REPOSITORY: REPOSITORY,
    GITHUB_TOKEN: "ghs_demo-token-not-real",
    GITHUB_RUN_ID: "4242",
  });
};
async function datomspod(argv, { show = true } = {}) {
  if (show) print(`$ datomspod ${argv.join(" ")}`);
  let stdout = "";
  let stderr = "";
  const code = await main(["--repo", repo, ...argv], { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t), cwd: repo, now });
  return { code, stdout, stderr };
}
function showPosted() {
  for (const [what, value] of posted.splice(0)) {
    if (what === "status") print(`  status ${value.context} on ${value.sha.slice(0, 7)}: ${value.state} — ${value.description}`);
    else if (what === "review requested") print(`  review requested from ${value.map((l) => `@${l}`).join(", ")}`);
    else {
      print(`  ${what} (#${value.id}):`);
      const body = value.body.split("\n<details>")[0].trimEnd();
      print(
        body
          .split("\n")
          .map((line) => `  │ ${line}`)
          .join("\n"),
      );
    }
  }
}
async function step(title, run) {
  print("");
  print(`━━ ${title}`);
  await run();
  showPosted();
}
const prStatus = async () => {
  const result = await datomspod(["github", "pr-status", "--head-sha", state.head]);
  if (result.code !== 0) throw new Error(result.stderr);
};

try {
  await step(`The consumer (@phi-analytics) opens pull request #${NUMBER} proposing ${ID} at ${SHA.a.slice(0, 7)}`, async () => {
    event("pull_request_target", { ...fixture("events/pull_request.synchronize.json"), action: "opened", number: NUMBER, pull_request: pull() });
    await prStatus();
  });
  await step("The hospital (@riverside-data) approves the pull request", async () => {
    state.reviews.push(review(80, "riverside-data", "APPROVED", SHA.a, "2026-11-22T09:00:00Z"));
    event("workflow_run", {
      action: "completed",
      workflow_run: {
        event: "pull_request_review",
        head_sha: state.head,
        head_branch: "propose-hospital-stats",
        pull_requests: [{ number: NUMBER }],
        head_repository: { full_name: REPOSITORY },
      },
    });
    await prStatus();
  });
  await step(`The consumer pushes ${SHA.b.slice(0, 7)}: a second run request. The hospital's approval of ${SHA.a.slice(0, 7)} is now stale`, async () => {
    const signed = await datomspod(["request", ID, "run-2", "--key", join(root, "test", "keys", "health-consumer.json")]);
    if (signed.code !== 0) throw new Error(signed.stderr);
    state.head = SHA.b;
    state.files.push(`contracts/${ID}/runs/run-2.json`);
    event("pull_request_target", { ...fixture("events/pull_request.synchronize.json"), number: NUMBER, before: SHA.a, after: SHA.b, pull_request: pull() });
    await prStatus();
  });
  await step("Both approvers approve the new head", async () => {
    state.reviews.push(review(81, "riverside-data", "APPROVED", SHA.b, "2026-11-22T11:00:00Z"));
    state.reviews.push(review(82, "exchange-notary", "APPROVED", SHA.b, "2026-11-22T11:05:00Z"));
    event("workflow_run", {
      action: "completed",
      workflow_run: {
        event: "pull_request_review",
        head_sha: state.head,
        head_branch: "propose-hospital-stats",
        pull_requests: [{ number: NUMBER }],
        head_repository: { full_name: REPOSITORY },
      },
    });
    await prStatus();
  });
  await step(`Merged as ${SHA.merge.slice(0, 7)}: the merge workflow records the approving reviews`, async () => {
    state.merged = true;
    event("push", { ...fixture("events/push.json"), ref: "refs/heads/main", after: SHA.merge });
    const recorded = await datomspod(["github", "record-reviews", "--sha", SHA.merge]);
    print(
      recorded.stdout
        .trimEnd()
        .split("\n")
        .map((l) => `  ${l}`)
        .join("\n"),
    );
    const dir = join(repo, "contracts", ID, "reviews");
    for (const name of readdirSync(dir)) {
      print(`  contracts/${ID}/reviews/${name}:`);
      print(
        readFileSync(join(dir, name), "utf8")
          .trimEnd()
          .split("\n")
          .map((l) => `  │ ${l}`)
          .join("\n"),
      );
    }
    const status = await datomspod(["contract", "status", ID]);
    print(`  ${status.stdout.trim()}`);
    const compiled = await datomspod(["compile"]);
    print(
      compiled.stdout
        .trimEnd()
        .split("\n")
        .map((l) => `  ${l}`)
        .join("\n"),
    );
  });
  await step("Anyone re-checks the review records against GitHub", async () => {
    delete process.env.GITHUB_EVENT_PATH;
    const audited = await datomspod(["audit", "reviews", ID]);
    print(
      audited.stdout
        .trimEnd()
        .split("\n")
        .map((l) => `  ${l}`)
        .join("\n"),
    );
    if (audited.code !== 0) throw new Error(audited.stderr);
  });
  if (unmatched.length > 0) throw new Error(`requests the recorded API does not answer: ${unmatched.join(", ")}`);
  print("");
  print(`demo:github done: ${state.comments.filter((c) => c.login.endsWith("[bot]")).length} datomspod comment(s) on the pull request, edited in place.`);
} finally {
  nock.cleanAll();
  nock.restore();
  rmSync(work, { recursive: true, force: true });
}
