import { InputError } from "../../errors.js";
import { assertContractId, listContractIds } from "../../repo/layout.js";
import { openChainSession } from "../../anchor/session.js";
import { auditContract, type ContractAudit } from "../../audit/verify.js";
import { auditSummary, auditText } from "../../audit/report.js";
import { auditPayments } from "../../audit/payments.js";
import type { AuditRow } from "../../audit/verify.js";
import type { Command } from "../command.js";
import { CHAIN_HELP, chainSpec } from "./anchor.js";

/** The contract's audit with the rows of its escrow transactions. */
function withPayments(audit: ContractAudit, payments: readonly AuditRow[]): ContractAudit {
  return { ...audit, ok: audit.ok && payments.every((row) => row.status === "verified"), rows: [...audit.rows, ...payments] };
}

export const auditVerify: Command = {
  name: ["audit", "verify"],
  summary: "recompute every evidence item and check it against the anchors on chain",
  usage: "[ID] [--chain local|URL]",
  help: [
    CHAIN_HELP,
    "Prints one row per evidence item and per batch: verified, missing (not anchored, a lost anchor, or a file gone) or mismatched (changed since it was anchored, or a record that contradicts itself or the chain). Exit 1 on any missing or mismatched row.",
  ].join("\n"),
  options: { chain: { type: "string" } },
  positionals: [0, 1],
  async run(ctx, args, values) {
    const ids = args[0] !== undefined ? [assertContractId(args[0])] : listContractIds(ctx.repo);
    const spec = chainSpec(values);
    const session = await openChainSession(ctx.repo, { spec });
    const audits: ContractAudit[] = [];
    try {
      for (const id of ids) audits.push(withPayments(await auditContract(ctx.repo, id, session.chain), await auditPayments(ctx.repo, id, session.chain)));
    } finally {
      await session.close();
    }
    const checks = audits.flatMap((a) => [...a.anchors.values()]);
    if (checks.length > 0 && checks.every((c) => c.state === "other-chain")) {
      throw InputError.of({
        file: "command line",
        path: "--chain",
        message: `no anchor was made on chain ${session.chain.chainId} (${spec}): ${checks[0].detail}`,
        fix: "pass --chain with an RPC URL of the chain the records name",
      });
    }
    const summary = auditSummary(session.chain.chainId, audits);
    ctx.emit(summary, auditText(summary));
    return summary.ok ? 0 : 1;
  },
};
