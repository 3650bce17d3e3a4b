/**
 * The JSON Schema is the one source of truth for the contract: the committed TypeScript types must
 * be exactly what `npm run generate` makes from it now.
 */

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { expect, it } from "vitest";
import { TYPES_FILE, renderContractTypes } from "../../generator/contract/generate-types.js";
import { ROOT } from "../helpers/repo.js";

it(`${TYPES_FILE} is generated from contracts/contract.schema.json (run \`npm run generate\` when this fails)`, async () => {
  const committed = readFileSync(join(ROOT, TYPES_FILE), "utf8");

  const generated = await renderContractTypes();

  expect(committed).toBe(generated);
});
