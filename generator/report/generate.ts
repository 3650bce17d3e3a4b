/**
 * One generation of the web view: open the chain (or say why not), gather, build the view, render
 * the site. Shared by `datomspod report --html` and `datomspod serve`, so both show the same pages.
 */

import { openChainSession } from "../anchor/session.js";
import { DatomspodError } from "../errors.js";
import { gatherReport, type ChainInput } from "./gather.js";
import { readAssets, renderSite } from "./site.js";
import { buildSiteView, type SiteView } from "./view.js";

/** --chain none: do not audit against any chain. */
export const NO_CHAIN = "none";

export interface Generated {
  readonly view: SiteView;
  readonly files: Map<string, string>;
  readonly ms: number;
}

/** How a chain is named on the pages: never a URL's path, query or credentials (an RPC key). */
export function chainLabel(spec: string): string {
  if (spec === "local") return "the local anvil chain of this workspace";
  try {
    return new URL(spec).host || "an RPC endpoint";
  } catch {
    return "an RPC endpoint";
  }
}

/** The chain of --chain SPEC for the audit, or why there is none; `close` ends the session. */
async function openChain(repo: string, spec: string): Promise<{ input: ChainInput; close: () => Promise<void> }> {
  const none = (): Promise<void> => Promise.resolve();
  if (spec === NO_CHAIN) return { input: { unavailable: "no chain was asked for (--chain none)" }, close: none };
  try {
    const session = await openChainSession(repo, { spec });
    return { input: { chain: session.chain, label: chainLabel(spec) }, close: () => session.close() };
  } catch (error) {
    if (!(error instanceof DatomspodError)) throw error;
    return { input: { unavailable: error.message }, close: none };
  }
}

export async function generateSite(repo: string, ids: readonly string[], now: Date, spec: string, clock: () => number = Date.now): Promise<Generated> {
  const started = clock();
  const chain = await openChain(repo, spec);
  let input;
  try {
    input = await gatherReport(repo, ids, now, chain.input);
  } finally {
    await chain.close();
  }
  const view = buildSiteView(input);
  return { view, files: renderSite(view, readAssets()), ms: clock() - started };
}
