/**
 * Where datomspod keeps its caches, in a module of its own: the CLI's entry reads it before it loads
 * anything else (its compile cache), and the image and environment builds keep their work there.
 */

import { join } from "node:path";

/** Where datomspod keeps its caches: DATOMSPOD_CACHE, else ~/.cache/datomspod. */
export function cacheDirectory(env: NodeJS.ProcessEnv, home: string): string {
  return env.DATOMSPOD_CACHE !== undefined && env.DATOMSPOD_CACHE !== "" ? env.DATOMSPOD_CACHE : join(home, ".cache", "datomspod");
}
