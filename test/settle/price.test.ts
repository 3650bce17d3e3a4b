/**
 * Pricing a settlement (pure): line by line, exact, rounded as the contract says, with the outcome
 * rules, minimums, maximums, the total cap, buckets and unmetered usage, and the refusals.
 */

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { Contract } from "../../generator/contract/types.generated.js";
import { priceSettlement, settlementHash, settlementText, type Settlement, type SettlementInput } from "../../generator/settle/price.js";
import { meteredValue, readUsage, ROUNDED_UP } from "../../generator/settle/usage.js";
import { formatDecimal } from "../../generator/contract/money.js";
import { ROOT } from "../helpers/repo.js";
import { receipt, type UsageSpec } from "./fixtures.js";

const bank = (): Contract => JSON.parse(readFileSync(join(ROOT, "contracts", "bank-credit-model", "contract.json"), "utf8")) as Contract;
const hospital = (): Contract => JSON.parse(readFileSync(join(ROOT, "contracts", "hospital-stats", "contract.json"), "utf8")) as Contract;
const BANK = "0x4EBd5a059D4bd3D9A32Aa6564faA880F4154276A";
const VENDOR = "0xd9C72F0E312f42A9885bada8f05233a3Cc28C177";
const OPERATOR = "0x76d363f0041C5F29945463dDf2C33e6E4C7c95fC";

function input(contract: Contract, runs: Record<string, UsageSpec | undefined>, extra: Partial<SettlementInput> = {}): SettlementInput {
  const receipts = new Map<string, unknown>();
  for (const [run, spec] of Object.entries(runs)) if (spec !== undefined) receipts.set(run, receipt(run, spec));
  return {
    contract,
    contractHash: "ab".repeat(32),
    contractFile: "contract.json",
    requested: Object.keys(runs),
    receipts,
    notCounted: [],
    acknowledged: new Set(Object.keys(runs)),
    receiptFile: (run) => `contracts/${contract.id}/receipts/${run}.json`,
    ...extra,
  };
}

function priced(i: SettlementInput): Settlement {
  const result = priceSettlement(i);
  if (result.problems !== undefined) throw new Error(JSON.stringify(result.problems));
  return result.settlement;
}

const amounts = (s: Settlement): Record<string, string> => Object.fromEntries(s.parties.map((p) => [p.name, p.amount]));
const lineOf = (s: Settlement, kind: string, run: string | null, per?: string) =>
  s.lines.find((l) => l.kind === kind && l.run === run && (per === undefined || l.per === per));

