import { InputError } from "../../errors.js";
import { assertContractId, listContractIds } from "../../repo/layout.js";
import { openChainSession } from "../../anchor/session.js";
import { historicalContractIds } from "../../audit/history.js";
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
    "Reads every root the anchor contract the contract pins (evidence.anchor, signed by every party) holds for it, from the pinned block on: each must be accounted for by a batch record, in order, anchored by a named anchorer. Prints one row per root on chain, per batch and per evidence item: verified, missing (not anchored, a lost anchor, or a file gone) or mismatched (changed since it was anchored, a root the repository does not account for, or a record that contradicts itself, the contract or the chain). Receipts must carry a runner's signature. Without ID, every contract of the working tree and of git history is audited (a contract folder is never removed). Exit 1 on any missing or mismatched row.",
  ].join("\n"),
  options: { chain: { type: "string" } },
  positionals: [0, 1],
  async run(ctx, args, values) {
    // Every contract of the working tree, and every one git history held: a contract is never removed.
    const ids =
      args[0] !== undefined ? [assertContractId(args[0])] : [...new Set([...listContractIds(ctx.repo), ...(await historicalContractIds(ctx.repo))])].sort();
    const spec = chainSpec(values);
    const session = await openChainSession(ctx.repo, { spec });
    const audits: ContractAudit[] = [];
    try {
      for (const id of ids) audits.push(withPayments(await auditContract(ctx.repo, id, session.chain), await auditPayments(ctx.repo, id, session.chain)));
    } finally {
      await session.close();
    }
    const elsewhere = audits.filter((a) => a.otherChain !== undefined);
    if (audits.length > 0 && elsewhere.length === audits.length) {
      const chains = [...new Set(elsewhere.map((a) => a.otherChain!))].sort((a, b) => a - b);
      throw InputError.of({
        file: "command line",
        path: "--chain",
        message: `${spec} is chain ${session.chain.chainId}, but ${elsewhere.map((a) => a.contractId).join(", ")} ${elsewhere.length === 1 ? "is" : "are"} bound to chain ${chains.join(", ")}`,
        fix: `pass --chain with an RPC URL of chain ${chains.join(" or ")}`,
      });
    }
    const summary = auditSummary(session.chain.chainId, audits);
    ctx.emit(summary, auditText(summary));
    return summary.ok ? 0 : 1;
  },
};
