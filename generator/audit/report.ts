/**
 * The audit report: a text table per contract and a JSON document, both deterministic (the chain's
 * roots of the contract first, then the batches, then the items in leaf order).
 */

import { AUDIT_STATUSES, type AuditRow, type AuditStatus, type ContractAudit } from "./verify.js";

export interface AuditSummary {
  readonly ok: boolean;
  readonly chainId: number;
  readonly counts: Readonly<Record<AuditStatus, number>>;
  readonly contracts: readonly {
    readonly id: string;
    readonly ok: boolean;
    readonly counts: Readonly<Record<AuditStatus, number>>;
    readonly rows: readonly AuditRow[];
  }[];
}

function count(rows: readonly AuditRow[]): Record<AuditStatus, number> {
  const counts = Object.fromEntries(AUDIT_STATUSES.map((s) => [s, 0])) as Record<AuditStatus, number>;
  for (const row of rows) counts[row.status]++;
  return counts;
}

/** The contract's history on chain first, then the batch records, then the items. */
function ordered(rows: readonly AuditRow[]): AuditRow[] {
  return [
    ...rows.filter((r) => r.kind === "chain"),
    ...rows.filter((r) => r.kind === "batch"),
    ...rows.filter((r) => r.kind !== "chain" && r.kind !== "batch"),
  ];
}

export function auditSummary(chainId: number, audits: readonly ContractAudit[]): AuditSummary {
  const contracts = audits.map((audit) => ({ id: audit.contractId, ok: audit.ok, counts: count(audit.rows), rows: ordered(audit.rows) }));
  return { ok: audits.every((a) => a.ok), chainId, counts: count(audits.flatMap((a) => a.rows)), contracts };
}

function formatCounts(counts: Readonly<Record<AuditStatus, number>>): string {
  return AUDIT_STATUSES.map((s) => `${counts[s]} ${s}`).join(", ");
}

/** The text table: one block per contract, then a total. */
export function auditText(summary: AuditSummary): string {
  const lines: string[] = [];
  for (const contract of summary.contracts) {
    lines.push(`${contract.id}: ${formatCounts(contract.counts)}`);
    const widths = [10, Math.max(4, ...contract.rows.map((r) => r.kind.length)), Math.max(7, ...contract.rows.map((r) => r.subject.length))];
    lines.push(`  ${"STATUS".padEnd(widths[0])}  ${"KIND".padEnd(widths[1])}  ${"SUBJECT".padEnd(widths[2])}  DETAIL`);
    for (const row of contract.rows)
      lines.push(`  ${row.status.padEnd(widths[0])}  ${row.kind.padEnd(widths[1])}  ${row.subject.padEnd(widths[2])}  ${row.detail}`);
    lines.push("");
  }
  lines.push(`${summary.ok ? "ok" : "FAILED"}: ${formatCounts(summary.counts)} on chain ${summary.chainId}`);
  return lines.join("\n");
}
