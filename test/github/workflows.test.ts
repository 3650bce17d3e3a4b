/**
 * The workflows and the action keep the promises docs/github.md makes: least privilege per job,
 * actions pinned by commit, no event text in scripts, secrets only on main's own events, and the
 * workflows that hold a writing token never execute anything from a pull request.
 * (.ci/checks/actionlint lints them with actionlint and shellcheck besides.)
 */

import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { describe, expect, it } from "vitest";
import { ROOT } from "../helpers/repo.js";
import { COMMANDS } from "../../generator/cli/commands/index.js";

const DIR = join(ROOT, ".github", "workflows");
const FILES = readdirSync(DIR)
  .filter((name) => name.endsWith(".yml"))
  .sort();
const text = (name: string): string => readFileSync(join(DIR, name), "utf8");
const workflow = (name: string): any => parse(text(name));
const triggers = (wf: any): string[] => Object.keys(wf.on ?? {});
const steps = (wf: any): any[] => Object.values<any>(wf.jobs).flatMap((job) => job.steps ?? []);

describe("workflows", () => {
  it("are the six of the flow and the web view's pages", () => {
    expect(FILES).toEqual(["expire.yml", "main.yml", "pages.yml", "pr-check.yml", "pr-review.yml", "pr-status.yml", "receipt.yml"]);
  });

  it.each(FILES)("%s grants nothing by default and each job only what it needs", (name) => {
    const wf = workflow(name);

    expect(wf.permissions).toEqual({});
    for (const [job, spec] of Object.entries<any>(wf.jobs)) expect(spec.permissions, `${name} job ${job}`).toBeDefined();
  });

  it.each([...FILES.map((name) => join(".github", "workflows", name)), "action.yml"])("%s pins every action by commit with its version", (file) => {
    const uses = readFileSync(join(ROOT, file), "utf8")
      .split("\n")
      .filter((line) => /^\s*(-\s+)?uses:/.test(line));

    expect(uses.length).toBeGreaterThan(file === "action.yml" ? 0 : -1);
    for (const line of uses) expect(line).toMatch(/uses: [\w.-]+\/[\w./-]+@[0-9a-f]{40} # v\d+(\.\d+)*$/);
  });

  it.each([...FILES, "../../action.yml"])("%s puts no expression into a script: inputs reach scripts through the environment", (name) => {
    const doc = parse(readFileSync(join(DIR, name), "utf8"));
    const runs = name.endsWith("action.yml") ? doc.runs.steps : steps(doc);

    for (const step of runs) if (typeof step.run === "string") expect(step.run, step.name).not.toMatch(/\$\{\{/);
  });

  it("uses secrets only in workflows of main's own events (push to main, repository_dispatch)", () => {
    for (const name of FILES) {
      if (!text(name).includes("secrets.")) continue;
      expect(
        triggers(workflow(name)).every((t) => t === "push" || t === "repository_dispatch"),
        name,
      ).toBe(true);
    }
  });

  it("the workflows with a writing token on pull requests execute nothing from the pull request", () => {
    const exposed = FILES.filter((name) => triggers(workflow(name)).some((t) => t === "pull_request_target" || t === "workflow_run"));
    expect(exposed).toEqual(["pr-status.yml"]);
    for (const name of exposed) {
      const all = steps(workflow(name));
      const checkouts = all.filter((step) => String(step.uses ?? "").startsWith("actions/checkout@"));
      // Two checkouts: the base branch's datomspod in tool/, the head's data in pr/, neither keeping credentials.
      expect(checkouts.map((step) => [step.with.path, step.with["persist-credentials"]])).toEqual([
        ["tool", false],
        ["pr", false],
      ]);
      expect(checkouts[0].with.ref).toBe("${{ github.event.pull_request.base.sha || github.event.repository.default_branch }}");
      expect(checkouts[1].with["sparse-checkout"].trim().split("\n")).toEqual(["contracts", "clusters", "environments"]);
      for (const step of all) {
        expect(step["working-directory"] ?? "tool", step.name).toBe("tool");
        if (typeof step.run !== "string") continue;
        // The only command that touches pr/ is the base branch's datomspod reading it.
        for (const command of step.run.split("\n").filter((line: string) => /\bpr\b/.test(line)))
          expect(command.trim()).toMatch(/^node tool\/dist\/generator\/cli\/main\.js --repo pr /);
      }
    }
  });

  it("the pull-request check runs the base branch's datomspod over the head's data", () => {
    const all = steps(workflow("pr-check.yml"));
    const checkouts = all.filter((step) => String(step.uses ?? "").startsWith("actions/checkout@"));

    expect(checkouts.map((step) => [step.with.path, step.with.ref])).toEqual([
      ["tool", "${{ github.event.pull_request.base.sha }}"],
      ["pr", "${{ github.event.pull_request.head.sha }}"],
    ]);
    for (const step of all.filter((s) => typeof s.run === "string" && /\bpr\b/.test(s.run)))
      for (const line of step.run.split("\n").filter((l: string) => /\bpr\b/.test(l)))
        expect(line.trim()).toMatch(/^(node tool\/dist\/generator\/cli\/main\.js --repo pr |[\w=$ ]*node tool\/dist\/generator\/cli\/main\.js --repo pr )/);
  });

  it("calls only datomspod commands that exist", () => {
    const names = new Set(COMMANDS.map((c) => c.name.join(" ")));
    const all = [...FILES.map(text), readFileSync(join(ROOT, "action.yml"), "utf8")].join("\n");
    const called = [...all.matchAll(/main\.js"?(?: --repo "?[\w$]+"?)? ((?:github |audit )?[a-z-]+)/g)].map((m) => m[1].trim());

    expect(called.length).toBeGreaterThan(10);
    for (const command of called) expect(names.has(command), command).toBe(true);
  });
});
