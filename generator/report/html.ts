/**
 * HTML by tagged template: every interpolated value is escaped unless it is already Html, arrays are
 * joined, and undefined, null and false render as nothing. The only way text reaches a page.
 */

export interface Html {
  readonly html: string;
}

export function escapeHtml(text: string): string {
  return text.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;").replaceAll('"', "&quot;").replaceAll("'", "&#39;");
}

function isHtml(value: unknown): value is Html {
  return value !== null && typeof value === "object" && typeof (value as { html?: unknown }).html === "string" && Object.keys(value).length === 1;
}

function part(value: unknown): string {
  if (value === undefined || value === null || value === false) return "";
  if (Array.isArray(value)) return value.map(part).join("");
  if (isHtml(value)) return value.html;
  if (typeof value === "string") return escapeHtml(value);
  if (typeof value === "number" || typeof value === "bigint" || typeof value === "boolean") return String(value);
  return escapeHtml(JSON.stringify(value) ?? "");
}

export function html(strings: TemplateStringsArray, ...values: readonly unknown[]): Html {
  let out = strings[0] ?? "";
  values.forEach((value, i) => {
    out += part(value) + (strings[i + 1] ?? "");
  });
  return { html: out };
}

/** Markup that is already safe (made by this module, or a trusted generator such as the SVG renderer). */
export function trusted(markup: string): Html {
  return { html: markup };
}