describe("priceSettlement", () => {
  it("bank-credit-model, one run: the contract fee once, the algorithm fee per run, compute per cpu-second rounded down", () => {
    const s = priced(input(bank(), { "run-1": { cpuSeconds: 1234.5678 } }));

    expect(s.lines.map((l) => [l.kind, l.run, l.per, l.quantity, l.unitPrice, l.exact, l.amount, l.rounding])).toEqual([
      ["data-fee", null, "contract", "1", "5000", "5000000000", "5000000000", "none"],
      ["algorithm-fee", "run-1", "run", "1", "800", "800000000", "800000000", "none"],
      ["compute", "run-1", "cpu-second", "1234.5678", "0.002", "2469135.6", "2469135", "down: 2469135.6 → 2469135 (-0.6)"],
    ]);
    expect(amounts(s)).toEqual({ "Harbor Bank": "5000000000", "Model Vendor Ltd": "800000000", "Datomspod Platform Operator": "2469135" });
    expect(s.total).toBe("5802469135");
    expect(s.payer).toBe("0x1F5bAc4E250D5d17F954b3F09ED217e7356A9d03");
    expect(s.escrow).toEqual({ address: bank().business.escrow!.address, cap: "7500000000", expiry: "2028-09-30T00:00:00Z" });
  });

  it.each([
    ["half-up", "2469136", "half-up: 2469135.6 → 2469136 (+0.4)"],
    ["up", "2469136", "up: 2469135.6 → 2469136 (+0.4)"],
    ["down", "2469135", "down: 2469135.6 → 2469135 (-0.6)"],
  ] as const)("rounding %s is stated on the line", (mode, amount, rounding) => {
    const contract = bank();
    contract.business.rounding = mode;

    const line = lineOf(priced(input(contract, { "run-1": { cpuSeconds: 1234.5678 } })), "compute", "run-1")!;

    expect([line.amount, line.rounding]).toEqual([amount, rounding]);
  });

  it.each<[string, UsageSpec, string[]]>([
    ["succeeded: billed in full", { phase: "succeeded" }, ["algorithm-fee", "compute"]],
    ["failed: usage only (default)", { phase: "failed" }, ["compute"]],
    ["a policy violation: in full (this contract says so)", { phase: "policy-violation" }, ["algorithm-fee", "compute"]],
    ["rejected, nothing ran: not billed (default)", { phase: "rejected" }, []],
  ])("a run that %s", (_name, spec, kinds) => {
    const s = priced(input(bank(), { "run-1": spec }));

    expect(s.lines.filter((l) => l.run === "run-1").map((l) => l.kind)).toEqual(kinds);
    expect(s.runs[0].outcome).toBe(spec.phase);
  });

  it("the defaults of business.outcomes apply when the contract names none", () => {
    const contract = bank();
    delete contract.business.outcomes;

    const s = priced(input(contract, { "run-1": { phase: "policy-violation" } }));

    expect(s.outcomes).toEqual({ failed: "usage-only", deadline: "usage-only", policyViolation: "usage-only", rejected: "none" });
    expect(s.lines.filter((l) => l.run === "run-1").map((l) => l.kind)).toEqual(["compute"]);
  });

  it("a fee under its minimum is topped up, one over its maximum capped, each on its own line", () => {
    const low = priced(input(bank(), { "run-1": { cpuSeconds: 10 } }));
    const high = priced(input(bank(), { "run-1": { cpuSeconds: 60000 } }));

    expect(lineOf(low, "compute", null, "minimum")).toMatchObject({ amount: "980000", note: "the fee came to 20000; its minimum is 1 DLD" });
    expect(amounts(low)["Datomspod Platform Operator"]).toBe("1000000");
    expect(lineOf(high, "compute", null, "maximum")).toMatchObject({ amount: "-20000000", note: "the fee came to 120000000; its maximum is 100 DLD" });
    expect(amounts(high)["Datomspod Platform Operator"]).toBe("100000000");
  });

  it("a total over the escrow's cap is scaled down in proportion, rounded down, and never exceeds the cap", () => {
    const contract = bank();
    contract.business.escrow!.cap = "6000";
    contract.business.maximum = "6500";

    const s = priced(input(contract, { "run-1": { cpuSeconds: 1 }, "run-2": { cpuSeconds: 1 } }));

    // 5000 + 2 × 800 + 1 (the compute minimum) = 6601 DLD over the cap of 6000 (the lower of the two).
    const caps = s.lines.filter((l) => l.per === "cap");
    expect(caps.map((l) => l.party)).toEqual([BANK, VENDOR, OPERATOR]);
    expect(caps[0].note).toBe(
      "the fees came to 6601000000, over the cap (escrow.cap 6000 DLD = 6000000000): each party's amount × 6000000000/6601000000, rounded down",
    );
    expect(BigInt(s.total)).toBeLessThanOrEqual(6000000000n);
    expect(BigInt(s.total)).toBeGreaterThan(6000000000n - 3n);
    expect(amounts(s)["Harbor Bank"]).toBe(((5000000000n * 6000000000n) / 6601000000n).toString());
  });

  it("hospital-stats in CNY: 2000.00 per run and 300.00 once, in fen", () => {
    const s = priced(input(hospital(), { "run-1": {}, "run-2": {} }));

    expect(s.total).toBe("430000");
    expect(s.currency).toEqual({ symbol: "CNY", decimals: 2, token: null });
    expect(s.escrow).toBeNull();
    expect(s.rounding.unit).toBe("0.01 CNY");
  });

  it("usage not metered by the receipt is billed as 0, and the line says why", () => {
    const contract = bank();
    const document = receipt("run-1", { cpuSeconds: null });
    (document as { predicate: { usage: { notes: string[] } } }).predicate.usage.notes = ["CPU time not metered: the cgroup is shared"];

    const s = priced({ ...input(contract, { "run-1": undefined }), receipts: new Map([["run-1", document]]) });

    expect(lineOf(s, "compute", "run-1")).toMatchObject({
      quantity: "0",
      amount: "0",
      note: "not metered by the receipt (CPU time not metered: the cgroup is shared): billed as 0",
    });
  });

  it("a bucketed usage value is priced at its lower bound, and the line says so", () => {
    const s = priced(input(bank(), { "run-1": { cpuSeconds: { min: 100, max: 1000 } } }));

    expect(lineOf(s, "compute", "run-1")).toMatchObject({ quantity: "100", amount: "200000" });
    expect(lineOf(s, "compute", "run-1")!.note).toContain('bucket {"min":100,"max":1000}: priced at its lower bound');
  });

  it.each([
    ["wall-second", { durationSeconds: 64 }, "64"],
    ["gib-second", { durationSeconds: 2, peakMemoryMiB: 2048 }, "4"],
    ["gpu-second", { gpuSeconds: 7.25 }, "7.25"],
  ] as const)("per %s", (per, spec, quantity) => {
    const contract = bank();
    contract.business.pricing[2].per = per;

    expect(lineOf(priced(input(contract, { "run-1": spec })), "compute", "run-1")!.quantity).toBe(quantity);
  });

  it("is deterministic: the same receipts in another order give the same bytes and hash", () => {
    const a = input(bank(), { "run-1": { cpuSeconds: 1 }, "run-2": { cpuSeconds: 2 } });
    const b = { ...a, requested: ["run-2", "run-1"], receipts: new Map([...a.receipts].reverse()) };

    expect(settlementText(priced(b))).toBe(settlementText(priced(a)));
    expect(settlementHash(priced(b))).toBe(settlementHash(priced(a)));
  });

  describe("refuses, naming what", () => {
    it("a requested run without a receipt", () => {
      expect(priceSettlement(input(bank(), { "run-1": undefined })).problems).toEqual([
        {
          file: "contracts/bank-credit-model/receipts/run-1.json",
          path: "$",
          message: "run run-1 was requested but has no receipt",
          fix: "run it first (datomspod run bank-credit-model run-1 --key FILE): a settlement covers every requested run",
        },
      ]);
    });

    it("a receipt that does not count (unsigned, unverified), with why", () => {
      const notCounted = [
        {
          file: "contracts/bank-credit-model/receipts/run-1.json",
          path: "$",
          message: "the receipt of run run-1 is signed by no runner, so it does not count",
          fix: "restore it",
        },
      ];

      expect(priceSettlement(input(bank(), { "run-1": undefined }, { notCounted })).problems).toEqual([
        { ...notCounted[0], message: `${notCounted[0].message}; a settlement covers only receipts that count, so the contract cannot be settled` },
      ]);
    });

    it.each([
      ["before the validity window", "2026-11-14T23:59:59.000Z"],
      ["after it", "2028-06-30T00:00:00.001Z"],
    ])("a run %s", (_name, endedAt) => {
      const problems = priceSettlement(input(bank(), { "run-1": { endedAt } })).problems!;

      expect(problems.map((p) => [p.path, p.message])).toEqual([
        ["$.predicate.endedAt", `run run-1 ran at ${endedAt}, outside the validity window 2026-11-15T00:00:00Z – 2028-06-30T00:00:00Z`],
      ]);
    });

    it("a run the receipt gives no time for", () => {
      const document = receipt("run-1", { endedAt: null }) as { predicate: Record<string, unknown> };
      document.predicate["startedAt"] = null;
      document.predicate["deletion"] = null;

      const problems = priceSettlement({ ...input(bank(), { "run-1": undefined }), receipts: new Map([["run-1", document]]) }).problems!;

      expect(problems[0].message).toBe("the receipt gives no time for the run, so it cannot be placed in the validity window");
    });

    it("billing on delivery: a successful run that is not acknowledged", () => {
      const problems = priceSettlement(input(bank(), { "run-1": {} }, { acknowledged: new Set() })).problems!;

      expect(problems).toEqual([
        {
          file: "contracts/bank-credit-model/acks/run-1.json",
          path: "$",
          message: "run run-1 succeeded but its delivery is not acknowledged, and the contract bills on delivery",
          fix: "the recipient acknowledges it: datomspod ack bank-credit-model run-1 --key FILE",
        },
      ]);
    });

    it("a receipt whose phase datomspod never writes", () => {
      const document = receipt("run-1") as { predicate: { status: { phase: string } } };
      document.predicate.status.phase = "paid-in-full";

      const problems = priceSettlement({ ...input(bank(), { "run-1": undefined }), receipts: new Map([["run-1", document]]) }).problems!;

      expect(problems.map((p) => p.path)).toEqual(["$.predicate.status.phase"]);
    });
  });
});

