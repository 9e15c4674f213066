// Plain-text tables for the benchmark's console output (and the Markdown in docs).

export type Cell = string | number | null | undefined;

/** Formats a number for a table: fixed decimals, thousands unseparated, "—" for missing. */
export function formatCell(value: Cell, digits = 2): string {
  if (value === null || value === undefined) return "—";
  if (typeof value === "string") return value;
  if (!Number.isFinite(value)) return "—";
  return Number.isInteger(value) ? String(value) : value.toFixed(digits);
}

/** A fixed-width table: text columns left-aligned, numeric columns right-aligned. */
export function renderTable(headers: readonly string[], rows: readonly Cell[][]): string {
  const text = rows.map((row) => headers.map((_, i) => formatCell(row[i])));
  const numeric = headers.map((_, i) => rows.every((row) => typeof row[i] !== "string"));
  const widths = headers.map((h, i) => Math.max(h.length, ...text.map((r) => r[i]!.length)));
  const line = (cells: readonly string[]) => cells.map((c, i) => (numeric[i] ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join("  ").trimEnd();
  return [line(headers), widths.map((w) => "-".repeat(w)).join("  "), ...text.map(line)].join("\n");
}

/** The same table as GitHub Markdown. */
export function renderMarkdownTable(headers: readonly string[], rows: readonly Cell[][]): string {
  const numeric = headers.map((_, i) => rows.every((row) => typeof row[i] !== "string"));
  const head = `| ${headers.join(" | ")} |`;
  const rule = `|${numeric.map((n) => (n ? "---:" : "---")).join("|")}|`;
  return [head, rule, ...rows.map((row) => `| ${headers.map((_, i) => formatCell(row[i])).join(" | ")} |`)].join("\n");
}
