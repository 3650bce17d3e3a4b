/**
 * Writes generator/contract/types.generated.ts from contracts/contract.schema.json, so the schema
 * stays the one source of truth. `npm run generate` calls this; a test fails when they drift.
 */

import { writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { compile } from "json-schema-to-typescript";
import { packageFile } from "../repo/package-root.js";
import { contractSchema } from "./schema.js";

export const TYPES_FILE = "generator/contract/types.generated.ts";

export async function renderContractTypes(): Promise<string> {
  const body = await compile(structuredClone(contractSchema), "Contract", {
    bannerComment: "",
    additionalProperties: false,
    unreachableDefinitions: false,
    ignoreMinAndMaxItems: true,
    format: true,
    style: { printWidth: 120 },
  });
  return `// Generated from contracts/contract.schema.json by \`npm run generate\`. Do not edit.\n\n${body}\nexport type Contract = DatomspodDataUsageContract;\n`;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  writeFileSync(packageFile(TYPES_FILE), await renderContractTypes());
}