describe("readUsage", () => {
  it.each([
    [12.5, "12.5", ""],
    [1e-7, "0.0000001", ""],
    ["10-100", "10", "bucket 10-100: priced at its lower bound"],
    ["[2.5, 5)", "2.5", "bucket [2.5, 5): priced at its lower bound"],
    [{ gte: 3 }, "3", 'bucket {"gte":3}: priced at its lower bound'],
  ])("reads %j", (value, shown, note) => {
    const metered = meteredValue(value);

    expect([formatDecimal(metered.value!), metered.note]).toEqual([shown, note]);
  });

  it.each([[null], [undefined], [-1], [Number.NaN], ["lots"], [{ max: 5 }], [[1, 2]]])("%j is not metered", (value) => {
    expect(meteredValue(value).value).toBeNull();
  });

  it("reads the receipt's usage as published (powers of two): wall seconds, GiB-seconds from the peak MiB, CPU seconds", () => {
    const usage = readUsage(receipt("run-1", { durationSeconds: 2, peakMemoryMiB: 512, cpuSeconds: 2 }));

    expect([usage.wallSeconds, usage.gibSeconds, usage.cpuSeconds].map((m) => formatDecimal(m.value!))).toEqual(["2", "1", "2"]);
    expect(usage.cpuSeconds.note).toBe(ROUNDED_UP);
  });
});
