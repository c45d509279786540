import type { Readable } from "node:stream";
import { InputError } from "#platform/errors.ts";
import type { SourceRecord } from "./parse.ts";

const pad = (n: number) => String(n).padStart(2, "0");

/**
 * Excel has no time zone: a date cell is a wall-clock reading, which exceljs hands over as if UTC.
 * Midnight is a date (`2026-01-05`); anything else is that wall time at `offsetMinutes` (the bank's zone).
 */
function dateCell(d: Date, offsetMinutes: number): string {
  const day = `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`;
  if (d.getUTCHours() === 0 && d.getUTCMinutes() === 0 && d.getUTCSeconds() === 0) return day;
  const sign = offsetMinutes < 0 ? "-" : "+";
  const off = Math.abs(offsetMinutes);
  return `${day}T${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}${sign}${pad(Math.floor(off / 60))}:${pad(off % 60)}`;
}

/** A cell's value as an import field: text, number, boolean, or a date in ISO form. */
function cellValue(v: unknown, offsetMinutes: number): unknown {
  if (v === null || v === undefined) return undefined;
  if (v instanceof Date) return Number.isNaN(v.getTime()) ? undefined : dateCell(v, offsetMinutes);
  if (typeof v !== "object") return v;
  const o = v as {
    richText?: { text: string }[];
    text?: unknown;
    result?: unknown;
    formula?: unknown;
    sharedFormula?: unknown;
    error?: string;
  };
  if (o.richText) return o.richText.map((r) => r.text).join("");
  if ("formula" in o || "sharedFormula" in o) return cellValue(o.result, offsetMinutes);
  if (o.error !== undefined) return undefined;
  if (o.text !== undefined) return cellValue(o.text, offsetMinutes);
  return undefined;
}

export interface XlsxOptions {
  /** The sheet to read (default: the workbook's first). */
  sheet?: string;
  /** Minutes east of UTC of the bank's wall clock, for date-time cells (Asia/Shanghai: 480). */
  offsetMinutes?: number;
}

/**
 * Rows of one worksheet of an .xlsx, streaming (exceljs' WorkbookReader): the first row is the header,
 * `line` is the spreadsheet's row number. Other sheets are skipped unread.
 */
export async function* readXlsx(input: Readable, options: XlsxOptions = {}): AsyncGenerator<SourceRecord> {
  const offset = options.offsetMinutes ?? 480;
  // Loaded on first use: exceljs takes most of a second to load, and every CLI command would pay it.
  const { default: ExcelJS } = await import("exceljs");
  const reader = new ExcelJS.stream.xlsx.WorkbookReader(input, {
    worksheets: "emit",
    sharedStrings: "cache",
    styles: "cache",
    hyperlinks: "ignore",
    entries: "ignore",
  });
  const seen: string[] = [];
  let found = false;
  try {
    for await (const sheet of reader) {
      const name = (sheet as unknown as { name: string }).name;
      seen.push(name);
      if (options.sheet !== undefined && name !== options.sheet) {
        // Read through, not skipped: exceljs parks a sheet that comes before the shared strings in a
        // temp file, which it deletes as soon as we move on; a skipped sheet's read of that file could
        // then open it too late (an uncaught ENOENT, seen once in CI).
        for await (const _row of sheet) void _row;
        continue;
      }
      found = true;
      let header: string[] | undefined;
      for await (const row of sheet) {
        const values = (row.values ?? []) as unknown[];
        const cells = values.slice(1).map((v) => cellValue(v, offset));
        if (cells.every((c) => c === undefined || (typeof c === "string" && c.trim() === ""))) continue;
        if (!header) {
          header = cells.map((c) => (c === undefined ? "" : String(c).trim()));
          continue;
        }
        const value: Record<string, unknown> = {};
        header.forEach((h, i) => {
          if (h && cells[i] !== undefined) value[h] = cells[i];
        });
        yield { line: row.number, value };
      }
      // The first matching sheet only: stop here (the reader drops the rest, parked ones included).
      break;
    }
  } catch (err) {
    if (err instanceof InputError) throw err;
    throw new InputError(
      `cannot read the workbook: ${(err as Error).message.split("\n")[0]} (is it an .xlsx file?)`,
    );
  }
  if (!found)
    throw new InputError(
      options.sheet !== undefined
        ? `no sheet named "${options.sheet}" (sheets: ${seen.join(", ") || "none"})`
        : "the workbook has no worksheet",
    );
}
