/**
 * The one CSV writer of every export (ledger, funnel, uncontactable list). RFC 4180 quoting, and a
 * text cell that a spreadsheet would run as a formula (`=`, `+`, `-`, `@`, tab, CR, or their
 * full-width forms) is prefixed with `'` (OWASP's CSV-injection advice). Numbers are written as
 * numbers: they cannot carry a formula, and a negative uplift must stay a number.
 */
const FORMULA_START = /^[=+\-@\t\r\uFF1D\uFF0B\uFF0D\uFF20]/;

export function csvCell(value: unknown): string {
  if (typeof value === "number") return Number.isFinite(value) ? String(value) : "";
  const s = value === undefined || value === null ? "" : String(value);
  const safe = FORMULA_START.test(s) ? `'${s}` : s;
  return /[",\r\n]/.test(safe) ? `"${safe.replaceAll('"', '""')}"` : safe;
}

/** One CSV record, with its line break. */
export function csvRow(values: readonly unknown[]): string {
  return `${values.map(csvCell).join(",")}\n`;
}
