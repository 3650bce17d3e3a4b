import { formatDecimal, fromBigInt, shift } from "../../contract/money.js";
import type { Settlement } from "../../settle/price.js";
import { settleContract, settlementTypedData, type SettleResult } from "../../settle/settle.js";
import { assertContractId } from "../../repo/layout.js";
import type { Command } from "../command.js";
import { keyOption, stringOption } from "../options.js";

/** An amount in the smallest unit as currency: "5000.5 DLD". */
export function money(settlement: Settlement, units: string): string {
  return `${formatDecimal(shift(fromBigInt(BigInt(units)), -settlement.currency.decimals))} ${settlement.currency.symbol}`;
}

function settlementTable(result: SettleResult): string {
  const s = result.settlement;
  const names = new Map(s.parties.map((p) => [p.address, p.name]));
  const rows = s.lines.map((line) => [
    names.get(line.party) ?? line.party,
    line.kind,
    line.run ?? "-",
    line.per,
    line.quantity,
    line.unitPrice ?? "-",
    money(s, line.amount),
    line.rounding,
  ]);
  const header = ["PARTY", "KIND", "RUN", "PER", "QUANTITY", "UNIT PRICE", "AMOUNT", "ROUNDING"];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const format = (row: readonly string[]): string => `  ${row.map((cell, i) => cell.padEnd(widths[i])).join("  ")}`.trimEnd();
  const signed = result.signatures.parties.filter((p) => p.status === "valid").length;
  const waiting = result.signatures.parties.filter((p) => p.status !== "valid").map((p) => `${p.name} (${p.status})`);
  return [
    `settlement of ${result.contractId}: ${money(s, s.total)} paid by ${s.payer}`,
    ...s.runs.map(
      (run) =>
        `  run ${run.run}: ${run.outcome}, billed ${run.billed}; cpu ${run.usage.cpuSeconds ?? "unmetered"} s, wall ${run.usage.wallSeconds ?? "unmetered"} s`,
    ),
    format(header),
    ...rows.map(format),
    `  rounding: ${s.rounding.rule}`,
    ...s.parties.map((p) => `  ${p.name} (${p.role}) earns ${money(s, p.amount)}`),
    `${result.file} ${result.action} (sha256 ${result.hash})${result.signed === undefined ? "" : `; signed by ${result.signed}`}`,
    `signatures: ${signed} of ${result.signatures.parties.length}${waiting.length > 0 ? `; waiting for ${waiting.join(", ")}` : ""}`,
    `contract ${result.contractId} is ${result.state}`,
  ].join("\n");
}

export const settle: Command = {
  name: ["settle"],
  summary: "price the verified receipts into contracts/ID/settlement.json; with --key, that party signs it",
  usage: "ID [--key FILE] [--typed-data]",
  help: [
    "Every requested run needs a receipt signed by one of the contract's runners and inside the validity window; otherwise nothing is written and each problem is named (exit 1).",
    "The settlement shows every line: quantity × unit price, exact, rounded to the token's smallest unit as business.rounding says; minimums, maximums and the total cap; what each party earns.",
    "--key FILE adds that party's EIP-712 signature (contracts/ID/settlement-signatures/ADDRESS.json), the one the escrow checks. --typed-data prints the eth_signTypedData_v4 JSON to sign in a wallet instead.",
  ].join("\n"),
  options: { key: { type: "string" }, "typed-data": { type: "boolean" } },
  positionals: [1, 1],
  async run(ctx, [id = ""], values) {
    assertContractId(id);
    if (values["typed-data"] === true) {
      const json = settlementTypedData(ctx.repo, id, ctx.now);
      ctx.out(`${JSON.stringify(json, null, 2)}\n`);
      return 0;
    }
    const wallet = stringOption(values, "key") === undefined ? undefined : (await keyOption(ctx, values)).wallet;
    const result = await settleContract(ctx.repo, id, ctx.now, wallet);
    ctx.emit(
      {
        contract: id,
        file: result.file,
        action: result.action,
        sha256: result.hash,
        signed: result.signed ?? null,
        signatures: result.signatures.parties,
        state: result.state,
        settlement: result.settlement,
      },
      settlementTable(result),
    );
    return 0;
  },
};
