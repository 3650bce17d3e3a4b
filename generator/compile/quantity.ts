/** Kubernetes quantities: parse to millicores / bytes, format back in canonical units. */

const FACTORS: Record<string, number> = { "": 1, m: 0.001, k: 1e3, M: 1e6, G: 1e9, T: 1e12, Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3, Ti: 1024 ** 4 };

/** The value of a quantity in base units (cores, bytes). */
export function parseQuantity(quantity: string): number {
  const match = /^([0-9]+(?:\.[0-9]+)?)(m|k|M|G|T|Ki|Mi|Gi|Ti)?$/.exec(quantity);
  if (!match) throw new RangeError(`not a quantity: ${quantity}`);
  return Number(match[1]) * (FACTORS[match[2] ?? ""] ?? 1);
}

export function formatCpu(cores: number): string {
  const milli = Math.ceil(cores * 1000 - 1e-9);
  return milli % 1000 === 0 ? String(milli / 1000) : `${milli}m`;
}

export function formatBytes(bytes: number): string {
  const mi = 1024 ** 2;
  if (bytes % 1024 ** 3 === 0) return `${bytes / 1024 ** 3}Gi`;
  return `${Math.ceil(bytes / mi)}Mi`;
}
