/**
 * A rendered instance is anchored only when it is exactly what `datomspod compile` renders from the
 * repository now: a hand-edited manifest is refused, so anchoring cannot whitewash it.
 */

import { InputError } from "../errors.js";
import { planCompile, type CompilePlan } from "../compile/plan.js";
import { filesDigest } from "../evidence/collect.js";
import type { EvidenceItem } from "../evidence/items.js";

/** Returns why an item must not be anchored, or undefined; checks rendered-manifest items only. */
export function renderingGuard(repo: string, now: Date): (item: EvidenceItem) => string | undefined {
  let plan: CompilePlan | InputError | undefined;
  return (item) => {
    if (item.kind !== "rendered-manifest") return undefined;
    if (plan === undefined) {
      try {
        plan = planCompile(repo, now);
      } catch (error) {
        if (!(error instanceof InputError)) throw error;
        plan = error;
      }
    }
    if (plan instanceof InputError) return `the rendering cannot be checked because datomspod compile fails: ${plan.message}`;
    const dir = item.subject.replace(/\/$/, "");
    const files = new Map<string, Uint8Array>();
    for (const [path, content] of plan.files) if (path.startsWith(`${dir}/`)) files.set(path.slice(dir.length + 1), Buffer.from(content, "utf8"));
    if (files.size === 0) return "datomspod compile renders no instance here now: run `datomspod compile` to remove it";
    if (filesDigest(files) !== item.digest) return "differs from what datomspod compile renders (drift): run `datomspod compile`, then anchor";
    return undefined;
  };
}
